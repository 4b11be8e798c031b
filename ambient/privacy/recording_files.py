"""The recording files retention and forget manage: every ``.csv``, ``.jsonl`` and ``.ndjson``
file under the recordings directory, in its subfolders too (a folder per month, say: ``ambient
record`` calls any path inside the directory managed), never through a link."""

from __future__ import annotations

import os
from pathlib import Path

from ambient.recordings import RECORDING_SUFFIXES


def managed_recordings(directory: Path) -> list[Path]:
    """The recording files under ``directory``, sorted; none when it is not there."""
    found = []
    for folder, _, names in os.walk(directory):  # links to folders are not followed
        for name in names:
            path = Path(folder) / name
            if name.endswith(RECORDING_SUFFIXES) and path.is_file() and not path.is_symlink():
                found.append(path)
    return sorted(found)
