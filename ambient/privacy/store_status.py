"""One line about the store's encryption, for ``ambient check``: what the config asks for and
what the file on disk is. ``check`` stays fast and read-only: an encrypted file is opened read
only, to try the key (milliseconds with a raw key); of a plain one, only what ``run`` reads as
it starts (its format, schema and small state tables), to fail where ``run`` would."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

from ambient.config.store import StoreConfig, StoreEncryptionConfig
from ambient.private_files import user_name
from ambient.store import file_problem, refuse_newer_format, room_left_beside
from ambient.store_crypto import (
    CREDENTIALS_ENV,
    StoreError,
    StoreKey,
    file_is_plain,
    key_opens,
    not_opened,
    read_key,
    sqlcipher,
)


def describe_store(config: StoreConfig) -> tuple[str, bool]:
    """The line, and False when the store cannot be used as configured (encryption asked
    for and SQLCipher missing, an encrypted file and no key, a newer format, damage)."""
    path = config.path
    if path is None:
        return "in memory (nothing is written to disk)", True
    if (full := no_room_to_open(path)) is not None:
        return full, False
    try:
        plain = file_is_plain(path)
    except OSError as exc:
        return f"{path} (cannot read it to tell whether it is encrypted: {exc.strerror})", True
    if plain and (refused := run_refuses(path)) is not None:
        return refused, False
    encryption = config.encryption
    if encryption is None:
        if plain is False:
            return not_opened(path, None), False
        return f"{path}, not encrypted (store.encryption encrypts it; see docs/privacy.md)", True
    try:
        sqlcipher()
        key = _check_key_file(encryption)
    except StoreError as exc:
        return f"{path}: {exc}", False
    if encryption.key_file is not None:
        source = f"key file {encryption.key_file}"
    elif encryption.credential is not None:
        source = f"systemd credential {encryption.credential}"
    else:
        source = "the config"
    if plain is False and key is not None:
        try:
            opens = key_opens(path, key)
        except Exception as exc:  # SQLCipher's errors, which are not sqlite3's
            if (problem := file_problem(exc, path)) is None:
                raise  # a bug: its traceback is what a report needs
            return f"store {path} {problem}", False
        if not opens:
            return not_opened(path, key), False
        if (refused := run_refuses(path, key)) is not None:
            return refused, False
    state = {
        None: "created encrypted at the first start",
        True: "a plain file now: encrypted at the next start",
        False: "encrypted",
    }[plain]
    return f"{path}, encrypted with SQLCipher ({state}; key from {source})", True


#: Room ``run`` needs where the store is to open it: its -shm file (32 KiB) and the first
#: pages of its -wal. Measured on a full card (a tmpfs): with 40 KiB left ``run`` could not
#: open a small store; with 56 KiB it started but could write nothing; with 72 KiB it ran.
#: Not the margin under which the store takes an I/O error for a full disk (1 MiB, in
#: ``ambient.store``): that one reads a write already failed; this foresees whether ``run``
#: can start at all, and a larger one would refuse configs ``run`` runs.
OPEN_NEEDS_BYTES = 64 * 1024


def no_room_to_open(path: Path) -> str | None:
    """Why ``run`` would fail on the store at ``path`` as a full disk, in its words (check only
    reads, so the store itself opens here): less room left beside it than opening it takes;
    None when there is room, or the folder cannot be looked at (``run`` says why)."""
    left = room_left_beside(path)
    if left is None or left >= OPEN_NEEDS_BYTES:
        return None
    return (
        f"store {path} cannot be used (database or disk is full): {left // 1024} KiB left on "
        f"its disk, and run needs about {OPEN_NEEDS_BYTES // 1024} KiB to open it (its -wal "
        "and -shm files); make room (old recordings, logs) and check again"
    )


def _read_only_uri(path: Path) -> str:
    """How check opens the store: read only, making no file. A read-only connection to a store
    in WAL mode makes its -wal and -shm when they are not there (no one has it open) and
    leaves them, the caller's: root's under `sudo ambient check`, which `run` as the service's
    user cannot write. So a store without them is opened as immutable (nothing is in a WAL to
    read); one with them (the daemon running, or a crash) through them, under SQLite's locks."""
    in_use = all(path.with_name(f"{path.name}-{end}").exists() for end in ("wal", "shm"))
    return f"{path.absolute().as_uri()}?mode=ro{'' if in_use else '&immutable=1'}"


def run_refuses(path: Path, key: StoreKey | None = None) -> str | None:
    """Why ``run`` would refuse the store at ``path`` (encrypted with ``key``, which opens it),
    in its words, from one read-only opening of it: a newer version wrote it (its header), or
    what it reads as it starts (the schema and the store's own tables) cannot be read, damaged
    by a power cut or a worn card; None when it would not, or the file cannot be opened here
    (``run`` says why)."""
    driver: Any = sqlite3 if key is None else sqlcipher()
    try:
        with contextlib.closing(driver.connect(_read_only_uri(path), uri=True)) as db:
            if key is not None:
                db.execute("PRAGMA cipher_log_level = NONE")
                db.execute(key.pragma())
            refuse_newer_format(db, path)
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
            for table in sorted(tables & {"kv", "log"}):
                db.execute(f"SELECT count(*) FROM {table}").fetchone()
    except StoreError as exc:
        return str(exc)
    except driver.Error as exc:  # one it cannot open here (another user's): run says why
        problem = file_problem(exc)
        if problem is not None and problem.startswith("is damaged"):
            return f"store {path} {problem}"
    return None


def _check_key_file(encryption: StoreEncryptionConfig) -> StoreKey | None:
    """The key, to try on the file; a key file ``run`` would refuse (missing, a folder, empty,
    readable by others) is a StoreError now. A credential is read where the service's
    credentials are (the unit's ``check`` before each start), as ``run`` will; outside the
    service it, and a key file this user may not read or not even look for (the daemon's user
    may), is left to ``run`` (None). In the service, a key file it may not read (root's, as
    install.sh makes it) would stop ``run`` at every start: a StoreError saying what to write."""
    in_service = bool(os.environ.get(CREDENTIALS_ENV))
    if encryption.credential is not None:
        return read_key(encryption) if in_service else None
    key_file = encryption.key_file
    try:
        if key_file is not None and key_file.exists() and not os.access(key_file, os.R_OK):
            if in_service:
                raise StoreError(_unreadable_key_file(key_file))
            return None
    except PermissionError:  # inside a folder this user may not enter (0700, the daemon's)
        return None
    return read_key(encryption)


#: The key file the shipped unit hands over as the credential ``store_key`` (its
#: ``LoadCredential=``).
UNIT_KEY_FILE = Path("/etc/ambient/store.key")


def _unreadable_key_file(key_file: Path) -> str:
    """Why the service cannot read ``key_file``, from the file itself (whose it is, its mode),
    and what to write: ``credential: store_key`` for the file the unit hands over; for another,
    that file put there, or read access for the service's user."""
    found = key_file.stat()
    owner = f"{user_name(found.st_uid)}'s"
    said = (
        f"store key file {key_file}: the service cannot read it ({owner}, mode "
        f"{stat.S_IMODE(found.st_mode):04o})"
    )
    if key_file.resolve() == UNIT_KEY_FILE.resolve():  # (either a link to the other)
        return (
            f"{said}: write `credential: store_key` beside it, which the unit hands over "
            "(docs/privacy.md)"
        )
    return (
        f"{said}: the unit hands over only {UNIT_KEY_FILE}, as `credential: store_key`: put "
        "the key there and write that beside it, or let the service's user read this file "
        "(docs/privacy.md)"
    )
