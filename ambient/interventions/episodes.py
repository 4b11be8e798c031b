"""The calming episodes of each person and what the learner believes about each option.

One row per episode in ``intervention_episode`` (kept for ``retention.episodes``; exported and
forgotten with the person); beliefs in the key-value table under ``interventions.beliefs``,
keyed ``person/rule``, so a restart goes on learning where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ambient.interventions.learner import OptionBelief
from ambient.interventions.response import EpisodeResponse
from ambient.privacy.data_classes import DataClass, register
from ambient.store import Store

BELIEFS_NAMESPACE = "interventions.beliefs"
#: Whose episode a run for no person is in a home of several: nobody's body to measure.
HOUSEHOLD = "_household"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intervention_episode (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person TEXT NOT NULL,
    rule TEXT NOT NULL,
    option TEXT NOT NULL,
    start REAL NOT NULL,
    measured_at REAL,
    context TEXT NOT NULL,
    ln_rmssd_change_sd REAL,
    hr_change_sd REAL,
    usable INTEGER,
    reason TEXT,
    check_in TEXT
);
CREATE INDEX IF NOT EXISTS intervention_episode_by_person
    ON intervention_episode (person, rule, start);
"""

register(
    DataClass(
        name="episodes",
        table="intervention_episode",
        person="person",
        time="start",
        retention="episodes",
        description="calming episodes: the option chosen, its context and the measured response",
        json_columns=("context",),
    )
)
register(
    DataClass(
        name="learner",
        table="kv",
        where=f"namespace = '{BELIEFS_NAMESPACE}'",
        person="substr(key, 1, instr(key, '/') - 1)",
        time=None,
        retention=None,
        description="what the learner believes about each calming option, per person and rule",
        json_columns=("value",),
    )
)


@dataclass(frozen=True, slots=True)
class EpisodeRow:
    """One stored episode (``usable`` None until it is measured)."""

    id: int
    person: str
    rule: str
    option: str
    start: float
    context: Mapping[str, Any]
    ln_rmssd_change_sd: float | None
    hr_change_sd: float | None
    usable: bool | None
    reason: str | None
    check_in: str | None
    measured_at: float | None = None


class EpisodeBook:
    """Episodes and beliefs in the store; every call is one short transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        store.execute_script(_SCHEMA)

    def open(
        self, person: str, rule: str, option: str, start: float, context: Mapping[str, Any]
    ) -> int:
        return self._store.insert(
            "INSERT INTO intervention_episode (person, rule, option, start, context) "
            "VALUES (?, ?, ?, ?, ?)",
            (person, rule, option, start, json.dumps(dict(context), separators=(",", ":"))),
        )

    def record_response(self, episode_id: int, response: EpisodeResponse, time: float) -> None:
        self._store.execute(
            "UPDATE intervention_episode SET measured_at = ?, ln_rmssd_change_sd = ?, "
            "hr_change_sd = ?, usable = ?, reason = ? WHERE id = ?",
            (
                time,
                response.ln_rmssd_change_sd,
                response.hr_change_sd,
                int(response.usable),
                response.reason,
                episode_id,
            ),
        )

    def record_check_in(self, episode_id: int, answer: str) -> None:
        self._store.execute(
            "UPDATE intervention_episode SET check_in = ? WHERE id = ?", (answer, episode_id)
        )

    def episodes(self, person: str | None = None, since: float = 0.0) -> list[EpisodeRow]:
        if person is None:
            return self._select("start >= ?", (since,))
        return self._select("start >= ? AND person = ?", (since, person))

    def counts_by_rule(self, person: str | None = None) -> dict[str, int]:
        """Rule id -> how many episodes are stored for it (``person``'s, or everyone's)."""
        rows = self._store.query(
            "SELECT rule, count(*) FROM intervention_episode WHERE ? IS NULL OR person = ? "
            "GROUP BY rule",
            (person, person),
        )
        return {str(rule): int(count) for rule, count in rows}

    def episode(self, episode_id: int) -> EpisodeRow | None:
        rows = self._select("id = ?", (episode_id,))
        return rows[0] if rows else None

    def unmeasured(self) -> list[EpisodeRow]:
        return self._select("usable IS NULL", ())

    def _select(self, where: str, params: tuple[Any, ...]) -> list[EpisodeRow]:
        rows = self._store.query(
            "SELECT id, person, rule, option, start, context, ln_rmssd_change_sd, hr_change_sd, "
            f"usable, reason, check_in, measured_at FROM intervention_episode WHERE {where} "
            "ORDER BY start, id",
            params,
        )
        return [
            EpisodeRow(
                id=row[0],
                person=row[1],
                rule=row[2],
                option=row[3],
                start=row[4],
                context=json.loads(row[5]),
                ln_rmssd_change_sd=row[6],
                hr_change_sd=row[7],
                usable=None if row[8] is None else bool(row[8]),
                reason=row[9],
                check_in=row[10],
                measured_at=row[11],
            )
            for row in rows
        ]

    def beliefs(self, person: str, rule: str) -> dict[str, OptionBelief]:
        data = self._store.get(BELIEFS_NAMESPACE, f"{person}/{rule}") or {}
        return {option: OptionBelief.from_json(value) for option, value in data.items()}

    def save_beliefs(self, person: str, rule: str, beliefs: Mapping[str, OptionBelief]) -> None:
        self._store.put(
            BELIEFS_NAMESPACE,
            f"{person}/{rule}",
            {option: belief.to_json() for option, belief in beliefs.items()},
        )

    def all_beliefs(self) -> dict[tuple[str, str], dict[str, OptionBelief]]:
        """Beliefs by (person, rule)."""
        result: dict[tuple[str, str], dict[str, OptionBelief]] = {}
        for key, data in self._store.items(BELIEFS_NAMESPACE).items():
            person, _, rule = key.partition("/")
            result[(person, rule)] = {
                option: OptionBelief.from_json(value) for option, value in data.items()
            }
        return result
