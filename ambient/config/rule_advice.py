"""Rule parts that load but can never run, which ``ambient check`` warns of: ``escalate`` and
``on_recovery`` on a rule that no signal trigger fires (only a signal trigger opens an episode
that can stay active or clear), quiet hours that end when they start (no time at all), an
action's ``quiet_hours: ignore`` with no quiet hours to go through (and, with quiet hours, one
inside a ``choose_calming`` option: a learned episode would start in them), a cron
trigger on a day no month has (``0 9 30 2 *``), and a signal tested as the kind it is not (a
number test on a text signal is never met; a state test on a number compares its text,
``72.0``), a threshold a bounded signal never passes (``quality above 1``), a hysteresis
that takes a trigger's clear level off its signal's scale (it never clears), and a rule id
Home Assistant's Active rule sensor cannot show (``none``, ``unknown``). And, anywhere in the
config, a duration written as an unquoted ``10:00``, which YAML reads as minutes and seconds
where ``"10:00"`` in quotes is hours and minutes; and a Home Assistant template
(``{{ states('sensor.x') }}``) in an action's text, which ambient prints as it is."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any, Final

from pydantic import BaseModel

from ambient.config.actions import (
    ChooseCalmingStepConfig,
    LogActionConfig,
    LogbookActionConfig,
    NotifyActionConfig,
    ServiceCallActionConfig,
)
from ambient.config.conditions import SignalConditionConfig
from ambient.config.cron import why_never_fires
from ambient.config.durations import minutes_read_from_a_clock
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import signal_tests, walk_steps
from ambient.config.triggers import CronTriggerConfig, SignalTriggerConfig, StateTriggerConfig
from ambient.config.types import parse_time_of_day
from ambient.config.yaml_source import KeyPath

Finding = tuple[KeyPath, str]

_FOLLOWS = {"on_recovery": "clearing", "escalate": "staying active"}
#: Signals whose values are words (the rest are numbers, or true / false: on / off, 1 / 0).
TEXT_SIGNALS: Final = frozenset({"activity_state", "baseline_state", "stress_basis", "hrv_trend"})
#: The words each text signal is (the signal modules' own; a test ties them together).
TEXT_SIGNAL_VALUES: Final = {
    "activity_state": ("rest", "active", "recovering"),
    "baseline_state": ("prior", "provisional", "personal"),
    "stress_basis": ("hrv+hr", "hr"),
    "hrv_trend": ("low", "normal", "high"),
}
#: Signals that are true or false: a state test reads them as on / off, a number as 1 / 0.
TRUE_FALSE_SIGNALS: Final = frozenset({"contact", "rr_available", "baseline_ready", "hrv_low"})
_TEXT = "is text, so a number test is never met; test it with `state:`"
_NUMBER = "is a number, so a state test compares its text (`72.0`); use `above` / `below`"


def unreachable_rule_parts(config: AmbientConfig) -> Iterator[Finding]:
    yield from _crons_never_firing(config)
    for r_index, rule in enumerate(config.rules):
        if any(isinstance(trigger, SignalTriggerConfig) for trigger in rule.triggers):
            continue
        for key, when in _FOLLOWS.items():
            if getattr(rule, key):
                yield (
                    ("rules", r_index, key),
                    f"never runs: `{key}` follows a signal trigger {when}, "
                    "and this rule has no `trigger: signal`",
                )
    quiet = config.quiet_hours
    if quiet is not None and parse_time_of_day(quiet.start) == parse_time_of_day(quiet.end):
        yield (
            ("quiet_hours",),
            f"`start` and `end` are both {quiet.start}, so there are no quiet hours "
            "(for a whole day without actions, use `pause`)",
        )
    if quiet is None:
        for r_index, rule in enumerate(config.rules):
            for path, step in walk_steps(rule, ("rules", r_index)):
                if getattr(step, "quiet_hours", "hold") == "ignore":
                    yield (
                        (*path, "quiet_hours"),
                        "`ignore` changes nothing: there are no `quiet_hours` to go through",
                    )


def calming_in_quiet_hours(config: AmbientConfig) -> Iterator[Finding]:
    """``quiet_hours: ignore`` on an action of a ``choose_calming`` option: quiet hours let it
    through, so a learned calming episode starts in them (at night, usually) and is learned
    from. Safety and what must run then belong outside the options."""
    quiet = config.quiet_hours
    if quiet is None:
        return  # `unreachable_rule_parts` says that `ignore` changes nothing
    for r_index, rule in enumerate(config.rules):
        options: dict[KeyPath, str] = {}  # each option's key path, to its id
        for path, step in walk_steps(rule, ("rules", r_index)):
            if isinstance(step, ChooseCalmingStepConfig):
                for o_index, option in enumerate(step.choose_calming.options):
                    options[(*path, "choose_calming", "options", o_index)] = option.id
            elif getattr(step, "quiet_hours", "hold") == "ignore":
                inside = [key for key in options if path[: len(key)] == key]
                if inside:
                    option_id = options[max(inside, key=len)]  # the innermost option
                    yield (
                        (*path, "quiet_hours"),
                        f"rule '{rule.id}', option '{option_id}': `ignore` lets a learned "
                        f"calming option act in quiet hours ({quiet.start} to {quiet.end}): an "
                        "episode would start then and be learned from; put what must run in "
                        "quiet hours outside `choose_calming`",
                    )


def _crons_never_firing(config: AmbientConfig) -> Iterator[Finding]:
    for r_index, rule in enumerate(config.rules):
        for t_index, trigger in enumerate(rule.triggers):
            if not isinstance(trigger, CronTriggerConfig):
                continue
            why = why_never_fires(trigger.cron)
            if why is not None:
                yield (
                    ("rules", r_index, "triggers", t_index, "cron"),
                    f"`{trigger.cron}` never fires: {why}, "
                    f"so rule `{rule.id}` never runs on this trigger",
                )


#: The lowest and highest value of the signals whose scale has ends (None: no end).
_SCALES: Final[dict[str, tuple[float, float | None]]] = {
    "hr": (0.0, None),
    "rmssd": (0.0, None),
    "sdnn": (0.0, None),
    "stress_index": (0.0, None),
    "hrv_pairs": (0.0, None),
    "pnn50": (0.0, 100.0),
    "stress_score": (0.0, 100.0),
    "quality": (0.0, 1.0),
    "coverage": (0.0, 1.0),
    "stress_confidence": (0.0, 1.0),
    **dict.fromkeys(TRUE_FALSE_SIGNALS, (0.0, 1.0)),
}


def hysteresis_past_the_scale(config: AmbientConfig) -> Iterator[Finding]:
    """A signal trigger whose clear level (``above - hysteresis``, ``below + hysteresis``) is
    past the end of its signal's scale never clears: it fires once and then waits for ever.
    Typically a hysteresis in the stress score's units on a 0–1 signal."""
    for r_index, rule in enumerate(config.rules):
        for t_index, trigger in enumerate(rule.triggers):
            if not isinstance(trigger, SignalTriggerConfig) or trigger.hysteresis <= 0:
                continue
            scale = _SCALES.get(trigger.signal)
            if scale is None:
                continue
            low, high = scale
            h = trigger.hysteresis
            if isinstance(trigger.above, float) and trigger.above - h < low:
                past = f"never below {low:g}, so `above: {trigger.above:g}`"
                clear = f"at or below {trigger.above - h:g}"
            elif isinstance(trigger.below, float) and high is not None and trigger.below + h > high:
                past = f"never above {high:g}, so `below: {trigger.below:g}`"
                clear = f"at or above {trigger.below + h:g}"
            else:
                continue
            yield (
                ("rules", r_index, "triggers", t_index, "hysteresis"),
                f"never clears: `{trigger.signal}` is {past} with `hysteresis: {h:g}` clears "
                f"only {clear}: the trigger fires once and then waits for ever (no "
                f"`on_recovery`, no second firing); give the hysteresis in the units of "
                f"`{trigger.signal}`",
            )


