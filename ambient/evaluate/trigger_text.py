"""What a rule's trigger waits for, in words, as an evaluation names it: the wording of a
timeline's lines (``cron `*/30 * * * *```, ``mqtt message on home/door``), never a position."""

from __future__ import annotations

from ambient.config.durations import written_duration_text
from ambient.config.triggers import (
    CronTriggerConfig,
    MqttTriggerConfig,
    SignalTriggerConfig,
    StateTriggerConfig,
    TimeTriggerConfig,
)
from ambient.rules.conditions import bounds_text
from ambient.rules.describe import mqtt_message, trigger_label


def trigger_text(trigger: object, index: int) -> str:
    """``stress_score above 70 for 2min, clears 10 back`` for a signal trigger (its id left
    out, as ``evaluate --json`` has always said it); what any other waits for, followed by
    its id when it has one: ``cron `0 7 * * *` (morning)``."""
    if isinstance(trigger, SignalTriggerConfig):
        return _signal_text(trigger)
    text = _waits_for(trigger)
    if text is None:
        return trigger_label(trigger, index)
    trigger_id = getattr(trigger, "id", None)
    return f"{text} ({trigger_id})" if trigger_id else text


def _signal_text(trigger: SignalTriggerConfig) -> str:
    text = f"{trigger.signal} {bounds_text(trigger.above, trigger.below)}"
    if trigger.for_:
        text += f" for {written_duration_text(trigger.for_)}"
    if trigger.hysteresis:
        text += f", clears {trigger.hysteresis:g} back"
    return text


def _waits_for(trigger: object) -> str | None:
    if isinstance(trigger, TimeTriggerConfig):
        days = f" on {', '.join(trigger.weekday)}" if trigger.weekday else ""
        return f"time {', '.join(trigger.at)}{days}"
    if isinstance(trigger, CronTriggerConfig):
        return f"cron `{trigger.cron}`"
    if isinstance(trigger, MqttTriggerConfig):  # as its traces say a message it took
        return mqtt_message(trigger, trigger.topic, trigger.payload)
    if isinstance(trigger, StateTriggerConfig):
        return _state_text(trigger)
    return None


def _state_text(trigger: StateTriggerConfig) -> str:
    """``binary_sensor.door to on for 5min``, ``activity_state from rest``."""
    if trigger.entity_id is not None:
        attribute = f" {trigger.attribute}" if trigger.attribute else ""
        what = " or ".join(f"{entity}{attribute}" for entity in trigger.entity_id)
    else:
        what = str(trigger.signal)
    change = ""
    if trigger.from_:
        change += f" from {' or '.join(trigger.from_)}"
    if trigger.to:
        change += f" to {' or '.join(trigger.to)}"
    held = f" for {written_duration_text(trigger.for_)}" if trigger.for_ else ""
    return f"{what}{change or ' changes'}{held}"
