"""calm_lights' config: the calm level is a ceiling, and switching on lights that are off is
the action's explicit choice (``turn_on_lights``, as in Adaptive Lighting's apply service)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ambient.config.actions import CalmLightsActionConfig


def calm(**fields: Any) -> CalmLightsActionConfig:
    return CalmLightsActionConfig.model_validate(
        {"action": "calm_lights", "target": "light.bedroom", **fields}
    )


def test_lights_that_are_off_stay_off_unless_the_action_says_turn_on_lights() -> None:
    assert calm().turn_on_lights is False
    assert calm(turn_on_lights=True).turn_on_lights is True


def test_a_misspelt_turn_on_key_is_refused_not_ignored() -> None:
    with pytest.raises(ValidationError, match="turn_on"):
        calm(turn_on=True)
