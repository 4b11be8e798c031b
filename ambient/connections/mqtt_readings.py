"""The wire format between a satellite and the central instance: batches of readings.

``<base_topic>/<instance>/readings`` carries ``{"v": 1, "instance": ..., "readings": [[time,
person, metric, value, source], ...]}``: compact (a strap makes one RR reading per beat) and
versioned, so a newer central can still read an older satellite. A batch the satellite held
while the broker was away adds ``"held": true`` (old by nature, not a clock behind); a key an
older central ignores, so the version stays 1.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ambient.readings import METRIC_NAME_PATTERN, VALID_RANGE, Reading
from ambient.topics import is_person_id

FORMAT_VERSION: Final = 1
_METRIC: Final = re.compile(METRIC_NAME_PATTERN)


def readings_topic(base_topic: str, instance: str) -> str:
    return f"{base_topic}/{instance}/readings"


def readings_filter(base_topic: str) -> str:
    return f"{base_topic}/+/readings"


def encode_batch(instance: str, readings: Iterable[Reading], *, held: bool = False) -> bytes:
    """The batch; ``held``: its readings waited for the broker (an outage, a late start)."""
    rows = [[r.time, r.person, r.metric, r.value, r.source] for r in readings]
    document: dict[str, Any] = {"v": FORMAT_VERSION, "instance": instance, "readings": rows}
    if held:
        document["held"] = True
    return json.dumps(document, separators=(",", ":")).encode()


def batch_held(document: Mapping[str, Any]) -> bool:
    """Whether a decoded batch says its satellite held it while the broker was away."""
    return document.get("held") is True


class BatchError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode_batch(document: Any) -> tuple[str, list[Any]]:
    """The instance and raw rows of a decoded JSON batch; :class:`BatchError` if malformed."""
    if not isinstance(document, dict):
        raise BatchError("bad_batch", "not a JSON object")
    if document.get("v") != FORMAT_VERSION:
        raise BatchError("bad_version", f"format version {document.get('v')!r} is not 1")
    instance, rows = document.get("instance"), document.get("readings")
    if not isinstance(instance, str) or not isinstance(rows, list):
        raise BatchError("bad_batch", "needs `instance` (text) and `readings` (a list)")
    return instance, rows


def reading_from_row(row: Any, instance: str) -> Reading:
    """One validated reading; :class:`BatchError` names what is wrong with the row."""
    if not isinstance(row, list) or len(row) != 5:
        raise BatchError("bad_reading", "a reading is [time, person, metric, value, source]")
    time, person, metric, value, source = row
    if not isinstance(person, str) or not is_person_id(person):
        raise BatchError("bad_person", "person is not an id")
    if not isinstance(metric, str) or not _METRIC.match(metric):
        raise BatchError("bad_metric", "metric is not a metric name")
    if not isinstance(source, str) or not source:
        # (it names the reading's source, `<instance>/<source>`, which `beats:` keys name)
        raise BatchError("bad_source", "source is not a sensor's name")
    for name, number in (("time", time), ("value", value)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise BatchError("not_a_number", f"{name} is not a number")
        try:
            finite = math.isfinite(number)
        except OverflowError:  # an integer beyond the float range
            finite = False
        if not finite:
            raise BatchError("nan", f"{name} is not finite")
    valid = VALID_RANGE.get(metric)
    if valid is not None and not valid[0] <= value <= valid[1]:
        raise BatchError("out_of_range", f"{metric} outside {valid[0]:g}..{valid[1]:g}")
    return Reading(float(time), person, metric, float(value), f"{instance}/{source}")
