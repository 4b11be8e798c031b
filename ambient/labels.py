"""What a recording is labelled with: the episodes a rule should find and the calm baseline.

Labels come from a ``labels.jsonl`` file (one JSON object per recording, matched by ``subject``
= the recording's file stem) or from label rows inside the recording itself (metrics
``label_episode`` and ``label_baseline``: 1 where the stretch starts, 0 where it ends). Times are
seconds on the recording's own scale, as its ``t`` column. See docs/recordings.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

from ambient.readings import Reading
from ambient.recordings import (
    UNIX_THRESHOLD_S,
    Recording,
    RecordingStream,
    first_byte_not_utf8,
    load_recording,
)

#: Label rows a recording may carry; they are labels, never replayed as readings.
EPISODE_ROW = "label_episode"
BASELINE_ROW = "label_baseline"
LABEL_METRICS = frozenset({EPISODE_ROW, BASELINE_ROW})

Span = tuple[float, float]


class LabelsError(ValueError):
    """Labels that cannot be used: the message names the file and line."""


@dataclass(frozen=True)
class Labels:
    """Episodes to find and the labelled calm baseline, in seconds of the recording."""

    episodes: tuple[Span, ...]
    baseline: Span | None = None
    #: Where the labelled session ends (else the recording's last reading).
    end: float | None = None
    episode_names: tuple[str, ...] = ()
    #: Where they were read (``labels.jsonl:3``, or the recording), for messages about them.
    where: str = field(default="", compare=False)
    #: From label rows: each person's labels (these are the first's); empty from a labels file.
    by_person: Mapping[str, Labels] = field(default_factory=dict, compare=False)


def load_labels_file(path: Path) -> dict[str, Labels]:
    """Labels by subject from a ``labels.jsonl`` file, read a line at a time (a recording
    given by mistake fails at its first line, not once read whole); a bad line is a
    :class:`LabelsError`."""
    try:
        with path.open(encoding="utf-8-sig") as handle:  # past a byte order mark (Windows)
            return _labels_by_subject(path, handle)
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        where = first_byte_not_utf8(path)
        raise LabelsError(
            f"{path}: not text (a byte is not UTF-8)"
            if where is None
            else f"{path}:{where[0]}: not text (byte {where[1]} is not UTF-8)"
        ) from None


def _labels_by_subject(path: Path, lines: Iterable[str]) -> dict[str, Labels]:
    by_subject: dict[str, Labels] = {}
    line_of_subject: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelsError(f"{where}: bad JSON ({exc.msg})") from None
        except (ValueError, RecursionError):  # json's other refusals
            raise LabelsError(
                f"{where}: bad JSON (a number too long, or nesting too deep)"
            ) from None
        if not isinstance(row, dict):
            raise LabelsError(f"{where}: not a JSON object")
        subject = row.get("subject")
        if isinstance(subject, int | float) and not isinstance(subject, bool):  # `7` for 7.csv
            raise LabelsError(
                f'{where}: `subject` must be text, the file name without its ending: "{subject}"'
            )
        if not isinstance(subject, str) or not subject:
            raise LabelsError(f"{where}: `subject` (the recording's file stem) is missing")
        if subject in line_of_subject:  # one of them would be dropped unseen
            raise LabelsError(
                f"{where}: `{subject}` is labelled twice (first at line {line_of_subject[subject]})"
            )
        line_of_subject[subject] = number
        by_subject[subject] = labels_from_json(row, where)
    return by_subject


def labels_from_json(row: Mapping[str, Any], where: str) -> Labels:
    tasks = row.get("tasks")
    if not isinstance(tasks, list):
        raise LabelsError(f"{where}: `tasks` must be a list of [start, end] pairs")
    episodes = [_span(task, f"{where}: tasks[{i}]") for i, task in enumerate(tasks)]
    baseline = row.get("baseline")
    end = row.get("end")
    if end is not None and not _number(end):
        raise LabelsError(f"{where}: `end` must be a number of seconds")
    if end is not None:
        _check_relative(end, f"{where}: `end`")
    names = row.get("task_names")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != len(episodes)
        or not all(isinstance(n, str) for n in names)
    ):
        raise LabelsError(f"{where}: `task_names` must be a list of texts, one name per task")
    # In time order, each episode keeping its name.
    order = sorted(range(len(episodes)), key=episodes.__getitem__)
    return Labels(
        episodes=tuple(episodes[i] for i in order),
        baseline=None if baseline is None else _span(baseline, f"{where}: baseline"),
        end=None if end is None else float(end),
        episode_names=() if names is None else tuple(names[i] for i in order),
        where=where,
    )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _span(value: object, where: str) -> Span:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(_number(v) for v in value)
        or value[0] >= value[1]
    ):
        raise LabelsError(f"{where}: expected [start, end] in seconds with start < end")
    for seconds in value:
        _check_relative(seconds, where)
    return float(value[0]), float(value[1])


def _check_relative(seconds: float, where: str) -> None:
    """Label times count from the recording's first reading; a unix time (the way a
    recording may write its own) would put every episode past its end."""
    if seconds >= UNIX_THRESHOLD_S:
        raise LabelsError(
            f"{where}: {seconds:.10g} looks like unix time: write seconds from the recording's "
            "first reading"
        )


def load_for_replay(
    path: Path,
    default_person: str,
    people: Collection[str] | None,
    source: str,
    relative_origin_s: float,
) -> tuple[Recording, Labels | None]:
    """``path`` read as a replay hands it over (``load_recording`` with ``source`` and
    ``relative_origin_s``: each reading made once), without its label rows, and the labels
    those rows give. Label times count from the times as written, so a relative recording
    that carries label rows is read again as written (the replay moves it then)."""
    recording = load_recording(
        path, default_person, people, source=source, relative_origin_s=relative_origin_s
    )
    if recording.origin_s and _has_label_rows(recording):
        recording = load_recording(path, default_person, people, source=source)
    return split_label_rows(recording, str(path))


def open_for_replay(
    path: Path,
    default_person: str,
    people: Collection[str] | None,
    source: str,
    relative_origin_s: float,
) -> RecordingStream:
    """``path`` opened to be read as it replays (as ``load_for_replay`` reads it, a block at
    a time): its label rows are set aside with their times as written, for
    :func:`labels_of_stream` once it has been read to its end."""
    return RecordingStream(
        path,
        default_person,
        people,
        source=source,
        relative_origin_s=relative_origin_s,
        set_aside=LABEL_METRICS,
    )


def labels_of_stream(stream: RecordingStream, where: str) -> Labels | None:
    """The labels the label rows of a recording read to its end (``open_for_replay``) give,
    as :func:`split_label_rows` gives them for the recording read whole."""
    if not stream.set_aside:
        return None
    # In time order, as in the recording read whole and sorted (same-time rows: file order).
    rows = sorted(stream.set_aside, key=attrgetter("time"))
    # Absolute recordings count from their first reading (not moved: origin 0), as the replay.
    origin = stream.first_time_s if stream.first_time_s is not None and not stream.relative else 0.0
    return _labels_from_rows(rows, where, origin)


def _has_label_rows(recording: Recording) -> bool:
    return not LABEL_METRICS.isdisjoint(map(attrgetter("metric"), recording.readings))


def split_label_rows(recording: Recording, where: str) -> tuple[Recording, Labels | None]:
    """The recording without its label rows, and the labels those rows give (None if none).
    Its times must be as written (``origin_s`` 0)."""
    if not _has_label_rows(recording):
        return recording, None
    if recording.origin_s:
        raise ValueError("label rows count from the times as written: read it without an origin")
    rows = [r for r in recording.readings if r.metric in LABEL_METRICS]
    readings = [r for r in recording.readings if r.metric not in LABEL_METRICS]
    # Absolute recordings count from their first reading, as the replay does.
    origin = readings[0].time if readings and not recording.relative else 0.0
    return replace(recording, readings=readings), _labels_from_rows(rows, where, origin)


def _labels_from_rows(rows: list[Reading], where: str, origin: float) -> Labels:
    """The labels of label rows in time order, their times counted from ``origin``: the first
    person's, and each one's by person (``by_person``; one person's too, so a recording of
    two people with one's rows says whose they are)."""
    people = list(dict.fromkeys(row.person for row in rows))
    each = {
        person: _persons_labels([r for r in rows if r.person == person], where, origin)
        for person in people
    }
    return replace(each[people[0]], by_person=each)


def _persons_labels(rows: list[Reading], where: str, origin: float) -> Labels:
    """The labels of one person's label rows."""
    episodes = _spans_from_rows(
        (r for r in rows if r.metric == EPISODE_ROW), where, EPISODE_ROW, origin
    )
    baselines = _spans_from_rows(
        (r for r in rows if r.metric == BASELINE_ROW), where, BASELINE_ROW, origin
    )
    if len(baselines) > 1:
        raise LabelsError(f"{where}: more than one `{BASELINE_ROW}` stretch")
    return Labels(tuple(episodes), baselines[0] if baselines else None, where=where)


def _spans_from_rows(rows: Iterable[Reading], where: str, metric: str, origin: float) -> list[Span]:
    """Stretches from 1 (start) / 0 (end) rows; a start without an end is an error."""
    spans: list[Span] = []
    opened: float | None = None
    for row in rows:
        t = row.time - origin
        if row.value >= 0.5:
            if opened is not None:
                raise LabelsError(f"{where}: `{metric}` starts twice (at {opened:g} s and {t:g} s)")
            opened = t
        elif opened is None:
            raise LabelsError(f"{where}: `{metric}` ends at {t:g} s without a start")
        else:
            if t > opened:
                spans.append((opened, t))
            opened = None
    if opened is not None:
        raise LabelsError(f"{where}: `{metric}` starting at {opened:g} s never ends")
    return spans
