"""State that must survive a restart (baselines, rule timers, cooldowns, traces) in SQLite.

One small key-value table of JSON values by namespace, plus bounded lists for traces. WAL mode,
file mode 0600 (health data). Calls are synchronous and cheap; callers write on change, never
per beat.

Encryption at rest is decided where the connection is opened (``Store(path, key)``, or
``Store.from_config``): every table in the file is encrypted, including tables other modules add
through this connection (``execute_script``). Never open the file with another connection.
Per-person tables should also be registered in :mod:`ambient.privacy.data_classes`, so that
retention, export and forget cover them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ambient.private_files import make_private_dir, refuse_others_link
from ambient.store_crypto import (
    StoreError,
    StoreKey,
    file_is_plain,
    not_opened,
)

if TYPE_CHECKING:
    from ambient.clock import Clock
    from ambient.config.store import StoreConfig

__all__ = [
    "STORE_FORMAT",
    "Store",
    "StoreError",
    "StoreKey",
    "encrypt_at_start",
    "existing_store_path",
]

_LOGGER = logging.getLogger(__name__)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _names_its_file(
    method: Callable[Concatenate[Store, _P], _R],
) -> Callable[Concatenate[Store, _P], _R]:
    """A failure the file causes (a full disk, damage) comes out as a StoreError naming the
    file, from whichever call met it: a timer's or a command's one line then says which file
    (and an encrypted store's errors, which are not sqlite3's, are caught as one)."""

    def calling(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if (named := self.named_problem(exc)) is None:
                raise  # a bug: its traceback is what a report needs
            raise named from exc

    functools.update_wrapper(calling, method)
    return calling


#: The layout of what the store holds, stamped in the file by the daemon (SQLite's
#: ``user_version``). Raise it with a change an older version would misread (a value's new
#: shape it cannot load): that version then refuses the file instead of overwriting it. Older
#: stores (0, or lower) are read as they are: each reader takes the shapes it had before.
STORE_FORMAT = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_by_key ON log (namespace, key, id);
"""


