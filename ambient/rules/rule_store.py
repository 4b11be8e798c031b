"""A rule's state in the store, keyed by rule id: `for` windows, cooldowns, open episodes,
running sequences and the newest fire time each schedule handled, so they continue after a
restart. State saved by a different version of the rule (another fingerprint) is dropped, but
for the handled fire times: they are kept by schedule (see :mod:`.catch_up`)."""

from __future__ import annotations

import logging
import math
from typing import Any

from ambient.rules.rule import Rule
from ambient.rules.state import PersonState, TriggerState, follow_clock
from ambient.rules.write_behind import WriteBehind
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

STATE_NAMESPACE = "rules"


class RuleStore:
    """Loads rule state at start and writes it back behind the actions (see
    :mod:`~ambient.rules.write_behind`), coalesced to one write per rule."""

    def __init__(self, store: Store, writes: WriteBehind) -> None:
        self._store = store
        self._writes = writes
        self._clock = writes.clock

    def load(self, rule: Rule) -> bool:
        """Put the saved state into ``rule``; False when there is none it can use."""
        stored = self._store.get(STATE_NAMESPACE, rule.id)
        if not isinstance(stored, dict):
            return False
        # Kept when the rule changed: they belong to its schedules, which say if they did.
        rule.fire_times = _fire_times(stored.get("fire_times"))
        saved_by = stored.get("fingerprint")
        if saved_by != rule.fingerprint and saved_by not in rule.earlier_fingerprints:
            _LOGGER.info("Rule %s changed since its state was saved; starting it fresh", rule.id)
            self._store.delete(STATE_NAMESPACE, rule.id)
            return False
        try:
            rule.persons = {
                key: PersonState.from_json(data) for key, data in stored["persons"].items()
            }
            rule.entity_pending = {
                key: TriggerState.from_json(data)
                for key, data in stored.get("entity_pending", {}).items()
            }
        except (KeyError, TypeError, ValueError):
            _LOGGER.warning("Saved state of rule %s is unreadable; starting it fresh", rule.id)
            rule.persons, rule.entity_pending = {}, {}
            return False
        self.follow_clock(rule)
        return True

    def save(self, rule: Rule) -> None:
        """Persist ``rule`` shortly: changes made while handling one update (or one timer),
        and the firing's run record, are written together, once, after the action is sent."""
        self._writes.put(STATE_NAMESPACE, rule.id, lambda: self.record(rule))

    def write_all(self, rules: list[Rule]) -> None:
        """Write every rule and everything pending now, in one transaction (at stop)."""
        for rule in rules:
            self.save(rule)
        self._writes.flush()

    def follow_clock(self, *rules: Rule) -> None:
        """Their cooldowns' and episodes' wall times where the clock reads them now (after a
        step of the clock), or their elapsed times from the wall times restored."""
        now, monotonic = self._clock.now(), self._clock.monotonic()
        for rule in rules:
            for state in rule.persons.values():
                follow_clock(state, now, monotonic)

    def record(self, rule: Rule) -> dict[str, Any]:
        """What is written: wall times as the clock reads them at the write, so a step of the
        clock before a restart (or a reload) moves a cooldown's end and an escalation with it."""
        self.follow_clock(rule)
        return {
            "fingerprint": rule.fingerprint,
            "persons": {key: state.to_json() for key, state in rule.persons.items()},
            "entity_pending": {k: v.to_json() for k, v in rule.entity_pending.items()},
            "fire_times": dict(rule.fire_times),
        }


def _fire_times(stored: Any) -> dict[str, float]:
    """The handled fire times saved (none from a version that kept none, or unreadable)."""
    if not isinstance(stored, dict):
        return {}
    return {
        str(key): float(value)
        for key, value in stored.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
