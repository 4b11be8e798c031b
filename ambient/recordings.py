"""Recording formats: CSV (header ``t,metric,value,person``) and JSON Lines with the same fields.

``t`` is seconds from the start, unix seconds, or ISO-8601; ``person`` is optional. Lines starting
with ``#`` are comments (attribution, notes). A real session written by ``ambient record`` can be
replayed by ``ambient simulate`` as a regression test. See docs/recordings.md.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import logging
import math
import os
import re
import stat
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

from ambient.readings import HR, METRIC_NAME_PATTERN, RR, VALID_RANGE, Reading

_LOGGER = logging.getLogger(__name__)
_METRIC = re.compile(METRIC_NAME_PATTERN)
#: Times above this are unix seconds; below, seconds from the start of the recording.
UNIX_THRESHOLD_S = 100_000_000.0
FIELDS = ("t", "metric", "value", "person")


class RecordingError(ValueError):
    """A recording that cannot be read at all (missing file, no header)."""


@dataclass
class Recording:
    readings: list[Reading]
    #: True when times are seconds from the start (the replay anchors them to a clock time).
    relative: bool
    #: ``file:line: problem`` for each row that was skipped.
    problems: list[str] = field(default_factory=list)


def _parse_time(raw: str) -> tuple[float, bool]:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            stamp = stamp.astimezone()
        return stamp.timestamp(), False
    if not math.isfinite(value):
        raise ValueError(f"time `{raw}` is not finite")
    return value, value < UNIX_THRESHOLD_S


@functools.lru_cache(maxsize=256)
def _valid_metric(name: str) -> bool:
    """A recording names a handful of metrics over and over: match each name once."""
    return _METRIC.match(name) is not None


def _row_reading(row: dict[str, Any], default_person: str, source: str) -> tuple[Reading, bool]:
    for key in ("t", "metric", "value"):
        if row.get(key) in (None, ""):
            raise ValueError(f"missing `{key}`")
    time_s, relative = _parse_time(str(row["t"]))
    metric = str(row["metric"]).strip()
    if not _valid_metric(metric):
        raise ValueError(f"bad metric name `{metric}`")
    value = float(row["value"])
    if not math.isfinite(value):
        raise ValueError("value is not finite")
    if not _plausible(metric, value):
        low, high = VALID_RANGE[metric]
        unit = f" {_UNITS[metric]}" if metric in _UNITS else ""
        raise ValueError(f"{metric} {value:g} is outside {low:g}..{high:g}{unit}")
    person = str(row.get("person") or default_person).strip()
    return Reading(time_s, person, metric, value, source), relative


_UNITS = {HR: "bpm", RR: "ms"}


def _plausible(metric: str, value: float) -> bool:
    """Inside the metric's physiological range (any value for a metric without one)."""
    limits = VALID_RANGE.get(metric)
    return limits is None or limits[0] <= value <= limits[1]


def _plain_csv_reading(
    values: list[str], columns: dict[str, int], default_person: str, source: str
) -> tuple[Reading, bool] | None:
    """The usual CSV row (numeric time and value, a valid metric name) read without building
    a dict; None for anything else, which ``_row_reading`` then reads or explains."""
    try:
        time_s = float(values[columns["t"]])
        value = float(values[columns["value"]])
        metric = values[columns["metric"]].strip()
    except (ValueError, IndexError):
        return None
    if not (
        math.isfinite(time_s)
        and math.isfinite(value)
        and _valid_metric(metric)
        and _plausible(metric, value)
    ):
        return None
    person_at = columns.get("person")
    raw_person = values[person_at] if person_at is not None and person_at < len(values) else ""
    person = (raw_person or default_person).strip()
    return Reading(time_s, person, metric, value, source), time_s < UNIX_THRESHOLD_S


Row = dict[str, Any] | str | tuple[Reading, bool]


