"""Placeholders in action texts must be ones the action fills in: an unknown ``{hrr}`` would be
sent literally (or, in ``mqtt.publish``, fail every time), so ``check`` refuses it and lists the
placeholders there are.

Two kinds of template, as the actuators render them:

- ``log``, ``logbook`` and ``notify`` messages, a notify ``title`` and the strings in a notify's
  or a service call's ``data``: Python format strings (``{{`` for a literal brace) with ``{rule}``,
  ``{person}``, ``{event}``, ``{name}`` and every signal the rule reads.
- ``mqtt.publish`` ``topic`` and ``payload``: only ``{name}`` with a lower-case name counts (other
  braces are left alone, so JSON needs no escaping), with ``{episode}``, ``{trigger}``,
  ``{time}`` and ``{signals}`` besides.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterator
from typing import Any, Final

from ambient.config.actions import (
    LogActionConfig,
    LogbookActionConfig,
    MqttPublishActionConfig,
    NotifyActionConfig,
    ServiceCallActionConfig,
    WaitForStepConfig,
)
from ambient.config.conditions import SignalConditionConfig
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import walk_conditions, walk_steps
from ambient.config.rules import RuleConfig
from ambient.config.triggers import SignalTriggerConfig, StateTriggerConfig
from ambient.config.types import topic_problem
from ambient.config.yaml_source import KeyPath

Finding = tuple[KeyPath, str]

#: What every message template gets besides the rule's signals.
MESSAGE_FIELDS: Final = ("rule", "person", "event", "name")
#: What an ``mqtt.publish`` template gets besides the rule's signals.
PUBLISH_FIELDS: Final = (
    "rule",
    "person",
    "event",
    "name",
    "episode",
    "trigger",
    "time",
    "signals",
)
#: The placeholders that name the person a rule acts for (empty when it acts for no one).
_PERSON_FIELDS: Final = ("person", "name")
_PUBLISH_PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def template_checks(config: AmbientConfig) -> list[Finding]:
    findings: list[Finding] = []
    for r_index, rule in enumerate(config.rules):
        signals = signals_in_templates(rule)
        for path, step in walk_steps(rule, ("rules", r_index)):
            findings.extend(_step_findings(step, path, signals))
    return findings


def person_never_filled(config: AmbientConfig) -> Iterator[Finding]:
    """``{person}`` or ``{name}`` in a rule without ``person:`` that reads no one's signals (a
    time, cron, state or MQTT trigger alone): the rule acts for no one in particular, and the
    placeholder is filled with nothing ("Time for  to wind down"). A warning: the message
    still goes."""
    ids = config.person_ids()
    suggestion = f"`person: {ids[0]}`" if ids else "a `person:`"
    for r_index, rule in enumerate(config.rules):
        if rule.person is not None or acts_per_person(rule):
            continue
        for path, step in walk_steps(rule, ("rules", r_index)):
            for key, text in _templates(step, path):
                field = _names_person(text, publish=isinstance(step, MqttPublishActionConfig))
                if field is not None:
                    yield (
                        key,
                        (
                            f"`{{{field}}}` is filled with nothing here: the rule reads no one's "
                            f"signals, so it acts for no one in particular; give it {suggestion} "
                            "(or write the name)"
                        ),
                    )


def acts_per_person(rule: RuleConfig) -> bool:
    """Whether the rule acts for each person apart (the engine's rule state is per person):
    it reads a signal of whoever it runs for, in a trigger, a condition or a `wait_for`."""
    waits = any(isinstance(step, WaitForStepConfig) for _, step in walk_steps(rule, ()))
    return bool(signals_in_templates(rule)) or waits


def _templates(step: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """The texts of an action step that are templates, with their key paths."""
    if isinstance(step, LogActionConfig | LogbookActionConfig):
        yield (*path, "message"), step.message
    elif isinstance(step, NotifyActionConfig):
        yield (*path, "message"), step.message
        if step.title is not None:
            yield (*path, "title"), step.title
        yield from _strings(step.data, (*path, "data"))
    elif isinstance(step, ServiceCallActionConfig):
        yield from _strings(step.data, (*path, "data"))
    elif isinstance(step, MqttPublishActionConfig):
        yield (*path, "topic"), step.topic
        yield (*path, "payload"), step.payload


def _names_person(text: str, *, publish: bool) -> str | None:
    """The first placeholder of ``text`` that names the person (``person`` or ``name``)."""
    if publish:
        names = _PUBLISH_PLACEHOLDER.findall(text)
    else:
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError:  # not a template: refused by template_checks
            return None
        names = [re.split(r"[.\[]", f, maxsplit=1)[0] for _, f, _, _ in parts if f is not None]
    return next((name for name in names if name in _PERSON_FIELDS), None)


def signals_in_templates(rule: RuleConfig, *, named_persons: bool = False) -> tuple[str, ...]:
    """The signals a rule's actions see, in order: those its triggers and conditions read of
    the person it runs for (with ``named_persons``, also those a condition reads of someone
    it names: every signal the rule reads)."""
    names: list[str] = []
    for trigger in rule.triggers:
        if isinstance(trigger, SignalTriggerConfig | StateTriggerConfig) and trigger.signal:
            names.append(trigger.signal)
    for _, condition in walk_conditions(rule, ()):
        if isinstance(condition, SignalConditionConfig) and (
            named_persons or condition.person is None
        ):
            names.append(condition.signal)
    return tuple(dict.fromkeys(names))


def _step_findings(step: Any, path: KeyPath, signals: tuple[str, ...]) -> Iterator[Finding]:
    publish = isinstance(step, MqttPublishActionConfig)
    if publish:
        problem = topic_problem(_PUBLISH_PLACEHOLDER.sub("x", step.topic), wildcards=False)
        if problem is not None:
            yield (*path, "topic"), problem
    fields = (*(PUBLISH_FIELDS if publish else MESSAGE_FIELDS), *signals)
    for key, text in _templates(step, path):
        if not publish:
            yield from _message(text, key, fields)
            continue
        for name in _PUBLISH_PLACEHOLDER.findall(text):
            if name not in fields:
                yield key, _unknown(name, fields)


def _message(text: str, path: KeyPath, fields: tuple[str, ...]) -> Iterator[Finding]:
    """A format string: it must parse, name only ``fields``, and format with text values."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        yield path, f"not a valid template: {exc} (write `{{{{` and `}}}}` for literal braces)"
        return
    for _, field, _, _ in parts:
        if field is None:
            continue
        name = re.split(r"[.\[]", field, maxsplit=1)[0]
        if not name or name.isdigit():
            yield path, f"placeholder `{{{field}}}` needs a name; {_listing(fields)}"
            return
        if name not in fields:
            yield path, _unknown(name, fields)
            return
        if field != name:  # `{contact[0]}`, `{name.upper}`: fails or is garbage at run time
            yield (
                path,
                f"placeholder `{{{field}}}`: values are text, with no index or attribute; "
                f"write `{{{name}}}`",
            )
            return
    try:
        text.format_map(dict.fromkeys(fields, "0.0"))
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        yield path, f"not a valid template: {exc} (values are text: no number formats)"


def _strings(data: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, (*path, index))


def _unknown(name: str, fields: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    hint = f" (did you mean `{{{close[0]}}}`?)" if close else ""
    return f"unknown placeholder `{{{name}}}`{hint}; {_listing(fields)}"


def _listing(fields: tuple[str, ...]) -> str:
    return "placeholders here are: " + ", ".join(f"{{{name}}}" for name in fields)
