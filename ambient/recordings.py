"""Recording formats: CSV (header ``t,metric,value,person``) and JSON Lines with the same fields.

``t`` is seconds from the start, unix seconds, or ISO-8601; ``person`` is optional. Lines starting
with ``#`` are comments (attribution, notes). A real session written by ``ambient record`` can be
replayed by ``ambient simulate`` as a regression test. See docs/recordings.md.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import gc
import io
import itertools
import json
import logging
import math
import os
import re
import shlex
import stat
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, Final

from ambient.private_files import open_private
from ambient.readings import (
    CONTACT,
    METRIC_NAME_PATTERN,
    VALID_RANGE,
    Reading,
    moved,
    range_text,
)

_LOGGER = logging.getLogger(__name__)
_METRIC = re.compile(METRIC_NAME_PATTERN)
#: Times above this are unix seconds; below, seconds from the start of the recording.
UNIX_THRESHOLD_S = 100_000_000.0
#: Times from here on are refused (3000-01-01 UTC): unix milliseconds written as seconds land
#: past the calendar's end (the year 9999), where a replay's clock cannot go.
LATEST_TIME_S = 32_503_680_000.0
FIELDS = ("t", "metric", "value", "person")
#: A recording with one of these suffixes is JSON Lines; any other is CSV.
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
#: The suffixes a recording is written with (CSV first).
RECORDING_SUFFIXES = (".csv", *JSON_LINES_SUFFIXES)


def is_json_lines(path: Path) -> bool:
    """Whether ``path`` names a JSON Lines recording (its ending in any case: ``.JSONL``)."""
    return path.suffix.lower() in JSON_LINES_SUFFIXES


def is_recording_name(path: Path) -> bool:
    """Whether ``path`` ends as a recording does, in any case (``S01.CSV``)."""
    return path.suffix.lower() in RECORDING_SUFFIXES


#: The header a CSV recording starts with (after any comment lines).
HEADER = "t,metric,value[,person]"


class RecordingError(ValueError):
    """A recording that cannot be read at all (missing file, no header)."""


@dataclass
class Recording:
    readings: list[Reading]
    #: True when times are seconds from the start (the replay anchors them to a clock time).
    relative: bool
    #: ``file:line: problem`` for each row that was skipped.
    problems: list[str] = field(default_factory=list)
    #: Where a relative recording's ``t`` = 0 was put as it was read: its readings' times are
    #: the written ones plus this (a replay that knows its clock's start reads the rows onto
    #: it, so each is made once); 0.0 for times as written.
    origin_s: float = 0.0
    #: The ``source`` every reading carries, when the loader named them (else None).
    source: str | None = None
    #: Whether the rows name their person (a person column): else they are the loader's
    #: ``default_person``'s.
    names_person: bool = True

    @property
    def first_time_s(self) -> float | None:
        """The first reading's time (None: no readings)."""
        return self.readings[0].time if self.readings else None

    @property
    def last_time_s(self) -> float | None:
        """The last reading's time (None: no readings)."""
        return self.readings[-1].time if self.readings else None


#: How much of a field a message shows (a line may be long: a run of the NUL bytes a power
#: cut can leave in a file).
SHOWN_CHARS = 40


def shown(text: str) -> str:
    """``text`` as a message shows it: its first :data:`SHOWN_CHARS` characters, ``…`` for
    the rest, a character that does not print (a NUL) escaped (``\\x00``)."""
    cut = text[:SHOWN_CHARS]
    if not cut.isprintable():
        cut = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return cut + ("…" if len(text) > SHOWN_CHARS else "")


def _parse_time(raw: str) -> tuple[float, bool]:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:  # Python's words only when they say more than "invalid"
            why = "" if str(exc).startswith("Invalid isoformat") else f": {exc}"
            raise ValueError(
                f"time `{shown(raw)}` is neither seconds nor an ISO-8601 time{why}"
            ) from None
        if stamp.tzinfo is None:
            stamp = stamp.astimezone()
        value = stamp.timestamp()
        if not 0.0 <= value < LATEST_TIME_S:  # year 1 is a blank date in many an export
            raise ValueError(f"time `{shown(raw)}` is before 1970 or after the year 3000") from None
        return value, False
    if not math.isfinite(value):
        raise ValueError(f"time `{shown(raw)}` is not finite")
    if value >= LATEST_TIME_S:
        raise ValueError(
            f"time `{shown(raw)}` is after the year 3000: `t` is in seconds (milliseconds?)"
        )
    return value, value < UNIX_THRESHOLD_S


