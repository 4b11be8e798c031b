"""What ``ambient status`` tells about each rule: the phase it is in and what ends it.

Phases, first match wins: ``running`` (actions are running), ``in_for`` (a trigger is in range
and its ``for`` has not passed yet), ``cooling_down`` (fired; no new firing before the cooldown
ends), ``active`` (fired, and waiting for the signal to recover past its hysteresis),
``held_back`` (a firing was held back — a condition, the cooldown, pause, quiet hours, the mode —
and the trigger latched as a fired one does: no actions ran and no episode is open, but it fires
again only once the signal has recovered past its hysteresis), ``armed`` (waiting for a
trigger). ``active_held_back`` says the same of the latched trigger beside another phase (a
rule cooling down whose new firing the cooldown held back). Beside the phase, each row carries
every fact that applies (a rule can be active and cooling down at once) and whether actions are
held back now (pause, quiet hours).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ambient.config.rules import RuleConfig
from ambient.config.triggers import SignalTriggerConfig, StateTriggerConfig
from ambient.rules.rule import Rule
from ambient.rules.state import PersonState, person_key, person_of


def rule_rows(
    rules: list[Rule], now: float, held_back: Callable[[RuleConfig], str | None]
) -> list[dict[str, Any]]:
    """One row per rule and person, as the status document carries them; ``held_back`` says
    what holds a rule's actions back now."""
    rows: list[dict[str, Any]] = []
    for rule in rules:
        states = rule.persons or {person_key(rule.config.person): PersonState()}
        held = held_back(rule.config)
        for key, state in states.items():
            rows.append(_row(rule, person_of(key), state, now, held))
    return rows


def _row(
    rule: Rule, person: str | None, state: PersonState, now: float, held_back: str | None
) -> dict[str, Any]:
    pending = [
        (trigger.for_until, index)
        for index, trigger in state.triggers.items()
        if trigger.phase == "pending" and trigger.for_until is not None
    ]
    active = [
        (_fired_at(state, index, trigger.since), index)
        for index, trigger in state.triggers.items()
        if trigger.phase == "active"
    ]
    cooldown = state.cooldown_until if state.cooldown_until and state.cooldown_until > now else None
    running = [run.started for run in state.runs.values() if not run.queued]
    phase: str | None = None
    if running:
        phase = "running"
    elif pending:
        phase = "in_for"
    elif cooldown is not None:
        phase = "cooling_down"
    for_until, for_index = min(pending) if pending else (None, None)
    active_since, active_index = min(active, key=_since_key) if active else (None, None)
    # Latched without an episode: its firing was held back, nothing ran (one still waiting
    # for its conditions' inputs just after a start has not decided yet: not held back).
    latched_only = bool(active) and all(
        index not in state.episodes and state.triggers[index].firing_due is None
        for _, index in active
    )
    if phase is None:
        phase = "held_back" if latched_only else "active" if active else "armed"
    return {
        "id": rule.id,
        "person": person,
        "state": phase,
        "running_since": min(running) if running else None,
        "for_until": for_until,
        "in_range": None if for_index is None else _in_range(rule, for_index),
        "active_since": active_since,
        "active_held_back": latched_only,
        "episode_since": min((e.fired_at for e in state.episodes.values()), default=None),
        "recovery": None if active_index is None else _recovery(rule, active_index),
        "cooldown_until": cooldown,
        "held_back": held_back,
        "last_fired": state.last_fired,
    }


def _fired_at(state: PersonState, index: int, entered: float | None) -> float | None:
    """When the trigger fired (its open episode), else when it entered its range."""
    episode = state.episodes.get(index)
    return episode.fired_at if episode is not None else entered


def _since_key(entry: tuple[float | None, int]) -> float:
    return entry[0] if entry[0] is not None else float("inf")


def _in_range(rule: Rule, index: int) -> str | None:
    """``stress_score above 70``: what holds while the ``for`` runs."""
    trigger = rule.config.triggers[index]
    if not isinstance(trigger, SignalTriggerConfig):
        return None
    parts = []
    if trigger.above is not None:
        parts.append(f"above {_number(trigger.above)}")
    if trigger.below is not None:
        parts.append(f"below {_number(trigger.below)}")
    return f"{trigger.signal} {' and '.join(parts)}"


def _recovery(rule: Rule, index: int) -> str | None:
    """``stress_score at or below 60``: what clears an active trigger (past its hysteresis)."""
    trigger = rule.config.triggers[index]
    if isinstance(trigger, StateTriggerConfig):
        return "the state to change"
    if not isinstance(trigger, SignalTriggerConfig):
        return None
    margin = trigger.hysteresis
    parts = []
    if trigger.above is not None:
        parts.append(f"at or below {_shifted(trigger.above, -margin)}")
    if trigger.below is not None:
        parts.append(f"at or above {_shifted(trigger.below, margin)}")
    return f"{trigger.signal} {' or '.join(parts)}"


def _shifted(threshold: float | str, margin: float) -> str:
    if isinstance(threshold, str):  # an HA entity's value, read live
        if not margin:
            return threshold
        return f"{threshold} {'-' if margin < 0 else '+'} {abs(margin):g}"
    return _number(threshold + margin)


def _number(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"
