"""The recording files retention and forget manage: every ``.csv``, ``.jsonl`` and ``.ndjson``
file under the recordings directory, in its subfolders too (a folder per month, say: ``ambient
record`` calls any path inside the directory managed), never through a link, and never a file
the config replays."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from ambient.recordings import is_recording_name

if TYPE_CHECKING:
    from ambient.config.root import AmbientConfig


def managed_recordings(
    directory: Path,
    replayed: Collection[Path] = (),
    unreadable: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """The recording files under ``directory``, sorted; none when it is not there. Files the
    config replays (``replayed``) are left out: they are the user's, kept as they are. A
    subfolder this user may not read is put in ``unreadable``, with why."""
    kept_whole = {path.resolve() for path in replayed}
    found = []

    def not_read(exc: OSError) -> None:
        if unreadable is not None and exc.filename is not None and Path(exc.filename) != directory:
            unreadable.append((Path(exc.filename), exc.strerror or str(exc)))

    # Links to folders are not followed.
    for folder, _, names in os.walk(directory, onerror=not_read):
        for name in names:
            path = Path(folder) / name
            if not is_recording_name(path) or path.is_symlink() or not path.is_file():
                continue
            if path.resolve() not in kept_whole:
                found.append(path)
    return sorted(found)


def replayed_recordings(config: AmbientConfig) -> list[Path]:
    """The files the config's ``type: recording`` sensors replay."""
    return [sensor.path for sensor in config.sensors if sensor.type == "recording"]
