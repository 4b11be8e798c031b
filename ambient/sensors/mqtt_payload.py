"""Turning one MQTT payload into numbers, or a precise reason why not.

Pure functions, no I/O: the MQTT sensor counts and logs the reasons; tests and benchmarks call
these directly. The field readers they build on are in :mod:`ambient.payload_fields`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ambient.payload_fields import decode, load_json, lookup, to_number, to_numbers, to_timestamp


@dataclass(frozen=True, slots=True)
class ParsedPayload:
    values: tuple[float, ...]
    timestamp: float | None


def parse_payload(
    payload: bytes, value_path: str | None = None, timestamp_path: str | None = None
) -> ParsedPayload:
    """The numbers (and the timestamp, when configured) in ``payload``.

    Without ``value_path`` the payload is a plain number (``72``, ``72.5``) or a JSON number or
    list of numbers; with it, a JSON document the path leads into.
    """
    text = decode(payload)
    if value_path is None and timestamp_path is None:
        stripped = text.strip()
        if stripped.startswith("["):
            return ParsedPayload(to_numbers(load_json(stripped), "the payload"), None)
        return ParsedPayload((to_number(stripped, "the payload"),), None)
    document = load_json(text)
    if value_path is None:
        values = to_numbers(document, "the payload")
    else:
        values = to_numbers(lookup(document, value_path), f"`{value_path}`")
    timestamp = None
    if timestamp_path is not None:
        timestamp = to_timestamp(lookup(document, timestamp_path), f"`{timestamp_path}`")
    return ParsedPayload(values, timestamp)


def beat_times(end_time: float, rr_ms: Sequence[float]) -> list[float]:
    """Times of successive beats whose last one is at ``end_time``."""
    times = []
    offset_ms = 0.0
    for value in reversed(rr_ms):
        times.append(end_time - offset_ms / 1000.0)
        offset_ms += value
    times.reverse()
    return times
