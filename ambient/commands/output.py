"""The command's stdout when it cannot be written: a failed write names it as a file's does
(``stdout: No space left on device`` for ``> file`` on a full disk), what it still holds is
dropped rather than failing again at exit, and a closed pipe stays quiet."""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: What a failed write to stdout names as its file.
STDOUT_NAME = "stdout"


class _StdoutFile(io.FileIO):
    """stdout's descriptor, whose write errors name it; a closed pipe stays a
    BrokenPipeError (``| head``: quiet)."""

    def write(self, data: ReadableBuffer, /) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            raise type(exc)(exc.errno, exc.strerror, STDOUT_NAME) from None


def name_stdout_in_write_errors() -> None:
    """Put stdout's text on a :class:`_StdoutFile`: for the command's own stdout only (the
    console script and ``python -m ambient`` call this; tests calling ``ambient.cli.main``
    with stdout captured keep theirs)."""
    old = sys.__stdout__
    if old is None or sys.stdout is not old:
        return
    try:
        raw = _StdoutFile(old.fileno(), "w", closefd=False)
    except (OSError, ValueError):
        return
    old.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=old.encoding,
        errors=old.errors,
        line_buffering=old.line_buffering,
    )


def flush_stdout() -> None:
    """Write out what stdout holds: a failure is raised now, where a command can say it,
    not at exit (None: started with stdout closed, nothing to write)."""
    if sys.stdout is not None:
        sys.stdout.flush()


def stdout_flushed() -> bool:
    """:func:`flush_stdout`, False with one line on stderr when stdout cannot take it (none
    for a closed pipe)."""
    try:
        flush_stdout()
    except OSError as exc:
        discard_stdout()
        if not isinstance(exc, BrokenPipeError):
            print(f"ambient: {exc.filename or STDOUT_NAME}: {exc.strerror}", file=sys.stderr)
        return False
    return True


def discard_stdout() -> None:
    """Send stdout to /dev/null, so that what it still holds does not fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
