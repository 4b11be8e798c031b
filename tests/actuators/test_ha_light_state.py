"""calm_lights and a breathing session read a light's state the same way: neither wakes a
room, and both switch on a light that is off (or whose state HA does not know) only when the
action says turn_on_lights."""

from __future__ import annotations

from typing import Any

import pytest

from ambient.actuators.ha_breathing import PacedLights
from ambient.actuators.ha_light_state import brightness_when_on, left_off
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