class Store:
    """A typed face over one SQLite file; ``Store(None)`` keeps everything in memory."""

    def __init__(
        self, path: Path | None, key: StoreKey | None = None, migrate: bool = False
    ) -> None:
        """``key``: open (or create) the file encrypted with SQLCipher; a ``StoreError`` when
        that cannot be done, never a new plain file instead. A plain file is encrypted in
        place only with ``migrate`` (the daemon, as it starts); a command reads it as it is:
        a daemon still running on it would go on writing into the replaced file, and lose it."""
        self.path = path
        #: Whether the file on disk is encrypted (an in-memory store has no file).
        self.encrypted = False
        self._batching = False
        if path is None:
            self._db = sqlite3.connect(":memory:")
            self._create_tables()
            return
        make_private_dir(path.parent)
        refuse_others_link(path)  # root's command on the service's store: as for its -wal
        if not path.exists():
            # Create it 0600 before SQLite opens it, so no other user ever can read it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        path.chmod(0o600)
        for beside in ("-wal", "-shm"):  # left by a crash: SQLite goes on with them as they are
            left = path.with_name(path.name + beside)
            # Root's command on the service's store: a link its user put there is not followed.
            refuse_others_link(left)
            with contextlib.suppress(FileNotFoundError, PermissionError):  # not ours: as found
                left.chmod(0o600)
        old_umask = os.umask(0o077)  # the -wal and -shm files too
        try:
            self._db, self.encrypted = _connect(path, key, migrate)
            self._check_format(migrate)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._create_tables()
        except Exception as exc:  # sqlite3's errors, or SQLCipher's (which are not sqlite3's)
            if (named := self.named_problem(exc)) is None:
                raise  # a bug: its traceback is what a report needs
            raise named from None
        finally:
            os.umask(old_umask)

    def named_problem(self, exc: Exception) -> StoreError | None:
        """``exc`` as a StoreError naming this store's file when the file caused it; None for
        anything else."""
        problem = file_problem(exc, self.path)
        if problem is None:
            return None
        return StoreError(f"store {self.path or 'in memory'} {problem}")

    def _check_format(self, stamp: bool) -> None:
        """Refuse a file a newer version wrote (it may hold values laid out in ways this one
        would misread, and overwrite); ``stamp`` (the daemon): mark it as of this format."""
        try:
            found = refuse_newer_format(self._db, self.path)
        except StoreError:
            self._db.close()
            raise
        if stamp and found < STORE_FORMAT:
            self._db.execute(f"PRAGMA user_version = {STORE_FORMAT}")

    def _create_tables(self) -> None:
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Commit every write made inside once, at the end (one fsync for a burst of writes)."""
        if self._batching:
            yield
            return
        self._batching = True
        try:
            with self._db:
                yield
        except Exception as exc:  # the commit's failure, or what the writes inside raised
            if (named := self.named_problem(exc)) is None:
                raise
            raise named from exc
        finally:
            self._batching = False

    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext() if self._batching else self._db

    @_names_its_file
    def get(self, namespace: str, key: str) -> Any | None:
        row = self._db.execute(
            "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    @_names_its_file
    def put(self, namespace: str, key: str, value: Any) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                (namespace, key, json.dumps(value, separators=(",", ":"))),
            )

    @_names_its_file
    def delete(self, namespace: str, key: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))

    @_names_its_file
    def items(self, namespace: str) -> dict[str, Any]:
        rows = self._db.execute(
            "SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,)
        )
        return {key: json.loads(value) for key, value in rows}

    @_names_its_file
    def append(self, namespace: str, key: str, value: Any, keep: int) -> None:
        """Add ``value`` to the list ``namespace/key``, keeping only the newest ``keep``."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO log (namespace, key, value) VALUES (?, ?, ?)",
                (namespace, key, json.dumps(value, separators=(",", ":"))),
            )
            self._db.execute(
                "DELETE FROM log WHERE namespace = ? AND key = ? AND id NOT IN "
                "(SELECT id FROM log WHERE namespace = ? AND key = ? ORDER BY id DESC LIMIT ?)",
                (namespace, key, namespace, key, keep),
            )

    @_names_its_file
    def recent(self, namespace: str, key: str | None = None, limit: int = 100) -> list[Any]:
        """The newest ``limit`` entries of a list (of every list in ``namespace`` when
        ``key`` is None), oldest first."""
        if key is None:
            rows = self._db.execute(
                "SELECT value FROM log WHERE namespace = ? ORDER BY id DESC LIMIT ?",
                (namespace, limit),
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT value FROM log WHERE namespace = ? AND key = ? ORDER BY id DESC LIMIT ?",
                (namespace, key, limit),
            ).fetchall()
        return [json.loads(row[0]) for row in reversed(rows)]

    @_names_its_file
    def close(self) -> None:
        self._db.close()

    @classmethod
    def from_config(
        cls, config: StoreConfig, in_memory: bool = False, migrate: bool = False
    ) -> Store:
        """The store ``config`` describes, with its key read from the configured source
        (``migrate``: as for ``Store``)."""
        if in_memory or config.path is None:
            return cls(None)
        key = None
        if config.encryption is not None:
            from ambient.store_crypto import read_key

            key = read_key(config.encryption)
        return cls(config.path, key, migrate)

    # -- generic SQL, for tables registered by other modules (privacy, insights) ------------

    @_names_its_file
    def execute_script(self, sql: str) -> None:
        """Run DDL (``CREATE TABLE IF NOT EXISTS ...``) on this store's connection."""
        self._db.executescript(sql)

    @_names_its_file
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, params).fetchall())

    @_names_its_file
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement (in its own transaction, unless inside ``batch``); the number of
        rows it changed."""
        with self._transaction():
            return int(self._db.execute(sql, params).rowcount)

    @_names_its_file
    def insert(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one INSERT (in its own transaction, unless inside ``batch``); the new row's id."""
        with self._transaction():
            row_id = self._db.execute(sql, params).lastrowid
        assert row_id is not None, "insert() is for INSERT statements"
        return row_id

    @_names_its_file
    def secure_delete(self) -> None:
        """Overwrite deleted content with zeros from now on (forget, retention): a deleted row
        must not survive in a free page."""
        self._db.execute("PRAGMA secure_delete = ON")

    @_names_its_file
    def checkpoint(self, busy_wait_s: float | None = None) -> bool:
        """Fold the write-ahead log back into the file and empty it (no old pages linger).
        False when another connection kept reading past ``busy_wait_s`` (default: the
        connection's 5 s): the log, and the pages the file had before, are then still there."""
        (before_ms,) = self._db.execute("PRAGMA busy_timeout").fetchone()
        wait_ms = before_ms if busy_wait_s is None else round(busy_wait_s * 1000)
        self._db.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
        try:
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {int(before_ms)}")
        return bool(busy == 0)


#: A plain store another process has open (``ambient trace`` reading it as the daemon starts)
#: is looked at again this often, for at most this long, before the start is refused.
ALONE_LOOK_S = 0.1
ALONE_WAIT_S = 5.0


async def encrypt_at_start(
    config: StoreConfig, clock: Clock, stopping: Callable[[], bool] = lambda: False
) -> bool:
    """The daemon's start, before it opens the store: a plain file where an encrypted store is
    configured is encrypted once no other process has it open. A command reading it then lets
    go within moments, so it is looked at again every ``ALONE_LOOK_S`` on ``clock`` (a real
    one: the other process keeps real time) while the loop goes on (the status socket answers
    "starting"), up to ``ALONE_WAIT_S``; then the ``StoreInUse`` saying so. Opening the
    store with ``migrate`` does the same in one look. False when ``stopping`` (the daemon was
    asked to stop meanwhile): nothing is encrypted, the plain file is as it was."""
    path = config.path
    if path is None or config.encryption is None or file_is_plain(path) is not True:
        return True
    from ambient.store_crypto import StoreInUse, read_key

    key = read_key(config.encryption)
    give_up_at = clock.monotonic() + ALONE_WAIT_S
    said = False
    while not stopping():
        try:
            Store(path, key, migrate=True).close()
            return True
        except StoreInUse:
            if clock.monotonic() >= give_up_at:
                raise
        if not said:  # the journal says why the start takes seconds
            said = True
            _LOGGER.info(
                "Store %s: the plain file is open in another process; it is encrypted once "
                "that lets go (looking again for up to %g s)",
                path,
                ALONE_WAIT_S,
            )
        await clock.sleep(ALONE_LOOK_S)
    return False


