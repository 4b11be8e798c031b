"""A breathing session in a home as people live in it, against a real HA: a voice HA does not
have fails the action at once."""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.homeassistant import HaProbe, StepClock

from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.config.actions import BreathingActionConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.messages import ActionContext

pytestmark = pytest.mark.ha

BEDROOM = "media_player.bedroom"


def context(episode: str, clock: StepClock) -> ActionContext:
    return ActionContext(rule="breathe", person="alex", episode=episode, time=clock.now())


def breathing(**fields: Any) -> BreathingActionConfig:
    return BreathingActionConfig.model_validate(
        {"action": "breathing", "preset": "resonance", "cycles": 1, **fields}
    )


async def quiet(probe: HaProbe, player: str) -> None:
    """HA's demo players start out playing: pause one, as a speaker nobody is listening to."""
    await probe.call_service("media_player", "media_pause", {"entity_id": player})


async def test_a_legacy_tts_service_ha_does_not_have_fails_the_action_at_once(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await quiet(probe, BEDROOM)
    clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, clock)
    action = breathing(media_player=BEDROOM, tts_service="tts.nobody_say")

    result = await actuator.perform(action, context("v1", clock))

    assert not result.ok
    assert result.detail == (
        "HA rejected breathing for media_player.bedroom: "
        "not_found: Service tts.nobody_say not found."
    )
    assert clock.next_due() is None  # no session left to fail at its first cue
