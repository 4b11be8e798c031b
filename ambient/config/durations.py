"""Durations as people write them: ``90s``, ``5min``, ``1h30m``, ``00:05:00``, plain seconds, or
Home Assistant's ``{hours: 0, minutes: 5, seconds: 0}`` (what its automation editor writes).

An unquoted ``10:00`` is read as Home Assistant reads it: YAML 1.1 makes it the base-60 number
600, so 10 minutes, while ``"10:00"`` in quotes is hours and minutes, 10 hours (and ``01:30``,
which YAML leaves as text, 1 h 30). The duration keeps what was written
(:class:`ClockDuration`), so ``ambient check`` can say which of the two it read
(:func:`minutes_read_from_a_clock`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidatorFunctionWrapHandler, WrapValidator

from ambient.config.yaml_source import Base60Float, Base60Int

_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$|^(\d+):([0-5]?\d)$")

DURATION_HELP = "a duration like 90s, 5min, 1h30m, 00:05:00 or a number of seconds"
#: The keys of Home Assistant's dictionary form, and their seconds.
_DICT_SECONDS = {
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "milliseconds": 0.001,
}
_DICT_KEYS = "days, hours, minutes, seconds or milliseconds"
#: The longest duration: a time that far ahead is still a date (``.inf`` or 10**20 s is not,
#: and a cooldown's end, a deadline, must be said as one).
LONGEST_S = 100 * 365.25 * 86400.0


def parse_duration(value: object) -> float:
    """Seconds in ``value``; raises ``ValueError`` naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HELP}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value.strip().lower())
    elif isinstance(value, dict):
        seconds = _parse_dict(value)
    else:
        raise ValueError(f"expected {DURATION_HELP}")
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"a duration cannot be negative; expected {DURATION_HELP}")
    if seconds > LONGEST_S:
        # `cooldown: .inf` loaded, and then every firing in it failed to say when it ends.
        raise ValueError(f"a duration can be at most 100 years (got {value})")
    return seconds


def _parse_dict(parts: dict[object, object]) -> float:
    """HA's ``{hours: 1, minutes: 30}``: each key a unit, each value a number of them."""
    if not parts:
        raise ValueError(f"an empty duration: give {_DICT_KEYS}")
    total = 0.0
    for key, amount in parts.items():
        if key not in _DICT_SECONDS:
            raise ValueError(f"unknown key `{key}` in a duration; give {_DICT_KEYS}")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ValueError(f"`{key}` must be a number in a duration (got `{amount}`)")
        total += float(amount) * _DICT_SECONDS[str(key)]
    return total


def _parse_text(text: str) -> float:
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if match := _CLOCK.match(text):
        if match.group(1) is not None:
            h, m, s = match.group(1), match.group(2), match.group(3)
            return int(h) * 3600 + int(m) * 60 + float(s)
        return int(match.group(4)) * 3600 + int(match.group(5)) * 60
    compact = text.replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"`{text}` is not {DURATION_HELP}")
    total = 0.0
    for number, unit in parts:
        if unit not in _UNIT_SECONDS:
            raise ValueError(f"unknown unit `{unit}` in `{text}`; expected {DURATION_HELP}")
        total += float(number) * _UNIT_SECONDS[unit]
    return total


def duration_text(seconds: float) -> str:
    """``2min``, ``1h30min``, ``45s``: how durations are written in the config, to the
    second — for what was measured (how long a run lasted, how old a message is). A duration
    the config wrote, which may hold a part of a second, is :func:`written_duration_text`."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}min")
    if secs or not parts:
        parts.append(f"{secs}s")
    return "".join(parts)


def written_duration_text(seconds: float) -> str:
    """A duration of the config as written: ``2min``, and one with a part of a second in
    seconds (``1.5s``, not ``2s``; ``delay: 0.5s`` not ``0s``, as if there were none), where
    :func:`duration_text` rounds what was measured."""
    return duration_text(seconds) if float(seconds).is_integer() else f"{seconds:g}s"


class ClockDuration(float):
    """Seconds read from an unquoted clock form (``10:00``), with the text as written."""

    written: str


def _keep_clock_form(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """The seconds, remembering the text when YAML read an unquoted ``10:00`` as base 60."""
    seconds = handler(value)
    if isinstance(value, Base60Int | Base60Float):
        kept = ClockDuration(seconds)
        kept.written = value.written
        return kept
    return seconds


def minutes_read_from_a_clock(seconds: float) -> str | None:
    """What to say of a duration written as an unquoted ``10:00``: YAML reads it as minutes
    and seconds (10min), as Home Assistant does, where the same text in quotes is hours and
    minutes (10h); None for any other duration (``1:30:00`` reads the same either way)."""
    if not isinstance(seconds, ClockDuration) or seconds.written.count(":") == 2:
        return None  # h:m:s, as "1:30:00" in quotes
    written = seconds.written
    as_read = written_duration_text(seconds)
    if written.count(":") > 1:
        return f"YAML reads an unquoted {written} as {as_read} (base 60): write {as_read}"
    said = (
        f"YAML reads an unquoted {written} as {as_read} (minutes:seconds), as Home Assistant does"
    )
    try:
        quoted = duration_text(parse_duration(written))
    except ValueError:
        return f"{said}: write {as_read}"
    return (
        f'{said}, while "{written}" in quotes is {quoted} (hours:minutes): '
        f'write {as_read}, or "{written}" for {quoted}'
    )


#: A duration field; the value is in seconds.
Duration = Annotated[float, BeforeValidator(parse_duration), WrapValidator(_keep_clock_form)]