def existing_store_path(config: StoreConfig, lost: str) -> Path:
    """The store file a command reads; ``StoreError`` saying why there is none (``lost``: what
    a config without a store does not keep)."""
    if config.path is None:
        raise StoreError(f"this config keeps no store (store.path: null), so {lost}")
    if not config.path.exists():
        # Relative only in a config made in code: the loader puts it in the config's folder.
        where = "" if config.path.is_absolute() else f" ({config.path.absolute()})"
        raise StoreError(f"no store at {config.path}{where} yet: has the daemon run?")
    return config.path


#: SQLite's primary codes for a file that is damaged (a power cut, a failing SD card).
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def file_problem(exc: BaseException, path: Path | None = None) -> str | None:
    """What is wrong with the store's file (at ``path``), to end a line naming it ("cannot be
    used (...)", "is damaged (...): ..."), for an SQLite error the file causes (a read-only or
    full place, damage), from sqlite3 or from SQLCipher (an encrypted store; loaded once one is
    opened); None for any other error (a constraint, a misused query): a bug keeps its
    traceback."""
    if path is not None and _is_io_error(exc) and _no_room_beside(path):
        # SQLite's words when the shared-memory file cannot grow ("disk I/O error") read as a
        # failing card, to be replaced, when it is only full.
        return "cannot be used (database or disk is full)"
    drivers = [sqlite3, *filter(None, [sys.modules.get("sqlcipher3.dbapi2")])]
    code = getattr(exc, "sqlite_errorcode", None)  # an extended code: its low byte is primary
    primary = None if code is None else code & 0xFF
    if isinstance(exc, tuple(driver.OperationalError for driver in drivers)):
        # SQLite's generic code is a query's own fault (no such table, a syntax error).
        if primary == sqlite3.SQLITE_ERROR:
            return None
        if primary == sqlite3.SQLITE_BUSY:  # its lock held past the wait, or refused at once
            return f"cannot be used ({exc}): {_BUSY_ADVICE}"
        return f"cannot be used ({exc})"
    if not isinstance(exc, tuple(driver.DatabaseError for driver in drivers)):
        return None
    if primary not in _DAMAGE_CODES:
        return None
    return (
        f"is damaged ({exc}): move it and its -wal and -shm files aside to start with a new "
        "one, or put back a copy"
    )


#: What to do about a store another process holds locked (the daemon encrypting the plain
#: file as it starts holds it for the copy: seconds for a large store on a Pi).
_BUSY_ADVICE = (
    "another process is writing it (ambient encrypting it as it starts, for one); try again in "
    "a moment"
)
#: Less room than this left where the store is, an I/O error is taken as the disk being full.
#: Not the room opening the store takes (``store_status.OPEN_NEEDS_BYTES``, 64 KiB, what
#: ``check`` foresees): this reads a write that already failed, and the write SQLite could not
#: make (a checkpoint, the -shm file growing, a batch of pages) may have needed more than is
#: left after it, so a full disk can still show hundreds of KiB.
_FULL_BELOW_BYTES = 1 << 20


def _is_io_error(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_IOERR


def room_left_beside(path: Path) -> int | None:
    """Bytes this user may still write on the file system ``path`` is on (what a user other
    than root may take); None when its folder cannot be looked at."""
    try:
        found = os.statvfs(path.parent)
    except OSError:
        return None
    return found.f_bavail * found.f_frsize


def _no_room_beside(path: Path) -> bool:
    """Whether the file system ``path`` is on has (next to) no room left for this user: an
    I/O error there is a full disk, not a failing card (see ``_FULL_BELOW_BYTES``)."""
    left = room_left_beside(path)
    return left is not None and left < _FULL_BELOW_BYTES


def refuse_newer_format(db: sqlite3.Connection, path: Path | None) -> int:
    """The store format ``db`` is stamped with; a StoreError when a newer version wrote it."""
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if found > STORE_FORMAT:
        raise StoreError(
            f"store {path} was written by a newer version of ambient (store format {found}; "
            f"this one knows up to {STORE_FORMAT}): install that version again, or put back a "
            "copy of the store from before the upgrade"
        )
    return int(found)


def _connect(path: Path, key: StoreKey | None, migrate: bool) -> tuple[sqlite3.Connection, bool]:
    """The connection, and whether the file is encrypted."""
    plain = file_is_plain(path)
    if key is not None and (migrate or plain is not True):
        from ambient.store_crypto import connect_encrypted, migrate_plain

        if plain:
            with contextlib.closing(sqlite3.connect(path)) as plain_db:
                refuse_newer_format(plain_db, path)  # before the file is rewritten encrypted
            migrate_plain(path, key)
        db: sqlite3.Connection = connect_encrypted(path, key)
        return db, True
    if plain is False:
        raise StoreError(not_opened(path, None))
    return sqlite3.connect(path), False