#: Left to the stress score's own warning (config/advice.py), which says more of it.
_SCORE_SIGNALS: Final = frozenset({"stress_score"})


def thresholds_past_the_scale(config: AmbientConfig) -> Iterator[Finding]:
    """A threshold a bounded signal never passes: ``above`` at or over its highest value,
    ``below`` at or under its lowest (``stress_confidence above 30``, a percentage on a share:
    the rule never fires, the condition never holds)."""
    for path, test in signal_tests(config):
        if isinstance(test, StateTriggerConfig) or test.signal in _SCORE_SIGNALS:
            continue
        scale = _SCALES.get(test.signal)
        if scale is None:
            continue
        low, high = scale
        above, below = test.above, test.below
        if isinstance(above, float) and high is not None and above >= high:
            hint = f"; did you mean {above / 100:g}?" if high == 1 and 1 < above <= 100 else ""
            yield (
                (*path, "above"),
                f"`{test.signal}` runs {low:g}–{high:g}, so `above: {above:g}` is never met{hint}",
            )
        if isinstance(below, float) and below <= low:
            where = f"runs {low:g}–{high:g}" if high is not None else f"is never below {low:g}"
            yield (
                (*path, "below"),
                f"`{test.signal}` {where}, so `below: {below:g}` is never met",
            )


#: What the Active rule sensor shows with no rule active (the actuators' ``NO_RULE``).
NO_ACTIVE_RULE: Final = "none"
#: States Home Assistant reads as no state at all.
_HA_NO_STATE: Final = ("unknown", "unavailable")


