"""The entities and services a config's HA actions name are looked up in the real Home
Assistant as soon as ambient connects: a light renamed or removed in HA, a script or TTS service
it does not have, is one warning at start, naming the rules, not an action that fails at the
first episode, days later."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fixtures.connections import running
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from fixtures.log_lines import Heard, heard_from

from ambient.actuators.factory import build_actuators
from ambient.actuators.ha_action_entities import (
    ActionEntityCheck,
    named_action_entities,
    named_action_services,
)
from ambient.clock import RealClock
from ambient.config.root import AmbientConfig
from ambient.connections import Connections
from ambient.counters import Counters

WAIT_S = 10.0


def rule(rule_id: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": rule_id,
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 120}],
        "actions": actions,
    }


def home(ha_url: str, token: str) -> AmbientConfig:
    """Two rules; one light is a typo, one player was removed from HA."""
    calm = {"action": "calm_lights", "target": ["light.bed_light", "light.bed_lihgt"]}
    return AmbientConfig.model_validate(
        {
            "timezone": "UTC",
            "people": [{"id": "alex"}],
            "homeassistant": {"url": ha_url, "token": token, "backoff_max": 0.5},
            "store": {"path": None},
            "rules": [
                rule("evening_calm", [calm]),
                rule(
                    "night_watch",
                    [
                        calm,
                        {
                            "action": "play_calming",
                            "target": "media_player.old_speaker",
                            "media_content_id": "calm",
                        },
                        {
                            "action": "input_boolean.turn_on",
                            "target": {"entity_id": "input_boolean.sleeping"},
                        },
                        {"action": "script.bedtme"},
                        {
                            "action": "breathing",
                            "media_player": "media_player.bedroom",
                            "tts_service": "tts.google_translate_say",
                        },
                    ],
                ),
            ],
        }
    )


def test_every_entity_and_service_an_action_names_is_named_with_its_rules() -> None:
    assert named_action_entities(home("http://127.0.0.1:9", "not-a-real-token")) == {
        "light.bed_light": ["rule evening_calm", "rule night_watch"],
        "light.bed_lihgt": ["rule evening_calm", "rule night_watch"],
        "media_player.old_speaker": ["rule night_watch"],
        "input_boolean.sleeping": ["rule night_watch"],
        "media_player.bedroom": ["rule night_watch"],
    }
    assert named_action_services(home("http://127.0.0.1:9", "not-a-real-token")) == {
        "input_boolean.turn_on": ["rule night_watch"],
        "script.bedtme": ["rule night_watch"],
        "tts.google_translate_say": ["rule night_watch"],
    }


def test_a_service_call_on_all_entities_or_none_names_no_entity() -> None:
    """``entity_id: all`` (and ``none``) are HA's words for every entity of the service's
    domain and for none: no entity of that id to look up, nor to warn of."""
    config = AmbientConfig.model_validate(
        {
            "timezone": "UTC",
            "people": [{"id": "alex"}],
            "homeassistant": {"url": "http://127.0.0.1:9", "token": "not-a-real-token"},
            "store": {"path": None},
            "rules": [
                rule(
                    "lights_out",
                    [
                        {"action": "light.turn_off", "target": {"entity_id": "all"}},
                        {"action": "switch.turn_off", "target": {"entity_id": "none"}},
                    ],
                )
            ],
        }
    )
    assert named_action_entities(config) == {}


@pytest.fixture
def heard() -> Iterator[Heard]:
    """The check's lines; done at its last one (DEBUG: how many were looked up)."""
    with heard_from(
        "ambient.actuators.ha_action_entities", "action entities and services looked up"
    ) as handler:
        yield handler


@pytest.mark.ha
async def test_an_entity_or_service_home_assistant_lacks_is_a_warning_as_ambient_connects(
    ha: HomeAssistantInstance, heard: Heard
) -> None:
    connections = Connections(home(ha.url, ha.token), RealClock(), Counters())
    build_actuators(connections)
    async with running(connections.homeassistant()):
        await asyncio.wait_for(heard.done.wait(), WAIT_S)

    warnings = [line for level, line in heard.lines if level == logging.WARNING]
    assert warnings == [
        "Home Assistant has no entity light.bed_lihgt (rule evening_calm, rule night_watch): "
        "its actions will not be performed (renamed or removed in Home Assistant?)",
        "Home Assistant has no entity media_player.old_speaker (rule night_watch): its "
        "actions will not be performed (renamed or removed in Home Assistant?)",
        "Home Assistant has no service script.bedtme (rule night_watch): its actions will "
        "fail until it is there",
        "Home Assistant has no service tts.google_translate_say (rule night_watch): its "
        "actions will fail until it is there",
    ]


@pytest.mark.ha
async def test_an_entity_still_missing_is_not_said_again_and_one_back_is_said_once(
    ha: HomeAssistantInstance, heard: Heard
) -> None:
    """The journal's policy: a warning when HA is found lacking it, nothing at each later
    connection while it stays missing, one line when HA has it again, and a warning again if
    it goes. An entity back in HA was not said, so the warning seemed to stand."""
    light = "light.bed_lihgt"
    connections = Connections(home(ha.url, ha.token), RealClock(), Counters())
    async with running(connections.homeassistant()), HaProbe(ha.url, ha.token) as probe:
        check = ActionEntityCheck(connections.homeassistant(), {light: ["rule evening_calm"]})
        assert check.task is not None
        assert await asyncio.wait_for(check.task, WAIT_S) == [light]
        assert await asyncio.wait_for(check.look_up(), WAIT_S) == [light]  # a reconnect
        await probe.set_state(light, "off")
        try:
            assert await asyncio.wait_for(check.look_up(), WAIT_S) == []
            assert await asyncio.wait_for(check.look_up(), WAIT_S) == []
        finally:
            await probe.remove_state(light)
        assert await asyncio.wait_for(check.look_up(), WAIT_S) == [light]

    said = [(level, line) for level, line in heard.lines if level >= logging.INFO]
    missing = (
        logging.WARNING,
        f"Home Assistant has no entity {light} (rule evening_calm): its actions will not be "
        "performed (renamed or removed in Home Assistant?)",
    )
    assert said == [missing, (logging.INFO, f"Home Assistant has {light} again"), missing]
