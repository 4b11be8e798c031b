"""Encryption at rest for the store: the key's sources, and opening a file through SQLCipher.

Why here and not in each table's module: encryption is decided where the connection is opened,
so every table in the file (today's and any a later module adds through the same ``Store``) is
covered without knowing about it. A plain file found where an encrypted one is configured is
migrated once (``sqlcipher_export``); a missing SQLCipher or a wrong key is a ``StoreError``
with one line saying what to do, never a silent plain file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
from pathlib import Path
from typing import Any

from ambient.config.store import StoreEncryptionConfig

#: The first 16 bytes of every plain SQLite file; an SQLCipher file starts with random salt.
SQLITE_HEADER = b"SQLite format 3\x00"
#: The environment variable systemd sets for a unit with ``LoadCredential=``.
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
_RAW_KEY = re.compile(r"[0-9a-fA-F]{64}")
#: SQLite's SQLITE_NOTADB: what a wrong key makes of the first page.
_NOT_A_DATABASE = 26
#: What a key that is not text (random or zero bytes) is said to be, never quoting a byte of it.
NOT_TEXT = "is not text: write the key as 64 hex digits (openssl rand -hex 32) or a passphrase"
_LOGGER = logging.getLogger(__name__)


class StoreError(Exception):
    """The store cannot be opened as configured; the message names the file and the fix."""


class StoreInUse(StoreError):
    """The plain store is open in another process, so it cannot be encrypted now: the daemon's
    start looks again a few times (``ambient.store.encrypt_at_start``) before it says so."""


class StoreKey:
    """The SQLCipher key, kept out of ``repr``, logs and tracebacks' locals."""

    __slots__ = ("_secret", "source")

    def __init__(self, secret: str, source: str) -> None:
        if not secret:
            raise StoreError(f"store key from {source} is empty")
        if "\x00" in secret:  # SQLite refuses it in the PRAGMA: a traceback, later
            raise StoreError(f"store key from {source} {NOT_TEXT}")
        self._secret = secret
        #: Where the key came from (a path or credential name), for messages; never the key.
        self.source = source

    def __repr__(self) -> str:
        return f"StoreKey(source={self.source!r})"

    @property
    def is_raw(self) -> bool:
        """64 hex digits: a raw 256-bit key, used as is (no slow key derivation on a Pi)."""
        return _RAW_KEY.fullmatch(self._secret) is not None

    def sql_value(self) -> str:
        """The key as SQLCipher reads it in ``PRAGMA key`` and ``ATTACH ... KEY``."""
        return f"x'{self._secret}'" if self.is_raw else self._secret

    def pragma(self, name: str = "key") -> str:
        """``PRAGMA key`` (or ``rekey``) with this key."""
        value = self.sql_value().replace("'", "''")
        return f"PRAGMA {name} = '{value}'"


def read_key(config: StoreEncryptionConfig) -> StoreKey:
    """The key from the one source ``config`` names; ``StoreError`` saying what is wrong."""
    if config.key is not None:
        return StoreKey(config.key.get_secret_value().strip(), "store.encryption.key")
    if config.credential is not None:
        directory = os.environ.get(CREDENTIALS_ENV)
        if not directory and config.key_file is not None:
            return _read_key_file(config.key_file, check_mode=True)
        if not directory:
            raise StoreError(
                f"store.encryption.credential `{config.credential}`: ${CREDENTIALS_ENV} is not "
                f"set; run under systemd with LoadCredential={config.credential}:<key file>, "
                "or use store.encryption.key_file"
            )
        return _read_key_file(Path(directory) / config.credential, check_mode=False)
    assert config.key_file is not None
    return _read_key_file(config.key_file, check_mode=True)


def read_key_file(path: Path) -> StoreKey:
    """The key in the file at ``path``, refused as ``key_file`` is if others can read it."""
    return _read_key_file(path, check_mode=True)


