"""Turning one MQTT payload into numbers, or a precise reason why not.

Pure functions, no I/O: the MQTT sensors count and log the reasons; tests and benchmarks call
these directly. The field readers they build on are in :mod:`ambient.payload_fields`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Final

from ambient.payload_fields import (
    MAX_NESTING,
    PayloadError,
    decode,
    load_json,
    lookup,
    to_number,
    to_numbers,
    to_timestamp,
)

#: ``json.loads`` without its checks around the scan, for :func:`_short_object`: the same
#: decoder settings as the default one, so the same document (typeshed lacks ``scan_once``).
_decoder: Any = json.JSONDecoder()
_scan_json: Final[Callable[[str, int], tuple[Any, int]]] = _decoder.scan_once


@dataclass(frozen=True, slots=True)
class ParsedPayload:
    values: tuple[float, ...]
    timestamp: float | None


#: A payload comes per reading: its result is made as ``Reading`` makes itself, with the
#: slots' setters bound once (a frozen dataclass's ``__init__`` goes through
#: ``object.__setattr__`` for each field).
_parsed_slots: Any = ParsedPayload
_set_values: Final = _parsed_slots.values.__set__
_set_timestamp: Final = _parsed_slots.timestamp.__set__
_new_object: Final = object.__new__


def _parsed(values: tuple[float, ...], timestamp: float | None) -> ParsedPayload:
    made: ParsedPayload = _new_object(ParsedPayload)
    _set_values(made, values)
    _set_timestamp(made, timestamp)
    return made


def parse_payload(
    payload: bytes,
    value_path: str | None = None,
    timestamp_path: str | None = None,
    zone: tzinfo | None = None,
) -> ParsedPayload:
    """The numbers (and the timestamp, when configured) in ``payload``.

    Without ``value_path`` the payload is a plain number (``72``, ``72.5``) or a JSON number or
    list of numbers; with it, a JSON document the path leads into. An ISO timestamp without a
    zone is in ``zone`` (the process's zone when None).
    """
    text = decode(payload)
    if value_path is None and timestamp_path is None:
        try:  # the usual plain number: what `to_number` of the stripped text gives
            number = float(text)
        except ValueError:
            number = None
        if number is not None and number - number == 0.0:  # finite (NaN, inf: the reasons below)
            return _parsed((number,), None)
        stripped = text.strip()
        if stripped.startswith("["):
            return _parsed(to_numbers(load_json(stripped), "the payload"), None)
        if stripped.startswith("{"):
            load_json(stripped)  # bad JSON is bad_json; an object wants a `value:` path
            raise _object_without_path()
        return _parsed((to_number(stripped, "the payload"),), None)
    document = _short_object(text)
    if document is None:
        document = load_json(text)
    if value_path is None:
        if isinstance(document, dict):
            raise _object_without_path()
        values = to_numbers(document, "the payload")
    else:
        values = to_numbers(lookup(document, value_path), f"`{value_path}`")
    timestamp = None
    if timestamp_path is not None:
        timestamp = to_timestamp(lookup(document, timestamp_path), f"`{timestamp_path}`", zone)
    return _parsed(values, timestamp)


def _object_without_path() -> PayloadError:
    """A JSON object where no `value:` path says which field is the number (a Zigbee2MQTT
    device configured as a plain number): the detail says what to set."""
    return PayloadError(
        "not_a_number", "the payload is a JSON object; `value:` names the field holding the number"
    )


def _short_object(text: str) -> Any | None:
    """``load_json(text)`` of the usual payload, a short JSON object (``{"hr": 72}``); None
    for anything else, and for anything it would refuse (for ``load_json`` to say why).

    Short enough that it cannot nest deeper than ``MAX_NESTING`` nor hold a number too long
    to convert; starting with ``{`` and ending where its object ends, so ``json.loads`` would
    find neither a byte order mark, nor whitespace, nor anything after it."""
    if len(text) > MAX_NESTING or not text.startswith("{"):
        return None
    try:
        document, end = _scan_json(text, 0)
    except (StopIteration, ValueError):  # a JSONDecodeError is a ValueError
        return None
    return document if end == len(text) else None


def beat_times(end_time: float, rr_ms: Sequence[float]) -> list[float]:
    """Times of successive beats whose last one is at ``end_time``."""
    times = []
    offset_ms = 0.0
    for value in reversed(rr_ms):
        times.append(end_time - offset_ms / 1000.0)
        offset_ms += value
    times.reverse()
    return times
