"""Which files retention and forget manage as recordings: every file under the recordings
directory whose ending is a recording's, in any case (``S01.CSV`` from a Windows export, as
``evaluate`` and ``check`` read it), and nothing else."""

from __future__ import annotations

from pathlib import Path

from ambient.privacy.recording_files import managed_recordings


def test_a_recording_ending_in_capitals_is_managed(tmp_path: Path) -> None:
    names = ["S01.CSV", "session.JSONL", "night.NdJson", "a.csv", "notes.txt", "csv"]
    for name in names:
        (tmp_path / name).write_text("t,metric,value\n")
    assert [path.name for path in managed_recordings(tmp_path)] == sorted(
        ["S01.CSV", "session.JSONL", "night.NdJson", "a.csv"]
    )
