"""A rule's state in the store, keyed by rule id: `for` windows, cooldowns, open episodes and
running sequences, so they continue after a restart. State saved by a different version of the
rule (another fingerprint) is dropped."""

from __future__ import annotations

import asyncio
import logging

from ambient.rules.rule import Rule
from ambient.rules.state import PersonState, TriggerState
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

STATE_NAMESPACE = "rules"


class RuleStore:
    """Loads rule state at start and writes it back, coalesced to once per rule per loop turn."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._dirty: set[Rule] = set()
        self._flush_scheduled = False

    def load(self, rule: Rule) -> bool:
        """Put the saved state into ``rule``; False when there is none it can use."""
        stored = self._store.get(STATE_NAMESPACE, rule.id)
        if not isinstance(stored, dict):
            return False
        if stored.get("fingerprint") != rule.fingerprint:
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
        return True

    def save(self, rule: Rule) -> None:
        """Persist ``rule`` before the loop's next turn: changes made while handling one
        update (or one timer) are written together, once."""
        if rule in self._dirty:
            return
        self._dirty.add(rule)
        if not self._flush_scheduled:
            try:
                asyncio.get_running_loop().call_soon(self._flush)
            except RuntimeError:  # no loop (a synchronous caller): write now
                self._flush()
                return
            self._flush_scheduled = True

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        for rule in dirty:
            self.write(rule)

    def discard_pending(self) -> None:
        """Forget the coalesced writes (the caller writes every rule itself)."""
        self._dirty.clear()

    def write(self, rule: Rule) -> None:
        self._store.put(
            STATE_NAMESPACE,
            rule.id,
            {
                "fingerprint": rule.fingerprint,
                "persons": {key: state.to_json() for key, state in rule.persons.items()},
                "entity_pending": {k: v.to_json() for k, v in rule.entity_pending.items()},
            },
        )