#: Metrics that say yes or no, and the values they take (any other is a bad row): skin
#: contact, and the label rows' start and end (see ambient.labels).
ON_OFF_VALUES: Final = {
    CONTACT: "0 or 1",
    "label_episode": "1 (start) or 0 (end)",
    "label_baseline": "1 (start) or 0 (end)",
}


@functools.lru_cache(maxsize=256)
def _valid_metric(name: str) -> bool:
    """A recording names a handful of metrics over and over: match each name once."""
    return _METRIC.match(name) is not None


def _row_fields(row: dict[str, Any], default_person: str) -> tuple[float, str, str, float, bool]:
    """Time, person, metric, value and whether the time is relative, of a row read into a
    dict; a ValueError says what is wrong with it."""
    for key in ("t", "metric", "value"):
        if row.get(key) in (None, ""):
            raise ValueError(f"missing `{key}`")
    time_s, relative = _parse_time(str(row["t"]))
    known = _metric_range(str(row["metric"]))
    if known is None:
        raise ValueError(f"bad metric name `{shown(str(row['metric']).strip())}`")
    metric, low, high = known
    # The lines below are logged as warnings: they name the row, never its value (heart data).
    try:
        value = float(row["value"])
    except (TypeError, ValueError):  # text, or a JSON list or object
        raise ValueError("value is not a number") from None
    if not math.isfinite(value):
        raise ValueError("value is not finite")
    if not low <= value <= high:
        raise ValueError(f"{metric} outside {range_text(metric, low, high)}")
    if metric in ON_OFF_VALUES and value not in (0.0, 1.0):
        raise ValueError(f"{metric} must be {ON_OFF_VALUES[metric]}")
    person = str(row.get("person") or default_person).strip()
    return time_s, person, metric, value, relative


@dataclass
class _Loading:
    """What reading a recording has gathered so far (rows are added in file order)."""

    path: Path
    default_person: str
    source: str
    people: Collection[str] | None
    #: Added to each relative time as the row is read (``load_recording``'s
    #: ``relative_origin_s``).
    origin_s: float = 0.0
    #: Metrics whose rows go to ``set_aside`` (times as written), not ``readings``, and
    #: take no part in the time order (a replay's label rows).
    set_aside_metrics: frozenset[str] = frozenset()
    #: Where rows are added (a stream takes each block's and starts a new list).
    readings: list[Reading] = field(default_factory=list)
    set_aside: list[Reading] = field(default_factory=list)
    #: The first ``problems_kept`` problems (None: all), and how many there were.
    problems: list[str] = field(default_factory=list)
    problems_kept: int | None = None
    problem_count: int = 0
    relative_seen: bool = False
    absolute_seen: bool = False
    #: The line of the first row of each kind of time (True: relative), for the error of a
    #: recording that mixes them (a pipe cannot be read again to find them).
    first_line_of: dict[bool, int] = field(default_factory=dict)
    #: Whether the rows so far are in time order (the usual case: no sort needed), and the
    #: line of the first row that was not.
    in_order: bool = True
    disorder_line: int = 0
    #: The last row's time as written (the order is of the times as written).
    last_time_s: float = -math.inf
    #: Whether the rows name their person: a CSV header with ``person``, a JSON Lines file
    #: whose first row has one (a first line that is no JSON object counts as naming it:
    #: what is wrong with it is said).
    names_person: bool = True

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if self.problems_kept is None or len(self.problems) < self.problems_kept:
            self.problems.append(text)

    def out_of_order(self, number: int) -> None:
        """Row ``number`` is earlier than the one before it."""
        if self.in_order:
            self.in_order, self.disorder_line = False, number

    def add_row(self, number: int, row: dict[str, Any] | str) -> None:
        """A row read into a dict (or error text), checked field by field."""
        if isinstance(row, str):
            self.problem(f"{self.path}:{number}: {row}")
            return
        try:
            time_s, person, metric, value, relative = _row_fields(row, self.default_person)
        except ValueError as exc:
            self.problem(f"{self.path}:{number}: {exc}")
            return
        if self.people is not None and person not in self.people:
            self.problem(self.stranger(number, person))
            return
        if relative:
            self.relative_seen = True
        else:
            self.absolute_seen = True
        if len(self.first_line_of) < 2:
            self.first_line_of.setdefault(relative, number)
        if metric in self.set_aside_metrics:
            self.set_aside.append(Reading(time_s, person, metric, value, self.source))
            return
        if time_s < self.last_time_s:
            self.out_of_order(number)
        self.last_time_s = time_s
        if relative and self.origin_s:  # `+ 0.0` would turn a written -0 into 0
            time_s += self.origin_s
        self.readings.append(Reading(time_s, person, metric, value, self.source))

    def stranger(self, number: int, person: str) -> str:
        known = ", ".join(sorted(self.people or ())) or "none"
        return (
            f"{self.path}:{number}: person `{shown(person)}` is not in the config (people: {known})"
        )


