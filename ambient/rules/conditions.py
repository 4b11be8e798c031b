"""Evaluate rule conditions (HA's and / or / not, time, state, plus signals and trigger ids),
with a short label per condition so traces can say which one held the rule back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ambient.config.conditions import (
    AndConditionConfig,
    NotConditionConfig,
    OrConditionConfig,
    SignalConditionConfig,
    StateConditionConfig,
    TimeConditionConfig,
    TriggerConditionConfig,
)
from ambient.config.types import parse_time_of_day
from ambient.messages import SignalValue
from ambient.rules.timeofday import in_condition_window, weekday_of
from ambient.rules.values import EntityState, numeric, state_text, value_text


@dataclass(frozen=True, slots=True)
class ConditionContext:
    """What a condition may look at when a rule fires for one person."""

    now: float
    local: datetime
    person: str | None
    trigger_id: str | None
    signal: Callable[[str], SignalValue | None]
    #: A named person's signal, for a condition with ``person:``.
    person_signal: Callable[[str, str], SignalValue | None]
    entities: Mapping[str, EntityState]
    threshold: Callable[[float | str | None], float | None]


def evaluate_all(
    conditions: Sequence[Any], ctx: ConditionContext
) -> tuple[bool, tuple[tuple[str, bool], ...]]:
    """Every top-level condition's result (all are evaluated, for the trace), and their AND."""
    results = tuple((label(c), evaluate(c, ctx)) for c in conditions)
    return all(ok for _, ok in results), results


def evaluate(condition: Any, ctx: ConditionContext) -> bool:
    """Whether ``condition`` holds; one that tests an unknown value does not, even under
    `not`."""
    return _check(condition, ctx) is True


def _check(condition: Any, ctx: ConditionContext) -> bool | None:
    """True, False, or None when it tests an unknown value (a signal, an entity not yet
    heard of, a threshold entity). As HA treats a test of an unavailable value, an error
    that `and`, `or` and `not` pass on unless another part decides: `not` of an unknown is
    unknown, never true, so no condition holds on a value nobody knows."""
    if isinstance(condition, TimeConditionConfig):
        return _time(condition, ctx)
    if isinstance(condition, SignalConditionConfig):
        return _signal(condition, ctx)
    if isinstance(condition, StateConditionConfig):
        return _state(condition, ctx)
    if isinstance(condition, TriggerConditionConfig):
        return ctx.trigger_id is not None and ctx.trigger_id in condition.id
    if isinstance(condition, AndConditionConfig):
        parts = [_check(c, ctx) for c in condition.conditions]
        return False if False in parts else None if None in parts else True
    if isinstance(condition, OrConditionConfig):
        parts = [_check(c, ctx) for c in condition.conditions]
        return True if True in parts else None if None in parts else False
    if isinstance(condition, NotConditionConfig):
        parts = [_check(c, ctx) for c in condition.conditions]
        return False if True in parts else None if None in parts else True
    raise TypeError(f"unknown condition {condition!r}")


def _time(condition: TimeConditionConfig, ctx: ConditionContext) -> bool:
    if condition.weekday is not None and weekday_of(ctx.local) not in condition.weekday:
        return False
    after = parse_time_of_day(condition.after) if condition.after else None
    before = parse_time_of_day(condition.before) if condition.before else None
    return in_condition_window(ctx.local.time().replace(tzinfo=None), after, before)


def _signal(condition: SignalConditionConfig, ctx: ConditionContext) -> bool | None:
    if condition.person is None:
        current = ctx.signal(condition.signal)
    else:
        current = ctx.person_signal(condition.person, condition.signal)
    if current is None or current.value is None:
        return None
    if condition.state is not None:
        return state_text(current.value) in condition.state
    value = numeric(current.value)
    given = [limit for limit in (condition.above, condition.below) if limit is not None]
    if value is None or any(ctx.threshold(limit) is None for limit in given):
        return None  # not a number, or a threshold entity not known yet
    return numeric_holds(value, condition.above, condition.below, ctx.threshold)


def numeric_holds(
    value: float | None,
    above: float | str | None,
    below: float | str | None,
    threshold: Callable[[float | str | None], float | None],
) -> bool:
    """HA's numeric test: strictly above / below; unknown values and thresholds never hold."""
    if value is None:
        return False
    if above is not None:
        limit = threshold(above)
        if limit is None or not value > limit:
            return False
    if below is not None:
        limit = threshold(below)
        if limit is None or not value < limit:
            return False
    return True


def _state(condition: StateConditionConfig, ctx: ConditionContext) -> bool | None:
    """Every entity in one of the states (for ``for``); None when one is not known yet
    (no state from Home Assistant) and none is known to be elsewhere."""
    unknown = False
    for entity_id in condition.entity_id:
        entity = ctx.entities.get(entity_id)
        if entity is None:
            unknown = True
        elif entity.value(condition.attribute) not in condition.state:
            return False
        elif condition.for_ and ctx.now - entity.changed_at < condition.for_:
            return False  # in the state, not yet for long enough
    return None if unknown else True


def label(condition: Any) -> str:
    """``time (after 07:00, before 23:00)``, ``signal quality above 0.8`` …"""
    if isinstance(condition, TimeConditionConfig):
        parts = [f"after {condition.after}"] if condition.after else []
        parts += [f"before {condition.before}"] if condition.before else []
        parts += [f"on {','.join(condition.weekday)}"] if condition.weekday else []
        return f"time ({', '.join(parts)})"
    if isinstance(condition, SignalConditionConfig):
        whose = "" if condition.person is None else f" of {condition.person}"
        if condition.state is not None:
            return f"signal {condition.signal}{whose} is {'/'.join(condition.state)}"
        return f"signal {condition.signal}{whose} {bounds_text(condition.above, condition.below)}"
    if isinstance(condition, StateConditionConfig):
        what = "/".join(condition.entity_id)
        if condition.attribute:
            what += f".{condition.attribute}"
        return f"state {what} is {'/'.join(condition.state)}"
    if isinstance(condition, TriggerConditionConfig):
        return f"trigger {'/'.join(condition.id)}"
    if isinstance(condition, AndConditionConfig | OrConditionConfig | NotConditionConfig):
        inner = "; ".join(label(c) for c in condition.conditions)
        return f"{condition.condition} ({inner})"
    return type(condition).__name__


def bounds_text(above: float | str | None, below: float | str | None) -> str:
    if above is not None and below is not None:
        return f"between {_limit(above)} and {_limit(below)}"
    if above is not None:
        return f"above {_limit(above)}"
    return f"below {_limit(below)}"


def _limit(limit: float | str | None) -> str:
    return value_text(limit) if isinstance(limit, float) else str(limit)
