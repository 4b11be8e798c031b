"""What a light's state means to an action that dims it (calm_lights, a breathing session's
pacing): neither wakes a room. A light that is off stays off unless the action says
``turn_on_lights``, and a light's own brightness is a ceiling. Pure: read without aiohttp."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: How far (of HA's 0-255) a light's report may lie outside the levels ambient set and still be
#: ambient's doing: percentages are rounded, and a light may keep steps of its own.
BRIGHTNESS_TOLERANCE = 8


#: What of a light's state HA's ``scene.apply`` puts back (its light reproduce_state reads
#: the colour of the ``color_mode``).
RESTORABLE_ATTRIBUTES = (
    "brightness",
    "effect",
    "color_mode",
    "color_temp_kelvin",
    "hs_color",
    "xy_color",
    "rgb_color",
    "rgbw_color",
    "rgbww_color",
)


def restorable(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """A light's state as ``scene.apply`` takes it back; ``None`` for one neither on nor off
    (unknown, unavailable: nothing to put back)."""
    if state.get("state") not in ("on", "off"):
        return None
    attributes = state.get("attributes") or {}
    kept = {a: attributes[a] for a in RESTORABLE_ATTRIBUTES if attributes.get(a) is not None}
    return {"state": state["state"], **(kept if state["state"] == "on" else {})}


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


@dataclass
class BrightnessSpan:
    """The brightness a light ambient holds may report without being touched by anyone else:
    from its own before ambient first changed it to every level ambient set since. A fade
    passes between them, and a light reports it late — after HA's 5 s window, with a context of
    no user, just as a wall dimmer's turn comes. A report outside the span is a hand's."""

    low: float
    high: float

    @classmethod
    def before(cls, state: Mapping[str, Any]) -> BrightnessSpan | None:
        """From the light's state before ambient changed it; ``None`` for one that was off or
        has no brightness: switched on, a light may first show a brightness of its own (its
        last one) before it fades to ambient's, so it is judged on on/off alone."""
        brightness = brightness_when_on(state)
        return None if brightness is None else cls(brightness, brightness)

    def add_pct(self, *levels_pct: float) -> None:
        """Levels ambient asked for, in percent."""
        for pct in levels_pct:
            brightness = pct * 255 / 100
            self.low, self.high = min(self.low, brightness), max(self.high, brightness)

    def covers(self, brightness: float) -> bool:
        return self.low - BRIGHTNESS_TOLERANCE <= brightness <= self.high + BRIGHTNESS_TOLERANCE


def notes(left_as_they_are: Iterable[tuple[str, list[str]]]) -> str:
    """The timeline's note on the lights left as they are, each group with why:
    ``" (left off: light.a, light.b)"``; empty groups are not named."""
    return "".join(f" ({why}: {', '.join(lights)})" for why, lights in left_as_they_are if lights)