#: How many lines of a recording are read at a time (~2 KiB of rows): a block whose readings
#: a replay hands over before it reads the next, so they die young.
_BLOCK_LINES = 80
#: The longest line read whole. A row is some 30 characters: a longer line is none (a JSON
#: export written on one line, the run of NUL bytes a power cut can leave in a file), and is
#: read a piece at a time, never held whole, and skipped as a bad row.
LONGEST_LINE_CHARS = 1 << 16
#: What a line longer than that is read as (only this object: ``is`` tells it).
_TOO_LONG = "".join(["(too long)", "\n"])
TOO_LONG_TEXT = "a line of over 64 KiB, not a row"


def _blocks(handle: IO[str]) -> Iterator[list[str]]:
    """The lines of ``handle`` a block at a time (a line over :data:`LONGEST_LINE_CHARS` as
    ``_TOO_LONG``)."""
    lines = _lines(handle)
    while True:
        block = list(itertools.islice(lines, _BLOCK_LINES))
        if not block:
            return
        yield block


def _lines(handle: IO[str]) -> Iterator[str]:
    """The lines of ``handle``, each whose characters (its end aside) are over
    :data:`LONGEST_LINE_CHARS` read a piece at a time and given as ``_TOO_LONG``."""
    readline, longest = handle.readline, LONGEST_LINE_CHARS
    limit = longest + 2  # the longest line's characters and its end, \r\n at most
    cut_in_crlf = False
    while line := readline(limit):
        if len(line) <= longest:  # a line read whole (every row: the loop's fast way)
            if cut_in_crlf:
                cut_in_crlf = False
                if line == "\n":  # the \n of a \r\n that a piece ended between
                    continue
            yield line
            continue
        piece = line
        while len(piece) == limit and piece[-1] not in "\r\n":  # no end yet: a piece at a time
            piece = readline(limit)
        # A piece of `limit` characters may end between the \r and \n of one line end.
        cut_in_crlf = len(piece) == limit and piece[-1] == "\r"
        yield _TOO_LONG if piece is not line or len(line.rstrip("\r\n")) > longest else line


def _json_lines(loading: _Loading, handle: IO[str]) -> Iterator[None]:
    """Reads the rows into ``loading``, pausing (yielding) after each block."""
    number = 0
    first_row = True
    for lines in _blocks(handle):
        first = number + 1  # the line numbers go on from block to block
        for number, line in enumerate(lines, start=first):
            if line is _TOO_LONG:
                loading.add_row(number, TOO_LONG_TEXT)
                first_row = False
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                row = json.loads(line)
                if first_row:
                    loading.names_person = not isinstance(row, dict) or "person" in row
            except json.JSONDecodeError as exc:
                loading.add_row(number, f"bad JSON ({exc.msg})")
                continue
            except (ValueError, RecursionError):  # json's other refusals
                loading.add_row(number, "bad JSON (a number too long, or nesting too deep)")
                continue
            finally:
                first_row = False
            loading.add_row(number, row if isinstance(row, dict) else "not a JSON object")
        yield


#: Not yet looked up (a metric name's entry may be None: a bad name).
_UNSEEN: Any = object()
#: How many distinct rests of line (after the time) a CSV reader keeps read.
_RESTS_KEPT = 4096


