"""The registry of per-person data in the store: what retention purges, export writes out and
forget erases.

A :class:`DataClass` names rows of one table by SQL: which rows belong to the class
(``where``), whose they are (``person``: a column or an expression such as
``json_extract(value, '$.person')``) and, for data that ages, when they were made (``time``:
unix seconds). A module that adds a per-person table registers it once, at import, next to the
code that writes it::

    from ambient.privacy.data_classes import DataClass, register

    register(DataClass(
        name="daily_summaries",          # the section in an export
        table="daily_summary",
        person="person",
        time="day_start",                # unix seconds; None for state that does not age
        retention="daily_summaries",     # a field of the `retention:` config, or None
        description="one summary per person and day",
    ))

Registration must happen before ``ambient export``/``forget`` or the daemon's purge runs: list
the module in :data:`PROVIDERS` so it is imported then (it need not be imported by anything
else). State kept inside a JSON value shared by several people (a rule's per-person timers) is
not a row: register a :class:`NestedState` for it, which export and forget call.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ambient.config.retention import RetentionConfig
from ambient.store import Store

#: Modules that register data classes of their own when imported (add yours here).
PROVIDERS: list[str] = [
    "ambient.interventions.episodes",
    "ambient.interventions.checkin_book",
    "ambient.actuators.ha_episode",
    "ambient.actuators.ha_notify",
]


@dataclass(frozen=True)
class DataClass:
    """Rows of ``table`` (those matching ``where``) that belong to one person each."""

    name: str
    table: str
    person: str
    time: str | None
    retention: str | None
    description: str
    where: str = "1"
    #: Columns holding JSON text: decoded in an export, so it reads as one document.
    json_columns: tuple[str, ...] = ()
    #: Called by forget before the person's rows are deleted, for rows that still owe the home
    #: something (an open episode's undo): it may keep what is owed under a key that does not
    #: name the person, and returns a line for forget's report (None: nothing was owed).
    hand_over: Callable[[Store, str], str | None] | None = None

    def person_clause(self) -> str:
        return f"({self.where}) AND ({self.person}) = ?"

    def exists(self, store: Store) -> bool:
        """Whether the table is in this store yet (a feature that never ran has none)."""
        rows = store.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
        )
        return bool(rows)


@dataclass(frozen=True)
class NestedState:
    """Per-person state inside values shared by several people (not rows of its own):
    ``collect`` gives the person's part for an export, ``erase`` removes it (the count)."""

    name: str
    description: str
    collect: Callable[[Store, str], list[dict[str, Any]]]
    erase: Callable[[Store, str], int]


_CLASSES: dict[str, DataClass] = {}
_NESTED: dict[str, NestedState] = {}


def register(data_class: DataClass) -> None:
    """Add ``data_class`` (replacing one of the same name: re-imports are harmless)."""
    if (
        data_class.retention is not None
        and data_class.retention not in RetentionConfig.model_fields
    ):
        raise ValueError(
            f"data class {data_class.name}: retention `{data_class.retention}` is not a field "
            "of the retention config"
        )
    if data_class.retention is not None and data_class.time is None:
        raise ValueError(f"data class {data_class.name}: retention needs a time column")
    _CLASSES[data_class.name] = data_class


def register_nested(state: NestedState) -> None:
    _NESTED[state.name] = state


def data_classes() -> list[DataClass]:
    """Every registered class, the built-in ones and the providers' included."""
    _load_providers()
    return list(_CLASSES.values())


def nested_states() -> list[NestedState]:
    _load_providers()
    return list(_NESTED.values())


def _load_providers() -> None:
    for module in PROVIDERS:
        importlib.import_module(module)


def _register_person_key(name: str, namespace: str, description: str) -> None:
    """A ``kv`` namespace whose keys are person ids and whose values do not age."""
    register(
        DataClass(
            name=name,
            table="kv",
            where=f"namespace = '{namespace}'",
            person="key",
            time=None,
            retention=None,
            description=description,
            json_columns=("value",),
        )
    )


# -- what the core of ambient keeps ---------------------------------------------------------

register(
    DataClass(
        name="traces",
        table="log",
        where="namespace = 'traces'",
        person="json_extract(value, '$.person')",
        time="json_extract(value, '$.t')",
        retention="traces",
        description="why each rule fired, was suppressed or recovered, with the signals then",
        json_columns=("value",),
    )
)
_register_person_key(
    "baselines", "signals.baseline", "the personal HRV and heart-rate baseline the signals learn"
)
_register_person_key(
    "unreadable_baselines",
    "signals.baseline.unreadable",
    "a saved baseline that could not be read, kept aside for recovery",
)

# The insights' per-person days (namespaces of ambient.insights.storage; keys `person/date`).
# Insights expire them by their own `insights.keep_days`/`keep_minutes_days` too (as a person's
# day closes): the shorter limit wins, and retention ages them also for someone insights no
# longer follows (taken out of the config, or insights disabled).
_PERSON_OF_DAY_KEY = "substr(key, 1, instr(key, '/') - 1)"
register(
    DataClass(
        name="daily_summaries",
        table="kv",
        where="namespace = 'insights.days'",
        person=_PERSON_OF_DAY_KEY,
        time="CAST(strftime('%s', substr(key, instr(key, '/') + 1)) AS REAL)",
        retention="daily_summaries",
        description="one summary per person and day: HR, HRV, stress minutes, sleep, episodes",
        json_columns=("value",),
    )
)
register(
    DataClass(
        name="day_minutes",
        table="kv",
        where="namespace = 'insights.minutes'",
        person=_PERSON_OF_DAY_KEY,
        # `person/date` and its hours' `person/date/HH`: the date's start, as for summaries.
        time="CAST(strftime('%s', substr(key, instr(key, '/') + 1, 10)) AS REAL)",
        retention="day_minutes",
        description="per-minute heart rate, HRV and stress of the recent days (to recompute "
        "a summary)",
        json_columns=("value",),
    )
)


_register_person_key("day_index", "insights.index", "which days are kept for the person")
_register_person_key(
    "open_day", "insights.open", "which day the person's summary is being gathered for"
)
_register_person_key(
    "report_owed",
    "insights.report_owed",
    "which week's delivered report is still owed to the person, and until when it is tried",
)
_register_person_key(
    "report_link",
    "insights.report_token",
    "the secret each week's delivered report's file name is derived from",
)


def _rule_states(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """Each rule's saved state (its `for` windows, cooldowns, open episodes and the last text
    its state triggers saw, per person)."""
    found = []
    for key, value in store.query("SELECT key, value FROM kv WHERE namespace = 'rules'"):
        state = json.loads(value)
        if isinstance(state, dict) and isinstance(state.get("persons"), dict):
            found.append((key, state))
    return found


def _collect_rule_state(store: Store, person: str) -> list[dict[str, Any]]:
    return [
        {"rule": key, "state": state["persons"][person]}
        for key, state in _rule_states(store)
        if person in state["persons"]
    ]


def _erase_rule_state(store: Store, person: str) -> int:
    removed = 0
    for key, state in _rule_states(store):
        if person in state["persons"]:
            del state["persons"][person]
            store.execute(
                "UPDATE kv SET value = ? WHERE namespace = 'rules' AND key = ?",
                (json.dumps(state, separators=(",", ":")), key),
            )
            removed += 1
    return removed


register_nested(
    NestedState(
        name="rule_state",
        description=(
            "each rule's timers, cooldowns, open episode and last text signal value for the person"
        ),
        collect=_collect_rule_state,
        erase=_erase_rule_state,
    )
)
