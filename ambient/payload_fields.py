"""Fields read out of a JSON payload (numbers, timestamps, dotted paths), or a precise
reason why not.

Pure functions, no I/O, shared by the MQTT sensors and the MQTT triggers of rules. Reasons
are short stable words used as counter names.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, tzinfo
from typing import Any, Final

#: Larger payloads are refused before decoding: no sensor sends a 16 KiB heart rate.
MAX_PAYLOAD_BYTES: Final = 16 * 1024
#: A numeric timestamp above each bound is in the finer unit (each bound is the year 5138 in
#: the coarser one): divisors, finest first, to seconds.
_TIMESTAMP_UNITS: Final = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))
#: Timestamps before 2000-01-01 UTC are a broken sensor clock, not a reading's real time.
EARLIEST_TIMESTAMP: Final = 946_684_800.0
#: Deeper nesting is refused before decoding: no sensor nests a reading more than a few levels,
#: and how deep ``json.loads`` goes before it fails differs between Python versions.
MAX_NESTING: Final = 64
_BYTE_ORDER_MARK: Final = "\ufeff"
#: Texts by which publishers say they have no value: ESPHome's ``publish_nan_as_none``, HA's
#: states through ``mqtt_statestream``, an empty (cleared) payload.
NO_VALUE_TEXTS: Final = frozenset({"", "none", "null", "unknown", "unavailable"})
#: A number and then a word (``72 bpm``, ``0.8s``): a unit sent with the value.
_NUMBER_THEN_TEXT: Final = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)\s*[^\d\s.,]")


class PayloadError(ValueError):
    """Why a payload was dropped: ``reason`` is the counter name, ``detail`` for the log
    (never the payload itself: it may be health data)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode(payload: bytes) -> str:
    """The payload's text, without the byte order mark some Windows tools write before UTF-8
    (``json.loads`` and ``float`` refuse it, and it is no part of the value)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError("oversized", f"{len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("bad_encoding", f"not UTF-8 at byte {exc.start}") from None
    return text[1:] if text.startswith(_BYTE_ORDER_MARK) else text


def load_json(text: str) -> Any:
    """``json.loads`` with every way it can fail turned into a named reason: ``bad_json``,
    ``too_deep`` (nesting deeper than ``MAX_NESTING``, or than the interpreter's recursion
    limit) and ``number_too_long``
    (an integer of more digits than Python converts, 4,300 by default)."""
    if text.count("[") + text.count("{") > MAX_NESTING and _nesting(text) > MAX_NESTING:
        raise PayloadError("too_deep", f"nested deeper than {MAX_NESTING} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError("bad_json", f"{exc.msg} at line {exc.lineno} col {exc.colno}") from None
    except RecursionError:
        raise PayloadError("too_deep", "nested too deeply") from None
    except ValueError:
        raise PayloadError("number_too_long", "a number has too many digits") from None


def _nesting(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, brackets inside strings aside."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def lookup(document: Any, path: str) -> Any:
    """Follow a dotted path (``heart.bpm``, ``rr.0``) through objects and arrays."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PayloadError("missing_path", f"no `{path}` in the payload (stopped at `{part}`)")
    return node


def to_number(value: Any, where: str) -> float:
    """``value`` as a finite number; ``no_value`` for a device's way of saying it has none
    (JSON null, ``None``, ``unknown``, ``unavailable``, nothing), ``nan`` for NaN."""
    if value is None:
        raise PayloadError("no_value", f"{where} is null")
    if isinstance(value, bool):
        raise PayloadError("not_a_number", f"{where} is {json.dumps(value)}, not a number")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            raise PayloadError("not_finite", f"{where} is too large") from None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            if value.strip().lower() in NO_VALUE_TEXTS:
                raise PayloadError("no_value", f"{where} says there is no value") from None
            if _NUMBER_THEN_TEXT.match(value):
                raise PayloadError(
                    "not_a_number",
                    f"{where} is a number followed by text (a unit? send the number alone)",
                ) from None
            raise PayloadError("not_a_number", f"{where} is text, not a number") from None
    else:
        raise PayloadError("not_a_number", f"{where} is a {type(value).__name__}, not a number")
    if math.isnan(number):
        raise PayloadError("nan", f"{where} is NaN")
    if math.isinf(number):
        raise PayloadError("not_finite", f"{where} is infinite")
    return number


def to_numbers(value: Any, where: str) -> tuple[float, ...]:
    """One number, or a non-empty list of them (several RR intervals in one message)."""
    if isinstance(value, list):
        if not value:
            raise PayloadError("not_a_number", f"{where} is an empty list")
        return tuple(to_number(item, f"{where}[{i}]") for i, item in enumerate(value))
    return (to_number(value, where),)


def to_timestamp(value: Any, where: str, zone: tzinfo | None = None) -> float:
    """Unix seconds, milliseconds, microseconds or nanoseconds (told apart by size), or an
    ISO 8601 string; not before :data:`EARLIEST_TIMESTAMP`. A string without a zone is in
    ``zone`` (the config's ``timezone``: the process's own is UTC in a container), or in the
    process's zone when None."""
    if isinstance(value, str) and not _looks_numeric(value):
        try:
            parsed = datetime.fromisoformat(value.strip())
            if parsed.tzinfo is None:
                parsed = parsed.astimezone() if zone is None else parsed.replace(tzinfo=zone)
            seconds = parsed.timestamp()
        except (ValueError, OverflowError, OSError):  # OverflowError, OSError: year 1 or 9999
            raise PayloadError("bad_timestamp", f"{where} is not ISO 8601 nor a number") from None
    else:
        try:
            number = to_number(value, where)
        except PayloadError as exc:
            raise PayloadError("bad_timestamp", exc.detail) from None
        seconds = number
        for above, per_second in _TIMESTAMP_UNITS:
            if number > above:
                seconds = number / per_second
                break
    if seconds < EARLIEST_TIMESTAMP:
        raise PayloadError("bad_timestamp", f"{where} is before the year 2000")
    return seconds


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
