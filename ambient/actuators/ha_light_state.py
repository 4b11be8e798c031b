"""What a light's state means to an action that dims it (calm_lights, a breathing session's
pacing): neither wakes a room. A light that is off stays off unless the action says
``turn_on_lights``, and a light's own brightness is a ceiling. Pure: read without aiohttp."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def left_off(state: Mapping[str, Any], turn_on_lights: bool) -> bool:
    """Off (or unknown) and the action does not switch lights on: untouched."""
    return state.get("state") != "on" and not turn_on_lights


def brightness_when_on(state: Mapping[str, Any]) -> float | None:
    """The brightness (HA's 0-255) of a light that is on; ``None`` when it is off or reports
    none (an on/off light)."""
    brightness = (state.get("attributes") or {}).get("brightness")
    if state.get("state") != "on" or not isinstance(brightness, int | float):
        return None
    return float(brightness)


def notes(left_as_they_are: Iterable[tuple[str, list[str]]]) -> str:
    """The timeline's note on the lights left as they are, each group with why:
    ``" (left off: light.a, light.b)"``; empty groups are not named."""
    return "".join(f" ({why}: {', '.join(lights)})" for why, lights in left_as_they_are if lights)
