"""Files only their owner may read (heart data, reports, secrets): one way to write them."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path``, created mode 0600 whatever the umask, and
    replace an older file atomically: a reader sees the old file or the whole new one, and an
    older file's looser mode does not carry over. A write that fails (a full disk) leaves the
    older file, or none, and raises an ``OSError`` naming ``path``. A device or pipe
    (``/dev/stdout``) is written through, and a link's file replaced, not the link."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    if path.exists() and not path.is_file():
        with path.open("wb") as handle:  # a directory is an OSError naming it
            handle.write(content)
        return
    target = path.resolve() if path.is_symlink() else path
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            tmp.replace(target)
        except BaseException:  # a full disk, or Ctrl-C halfway
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise with_filename(exc, path) from None


def with_filename(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` (what chmod, a write or a temporary's error leave out), so its
    one line says where; the type is kept (a closed pipe stays a ``BrokenPipeError``)."""
    return type(exc)(exc.errno, exc.strerror, str(path))
