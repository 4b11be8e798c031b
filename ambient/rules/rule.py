"""A configured rule as the engine holds it: its config, a fingerprint that tells whether saved
state still belongs to it, and its live state per person; plus the walks over its conditions and
steps that find which signals and HA entities it reads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ambient.config.actions import ChooseStepConfig, IfStepConfig, WaitForStepConfig
from ambient.config.conditions import (
    AndConditionConfig,
    NotConditionConfig,
    OrConditionConfig,
    SignalConditionConfig,
    StateConditionConfig,
)
from ambient.config.rule_checks import walk_steps
from ambient.config.rules import RuleConfig
from ambient.config.template_checks import acts_per_person, signals_in_templates
from ambient.config.triggers import SignalTriggerConfig, StateTriggerConfig
from ambient.rules.schedule import Schedule
from ambient.rules.state import PersonState, TriggerState, person_key


@dataclass(eq=False, slots=True)
class SignalSlot:
    """A numeric signal trigger where the dispatch index points: its rule and position."""

    rule: Rule
    index: int
    config: SignalTriggerConfig


@dataclass(eq=False, slots=True)
class TextSlot:
    """A state trigger on a daemon (text) signal, as indexed by the dispatch."""

    rule: Rule
    index: int
    config: StateTriggerConfig


@dataclass(eq=False)
class Rule:
    """A rule's config and its live state, per person."""

    config: RuleConfig
    fingerprint: str
    per_person: bool
    signal_names: tuple[str, ...]
    persons: dict[str, PersonState] = field(default_factory=dict)
    #: `for` timers of entity state triggers, by "<trigger index>:<entity id>".
    entity_pending: dict[str, TriggerState] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    #: The signals read of whoever the rule runs for (not those a condition names a person
    #: for): what its traces and placeholders show.
    own_signal_names: tuple[str, ...] = ()
    #: The newest fire time handled, by time or cron schedule (see :mod:`.catch_up`).
    fire_times: dict[str, float] = field(default_factory=dict)
    #: Fingerprints an earlier version gave the same rule: its saved state is this rule's.
    earlier_fingerprints: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.config.id

    def person(self, person: str | None) -> PersonState:
        key = person_key(person)
        state = self.persons.get(key)
        if state is None:
            state = self.persons[key] = PersonState()
        return state


#: What names a rule without changing what it does: left out of its fingerprint, so renaming
#: it keeps its state (an open episode, a cooldown) over the reload.
_NAMING_FIELDS = {"alias", "description"}


def build_rule(config: RuleConfig) -> Rule:
    # Those of whoever the rule runs for (as its templates see them), and all it reads.
    own = signals_in_templates(config)
    names = signals_in_templates(config, named_persons=True)
    # Defaults left out: a later version's new setting must not make every rule a changed one.
    written = config.model_dump_json(exclude_defaults=True, exclude=_NAMING_FIELDS)
    # A store written before the names were left out holds the fingerprint with them.
    with_names = config.model_dump_json(exclude_defaults=True)
    return Rule(
        config,
        _digest(written),
        acts_per_person(config),
        names,
        own_signal_names=own,
        earlier_fingerprints=(_digest(with_names),),
    )


def _digest(written: str) -> str:
    return hashlib.sha256(written.encode()).hexdigest()[:16]


def entities_used(rules: Iterable[Rule]) -> set[str]:
    """HA entities the rules read, so the HA client subscribes to just these."""
    used: set[str] = set()
    for rule in rules:
        config = rule.config
        for trigger in config.triggers:
            if isinstance(trigger, SignalTriggerConfig):
                used |= {x for x in (trigger.above, trigger.below) if isinstance(x, str)}
            elif isinstance(trigger, StateTriggerConfig):
                used |= set(trigger.entity_id or ())
        for condition in all_conditions(config):
            if isinstance(condition, StateConditionConfig):
                used |= set(condition.entity_id)
            elif isinstance(condition, SignalConditionConfig):
                used |= {x for x in (condition.above, condition.below) if isinstance(x, str)}
        for step in all_steps(config):
            if isinstance(step, WaitForStepConfig):
                limits = (step.wait_for.above, step.wait_for.below)
                used |= {x for x in limits if isinstance(x, str)}
    return used


def all_steps(config: RuleConfig) -> Iterable[Any]:
    """Every step of the rule, nested ones included (the config's own walk)."""
    for _path, step in walk_steps(config, ()):
        yield step


def all_conditions(config: RuleConfig) -> Iterable[Any]:
    def walk(conditions: Iterable[Any]) -> Iterable[Any]:
        for condition in conditions:
            yield condition
            if isinstance(condition, AndConditionConfig | OrConditionConfig | NotConditionConfig):
                yield from walk(condition.conditions)

    yield from walk(config.conditions)
    for step in all_steps(config):
        if isinstance(step, IfStepConfig):
            yield from walk(step.if_)
        elif isinstance(step, ChooseStepConfig):
            for option in step.choose:
                yield from walk(option.conditions)