def _rows(
    path: Path, handle: IO[str], default_person: str, source: str
) -> Iterator[tuple[int, Row]]:
    """(line number, row) for each data line: a row to read, error text, or (plain CSV rows)
    the reading already read."""
    if path.suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"bad JSON ({exc.msg})"
                continue
            yield number, row if isinstance(row, dict) else "not a JSON object"
        return
    numbered = ((n, line) for n, line in enumerate(handle, start=1) if not line.startswith("#"))
    first = next(numbered, None)
    if first is None:
        raise RecordingError(f"{path}: empty recording")
    header = next(csv.reader([first[1]]))
    if [h.strip() for h in header[:3]] != ["t", "metric", "value"]:
        raise RecordingError(
            f"{path}:{first[0]}: header must be `t,metric,value[,person]`, got `{first[1].strip()}`"
        )
    names = [h.strip() for h in header]
    columns = {name: i for i, name in enumerate(names)}  # a repeated name: the last, as dict()
    for number, line in numbered:
        if not line.strip():
            continue
        if '"' in line:  # quoted fields go through the csv module
            yield number, dict(zip(names, next(csv.reader([line])), strict=False))
            continue
        values = line.rstrip("\r\n").split(",")
        plain = _plain_csv_reading(values, columns, default_person, source)
        yield number, plain if plain is not None else dict(zip(names, values, strict=False))


def load_recording(
    path: Path, default_person: str = "default", people: Collection[str] | None = None
) -> Recording:
    """Read every row of ``path``; bad rows are skipped and listed in ``problems``: unreadable
    or implausible ones (``hr`` -5), and, when ``people`` is given, rows for anyone else."""
    source = f"recording:{path.name}"
    readings: list[Reading] = []
    problems: list[str] = []
    relative_flags: set[bool] = set()
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror})") from None
    with handle, _text_only(path):
        for number, row in _rows(path, handle, default_person, source):
            if isinstance(row, str):
                problems.append(f"{path}:{number}: {row}")
                continue
            if isinstance(row, tuple):
                reading, relative = row
            else:
                try:
                    reading, relative = _row_reading(row, default_person, source)
                except ValueError as exc:
                    problems.append(f"{path}:{number}: {exc}")
                    continue
            if people is not None and reading.person not in people:
                known = ", ".join(sorted(people)) or "none"
                problems.append(
                    f"{path}:{number}: person `{reading.person}` is not in the config "
                    f"(people: {known})"
                )
                continue
            relative_flags.add(relative)
            readings.append(reading)
    if len(relative_flags) > 1:
        raise RecordingError(f"{path}: mixes relative and absolute times")
    readings.sort(key=attrgetter("time"))  # stable: same-time rows keep file order
    for problem in problems[:5]:
        _LOGGER.warning("Skipped a recording row: %s", problem)
    if len(problems) > 5:
        _LOGGER.warning("Skipped %d more bad rows in %s", len(problems) - 5, path)
    return Recording(readings, relative=relative_flags != {False}, problems=problems)


@contextlib.contextmanager
def _text_only(path: Path) -> Iterator[None]:
    """A file that is not UTF-8 text (a binary file given by mistake) is one clear error."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise RecordingError(
            f"{path}: not a text recording (byte {exc.start} is not UTF-8)"
        ) from None


def read_recording(path: Path, default_person: str = "default") -> list[Reading]:
    """The readings of ``path`` in time order (times as written: relative or unix seconds)."""
    return load_recording(path, default_person).readings


class RecordingWriter:
    """Writes readings as CSV or JSON Lines (by suffix), unix-second times, flushed per row.

    The file is heart data: it is created 0600 whatever the umask, and an existing file that is
    overwritten is made 0600 too."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jsonl = path.suffix in (".jsonl", ".ndjson")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if stat.S_ISREG(os.fstat(descriptor).st_mode):  # not /dev/stdout or a pipe
                os.fchmod(descriptor, 0o600)
        except OSError:
            os.close(descriptor)
            raise
        self._handle = os.fdopen(descriptor, "w", encoding="utf-8", newline="")
        if not self._jsonl:
            self._handle.write(",".join(FIELDS) + "\n")

    def write(self, reading: Reading) -> None:
        if self._jsonl:
            row = {"t": round(reading.time, 3), "metric": reading.metric}
            row |= {"value": reading.value, "person": reading.person}
            self._handle.write(json.dumps(row) + "\n")
        else:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(
                [f"{reading.time:.3f}", reading.metric, f"{reading.value:g}", reading.person]
            )
            self._handle.write(buffer.getvalue())
        self._handle.flush()

    def write_all(self, readings: Iterable[Reading]) -> None:
        for reading in readings:
            self.write(reading)

    def close(self) -> None:
        self._handle.close()
