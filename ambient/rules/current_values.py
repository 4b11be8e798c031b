"""What the rules read: the last value seen of each signal a trigger uses and of each HA entity,
and the signal update being processed (the signal view may lag behind it). Unknown stays None."""

from __future__ import annotations

from datetime import datetime, tzinfo

from ambient.clock import Clock
from ambient.messages import SignalScalar, SignalUpdate, SignalValue
from ambient.ports import SignalView
from ambient.rules.conditions import ConditionContext
from ambient.rules.rule import Rule
from ambient.rules.values import EntityState


class CurrentValues:
    """Signal and entity values as the triggers last saw them, read by every part of the engine."""

    def __init__(self, clock: Clock, zone: tzinfo, signals: SignalView) -> None:
        self._clock = clock
        self._zone = zone
        self._signals = signals
        #: Last numeric / text value seen per person and signal (only signals triggers use).
        self.values: dict[str, dict[str, float | None]] = {}
        self.texts: dict[str, dict[str, str | None]] = {}
        self.entities: dict[str, EntityState] = {}
        self.current: SignalUpdate | None = None

    def threshold(self, limit: float | str | None) -> float | None:
        if limit is None or isinstance(limit, float):
            return limit
        entity = self.entities.get(limit)
        return None if entity is None else entity.number()

    def signal(self, person: str, name: str) -> SignalValue | None:
        """The current value, preferring the update being processed (the view may lag)."""
        current = self.current
        if current is not None and current.person == person:
            value = current.values.get(name)
            if value is not None:
                return value
        try:
            return self._signals.get(person, name)
        except KeyError:
            return None

    def signals_seen(self, rule: Rule, person: str | None) -> dict[str, SignalScalar | None]:
        if person is None:
            return {}
        seen: dict[str, SignalScalar | None] = {}
        for name in rule.own_signal_names:
            value = self.signal(person, name)
            seen[name] = None if value is None else value.value
        return seen

    def condition_context(self, person: str | None, trigger_id: str | None) -> ConditionContext:
        now = self._clock.now()
        return ConditionContext(
            now=now,
            local=datetime.fromtimestamp(now, self._zone),
            person=person,
            trigger_id=trigger_id,
            signal=(lambda name: None) if person is None else (lambda n: self.signal(person, n)),
            person_signal=self.signal,
            entities=self.entities,
            threshold=self.threshold,
        )
