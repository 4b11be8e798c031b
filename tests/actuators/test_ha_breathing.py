"""The breathing session's timetable: the opening is heard out before the first cue, the phases
follow each other without gaps, and the closing comes after the last phase."""

from __future__ import annotations

from itertools import pairwise

import pytest

from ambient.actuators.ha_breathing import (
    LOWEST_PCT,
    OPENING_S,
    PacedLights,
    breaths_per_minute,
    plan,
)
from ambient.config.actions import BreathingActionConfig
from ambient.config.breathing import PRESETS
from ambient.interventions.script import SessionScript

SHORT = "Let's breathe together for a minute. Follow my voice."
#: What the built-in template says after twelve tense minutes: about ten seconds of speech.
LONG = (
    "Good evening, Alex. It has been a tense 12 minutes. Let's breathe together for a "
    "minute: in for 5.5, out for 5.5. Follow my voice."
)


def script(opening: str, cycles: int = 6) -> SessionScript:
    return SessionScript(opening, "Well done.", PRESETS["resonance"], cycles, "template")


def test_a_short_opening_gets_the_usual_pause_and_the_phases_sum_to_the_session() -> None:
    steps = plan(script(SHORT))
    assert [step.kind for step in steps[:3]] == ["opening", "inhale", "exhale"]
    assert steps[1].offset_s == OPENING_S
    assert steps[-1].kind == "closing"
    assert steps[-1].offset_s == pytest.approx(OPENING_S + 6 * 11.0)
    for step, following in pairwise(steps[1:]):
        assert following.offset_s == pytest.approx(step.offset_s + step.seconds)
    assert breaths_per_minute(PRESETS["resonance"]) == pytest.approx(60 / 11)


def test_the_first_cue_waits_until_a_long_opening_has_been_spoken() -> None:
    # A TTS call replaces what the speaker is saying: "Breathe in" must not cut the opening.
    # 25 words at a slow voice's 2.5 words a second are 10 s.
    first_cue = plan(script(LONG))[1]
    assert first_cue.kind == "inhale"
    assert first_cue.offset_s >= 10.0


def test_a_light_at_the_lowest_brightness_is_paced_at_it_and_never_switched_off() -> None:
    # HA turns a light off at brightness 0: no pacing level may round down to it.
    action = BreathingActionConfig(action="breathing", lights=["light.a", "light.b"])
    states = {
        "light.a": {"state": "on", "attributes": {"brightness": 1}},
        "light.b": {"state": "unknown", "attributes": {}},
    }
    lights = PacedLights.of(action, states)
    assert lights.levels == {"light.a": (LOWEST_PCT, LOWEST_PCT)}
    assert round(LOWEST_PCT * 255 / 100) == 1  # HA's brightness from brightness_pct
    assert lights.left_off == ["light.b"]
