"""Cross-checks for rules that one model cannot see: trigger ids a condition names, signals a
condition or wait step reads, and the connections entity- and MQTT-based rules need."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

from ambient.config.actions import (
    ChooseStepConfig,
    IfStepConfig,
    WaitForStepConfig,
    walk_action_steps,
)
from ambient.config.conditions import (
    AndConditionConfig,
    NotConditionConfig,
    OrConditionConfig,
    SignalConditionConfig,
    StateConditionConfig,
    TriggerConditionConfig,
)
from ambient.config.insights import INSIGHT_SIGNAL_NAMES
from ambient.config.recording_read_through import recorded_metrics
from ambient.config.root import AmbientConfig
from ambient.config.rules import RuleConfig
from ambient.config.sensors import RecordingSensorConfig
from ambient.config.signals import SIGNAL_NAMES
from ambient.config.triggers import MqttTriggerConfig, SignalTriggerConfig, StateTriggerConfig
from ambient.config.yaml_source import KeyPath
from ambient.readings import BUILTIN_METRICS

Finding = tuple[KeyPath, str]


def rule_checks(config: AmbientConfig) -> list[Finding]:
    user_metrics = {
        str(getattr(sensor, "metric", "")) for sensor in config.sensors if hasattr(sensor, "metric")
    }
    signals = SIGNAL_NAMES | INSIGHT_SIGNAL_NAMES | user_metrics
    signals |= _recorded_metrics(config, _signals_tested(config) - signals - BUILTIN_METRICS)
    findings: list[Finding] = []
    for r_index, rule in enumerate(config.rules):
        base: KeyPath = ("rules", r_index)
        findings.extend(_rule_findings(config, rule, base, signals))
    return findings


def _signals_tested(config: AmbientConfig) -> set[str]:
    """The signals the rules' triggers, conditions and wait steps name."""
    return {test.signal for _, test in signal_tests(config) if test.signal}


SignalTest = (
    SignalTriggerConfig | StateTriggerConfig | SignalConditionConfig | WaitForStepConfig.WaitFor
)


def signal_tests(config: AmbientConfig) -> Iterator[tuple[KeyPath, SignalTest]]:
    """Every rule part that tests a signal's value (a trigger, a condition, a wait), at its
    path, for the warnings that read what is tested."""
    for r_index, rule in enumerate(config.rules):
        base: KeyPath = ("rules", r_index)
        for t_index, trigger in enumerate(rule.triggers):
            if isinstance(trigger, SignalTriggerConfig | StateTriggerConfig):
                yield (*base, "triggers", t_index), trigger
        for path, condition in walk_conditions(rule, base):
            if isinstance(condition, SignalConditionConfig):
                yield path, condition
        for path, step in walk_steps(rule, base):
            if isinstance(step, WaitForStepConfig):
                yield (*path, "wait_for"), step.wait_for


def _recorded_metrics(config: AmbientConfig, names: set[str]) -> set[str]:
    """Those of ``names`` a recording sensor's file has rows of: each passes through as a
    signal, as an MQTT or HA sensor's ``metric`` does (the file is read only for names that
    are no signal otherwise)."""
    found: set[str] = set()
    people = set(config.person_ids()) or None  # as the sensor is built for `run`
    for sensor in config.sensors:
        if isinstance(sensor, RecordingSensorConfig) and names - found:
            person = sensor.person or "default"
            found |= recorded_metrics(sensor.path, person, people, names - found)
    return found


