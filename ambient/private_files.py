"""Files only their owner may read (heart data, reports, secrets): one way to write them."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path``, created mode 0600 whatever the umask, and
    replace an older file atomically: a reader sees the old file or the whole new one, and an
    older file's looser mode does not carry over. A write that fails (a full disk) leaves the
    older file, or none, and raises an ``OSError`` naming ``path``. A device or pipe
    (``/dev/stdout``) is written through, and a link's file replaced, not the link; a link
    another user made is refused (``refuse_others_link``)."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    refuse_others_link(path)
    if path.exists() and not path.is_file():
        with path.open("wb") as handle:  # a directory is an OSError naming it
            handle.write(content)
        return
    target = path.resolve() if path.is_symlink() else path
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        make_private_dir(target.parent)
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


def refuse_others_link(path: Path) -> None:
    """An ``OSError`` naming ``path`` when it is a link made by a user other than this process's
    or root. ``write_private`` resolves a link itself, where the kernel's protected_symlinks
    cannot see it: root's ``ambient export --out /tmp/alex.json`` would replace whatever a
    link planted there beforehand points at (``/etc/shadow``) with the export."""
    try:
        info = os.lstat(path)
    except OSError:
        return  # nothing there (or unreachable: the write says so)
    if stat.S_ISLNK(info.st_mode) and info.st_uid not in (os.geteuid(), 0):
        why = f"a link made by another user (uid {info.st_uid}), not followed"
        raise OSError(errno.EPERM, f"{why}: remove it, or write elsewhere", str(path))


def make_private_dir(path: Path) -> Path:
    """``path`` as a folder, every folder made for it owner-only (0700) whatever the umask; a
    folder already there keeps its mode (it may be shared on purpose). ``path``."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by someone else: theirs
            folder.mkdir(mode=0o700)
            folder.chmod(0o700)  # mkdir's mode passes through the umask
    if not path.is_dir():
        path.mkdir()  # a file in the way: the FileExistsError naming it
    return path


def with_filename(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` (what chmod, a write or a temporary's error leave out), so its
    one line says where; the type is kept (a closed pipe stays a ``BrokenPipeError``)."""
    return type(exc)(exc.errno, exc.strerror, str(path))
