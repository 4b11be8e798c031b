"""Which entities the built-in HA actions take: written as Home Assistant takes them (one id,
a list, ids separated by commas, ``{entity_id: …}``), and of the domain the action acts on —
HA's ``light.turn_on`` on a ``switch.*`` or an ``area_id`` would do nothing without a word."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ambient.config.actions import (
    BreathingActionConfig,
    CalmLightsActionConfig,
    PlayCalmingActionConfig,
)


def calm(target: Any) -> CalmLightsActionConfig:
    return CalmLightsActionConfig.model_validate({"action": "calm_lights", "target": target})


@pytest.mark.parametrize(
    "target",
    [
        "light.bed, light.hall",
        {"entity_id": ["light.bed", "light.hall"]},
        {"entity_id": "light.bed,light.hall"},
        ["light.bed", "light.hall"],
    ],
)
def test_lights_are_taken_in_every_form_home_assistant_takes(target: Any) -> None:
    assert calm(target).target == ["light.bed", "light.hall"]


def test_a_target_that_is_no_light_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match=r"switch\.lamp is no light \(expected light\.\*\)"):
        calm(["light.bed", "switch.lamp"])


def test_an_area_target_is_refused_with_what_to_write_instead() -> None:
    with pytest.raises(ValidationError, match="`area_id` is not supported: name the lights"):
        calm({"area_id": "bedroom"})


def test_media_players_and_tts_entities_are_of_their_domain() -> None:
    with pytest.raises(ValidationError, match=r"light\.bed is no media player"):
        PlayCalmingActionConfig.model_validate(
            {"action": "play_calming", "target": "light.bed", "media_content_id": "calm"}
        )
    with pytest.raises(ValidationError, match=r"media_player\.bedroom is no TTS entity"):
        BreathingActionConfig.model_validate(
            {
                "action": "breathing",
                "media_player": "media_player.bedroom",
                "tts_entity": "media_player.bedroom",
            }
        )
    with pytest.raises(ValidationError, match=r"switch\.lamp is no light"):
        BreathingActionConfig.model_validate({"action": "breathing", "lights": ["switch.lamp"]})