def _csv_lines(loading: _Loading, handle: IO[str]) -> Iterator[None]:
    """Reads the rows into ``loading``, pausing (yielding) after each block; a header that
    is not ``t,metric,value[,person]`` is a :class:`RecordingError` at the first step.

    The usual row (no quotes, numeric time and value, a known metric name, a value in its
    range, a known person) is read inline without a dict; anything else goes through
    ``add_row``, which reads it or says what is wrong with it (the two keep the order check's
    last time in step)."""
    path = loading.path
    number = 0
    header: str | None = None
    for number, line in enumerate(_lines(handle), start=1):  # noqa: B007 (the header's line)
        if not line.startswith("#"):
            header = line
            break
    if header is None:
        raise RecordingError(f"{path}: empty recording")
    names = header_names(header)
    if names is None:
        got = "a line of over 64 KiB" if header is _TOO_LONG else f"`{shown(header.strip())}`"
        raise RecordingError(f"{path}:{number}: header must be `{HEADER}`, got {got}")
    columns = {name: i for i, name in enumerate(names)}  # a repeated name: the last, as dict()
    loading.names_person = "person" in columns
    # Each line starts with its time (unless the header names `t` again, further on: then
    # every row takes the checked path).
    leading = columns["t"] == 0
    rest_of = _RestOfLine(loading, columns)
    #: Per line as written after its time (``rr,857,alex`` and the line end): the person,
    #: metric and value of a usual row, None for any other. A recording repeats a few
    #: hundred of them (a beat's interval, per person), so most rows cost a lookup.
    usual: dict[str, tuple[str, str, float] | None] = {}
    source, origin_s = loading.source, loading.origin_s
    last_time = -math.inf
    infinity, latest = math.inf, LATEST_TIME_S
    relative_seen = absolute_seen = False
    for lines in _blocks(handle):
        append = loading.readings.append  # a stream hands each block's list on
        first = number + 1  # the line numbers go on from block to block
        for number, line in enumerate(lines, start=first):
            # A comment line never reads as numbers: it is skipped below, with the blank ones.
            quoted = '"' in line  # quoted fields go through the csv module
            if leading and not quoted:
                written_time, _, rest = line.partition(",")
                fields = usual.get(rest, _UNSEEN)
                if fields is _UNSEEN:
                    fields = rest_of.fields(rest)
                    if len(usual) < _RESTS_KEPT:
                        usual[rest] = fields
                if fields is not None:
                    try:
                        time_s = float(written_time)
                    except ValueError:
                        time_s = math.nan  # not a number: the checked path says why
                    if -infinity < time_s < latest:  # else the checked path says why
                        if time_s < last_time:
                            loading.out_of_order(number)
                        last_time = time_s
                        if time_s < UNIX_THRESHOLD_S:
                            if not relative_seen:
                                relative_seen = True
                                loading.first_line_of.setdefault(True, number)
                            if origin_s:  # `+ 0.0` would turn a written -0 into 0
                                time_s += origin_s
                        elif not absolute_seen:
                            absolute_seen = True
                            loading.first_line_of.setdefault(False, number)
                        append(Reading(time_s, fields[0], fields[1], fields[2], source))
                        continue
            if line is _TOO_LONG:
                loading.add_row(number, TOO_LONG_TEXT)
                continue
            if not line.strip() or line.startswith("#"):
                continue
            values = next(csv.reader([line])) if quoted else line.rstrip("\r\n").split(",")
            loading.last_time_s = last_time
            loading.add_row(number, dict(zip(names, values, strict=False)))
            last_time = loading.last_time_s
        loading.relative_seen |= relative_seen
        loading.absolute_seen |= absolute_seen
        loading.last_time_s = last_time
        yield


