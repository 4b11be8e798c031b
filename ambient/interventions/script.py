"""The words of a guided breathing session, made for the person and the moment.

A Jinja2 template (sandboxed: a template can read its context, nothing else) fills in the name,
the time of day, how long the stress has lasted and the pattern. Optionally the LLM the user
already has in Home Assistant writes the words instead: it is sent only coarse context (never a
heart figure), and its answer is checked — pacing clamped to safe ranges, length bounded, no
links, no medical claims — and replaced by the template on any doubt.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


DEFAULT_OPENING = (
    "{{ greeting }}, {{ name }}. "
    "{% if stress_minutes >= 10 %}It has been a tense {{ stress_minutes }} minutes. {% endif %}"
    "Let's breathe together for a minute: {{ pattern_words }}. Follow my voice."
)
DEFAULT_CLOSING = "Well done, {{ name }}. Let your breath find its own pace again."

#: Safe pacing for guided breathing (seconds per phase) and session length (cycles).
PHASE_LIMITS_S: Mapping[str, tuple[float, float]] = {
    "inhale": (3.0, 7.0),
    "hold": (0.0, 7.0),
    "exhale": (4.0, 10.0),
    "hold_out": (0.0, 4.0),
}
BREATHS_PER_MIN_LIMITS = (4.0, 10.0)
CYCLES_LIMITS = (3, 12)
MAX_TEXT_CHARS = 400
_LINK = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io|de)\b", re.IGNORECASE)
_MEDICAL = re.compile(
    r"\b(?:cure[sd]?|diagnos\w*|treat(?:s|ment)?|disorder|medication|medicine|prescri\w*|"
    r"therap\w*|heal(?:s|ing)?|panic attack|depression|hypertension|blood pressure)\b",
    re.IGNORECASE,
)


@functools.cache
def _environment() -> SandboxedEnvironment:
    """jinja2's sandbox, imported at the first session (~9 MiB a daemon without one never pays)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True, slots=True)
class ScriptContext:
    """Coarse facts about the moment: all a template or an LLM is given."""

    name: str
    hour: int
    stress_minutes: int
    pattern: str
    phases: Sequence[tuple[str, float]]

    @property
    def time_of_day(self) -> str:
        if 5 <= self.hour < 12:
            return "morning"
        if 12 <= self.hour < 18:
            return "afternoon"
        if 18 <= self.hour < 22:
            return "evening"
        return "night"

    def variables(self) -> dict[str, Any]:
        greeting = {"morning": "Good morning", "afternoon": "Hello", "evening": "Good evening"}
        return {
            "name": self.name,
            "time_of_day": self.time_of_day,
            "greeting": greeting.get(self.time_of_day, "Hello"),
            "stress_minutes": self.stress_minutes,
            "pattern": self.pattern,
            "pattern_words": pattern_words(self.phases),
        }


@dataclass(frozen=True, slots=True)
class SessionScript:
    """What the session says and how it paces; ``source`` says who wrote it and why."""

    opening: str
    closing: str
    phases: tuple[tuple[str, float], ...]
    cycles: int
    source: str


def pattern_words(phases: Sequence[tuple[str, float]]) -> str:
    words = {"inhale": "in", "hold": "hold", "exhale": "out", "hold_out": "hold"}
    return ", ".join(f"{words[phase]} for {seconds:g}" for phase, seconds in phases)


def from_template(
    context: ScriptContext,
    cycles: int,
    opening: str = DEFAULT_OPENING,
    closing: str = DEFAULT_CLOSING,
) -> SessionScript:
    """The script from the user's templates, or the built-in ones if theirs fail to render."""
    from jinja2 import TemplateError

    variables, environment = context.variables(), _environment()
    try:
        rendered = (
            environment.from_string(opening).render(variables),
            environment.from_string(closing).render(variables),
        )
        source = "template"
    except TemplateError as exc:
        rendered = (
            environment.from_string(DEFAULT_OPENING).render(variables),
            environment.from_string(DEFAULT_CLOSING).render(variables),
        )
        source = f"built-in template (yours failed: {exc})"
    return SessionScript(
        " ".join(rendered[0].split()),
        " ".join(rendered[1].split()),
        tuple(context.phases),
        cycles,
        source,
    )


#: The shape asked of the LLM (``ai_task.generate_data``'s ``structure``).
LLM_STRUCTURE: Mapping[str, Any] = {
    "opening": {
        "description": "One to three calm sentences to begin",
        "required": True,
        "selector": {"text": {}},
    },
    "closing": {
        "description": "One gentle sentence to end",
        "required": True,
        "selector": {"text": {}},
    },
    "inhale_seconds": {
        "description": "Seconds to breathe in (3-7)",
        "required": True,
        "selector": {"number": {"min": 3, "max": 7}},
    },
    "exhale_seconds": {
        "description": "Seconds to breathe out (4-10)",
        "required": True,
        "selector": {"number": {"min": 4, "max": 10}},
    },
    "cycles": {
        "description": "Number of breaths (3-12)",
        "required": True,
        "selector": {"number": {"min": 3, "max": 12}},
    },
}


def llm_instructions(context: ScriptContext) -> str:
    """The request: coarse context only (name, time of day, minutes, pattern), no heart data."""
    return (
        f"Write a short guided breathing session for {context.name} this {context.time_of_day}. "
        f"They have felt tense for about {context.stress_minutes} minutes. Suggested pattern: "
        f"{pattern_words(context.phases)} seconds. Be warm and plain; no medical claims, no "
        "links, no advice beyond breathing."
    )


class ScriptRejected(ValueError):
    """The LLM's answer cannot be spoken as it is (the template is used instead)."""


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ScriptRejected(f"`{key}` is missing or not text")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT_CHARS:
        raise ScriptRejected(f"`{key}` is longer than {MAX_TEXT_CHARS} characters")
    if _LINK.search(text):
        raise ScriptRejected(f"`{key}` holds a link")
    if _MEDICAL.search(text):
        raise ScriptRejected(f"`{key}` makes a medical claim")
    return text


def _number(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ScriptRejected(f"`{key}` is not a number")
    try:
        number = float(value)
    except ValueError:
        raise ScriptRejected(f"`{key}` is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ScriptRejected(f"`{key}` is not a finite number")
    return number


def _clamp(value: float, limits: tuple[float, float]) -> float:
    return min(max(value, limits[0]), limits[1])


def from_llm(data: Any) -> SessionScript:
    """A checked script from the LLM's structured answer; raises :class:`ScriptRejected`."""
    if not isinstance(data, Mapping):
        raise ScriptRejected("the answer is not an object")
    opening, closing = _text(data, "opening"), _text(data, "closing")
    inhale = _clamp(_number(data, "inhale_seconds"), PHASE_LIMITS_S["inhale"])
    exhale = _clamp(_number(data, "exhale_seconds"), PHASE_LIMITS_S["exhale"])
    # Slower than 4 or faster than 10 breaths a minute is not calming: stretch or shorten
    # the exhale, the phase people tolerate changing best.
    low_bpm, high_bpm = BREATHS_PER_MIN_LIMITS
    exhale = _clamp(exhale, (60.0 / high_bpm - inhale, 60.0 / low_bpm - inhale))
    exhale = _clamp(exhale, PHASE_LIMITS_S["exhale"])
    cycles = round(_clamp(_number(data, "cycles"), CYCLES_LIMITS))
    return SessionScript(
        opening, closing, (("inhale", inhale), ("exhale", exhale)), cycles, "assistant (checked)"
    )
