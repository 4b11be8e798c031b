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
    NO_VALUE_TEXTS,
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
    #: The payload's time; of a batch whose samples have their own (``times``), the newest.
    timestamp: float | None
    #: Each value's own time (a ``*`` in both paths: a watch's batch of samples), else None.
    times: tuple[float, ...] | None = None


#: A payload comes per reading: its result is made as ``Reading`` makes itself, with the
#: slots' setters bound once (a frozen dataclass's ``__init__`` goes through
#: ``object.__setattr__`` for each field).
_parsed_slots: Any = ParsedPayload
_set_values: Final = _parsed_slots.values.__set__
_set_timestamp: Final = _parsed_slots.timestamp.__set__
_set_times: Final = _parsed_slots.times.__set__
_new_object: Final = object.__new__

#: A path part standing for each element of a list (``data.*.Avg``).
EACH: Final = "*"


def _parsed(
    values: tuple[float, ...], timestamp: float | None, times: tuple[float, ...] | None = None
) -> ParsedPayload:
    made: ParsedPayload = _new_object(ParsedPayload)
    _set_values(made, values)
    _set_timestamp(made, timestamp)
    _set_times(made, times)
    return made


def parse_payload(
    payload: bytes,
    value_path: str | None = None,
    timestamp_path: str | None = None,
    zone: tzinfo | None = None,
) -> ParsedPayload:
    """The numbers (and the timestamp, when configured) in ``payload``.

    Without ``value_path`` the payload is a plain number (``72``, ``72.5``) or a JSON number or
    list of numbers; with it, a JSON document the path leads into. A ``*`` part of a path
    stands for each element of a list there (``data.*.Avg``: a batch of samples); with one in
    both paths, each value has its own time. An ISO timestamp without a zone is in ``zone``
    (the process's zone when None).
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
        if text.strip().lower() in NO_VALUE_TEXTS:  # (a retained message emptied, HA's word)
            raise PayloadError("no_value", "the payload says there is no value")
        document = load_json(text)
    if value_path is None:
        if isinstance(document, dict):
            raise _object_without_path()
        values = to_numbers(document, "the payload")
    else:
        values = to_numbers(_each(document, value_path), f"`{value_path}`")
    timestamp = None
    if timestamp_path is not None:
        found = _each(document, timestamp_path)
        if isinstance(found, _Each):
            return _batch(values, found, timestamp_path, zone)
        timestamp = to_timestamp(found, f"`{timestamp_path}`", zone)
    return _parsed(values, timestamp)


class _Each(list[Any]):
    """What a path with a ``*`` found: one node per element of the list (read as a list)."""


def _each(document: Any, path: str) -> Any:
    """``lookup(document, path)``, where a ``*`` part on a list stands for each of its
    elements (on an object it is a key, as before): the rest of the path read in each."""
    if EACH not in path:  # (the usual path: no split)
        return lookup(document, path)
    parts = path.split(".")
    if EACH not in parts:  # a `*` within a key
        return lookup(document, path)
    star = parts.index(EACH)
    head, rest = ".".join(parts[:star]), ".".join(parts[star + 1 :])
    node = lookup(document, head) if head else document
    if not isinstance(node, list):
        return lookup(document, path)  # a key named `*`, or no list: missing_path
    if not rest:
        return _Each(node)
    found = _Each()
    for index, element in enumerate(node):
        try:
            found.append(lookup(element, rest))
        except PayloadError:  # said with the sensor's path and the sample that lacks it
            sample = f"`{head}.{index}`" if head else f"element {index}"
            detail = f"no `{path}` in the payload ({sample} has no `{rest}`)"
            raise PayloadError("missing_path", detail) from None
    return found


def _batch(
    values: tuple[float, ...], found: _Each, timestamp_path: str, zone: tzinfo | None
) -> ParsedPayload:
    """Samples that each carry their own time (a watch's upload): paired in order; the
    newest is the payload's time."""
    if len(found) != len(values):
        raise PayloadError(
            "bad_timestamp",
            f"`{timestamp_path}` gives {len(found)} times for {len(values)} values",
        )
    times = tuple(
        to_timestamp(item, f"`{timestamp_path}`[{index}]", zone) for index, item in enumerate(found)
    )
    return _parsed(values, max(times), times)


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