def ids_home_assistant_cannot_show(config: AmbientConfig) -> Iterator[Finding]:
    """A rule id that HA's Active rule sensor (MQTT discovery) cannot show as a rule: its state
    is the active rule's id, ``none`` with no rule active, and ``unknown`` or ``unavailable``
    is no state to HA. The rule runs; only HA cannot tell its episodes."""
    if config.mqtt is None or not config.mqtt.discovery:
        return
    for r_index, rule in enumerate(config.rules):
        if rule.id == NO_ACTIVE_RULE:
            yield (
                ("rules", r_index, "id"),
                f"HA's Active rule sensor shows `{NO_ACTIVE_RULE}` when no rule is active, so "
                "this rule's episodes would look like none there; choose another id",
            )
        elif rule.id in _HA_NO_STATE:
            yield (
                ("rules", r_index, "id"),
                f"Home Assistant reads the state `{rule.id}` as no state, so the Active rule "
                "sensor would show this rule's episodes as no value; choose another id",
            )


def signal_kind_mixups(config: AmbientConfig) -> Iterator[Finding]:
    """A signal tested as the kind it is not, or with a word it never is."""
    for path, test in signal_tests(config):
        if isinstance(test, StateTriggerConfig):
            if test.signal is not None:
                key = "to" if test.to is not None else "from"
                yield from _state_test(test.signal, (*path, key))
                for key, words in (("from", test.from_), ("to", test.to)):
                    yield from _words_never_taken(test.signal, words, (*path, key))
        elif isinstance(test, SignalConditionConfig) and test.state is not None:
            yield from _state_test(test.signal, (*path, "state"))
            yield from _words_never_taken(test.signal, test.state, (*path, "state"))
        else:
            yield from _number_test(test, path)


def _words_never_taken(signal: str, words: list[str] | None, path: KeyPath) -> Iterator[Finding]:
    """``to: resting`` on ``activity_state`` (which is ``rest``) never fires, silently."""
    values = TEXT_SIGNAL_VALUES.get(signal) or (
        ("on", "off") if signal in TRUE_FALSE_SIGNALS else None
    )
    if values is None:
        return
    for word in words or ():
        if word in values:
            continue
        close = difflib.get_close_matches(word.lower(), values, n=1, cutoff=0.6)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        yield path, f"`{signal}` is never `{word}`{hint}; its values are: {', '.join(values)}"


def _number_test(item: Any, path: KeyPath) -> Iterator[Finding]:
    if item.signal in TEXT_SIGNALS:
        key = "above" if item.above is not None else "below"
        yield (*path, key), f"`{item.signal}` {_TEXT}"


def _state_test(signal: str, path: KeyPath) -> Iterator[Finding]:
    if signal not in TEXT_SIGNALS and signal not in TRUE_FALSE_SIGNALS:
        yield path, f"`{signal}` {_NUMBER}"


def durations_read_from_a_clock(config: AmbientConfig) -> Iterator[Finding]:
    """Each duration written as an unquoted ``10:00`` (10 minutes, as Home Assistant reads it,
    where ``"10:00"`` in quotes is 10 hours), at its place."""
    for path, value in _walk_values(config, ()):
        if isinstance(value, float) and (said := minutes_read_from_a_clock(value)) is not None:
            yield path, said


def _walk_values(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    """Every value in a config model, at its key path as the file writes it (aliases)."""
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from _walk_values(getattr(value, name), (*path, field.alias or name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk_values(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_values(item, (*path, str(key)))
    else:
        yield path, value


#: The actions whose texts are format strings (see :mod:`.template_checks`).
_FORMATTED = (LogActionConfig, LogbookActionConfig, NotifyActionConfig, ServiceCallActionConfig)
#: ``{{ states('sensor.x') }}``, ``{{ trigger.to_state.state }}``: Home Assistant's Jinja, not
#: ``{{hr}}`` (a literal ``{hr}``, as the format strings write it).
_HA_TEMPLATE = re.compile(r"\{\{(?=[^{}]*[\s(.|'\"])[^{}]*\}\}")


def ha_templates_in_actions(config: AmbientConfig) -> Iterator[Finding]:
    """An action's text holding a Home Assistant template: ambient fills ``{placeholders}``
    and reads ``{{`` as a literal brace, so ``{{ states('sensor.x') }}`` copied from an HA
    automation is sent as ``{ states('sensor.x') }``, without a word. The texts are those
    ``{placeholders}`` fill (messages, a notify's title, a call's ``data``); a breathing
    script's words are Jinja2 indeed, and an ``mqtt.publish`` payload's braces are JSON's."""
    for r_index, rule in enumerate(config.rules):
        for path, step in walk_steps(rule, ("rules", r_index)):
            if not isinstance(step, _FORMATTED):
                continue
            texts = {key: getattr(step, key, None) for key in ("message", "title", "data")}
            for where, value in _walk_values(texts, path):
                if isinstance(value, str) and (found := _HA_TEMPLATE.search(value)):
                    yield where, _ha_template_said(found.group(0))


def _ha_template_said(template: str) -> str:
    return (
        f"`{template}` is a Home Assistant template, which ambient does not run: it sends "
        f"`{template[1:-1]}` as written; ambient fills placeholders such as `{{person}}` or "
        "`{stress_score}` (docs/rules.md)"
    )
