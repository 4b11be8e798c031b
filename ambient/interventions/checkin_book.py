"""Check-ins in the store: each question asked after an episode (and what became of it) and
each daily mood, one row each in ``check_in``. Kept for ``retention.check_ins``, exported and
forgotten with the person; the answer to an episode's question is also on the episode."""

from __future__ import annotations

from dataclasses import dataclass

from ambient.privacy.data_classes import DataClass, register
from ambient.store import Store

#: A question waiting for its answer; then answered or timed out. A mood is given.
ASKED, ANSWERED, TIMED_OUT, GIVEN = "asked", "answered", "timed_out", "given"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS check_in (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person TEXT NOT NULL,
    kind TEXT NOT NULL,
    time REAL NOT NULL,
    episode_id INTEGER,
    status TEXT NOT NULL,
    answer TEXT,
    answered_at REAL,
    source TEXT
);
CREATE INDEX IF NOT EXISTS check_in_by_person ON check_in (person, kind, time);
"""
#: A :class:`CheckInRow`'s columns, in its order.
_SELECT_ROWS = "SELECT id, person, kind, time, episode_id, status, answer, source FROM check_in"
#: The ``kv`` namespace of the sends still waiting for a connection (``<check-in>:<send>:<way>``;
#: the key says it all, the value is null; earlier versions stored the time it first failed,
#: never read): a reload or restart sends them; they hold no answer.
_UNSENT = "check_in.unsent"

register(
    DataClass(
        name="check_ins",
        table="check_in",
        person="person",
        time="time",
        retention="check_ins",
        description="check-ins: questions after calming episodes and their answers, daily moods",
    )
)


@dataclass(frozen=True, slots=True)
class CheckInRow:
    id: int
    person: str
    kind: str  # "episode" or "mood"
    time: float
    episode_id: int | None
    status: str
    answer: str | None
    source: str | None


class CheckInBook:
    """Every call is one short transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        store.execute_script(_SCHEMA)

    def asked(self, person: str, episode_id: int, time: float) -> int:
        return self._store.insert(
            "INSERT INTO check_in (person, kind, time, episode_id, status) "
            "VALUES (?, 'episode', ?, ?, ?)",
            (person, time, episode_id, ASKED),
        )

    def close(
        self, check_in_id: int, status: str, answer: str | None, time: float, source: str
    ) -> None:
        self._store.execute(
            "UPDATE check_in SET status = ?, answer = ?, answered_at = ?, source = ? "
            "WHERE id = ? AND status = ?",
            (status, answer, time, source, check_in_id, ASKED),
        )

    def mood(self, person: str, answer: str, time: float, source: str) -> int:
        return self._store.insert(
            "INSERT INTO check_in (person, kind, time, status, answer, answered_at, source) "
            "VALUES (?, 'mood', ?, ?, ?, ?, ?)",
            (person, time, GIVEN, answer, time, source),
        )

    def rows(
        self, person: str | None = None, kind: str | None = None, since: float = 0.0
    ) -> list[CheckInRow]:
        sql = f"{_SELECT_ROWS} WHERE time >= ?"
        params: tuple[object, ...] = (since,)
        if person is not None:
            sql += " AND person = ?"
            params += (person,)
        if kind is not None:
            sql += " AND kind = ?"
            params += (kind,)
        return [CheckInRow(*row) for row in self._store.query(sql + " ORDER BY time, id", params)]

    def open_questions(self) -> list[CheckInRow]:
        return [row for row in self.rows(kind="episode") if row.status == ASKED]

    def question(self, check_in_id: int) -> CheckInRow | None:
        rows = self._store.query(f"{_SELECT_ROWS} WHERE id = ?", (check_in_id,))
        return CheckInRow(*rows[0]) if rows else None

    def unsent(self, check_in_id: int, send: str, way: int) -> None:
        """``send`` ("ask" or "withdraw") of a question waits for way number ``way``. No time
        is kept: each run tries for PATIENCE_S of its own, as a withdrawal is worth sending
        however long the daemon was stopped, and a question only while it is still open."""
        self._store.put(_UNSENT, f"{check_in_id}:{send}:{way}", None)

    def sent(self, check_in_id: int, send: str, way: int) -> None:
        """Sent, given up or no longer wanted: nothing waits any more."""
        self._store.delete(_UNSENT, f"{check_in_id}:{send}:{way}")

    def waiting(self) -> list[tuple[int, str, int]]:
        """Every send still waiting: (check-in, "ask" or "withdraw", way number)."""
        found = []
        for key in self._store.items(_UNSENT):
            check_in, send, way = key.split(":")
            found.append((int(check_in), send, int(way)))
        return sorted(found)
