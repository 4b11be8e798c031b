"""What a breathing action's preset names mean, and how long its paced part lasts: read by the
session that paces it and by the config's advice."""

from __future__ import annotations

from ambient.config.actions import BreathingActionConfig

#: Preset phases in seconds. Resonance: 5.5 s in + 5.5 s out = about 5.5 breaths a minute.
PRESETS: dict[str, tuple[tuple[str, float], ...]] = {
    "box": (("inhale", 4.0), ("hold", 4.0), ("exhale", 4.0), ("hold_out", 4.0)),
    "4-7-8": (("inhale", 4.0), ("hold", 7.0), ("exhale", 8.0)),
    "resonance": (("inhale", 5.5), ("exhale", 5.5)),
}


def phases_of(action: BreathingActionConfig) -> tuple[tuple[str, float], ...]:
    """The configured phases: the custom ones, else the preset's."""
    if action.phases:
        return tuple((p.phase, p.seconds) for p in action.phases)
    assert action.preset is not None
    return PRESETS[action.preset]


def cycle_s(action: BreathingActionConfig) -> float:
    """One breath of the configured pattern, in seconds."""
    return sum(seconds for _, seconds in phases_of(action))


def paced_s(action: BreathingActionConfig) -> float:
    """How long the configured session paces breathing (its cycles; without the opening words
    and an assistant's own pacing)."""
    return action.cycles * cycle_s(action)