class _RestOfLine:
    """Reads what follows the time on a CSV line, once per distinct rest of line."""

    def __init__(self, loading: _Loading, columns: Mapping[str, int]) -> None:
        # Fields of the rest of a line: the line's fields but the first.
        self._metric_at, self._value_at = columns["metric"] - 1, columns["value"] - 1
        self._person_at = columns.get("person", sys.maxsize) - 1  # no column: never a field
        self._default_person, self._people = loading.default_person, loading.people
        #: Rows of these metrics take the checked path, which sets them aside.
        self._set_aside = loading.set_aside_metrics
        #: The one copy of each metric and person name (the readings share them).
        self._names: dict[str, str] = {}

    def fields(self, rest: str) -> tuple[str, str, float] | None:
        """Person, metric and value of a usual row; None for anything the checked path must
        read: a bad number or metric name, a value out of its range, a person the config does
        not know, too few fields, a metric set aside."""
        values = rest.split(",")  # the line end stays on the last field: `float` ignores it
        try:
            written_metric, value = values[self._metric_at], float(values[self._value_at])
        except (ValueError, IndexError):
            return None
        known = _metric_range(written_metric.rstrip("\r\n"))
        if (
            known is None
            or not known[1] <= value <= known[2]
            or known[0] in self._set_aside
            or known[0] in ON_OFF_VALUES  # few rows: the checked path says which are bad
        ):
            return None
        person_at = self._person_at
        written_person = values[person_at].rstrip("\r\n") if person_at < len(values) else ""
        person = (written_person or self._default_person).strip()
        if self._people is not None and person not in self._people:
            return None
        names = self._names
        return names.setdefault(person, person), names.setdefault(known[0], known[0]), value


def header_names(line: str) -> list[str] | None:
    """The column names a CSV recording's first line (after comments) gives, None when it is
    not the header ``t,metric,value[,person]``: then nothing in the file can be read."""
    names = [name.strip() for name in next(csv.reader([line]), [])]
    return names if names[:3] == ["t", "metric", "value"] else None


def _metric_range(written: str) -> tuple[str, float, float] | None:
    """The metric ``written`` names and the range its values must lie in (a metric without
    one: any finite value); None when it is not a metric name."""
    metric = written.strip()
    if not _valid_metric(metric):
        return None
    low, high = VALID_RANGE.get(metric, (-sys.float_info.max, sys.float_info.max))
    return metric, low, high


def load_recording(
    path: Path,
    default_person: str = "default",
    people: Collection[str] | None = None,
    *,
    source: str | None = None,
    relative_origin_s: float = 0.0,
    log_problems: bool = True,
) -> Recording:
    """Read every row of ``path``; bad rows are skipped and listed in ``problems`` (and logged
    unless ``log_problems`` is false): unreadable or implausible ones (``hr`` -5), and, when
    ``people`` is given, rows for anyone else.

    The readings are named ``source`` (default ``recording:<file name>``). With
    ``relative_origin_s``, relative times are read as that clock time plus ``t`` (the
    recording's ``origin_s``), exactly as a replay anchored there would move them; absolute
    times are kept."""
    source = source or f"recording:{path.name}"
    loading = _read(path, _Loading(path, default_person, source, people, relative_origin_s))
    _check_one_kind_of_time(loading)
    readings, problems = loading.readings, loading.problems
    origin_s = relative_origin_s if loading.relative_seen else 0.0
    if not loading.in_order:
        if origin_s:  # moved times can tie where the written ones differ: sort these
            readings = _read(path, _Loading(path, default_person, source, people)).readings
        readings.sort(key=attrgetter("time"))  # stable: same-time rows keep file order
        if origin_s:
            readings = moved(readings, origin_s, source)
    if log_problems:
        _log_problems(loading)
    relative = not loading.absolute_seen
    return Recording(
        readings,
        relative,
        problems,
        origin_s=origin_s,
        source=source,
        names_person=loading.names_person,
    )


#: How many skipped rows are logged one by one (the rest as a count).
_PROBLEMS_LOGGED = 5


def _log_problems(loading: _Loading) -> None:
    for problem in loading.problems[:_PROBLEMS_LOGGED]:
        _LOGGER.warning("Skipped a recording row: %s", problem)
    if loading.problem_count > _PROBLEMS_LOGGED:
        more = loading.problem_count - _PROBLEMS_LOGGED
        _LOGGER.warning("Skipped %d more bad rows in %s", more, loading.path)


def _check_one_kind_of_time(loading: _Loading) -> None:
    if loading.relative_seen and loading.absolute_seen:
        raise RecordingError(
            f"{loading.path}: mixes relative and absolute times ({_first_of_each_kind(loading)})"
        )


