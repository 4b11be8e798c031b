"""How an evaluation names what it scored: each trigger of a rule said as the rest of the
product says it (a timeline's line, a trace), never a position such as ``time#1``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from ambient.config.triggers import TriggerConfig
from ambient.evaluate.trigger_text import trigger_text


def trigger(**fields: Any) -> object:
    return TypeAdapter(TriggerConfig).validate_python(fields)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"trigger": "time", "at": "07:00"}, "time 07:00"),
        (
            {"trigger": "time", "at": ["07:00", "19:30"], "weekday": ["mon", "fri"]},
            "time 07:00, 19:30 on mon, fri",
        ),
        ({"trigger": "cron", "cron": "*/30 * * * *"}, "cron `*/30 * * * *`"),
        ({"trigger": "mqtt", "topic": "home/door"}, "mqtt message on home/door"),
        (
            {"trigger": "mqtt", "topic": "home/door", "payload": "open"},
            "mqtt message on home/door with payload 'open'",
        ),
        (
            {"trigger": "state", "entity_id": "binary_sensor.door", "to": "on", "for": 300},
            "binary_sensor.door to on for 5min",
        ),
        (
            {"trigger": "state", "signal": "activity_state", "from": "rest"},
            "activity_state from rest",
        ),
        ({"trigger": "state", "entity_id": ["light.a", "light.b"]}, "light.a or light.b changes"),
    ],
)
def test_a_trigger_other_than_a_signal_is_said_by_what_it_waits_for(
    fields: dict[str, Any], text: str
) -> None:
    assert trigger_text(trigger(**fields), 1) == text


def test_a_triggers_own_id_is_named_beside_what_it_waits_for() -> None:
    named = trigger(trigger="cron", cron="0 7 * * *", id="morning")
    assert trigger_text(named, 2) == "cron `0 7 * * *` (morning)"


def test_a_signal_trigger_is_said_as_before_its_id_left_out() -> None:
    """The `evaluate --json` triggers of a signal trigger are a promise: unchanged."""
    signal = trigger(trigger="signal", signal="stress_score", above=70, **{"for": 120}, id="s")
    assert trigger_text(signal, 0) == "stress_score above 70 for 2min"