def _rule_findings(
    config: AmbientConfig, rule: RuleConfig, base: KeyPath, signals: frozenset[str] | set[str]
) -> Iterator[Finding]:
    trigger_ids = {t.id for t in rule.triggers if t.id is not None}
    for t_index, trigger in enumerate(rule.triggers):
        path = (*base, "triggers", t_index)
        if isinstance(trigger, StateTriggerConfig):
            if trigger.signal is not None and trigger.signal not in signals:
                yield (*path, "signal"), _unknown_signal(trigger.signal, signals)
            if trigger.entity_id is not None and config.homeassistant is None:
                yield (*path, "entity_id"), "a state trigger on an entity needs `homeassistant:`"
        if isinstance(trigger, SignalTriggerConfig):
            yield from _signal_test(config, trigger, path, signals)
        if isinstance(trigger, MqttTriggerConfig) and config.mqtt is None:
            yield (*path, "topic"), "an mqtt trigger needs an `mqtt:` section"
    for path, condition in walk_conditions(rule, base):
        if isinstance(condition, TriggerConditionConfig):
            for name in condition.id:
                if name not in trigger_ids:
                    known = ", ".join(sorted(trigger_ids)) or "none: give triggers an `id:`"
                    yield (
                        (*path, "id"),
                        f"unknown trigger id `{name}`{_suggest(name, trigger_ids)}; "
                        f"this rule's trigger ids are: {known}",
                    )
        elif isinstance(condition, SignalConditionConfig):
            yield from _signal_test(config, condition, path, signals)
            if condition.person is not None:
                yield from _known_person(config, condition.person, (*path, "person"))
        elif isinstance(condition, StateConditionConfig) and config.homeassistant is None:
            yield (*path, "entity_id"), "a state condition needs a `homeassistant:` section"
    for path, step in walk_steps(rule, base):
        if isinstance(step, WaitForStepConfig):
            yield from _signal_test(config, step.wait_for, (*path, "wait_for"), signals)


def _signal_test(
    config: AmbientConfig, item: Any, path: KeyPath, signals: frozenset[str] | set[str]
) -> Iterator[Finding]:
    """A trigger, condition or wait step that tests a signal against thresholds: the signal
    must exist, and thresholds read from HA entities need `homeassistant:`."""
    if item.signal not in signals:
        yield (*path, "signal"), _unknown_signal(item.signal, signals)
    yield from _entity_thresholds(config, item, path)


def _known_person(config: AmbientConfig, person: str, path: KeyPath) -> Iterator[Finding]:
    """A condition reading someone's signals must name someone in ``people:``."""
    known = config.person_ids()
    if person not in known:
        listing = ", ".join(sorted(known)) or "none: add a `people:` section"
        hint = _suggest(person, set(known))
        yield path, f"unknown person `{person}`{hint}; people are: {listing}"


def _entity_thresholds(config: AmbientConfig, item: Any, path: KeyPath) -> Iterator[Finding]:
    for key in ("above", "below"):
        if isinstance(getattr(item, key), str) and config.homeassistant is None:
            yield (*path, key), "a threshold read from an HA entity needs `homeassistant:`"


def walk_conditions(rule: RuleConfig, base: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    """Every condition of a rule (nested ones too, and those of `if` and `choose` steps),
    with its key path."""

    def walk(conditions: Sequence[Any], path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
        for index, condition in enumerate(conditions):
            yield (*path, index), condition
            if isinstance(condition, AndConditionConfig | OrConditionConfig | NotConditionConfig):
                yield from walk(condition.conditions, (*path, index, "conditions"))

    yield from walk(rule.conditions, (*base, "conditions"))
    for step_path, step in walk_steps(rule, base):
        if isinstance(step, IfStepConfig):
            yield from walk(step.if_, (*step_path, "if"))
        elif isinstance(step, ChooseStepConfig):
            for o_index, option in enumerate(step.choose):
                yield from walk(option.conditions, (*step_path, "choose", o_index, "conditions"))


def walk_steps(rule: RuleConfig, base: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    """Every action step of a rule (actions, on_recovery, escalation levels, and the steps
    nested in `if`, `choose` and `choose_calming` options), with its key path."""
    yield from walk_action_steps(rule.actions, (*base, "actions"))
    yield from walk_action_steps(rule.on_recovery, (*base, "on_recovery"))
    for e_index, level in enumerate(rule.escalate):
        yield from walk_action_steps(level.actions, (*base, "escalate", e_index, "actions"))


def _unknown_signal(name: str, signals: frozenset[str] | set[str]) -> str:
    listing = ", ".join(sorted(signals))
    return f"unknown signal `{name}`{_suggest(name, signals)}; signals are: {listing}"


def _suggest(word: str, choices: frozenset[str] | set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""
