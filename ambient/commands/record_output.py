"""The file ``ambient record`` writes: the first write that fails (a full disk, a reader that
closed the pipe) ends the recording with one line naming the file, instead of an error for
every reading that follows."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ambient.commands.output import STDOUT_NAME
from ambient.private_files import with_filename
from ambient.readings import Reading
from ambient.recordings import RecordingWriter

if TYPE_CHECKING:
    from ambient.config.retention import RetentionConfig


#: ``--out -``: the recording goes to stdout, never to a file called ``-``.
STDOUT = Path("-")


class RecordOutput(RecordingWriter):
    """A recording that keeps its first failed write in ``failure`` (an ``OSError`` naming the
    file) and calls ``stop`` once; later readings are dropped."""

    def __init__(self, path: Path) -> None:
        """``path`` ``-``: stdout (CSV), as for ``ambient export --out -``."""
        try:
            if path == STDOUT:
                sys.stdout.flush()
                super().__init__(path, os.dup(sys.stdout.fileno()))
            else:
                super().__init__(path)
        except OSError as exc:  # one that names no file: making a file we may not own 0600,
            raise with_filename(exc, self._named(path)) from None  # or writing the header
        self.failure: OSError | None = None
        #: Ends the recording (set once whatever feeds the readings exists).
        self.stop: Callable[[], None] = lambda: None

    def write(self, reading: Reading) -> None:
        if self.failure is not None:
            return
        try:
            super().write(reading)
        except OSError as exc:
            self.failure = with_filename(exc, self._named(self.path))
            self.stop()

    @staticmethod
    def _named(path: Path) -> Path:
        """How a failure names the output: ``stdout`` for ``-``."""
        return Path(STDOUT_NAME) if path == STDOUT else path

    def write_or_raise(self, reading: Reading) -> None:
        """``write``, raising the failure (for a copy loop that ends on an exception)."""
        self.write(reading)
        if self.failure is not None:
            raise self.failure

    def close(self) -> None:
        """Close the file; a failure already kept is not raised again by the last flush."""
        try:
            super().close()
        except OSError as exc:
            if self.failure is None:
                raise with_filename(exc, self._named(self.path)) from None


def written_note(path: Path, config: RetentionConfig, store: Path | None) -> list[str]:
    """What ``ambient record`` says on stderr once the recording is written."""
    if path == STDOUT:
        return ["wrote the recording to stdout"]
    from ambient.privacy.retention import unmanaged_recording_note

    note = unmanaged_recording_note(path, config, store)
    return [f"wrote {path}"] + ([] if note is None else [f"note: {note}"])