class OutOfOrder(Exception):
    """A recording read as it replays has a row earlier than the one before it: what came
    before is replayed already, so the replay must start again with the file read whole
    (:func:`load_recording` sorts it)."""

    def __init__(self, path: Path, line: int) -> None:
        super().__init__(f"{path}:{line}: earlier than the row before it")
        self.path, self.line = path, line

    def check_readable_again(self, path: Path) -> None:
        """Before ``path`` is read again whole, for this row out of order: a
        :class:`RecordingError` when it cannot be, a pipe (``-r <(zcat day.csv.gz)``) giving
        its rows once."""
        if not path.is_file():
            which = "it" if path == self.path else str(path)
            raise RecordingError(
                f"{self}: {which} must be read again to be sorted, which a pipe cannot be; "
                "save it to a file first"
            )


#: What an exhausted reader gives.
_END: Any = object()


class RecordingStream:
    """A recording read as it replays, a block of rows at a time (``batches``): memory stays
    that of a block however long the file is. Only a file in time order (as ``ambient
    record`` writes it) can be replayed so: ``batches`` raises :class:`OutOfOrder` at the
    first row earlier than the one before it, and :class:`RecordingError` at a row whose kind
    of time differs from the rows before it (as :func:`load_recording` would, naming the first
    line of each). Rows of the ``set_aside`` metrics go to ``set_aside`` with their times as
    written and take no part in the order (label rows). The skipped rows are logged, as
    :func:`load_recording` logs them, once the file has been read to its end (unless
    ``log_problems`` is false: a file read again, its problems logged already).

    Opening it reads the header and up to the first reading (a file that cannot play at all
    fails there, before any replay), so ``relative``, ``origin_s`` and ``first_time_s`` are
    known from the start; ``last_time_s`` is the last reading's handed over so far."""

    def __init__(
        self,
        path: Path,
        default_person: str = "default",
        people: Collection[str] | None = None,
        *,
        source: str | None = None,
        relative_origin_s: float = 0.0,
        set_aside: Collection[str] = (),
        log_problems: bool = True,
    ) -> None:
        self.path = path
        self._log_problems = log_problems
        self.source = source or f"recording:{path.name}"
        self._loading = _Loading(
            path,
            default_person,
            self.source,
            people,
            relative_origin_s,
            set_aside_metrics=frozenset(set_aside),
            problems_kept=_PROBLEMS_LOGGED,
        )
        self.first_time_s: float | None = None
        self.last_time_s: float | None = None
        #: Blocks read while looking for the first reading.
        self._read_ahead: list[list[Reading]] = []
        #: Whether the end was met (and the skipped rows said).
        self._ended = False
        self._handle = _open(path)
        try:
            with _reading_errors(path):
                self._steps = _rows(self._loading, self._handle)
                while self.first_time_s is None:
                    block = self._next_block()
                    if block is None:
                        break
                    self._read_ahead.append(block)
        except BaseException:
            self._handle.close()
            raise
        loading = self._loading
        #: True when times are seconds from the start (as :attr:`Recording.relative`).
        self.relative = not loading.absolute_seen
        #: Where a relative recording's ``t`` = 0 was put (as :attr:`Recording.origin_s`).
        self.origin_s = relative_origin_s if loading.relative_seen else 0.0

    @property
    def set_aside(self) -> list[Reading]:
        """The rows of the set-aside metrics read so far, in file order, times as written."""
        return self._loading.set_aside

    @property
    def problem_count(self) -> int:
        """Rows skipped so far."""
        return self._loading.problem_count

    @property
    def names_person(self) -> bool:
        """Whether the rows name their person (as :attr:`Recording.names_person`; known
        once opened)."""
        return self._loading.names_person

    def batches(self) -> Iterator[list[Reading]]:
        """The readings, a block at a time, in file order (= time order); closes the file at
        the end."""
        with self._handle, _reading_errors(self.path):
            while self._read_ahead:
                yield self._read_ahead.pop(0)
            while (block := self._next_block()) is not None:
                yield block

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> RecordingStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _next_block(self) -> list[Reading] | None:
        """The readings of the next block (None at the end, when the skipped rows are
        logged)."""
        loading = self._loading
        if next(self._steps, _END) is _END:
            if self._log_problems and not self._ended:  # the end may be met twice: say once
                _log_problems(loading)
            self._ended = True
            return None
        _check_one_kind_of_time(loading)
        if not loading.in_order:
            raise OutOfOrder(self.path, loading.disorder_line)
        block = loading.readings
        loading.readings = []
        if block:
            if self.first_time_s is None:
                self.first_time_s = block[0].time
            self.last_time_s = block[-1].time
        return block


