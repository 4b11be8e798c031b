"""A replay as what a picture or a score needs: each signal's changes, the rules' firings and
recoveries, their thresholds and the labels, in seconds from the start of the recording."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ambient.config import AmbientConfig
from ambient.config.rules import RuleConfig
from ambient.config.triggers import SignalTriggerConfig
from ambient.evaluate.changes import Change as Change  # what the pictures read
from ambient.evaluate.changes import SignalChanges, SignalColumn
from ambient.labels import Labels
from ambient.simulate import Simulation

#: Trace events a timeline shows.
SHOWN_EVENTS = frozenset({"fired", "recovered", "suppressed"})


@dataclass(frozen=True)
class Threshold:
    """A signal trigger's line: fires past ``value``; clears only ``hysteresis`` back."""

    rule: str
    signal: str
    value: float
    direction: str  # "above" or "below"
    hysteresis: float
    for_s: float

    @property
    def clear_at(self) -> float:
        return (
            self.value - self.hysteresis
            if self.direction == "above"
            else self.value + self.hysteresis
        )


@dataclass(frozen=True)
class RuleEvent:
    t: float
    rule: str
    event: str  # "fired", "recovered" or "suppressed" (the trigger held; a condition did not)
    reason: str = ""


@dataclass
class Timeline:
    name: str
    duration_s: float
    person: str | None
    #: Each signal's changes (read them with ``changes``); past hours of them, what the
    #: picture draws of them (:class:`SignalColumn`).
    signals: dict[str, SignalColumn] = field(default_factory=dict)
    events: list[RuleEvent] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    labels: Labels | None = None

    def changes(self, signal: str) -> list[Change]:
        column = self.signals.get(signal)
        return [] if column is None else column.changes()

    def column(self, signal: str) -> SignalColumn:
        """The signal's changes to read through once (no list of a week of tuples)."""
        return self.signals.get(signal) or SignalColumn()


def build_timeline(
    config: AmbientConfig,
    result: Simulation,
    name: str,
    states: Mapping[str, str],
    rule_ids: Iterable[str] | None = None,
    labels: Labels | None = None,
) -> Timeline:
    """The timeline of the first person with signals (a recording is one person's), showing
    the rules ``rule_ids`` (default: every rule with a signal trigger). The replay kept its
    changes (``keep_changes``), or every update (``keep_signals``)."""
    start = result.start
    changes = result.changes
    if changes is None:
        changes = SignalChanges(start)
        for update in result.signals:
            changes(update)
    rules = selected_rules(config, rule_ids)
    wanted = {rule.id for rule in rules}
    events = [
        RuleEvent(trace.time - start, trace.rule, trace.event, trace.reason)
        for trace in result.traces
        if trace.rule in wanted and trace.event in SHOWN_EVENTS
    ]
    return Timeline(
        name=name,
        duration_s=max(0.0, result.end - start),
        person=changes.person,
        signals=changes.signals,
        events=events,
        thresholds=[t for rule in rules for t in thresholds(rule, states)],
        labels=labels or result.labels,
    )


def selected_rules(config: AmbientConfig, rule_ids: Iterable[str] | None) -> list[RuleConfig]:
    if rule_ids is not None:
        ids = set(rule_ids)
        return [rule for rule in config.rules if rule.id in ids]
    return [rule for rule in config.rules if has_signal_trigger(rule)]


def has_signal_trigger(rule: RuleConfig) -> bool:
    return any(isinstance(t, SignalTriggerConfig) for t in rule.triggers)


def thresholds(rule: RuleConfig, states: Mapping[str, str]) -> list[Threshold]:
    """The rule's numeric signal thresholds; one read from an HA entity uses its ``--state``."""
    found: list[Threshold] = []
    for trigger in rule.triggers:
        if not isinstance(trigger, SignalTriggerConfig):
            continue
        for direction, limit in (("above", trigger.above), ("below", trigger.below)):
            value = _number(limit, states)
            if value is not None:
                found.append(
                    Threshold(
                        rule.id, trigger.signal, value, direction, trigger.hysteresis, trigger.for_
                    )
                )
    return found


def _number(limit: float | str | None, states: Mapping[str, str]) -> float | None:
    if limit is None or isinstance(limit, float):
        return limit
    try:
        return float(states[limit])
    except (KeyError, ValueError):
        return None
