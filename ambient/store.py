"""State that must survive a restart (baselines, rule timers, cooldowns, traces) in SQLite.

One small key-value table of JSON values by namespace, plus bounded lists for traces. WAL mode,
file mode 0600 (health data). Calls are synchronous and cheap; callers write on change, never
per beat.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

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

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is None:
            self._db = sqlite3.connect(":memory:")
        else:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                # Create it 0600 before SQLite opens it, so no other user ever can read it.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            path.chmod(0o600)
            old_umask = os.umask(0o077)  # the -wal and -shm files too
            try:
                self._db = sqlite3.connect(path)
                self._db.execute("PRAGMA journal_mode=WAL")
            finally:
                os.umask(old_umask)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def get(self, namespace: str, key: str) -> Any | None:
        row = self._db.execute(
            "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, namespace: str, key: str, value: Any) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                (namespace, key, json.dumps(value, separators=(",", ":"))),
            )

    def delete(self, namespace: str, key: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))

    def items(self, namespace: str) -> dict[str, Any]:
        rows = self._db.execute(
            "SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,)
        )
        return {key: json.loads(value) for key, value in rows}

    def append(self, namespace: str, key: str, value: Any, keep: int) -> None:
        """Add ``value`` to the list ``namespace/key``, keeping only the newest ``keep``."""
        with self._db:
            self._db.execute(
                "INSERT INTO log (namespace, key, value) VALUES (?, ?, ?)",
                (namespace, key, json.dumps(value, separators=(",", ":"))),
            )
            self._db.execute(
                "DELETE FROM log WHERE namespace = ? AND key = ? AND id NOT IN "
                "(SELECT id FROM log WHERE namespace = ? AND key = ? ORDER BY id DESC LIMIT ?)",
                (namespace, key, namespace, key, keep),
            )

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

    def close(self) -> None:
        self._db.close()