def _first_of_each_kind(loading: _Loading) -> str:
    """Where a recording that mixes kinds of time has its first row of each, for its error."""
    (one, one_relative), (other, other_relative) = sorted(
        (number, relative) for relative, number in loading.first_line_of.items()
    )
    kind = {True: "relative", False: "absolute"}
    return f"line {one} is {kind[one_relative]}, line {other} {kind[other_relative]}"


def _read(path: Path, loading: _Loading) -> _Loading:
    """The rows of ``path`` gathered into ``loading``, in file order."""
    handle = _open(path)
    with handle, _reading_errors(path), _collector_paused():
        for _ in _rows(loading, handle):
            pass
    return loading


def _open(path: Path) -> IO[str]:
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte order mark; read past it
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror})") from None


def _rows(loading: _Loading, handle: IO[str]) -> Iterator[None]:
    """Reads the rows of ``handle`` into ``loading``, a step per block."""
    if is_json_lines(loading.path):
        return _json_lines(loading, handle)
    return _csv_lines(loading, handle)


@contextlib.contextmanager
def _reading_errors(path: Path) -> Iterator[None]:
    """A file that fails to read (a failing card: it opens, a read fails) or is not UTF-8
    text (a binary file given by mistake) is one clear error."""
    try:
        yield
    except UnicodeDecodeError as exc:
        if not path.is_file():  # a pipe, read once: where is not known, but how it starts
            hint = _packed_hint(path, exc.object[:4])  # the bytes the decoder was given
            raise RecordingError(
                f"{path}: not a text recording (a byte is not UTF-8){hint}"
            ) from None
        # The decoder's own offset counts from the start of the block it was given.
        where = first_byte_not_utf8(path)
        raise RecordingError(
            f"{path}: not a text recording (a byte is not UTF-8)"
            if where is None
            else f"{path}:{where[0]}: not a text recording (byte {where[1]} is not UTF-8)"
            + _packed_hint(path)
        ) from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror})") from None


#: How a file packed by a tool people export with starts, and what to do with it: as a
#: file, as a pipe or stdin (its file has another name), and as the file a config's recording
#: sensor names (``key``: where, ``sensors[0].path``; ``unpack``: the command that unpacks it).
_PACKED = (
    (
        b"\x1f\x8b",
        "gzip-compressed: unpack it, or give it as -r <(zcat {path})",
        "gzip-compressed: unpack it on its way in (zcat)",
        "gzip-compressed: unpack it ({unpack}) and set {key} to the unpacked file",
    ),
    (
        b"PK\x03\x04",
        "a zip archive (a spreadsheet's .xlsx?): save it as CSV",
        "a zip archive (a spreadsheet's .xlsx?): save it as CSV",
        "a zip archive (a spreadsheet's .xlsx?): save it as CSV and set {key} to it",
    ),
)


def packed_hint_for_config(path: Path, start: bytes, key: str) -> str:
    """``: gzip-compressed: unpack it … and set sensors[0].path …`` for a config's recording
    ``path`` (at ``key``) that starts (``start``) as a packed file does, else nothing: ``run``
    reads the file it names, so a pipe (``-r <(zcat …)``) is no answer there."""
    found = (hint for magic, _, _, hint in _PACKED if start.startswith(magic))
    return next(
        (": " + hint.format(key=key, unpack=_unpack_command(path)) for hint in found),
        "",
    )


def _unpack_command(path: Path) -> str:
    """``gunzip day.csv.gz``; gunzip refuses a name without ``.gz`` (a gzip file named
    ``day.csv``), which is unpacked beside it instead."""
    if path.suffix == ".gz":
        return f"gunzip {shlex.quote(str(path))}"
    unpacked = path.with_name(f"{path.stem}.unpacked{path.suffix}")
    return f"zcat {shlex.quote(str(path))} > {shlex.quote(str(unpacked))}"


def is_nameless(path: Path) -> bool:
    """Whether ``path`` is a pipe's (``-r <(zcat S01.csv.gz)`` is ``/dev/fd/63``) or stdin's
    name, not the recording's own."""
    return path.parts[:2] in (("/", "dev"), ("/", "proc"))


