"""Files only their owner may read (heart data, reports, secrets): one way to write them."""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
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
    found = refuse_others_link(path)  # this one look decides: a link put there since is
    if found is None or stat.S_ISREG(found.st_mode):  # replaced by the rename, not followed
        target = path
    elif stat.S_ISLNK(found.st_mode) and (path.is_file() or not path.exists()):
        target = path.resolve()  # ours or root's
    else:
        with path.open("wb") as handle:  # a directory is an OSError naming it
            handle.write(content)
        return
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


def refuse_others_link(path: Path) -> os.stat_result | None:
    """``path``'s own status (``lstat``; None when nothing is there), or an ``OSError`` naming
    it when it is a link or a pipe made by a user other than this process's or root.
    ``write_private`` resolves a link itself, where the kernel's protected_symlinks cannot see
    it: root's ``ambient export --out /tmp/alex.json`` would replace whatever a link planted
    there beforehand points at (``/etc/shadow``) with the export; a planted pipe would hand
    the export to its reader. Decide on the status returned, not on a second look: a link can
    be planted in between."""
    try:
        info = os.lstat(path)
    except OSError:
        return None  # nothing there (or unreachable: the write says so)
    _refuse_if_others(info, path)
    return info


def _refuse_if_others(info: os.stat_result, path: Path) -> None:
    """The ``OSError`` of ``refuse_others_link`` when ``info`` is another user's link or pipe."""
    if info.st_uid in (os.geteuid(), 0):
        return
    if stat.S_ISLNK(info.st_mode):
        why = f"a link made by another user (uid {info.st_uid}), not followed"
    elif stat.S_ISFIFO(info.st_mode):
        why = f"a pipe made by another user (uid {info.st_uid}), not written to"
    else:
        return
    raise OSError(errno.EPERM, f"{why}: remove it, or write elsewhere", str(path))


def open_private(path: Path, flags: int) -> int:
    """``os.open(path, flags)``, a file it makes 0600, following a link at ``path`` only when
    one of ours or root's was there when looked at: another user's link or pipe, there then or
    put there since, is refused as ``refuse_others_link`` refuses it."""
    found = refuse_others_link(path)
    if found is not None and stat.S_ISLNK(found.st_mode):
        return os.open(path, flags, 0o600)
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link now: whose?
            refuse_others_link(path)
        raise
    try:
        _refuse_if_others(os.fstat(descriptor), path)  # a pipe put there since the look
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


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


def user_name(uid: int) -> str:
    """The name of the user ``uid``, or ``uid N`` for one this machine does not name: how
    ambient says whose a file is."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
