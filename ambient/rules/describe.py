"""Readable sentences for traces: why a rule fired, was held back, escalated or recovered."""

from __future__ import annotations

from datetime import datetime, tzinfo

from ambient.config.durations import written_duration_text
from ambient.config.triggers import (
    CronTriggerConfig,
    MqttTriggerConfig,
    SignalTriggerConfig,
    StateTriggerConfig,
    TimeTriggerConfig,
)
from ambient.rules.conditions import bounds_text
from ambient.rules.timeofday import local_text
from ambient.rules.values import value_text


def trigger_label(trigger: object, index: int) -> str:
    """The trigger's id, or a name made from its kind and position."""
    trigger_id = getattr(trigger, "id", None)
    return trigger_id if trigger_id else f"{getattr(trigger, 'trigger', 'trigger')}#{index}"


def signal_fired(trigger: SignalTriggerConfig, value: float | None, now_inside: bool) -> str:
    """``stress_score 74.2 above 70 for 2min``."""
    bounds = bounds_text(trigger.above, trigger.below)
    held = f" for {written_duration_text(trigger.for_)}" if trigger.for_ else ""
    shown = "unknown" if value is None else value_text(value)
    if now_inside:
        return f"{trigger.signal} {shown} {bounds}{held}"
    band = value_text(trigger.hysteresis)
    return f"{trigger.signal} {bounds}{held} (now {shown}, within hysteresis {band})"


def late_after_restart(late_s: float) -> str:
    """`` (due 3.2 s earlier, while ambient was not running)`` for a deadline that waited."""
    if late_s <= 0:
        return ""
    return f" (due {late_s:.1f} s earlier, while ambient was not running)"


def late_for_home_assistant(late_s: float) -> str:
    """`` (due 40.2 s earlier, before Home Assistant was back)`` for an entity's `for` window
    that fell due after the start, while Home Assistant had not sent the entity's state."""
    if late_s <= 0:
        return ""
    return f" (due {late_s:.1f} s earlier, before Home Assistant was back)"


def signal_recovered(
    trigger: SignalTriggerConfig, value: float, above: float | None, below: float | None
) -> str:
    """``stress_score 55 at or below 60 (70 - hysteresis 10)``."""
    h = trigger.hysteresis
    if above is not None and value <= above - h:
        limit = value_text(above - h)
        why = f" ({value_text(above)} - hysteresis {value_text(h)})" if h else ""
        return f"{trigger.signal} {value_text(value)} at or below {limit}{why}"
    assert below is not None
    limit = value_text(below + h)
    why = f" ({value_text(below)} + hysteresis {value_text(h)})" if h else ""
    return f"{trigger.signal} {value_text(value)} at or above {limit}{why}"


def escalated(
    trigger: SignalTriggerConfig,
    value: float | None,
    after_s: float,
    level: int,
    now_inside: bool = True,
) -> str:
    """``stress_score still above 70 after 10min (now 80; level 1)``; a value back inside
    the hysteresis band has not cleared the trigger yet, and says so."""
    shown = "unknown" if value is None else value_text(value)
    bounds = bounds_text(trigger.above, trigger.below)
    after = written_duration_text(after_s)
    if now_inside:
        return f"{trigger.signal} still {bounds} after {after} (now {shown}; level {level + 1})"
    band = value_text(trigger.hysteresis)
    return (
        f"{trigger.signal} {bounds}, not yet cleared after {after} "
        f"(now {shown}, within hysteresis {band}; level {level + 1})"
    )


def scheduled(trigger: TimeTriggerConfig | CronTriggerConfig, when: float, zone: tzinfo) -> str:
    if isinstance(trigger, CronTriggerConfig):
        return f"cron `{trigger.cron}` at {local_text(when, zone)}"
    return f"time {local_text(when, zone)}"


def state_changed(trigger: StateTriggerConfig, what: str, old: str | None, new: str) -> str:
    held = f" for {written_duration_text(trigger.for_)}" if trigger.for_ else ""
    return f"{what} changed from {old if old is not None else 'unknown'} to {new}{held}"


def mqtt_message(trigger: MqttTriggerConfig, topic: str, payload: str | None) -> str:
    text = f"mqtt message on {topic}"
    return text + (f" with payload {payload!r}" if trigger.payload is not None else "")


def cooldown(until: float, now: float, zone: tzinfo) -> str:
    """``cooldown until 16:45:20``, with the date when it is not today (``2026-09-22 04:15:20``,
    as ``ambient status`` shows a time)."""
    end = datetime.fromtimestamp(until, zone)
    if end.date() == datetime.fromtimestamp(now, zone).date():
        return f"cooldown until {local_text(until, zone)}"
    return f"cooldown until {end:%Y-%m-%d} {local_text(until, zone)}"
