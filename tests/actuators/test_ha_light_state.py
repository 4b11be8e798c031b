"""calm_lights and a breathing session read a light's state the same way: neither wakes a
room, and both switch on a light that is off (or whose state HA does not know) only when the
action says turn_on_lights."""

from __future__ import annotations

from typing import Any

import pytest

from ambient.actuators.ha_breathing import PacedLights
from ambient.actuators.ha_light_state import (
    BRIGHTNESS_TOLERANCE,
    BrightnessSpan,
    brightness_when_on,
    left_off,
)
from ambient.actuators.ha_lights import CalmPlan
from ambient.config.actions import BreathingActionConfig, CalmLightsActionConfig

STATES: dict[str, dict[str, Any]] = {
    "light.off": {"state": "off", "attributes": {}},
    "light.unknown": {"state": "unknown", "attributes": {}},
    "light.dim": {"state": "on", "attributes": {"brightness": 51}},
    "light.switch": {"state": "on", "attributes": {}},
}


def test_a_light_is_left_off_unless_it_is_on_or_the_action_switches_lights_on() -> None:
    assert [e for e, s in STATES.items() if left_off(s, turn_on_lights=False)] == [
        "light.off",
        "light.unknown",
    ]
    assert not [e for e, s in STATES.items() if left_off(s, turn_on_lights=True)]


def test_only_a_light_that_is_on_has_a_brightness_to_keep_below() -> None:
    assert {e: brightness_when_on(s) for e, s in STATES.items()} == {
        "light.off": None,
        "light.unknown": None,
        "light.dim": 51.0,
        "light.switch": None,
    }
    assert brightness_when_on({"state": "off", "attributes": {"brightness": 51}}) is None


@pytest.mark.parametrize("turn_on_lights", [False, True])
def test_calm_lights_and_breathing_leave_the_same_lights_off(turn_on_lights: bool) -> None:
    lights = list(STATES)
    calm = CalmLightsActionConfig(
        action="calm_lights", target=lights, turn_on_lights=turn_on_lights
    )
    breathing = BreathingActionConfig(
        action="breathing", lights=lights, turn_on_lights=turn_on_lights
    )

    calmed = CalmPlan.of(calm, STATES, lights)
    paced = PacedLights.of(breathing, STATES)

    assert calmed.left_off == paced.left_off
    assert sorted(calmed.dimmed + calmed.warmed) == sorted(paced.levels)


def test_the_brightness_a_held_light_may_show_spans_its_own_and_every_level_ambient_set() -> None:
    # A lamp at 200 of 255, calmed to 35 % (89) and paced between 60 % and 15 % by a session:
    # while it fades (and reports the fade late) any level in between is ambient's doing.
    span = BrightnessSpan.before({"state": "on", "attributes": {"brightness": 200}})
    assert span is not None
    span.add_pct(35)
    span.add_pct(60, 15)
    assert span.covers(200) and span.covers(89) and span.covers(38) and span.covers(120)
    assert span.covers(38.25 - BRIGHTNESS_TOLERANCE)  # 15 % of 255, and a light's rounding
    assert not span.covers(20)  # dimmed further at its switch: a hand
    assert not span.covers(240)  # brighter than ambient ever had it


def test_a_light_that_was_off_or_has_no_brightness_is_judged_on_and_off_alone() -> None:
    # Switched on by ambient, a lamp may first show its last brightness of its own before it
    # fades to ambient's: no span says what it may show.
    assert BrightnessSpan.before({"state": "off", "attributes": {}}) is None
    assert BrightnessSpan.before({"state": "on", "attributes": {}}) is None