def _packed_hint(path: Path, start: bytes | None = None) -> str:
    """``: gzip-compressed: …`` for a file that starts (``start``: its first bytes, else read)
    as a packed one does, else nothing."""
    if start is None:
        try:
            with path.open("rb") as handle:
                start = handle.read(4)
        except OSError:
            return ""
    nameless = is_nameless(path)
    found = (
        piped if nameless else named
        for magic, named, piped, _ in _PACKED
        if start.startswith(magic)
    )
    return next((": " + hint.format(path=shlex.quote(str(path))) for hint in found), "")


#: How much of a file that is not UTF-8 is read at a time to find where.
_NOT_UTF8_BLOCK_BYTES = 1 << 16


def first_byte_not_utf8(path: Path) -> tuple[int, int] | None:
    """The line and the offset from the start of the file of the first byte of ``path`` that
    is not UTF-8, read a block at a time; None should the file have changed meanwhile."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    read_bytes = lines_before = 0
    with path.open("rb") as handle:
        while block := handle.read(_NOT_UTF8_BLOCK_BYTES):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # exc.object is the block behind the bytes the decoder held back (a
                # character cut in two, never a newline).
                at = read_bytes - (len(exc.object) - len(block)) + exc.start
                return lines_before + 1 + block[: max(0, at - read_bytes)].count(b"\n"), at
            read_bytes += len(block)
            lines_before += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # a character cut short at the very end
        return lines_before + 1, read_bytes - len(decoder.getstate()[0])
    return None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading a recording makes an object per row and no reference cycles, so the cyclic
    garbage collector has nothing to find; left on, it walks the growing list of readings
    again and again (a day of beats for 3 people: a fifth of the load). Paused while the
    rows are read (as ``timeit`` does), and back on as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_recording(path: Path, default_person: str = "default") -> list[Reading]:
    """The readings of ``path`` in time order (times as written: relative or unix seconds)."""
    return load_recording(path, default_person).readings


def _value_text(value: float) -> str:
    """``61`` for 61.0, and every digit a value needs to be read back the same where six
    would not do (``999.0234375``: a strap's beat of 1023/1024 s)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


class RecordingWriter:
    """Writes readings as CSV or JSON Lines (by suffix), unix-second times, each row written
    through at once (nothing held in a buffer).

    The file is heart data: it is created 0600 whatever the umask, and an existing file that is
    overwritten is made 0600 too. A write that fails (a full disk) raises, and leaves a file it
    made ending at its last whole row: a row written in part would be read back as a bad row,
    or as a wrong value (``rr,234`` of ``rr,2345``)."""

    def __init__(self, path: Path, descriptor: int | None = None) -> None:
        """``descriptor``: write there (a copy of stdout), ``path`` only naming it."""
        self.path = path
        self._jsonl = is_json_lines(path)
        #: Where the last whole row ends, in a file made here (None: a descriptor given).
        self._whole: int | None = None
        if descriptor is None:
            # Not through another user's link: its file truncated and made 0600, as root.
            descriptor = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            self._whole = 0
        self._descriptor = descriptor
        try:
            if stat.S_ISREG(os.fstat(descriptor).st_mode):  # not /dev/stdout or a pipe
                os.fchmod(descriptor, 0o600)
            if not self._jsonl:
                self._put(",".join(FIELDS) + "\n")
        except OSError:
            os.close(descriptor)
            raise

    def write(self, reading: Reading) -> None:
        if self._jsonl:
            row = {"t": round(reading.time, 3), "metric": reading.metric}
            row |= {"value": reading.value, "person": reading.person}
            self._put(json.dumps(row) + "\n")
        else:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(
                [f"{reading.time:.3f}", reading.metric, _value_text(reading.value), reading.person]
            )
            self._put(buffer.getvalue())

    def _put(self, row: str) -> None:
        """Write ``row`` whole, or cut the file back to the rows before it and raise."""
        data = row.encode("utf-8")
        size = len(data)
        try:
            while data:
                data = data[os.write(self._descriptor, data) :]
        except OSError:
            if self._whole is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._descriptor, self._whole)
                    os.lseek(self._descriptor, self._whole, os.SEEK_SET)
            raise
        if self._whole is not None:
            self._whole += size

    def write_all(self, readings: Iterable[Reading]) -> None:
        for reading in readings:
            self.write(reading)

    def close(self) -> None:
        os.close(self._descriptor)
