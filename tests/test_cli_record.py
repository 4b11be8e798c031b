"""`ambient record` writes what the configured sensors read, so a session becomes a recording
that `ambient simulate` replays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ambient.recordings import read_recording


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_record_writes_every_reading_of_the_sensors(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "source.csv"
    source.write_text("t,metric,value\n0.0,hr,61\n0.1,rr,980\n0.2,rr,1010\n0.3,contact,1\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\nstore:\n  path: null\n"
    )
    out = tmp_path / f"session{suffix}"
    result = subprocess.run(
        [sys.executable, "-m", "ambient", "record", "--config", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    recorded = read_recording(out)
    assert [(r.person, r.metric, r.value) for r in recorded] == [
        ("sam", "hr", 61.0),
        ("sam", "rr", 980.0),
        ("sam", "rr", 1010.0),
        ("sam", "contact", 1.0),
    ]
    times = [r.time for r in recorded]
    assert times[0] > 1e9  # unix seconds: a real session's times
    assert times[-1] - times[0] == pytest.approx(0.3, abs=0.05)


def test_the_recording_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Heart data: 0600 under the usual umask 022, and when an older file is overwritten."""
    source = tmp_path / "source.csv"
    source.write_text("t,metric,value\n0.0,hr,61\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\nstore:\n  path: null\n"
    )
    fresh = tmp_path / "fresh.csv"
    overwritten = tmp_path / "overwritten.jsonl"
    overwritten.write_text("")
    overwritten.chmod(0o644)
    for out in (fresh, overwritten):
        result = subprocess.run(
            [sys.executable, "-m", "ambient", "record", "--config", str(config), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            umask=0o022,
        )
        assert result.returncode == 0, result.stderr
        assert oct(out.stat().st_mode & 0o777) == oct(0o600), out.name