def _read_key_file(path: Path, check_mode: bool) -> StoreKey:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"store key file {path} is not a file")
        if check_mode and stat.S_IMODE(info.st_mode) & 0o077:
            raise StoreError(
                f"store key file {path} is readable by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 {path}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StoreError(f"store key file {path} does not exist") from None
    except UnicodeDecodeError:  # its words would quote a byte of the key, and where it is
        raise StoreError(f"store key file {path} {NOT_TEXT}") from None
    except OSError as exc:
        raise StoreError(f"store key file {path}: cannot read it: {exc}") from None
    if "\x00" in text:  # zero bytes (head -c 32 /dev/zero) are UTF-8, but no key's text
        raise StoreError(f"store key file {path} {NOT_TEXT}")
    return StoreKey(text.strip(), str(path))


def sqlcipher() -> Any:
    """The SQLCipher DB-API module; ``StoreError`` when it is not installed."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        raise StoreError(
            "store.encryption is set but SQLCipher is not installed: "
            "pip install 'ambient[crypto]' (the sqlcipher3 package)"
        ) from None
    return dbapi2


def file_is_plain(path: Path) -> bool | None:
    """True for a plain SQLite file, False for anything else (encrypted), None if empty/absent."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    if not head:
        return None
    return head == SQLITE_HEADER


def not_opened(path: Path, key: StoreKey | None) -> str:
    """What ``run`` and ``check`` say of the file at ``path`` that does not start as a plain
    SQLite file's and that ``key`` does not open (None: no key is given): a plain store whose
    header a worn card damaged, else an encrypted one whose key is wrong, or not given."""
    if _header_damaged(path):
        return (
            f"store {path} is damaged (its SQLite header is unreadable): move it and its -wal "
            "and -shm files aside to start with a new one, or put back a copy"
        )
    if key is None:
        return (
            f"store {path} is encrypted (or not an SQLite file): give its key in store.encryption"
        )
    return f"store {wrong_key(path, key)}"


def _header_damaged(path: Path) -> bool:
    """Whether a file that does not start as SQLite's do is a plain store whose header was
    damaged (a worn card) rather than an encrypted one: its schema is still there in the
    clear, which an encrypted file never shows."""
    try:
        with path.open("rb") as handle:
            first_pages = handle.read(1 << 16)
    except OSError:
        return False
    return not first_pages.startswith(SQLITE_HEADER) and b"CREATE TABLE" in first_pages


def connect_encrypted(path: Path, key: StoreKey) -> Any:
    """An SQLCipher connection to the encrypted (or new) file at ``path``."""
    db = sqlcipher().connect(str(path))
    try:
        unlocked = _unlocks(db, key)
    except BaseException:  # the file's fault (full, damaged): the store's line names it
        db.close()
        raise
    if not unlocked:
        db.close()
        raise StoreError(not_opened(path, key))
    return db


def key_opens(path: Path, key: StoreKey) -> bool:
    """Whether ``key`` opens the encrypted file at ``path``, read only (for ``check``)."""
    db = sqlcipher().connect(f"{path.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return _unlocks(db, key)
    finally:
        db.close()


def wrong_key(path: Path, key: StoreKey) -> str:
    """What a key that does not open ``path`` is said to be."""
    return (
        f"{path} cannot be opened with the key from {key.source} (a wrong key, or not an "
        "ambient store)"
    )


def _unlocks(db: Any, key: StoreKey) -> bool:
    """Whether ``key`` opens ``db``: the first page's authentication fails for a wrong key."""
    try:
        _quiet(db)
        db.execute(key.pragma())
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher().DatabaseError as exc:
        # A wrong key reads as "not a database"; a full or failing card is not the key's
        # fault, and the caller's line names it as what it is.
        if (getattr(exc, "sqlite_errorcode", _NOT_A_DATABASE) & 0xFF) != _NOT_A_DATABASE:
            raise
        return False
    return True


def migrate_plain(path: Path, key: StoreKey) -> None:
    """Encrypt the plain store at ``path`` in place: export into a new encrypted file beside
    it, then replace the plain one. The plain file's blocks may survive on flash storage; see
    docs/privacy.md."""
    dbapi2 = sqlcipher()
    encrypted = path.with_name(path.name + ".encrypting")
    for leftover in (encrypted, _wal(encrypted), _shm(encrypted)):
        leftover.unlink(missing_ok=True)
    plain = _alone_with(dbapi2, path)
    try:
        (store_format,) = plain.execute("PRAGMA user_version").fetchone()
        os.close(os.open(encrypted, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
        try:
            _export(dbapi2, path, encrypted, key, store_format)
        except dbapi2.DatabaseError as exc:
            encrypted.unlink(missing_ok=True)
            raise StoreError(f"store {path}: cannot encrypt the plain file: {exc}") from None
        # Still holding the plain file: a write waiting for it comes after the replacement,
        # which SQLite refuses ("attempt to write a readonly database": the file was moved).
        encrypted.replace(path)
    finally:
        plain.close()  # its transaction, which wrote nothing, ends
    for leftover in (_wal(path), _shm(path)):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    _LOGGER.info(
        "Store %s: the plain file is now encrypted with SQLCipher (key from %s); on flash "
        "storage its old blocks may survive until reused",
        path,
        key.source,
    )


def rekey(path: Path, old: StoreKey, new: StoreKey) -> None:
    """Encrypt the store at ``path`` with ``new`` instead of ``old`` (SQLCipher's ``PRAGMA
    rekey``: every page rewritten in one transaction, so a crash leaves the old key working).
    Refused while another process has the file open: it would go on with the old key."""
    db = connect_encrypted(path, old)
    try:
        if db.execute("PRAGMA journal_mode=DELETE").fetchone()[0] != "delete":
            raise StoreError(f"store {path} is open in another process: stop it, then rekey")
        db.execute(new.pragma("rekey"))
        db.execute("PRAGMA journal_mode=WAL")
    except sqlcipher().OperationalError as exc:
        if "locked" not in str(exc):
            raise  # a full or read-only place: the caller's line names it
        raise StoreError(
            f"store {path} is open in another process (the daemon?): stop it, then rekey"
        ) from None
    finally:
        db.close()
    if not key_opens(path, new):  # never expected: said rather than trusted
        raise StoreError(f"store {wrong_key(path, new)} after the rekey")


def _export(dbapi2: Any, path: Path, encrypted: Path, key: StoreKey, store_format: int) -> None:
    """Copy the plain store at ``path`` into the new ``encrypted`` file, through a connection
    of its own (the plain one holds its lock meanwhile)."""
    db = dbapi2.connect(str(encrypted))
    try:
        _quiet(db)
        db.execute(key.pragma())
        db.execute("ATTACH DATABASE ? AS plain KEY ''", (str(path),))
        db.execute("SELECT sqlcipher_export('main', 'plain')")
        db.execute("DETACH DATABASE plain")
        db.execute(f"PRAGMA user_version = {int(store_format)}")
        db.commit()
    finally:
        db.close()


def _alone_with(dbapi2: Any, path: Path) -> Any:
    """A connection to the plain file at ``path`` holding its write lock, kept until the
    encrypted copy has replaced it. Another process still using the file (a command reading
    it for a moment, or a daemon yet to be restarted with the key, which would go on writing
    into the file the encrypted one replaces) is a ``StoreInUse``, and nothing is encrypted;
    one that comes to write meanwhile waits for the lock, or is refused."""
    plain = dbapi2.connect(str(path), timeout=1.0, isolation_level=None)
    try:
        _quiet(plain)
        if _holds_alone(plain):
            return plain
    except BaseException:
        plain.close()
        raise
    plain.close()
    raise StoreInUse(
        f"store {path} is a plain file still open in another process (such as an ambient "
        "command, or an ambient daemon not yet restarted with the key): let it end or stop "
        "it, then start ambient to encrypt it"
    )


def _holds_alone(plain: Any) -> bool:
    """Fold the write-ahead log into the file and leave WAL mode, which SQLite allows only to
    a connection that has the file to itself, then take the file's write lock; False (and
    nothing held) when another process has the file open."""
    try:
        mode = plain.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        if mode == "delete":
            plain.execute("BEGIN IMMEDIATE")
            # Another process may have opened it between the two: then it is in WAL mode again.
            mode = plain.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "delete":
                plain.execute("ROLLBACK")
    except sqlcipher().OperationalError as exc:
        if "locked" not in str(exc):
            raise  # a full or read-only place: the store's own line names it
        return False
    return bool(mode == "delete")


def _quiet(db: Any) -> None:
    """SQLCipher writes its own log lines to stderr (a wrong key logs an HMAC failure per
    page); the ``StoreError`` already says it in one line."""
    db.execute("PRAGMA cipher_log_level = NONE")


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _shm(path: Path) -> Path:
    return path.with_name(path.name + "-shm")
