"""Where ``--plot`` pictures go: the format by the name's ending, owner-only like all heart
data, whole or not at all, and a place that cannot take them said before any replay."""

from __future__ import annotations

import errno
import math
import random
from pathlib import Path
from typing import Any

import numpy
import pytest
from fixtures.ambient_process import run_ambient

from ambient.evaluate.changes import DRAWN_SIGNALS, Change, SignalColumn, number
from ambient.evaluate.envelope import COLUMNS, EXACT_UP_TO_POINTS, envelope_indices
from ambient.evaluate.timeline import RuleEvent, Timeline
from ambient.labels import Labels
from ambient.plot import (
    PANELS,
    REASON_COLOURS,
    UNKNOWN_SIGNAL,
    check_writable_file,
    check_writable_folder,
    line_points,
    mark_events,
    picture_format,
    shade_episodes,
    shade_unknown,
    time_axis,
    unknown_spans,
)


@pytest.mark.parametrize(
    ("name", "picture"),
    [("day.png", "png"), ("day", "png"), ("day.SVG", "svg"), ("day.pdf", "pdf")],
)
def test_the_name_s_ending_chooses_the_format(name: str, picture: str) -> None:
    assert picture_format(Path(name)) == picture


def test_an_ending_no_picture_has_is_refused_with_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match=r"cannot draw a \.txt file: name it \.png, \.svg or"):
        picture_format(Path("day.txt"))


def test_a_folder_that_is_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("")
    with pytest.raises(NotADirectoryError) as raised:
        check_writable_folder(tmp_path / "notes" / "plots")
    assert raised.value.filename == str(tmp_path / "notes" / "plots")


def test_a_missing_folder_is_fine_when_it_can_be_made(tmp_path: Path) -> None:
    check_writable_folder(tmp_path / "plots" / "week")
    check_writable_file(tmp_path / "plots" / "day.png")
    assert not (tmp_path / "plots").exists()  # nothing is made until there is a picture


def test_a_picture_named_like_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as raised:
        check_writable_file(tmp_path)
    assert raised.value.errno == errno.EISDIR
    assert raised.value.filename == str(tmp_path)


def test_the_stretch_before_a_signal_s_first_value_is_shaded_as_no_data() -> None:
    """As the evaluation table counts it: a person whose beats begin 5 minutes in shows the
    5 minutes as unknown, not as blank."""
    changes: list[Change] = [(300.0, None, "stale"), (315.0, 40.0, None), (500.0, None, None)]
    assert unknown_spans(changes, 600.0) == [
        (0.0, 300.0, "no data"),
        (300.0, 315.0, "stale"),
        (500.0, 600.0, "unknown"),
    ]
    assert unknown_spans([], 60.0) == [(0.0, 60.0, "no data")]
    assert unknown_spans([(0.0, 40.0, None)], 60.0) == []


@pytest.mark.parametrize(
    ("duration_s", "axis"),
    [
        (30.0, (60.0, "minutes")),
        (3 * 3600.0, (60.0, "minutes")),
        (24 * 3600.0, (3600.0, "hours")),
        (7 * 86400.0, (86400.0, "days")),
    ],
)
def test_the_time_axis_reads_in_minutes_hours_or_days_by_the_recording_s_length(
    duration_s: float, axis: tuple[float, str]
) -> None:
    assert time_axis(duration_s) == axis


def test_a_short_recording_s_line_is_drawn_point_for_point_and_a_long_one_as_its_envelope() -> None:
    """Up to EXACT_UP_TO_POINTS changes (hours of beats) the picture is as it always was;
    a week of beats is drawn as what the picture's pixel columns can show."""
    short: list[Change] = [(float(i), float(i % 7), None) for i in range(EXACT_UP_TO_POINTS - 1)]
    xs, ys = line_points(short, EXACT_UP_TO_POINTS, 60.0)
    assert len(xs) == EXACT_UP_TO_POINTS  # and the end of the last step
    assert (xs[:3], ys[:3]) == ([0.0, 1 / 60, 2 / 60], [0.0, 1.0, 2.0])
    week_s = 7 * 86400.0
    beats: list[Change] = [(i * 0.86, 60.0 + i % 11, None) for i in range(int(week_s / 0.86))]
    xs, ys = line_points(beats, week_s, 86400.0)
    assert len(xs) <= 8 * COLUMNS  # 2,600 to 5,200 columns
    assert (min(ys), max(ys), ys[-1]) == (60.0, 70.0, beats[-1][1])


def test_the_line_and_the_unknown_stretches_of_a_compacted_column_are_those_of_every_change() -> (
    None
):
    """A long replay's columns keep only what the picture draws of them, at the columns the
    replay so far would be drawn with: drawn at the recording's end (or later), the line is
    the line of every change, point for point, and the unknown stretches are the same."""
    rng = random.Random(5)
    every, compacted = SignalColumn(compact_at=10**9), SignalColumn(compact_at=25_000)
    t_s = 0.0
    for _ in range(60_000):
        t_s += rng.expovariate(1 / 0.9)
        roll = rng.random()
        value: float | str | None = (
            None if roll < 0.003 else "resting" if roll < 0.004 else float(rng.randint(50, 90))
        )
        reason = rng.choice(("stale", "exercise")) if value is None else None
        every.add(t_s, value, reason)
        compacted.add(t_s, value, reason)
    assert compacted.width_s > 0 and len(compacted) < len(every) / 3
    for end_s in (t_s, t_s + 60.0, 4 * t_s):
        assert gaps_as_none(line_points(compacted, end_s, 3600.0)) == gaps_as_none(
            line_points(every, end_s, 3600.0)
        )
        assert unknown_spans(compacted, end_s) == unknown_spans(every, end_s)
    # A labels file's end before the recording's: drawn in the replay's own columns (coarser
    # than that shorter picture's, and still the envelope of every change in them).
    times_s = [t for t, _, _ in every] + [t_s]
    ys = [number(value) for _, value, _ in every]
    ys.append(ys[-1])
    kept = envelope_indices(times_s, ys, compacted.width_s)
    assert gaps_as_none(line_points(compacted, t_s / 8, 3600.0)) == gaps_as_none(
        ([times_s[i] / 3600.0 for i in kept], [ys[i] for i in kept])
    )


def gaps_as_none(
    points: tuple[list[float], list[float]],
) -> tuple[list[float], list[float | None]]:
    """The points with each gap (NaN, never equal to itself) as None, to compare lines."""
    xs, ys = points
    return xs, [None if math.isnan(y) else y for y in ys]


def test_a_replay_kept_for_a_picture_keeps_the_signals_it_draws() -> None:
    assert {signal for signal, _ in PANELS} | {UNKNOWN_SIGNAL} == set(DRAWN_SIGNALS)


def test_the_unknown_stretches_of_each_reason_are_shaded_as_one_artist_with_exact_edges() -> None:
    """A month can have thousands of unknown stretches: an artist each took seconds to make
    and draw. Each reason's are one collection, edges at the stretches' own times, with one
    legend entry per reason in its colour."""
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure

    changes: list[Change] = []
    for k in range(1000):
        t = k * 60.0
        changes += [(t, 50.0, None), (t + 20.0, None, "stale"), (t + 30.0, None, "exercise")]
    ax = Figure().add_subplot()
    handles: dict[str, Any] = {}
    shade_unknown(ax, changes, 60_000.0, 60.0, handles)
    assert len(ax.patches) == 0
    assert len(ax.collections) == 2
    stale = ax.collections[0]
    assert len(stale.get_paths()) == 1000
    xs = sorted(set(numpy.asarray(stale.get_paths()[1].vertices)[:, 0].tolist()))
    assert xs == [80.0 / 60.0, 90.0 / 60.0]
    assert sorted(handles) == ["score unknown: exercise", "score unknown: stale"]
    stale_colour = to_rgba(REASON_COLOURS["stale"], 0.9)
    assert numpy.asarray(stale.get_facecolor()).tolist() == [list(stale_colour)]
    assert handles["score unknown: stale"].get_facecolor() == stale_colour


def test_firings_and_labelled_episodes_are_one_artist_per_rule_and_kind_whatever_their_number() -> (
    None
):
    """A month has hundreds of firings and recoveries and a hundred episodes, drawn on each of
    three panels: an artist each took memory and time growing with the recording. Each rule's
    firings are one collection, its recoveries another, the episodes one; each has its legend
    entry, in the rule's colour and line style."""
    from matplotlib.figure import Figure

    events = [RuleEvent(k * 600.0, "calm", "fired" if k % 2 else "recovered") for k in range(300)]
    episodes = tuple((k * 3000.0, k * 3000.0 + 900.0) for k in range(100))
    timeline = Timeline("month", 180_000.0, "alex", events=events, labels=Labels(episodes))
    ax = Figure().add_subplot()
    handles: dict[str, Any] = {}
    shade_episodes(ax, timeline, 60.0, handles)
    mark_events(ax, timeline, {"calm": "#c62828"}, 60.0, handles)
    assert (len(ax.patches), len(ax.lines), len(ax.collections)) == (0, 0, 3)
    recoveries, firings = ax.collections[1:]
    assert [len(c.get_paths()) for c in ax.collections] == [100, 150, 150]
    assert numpy.asarray(firings.get_paths()[0].vertices)[:, 0].tolist() == [10.0, 10.0]
    assert numpy.asarray(recoveries.get_paths()[0].vertices)[:, 0].tolist() == [0.0, 0.0]
    assert sorted(handles) == ["calm fired", "calm recovered", "labelled episode"]
    assert handles["calm recovered"].get_linestyle() == "--"
    assert handles["calm fired"].get_color() == "#c62828"


def test_a_device_that_cannot_take_the_picture_is_named_in_its_one_line(tmp_path: Path) -> None:
    """`--plot /dev/full`: the device's failed write was `[Errno 28] No space left on
    device`, naming nothing."""
    recording = tmp_path / "hr.csv"
    recording.write_text("t,metric,value\n" + "".join(f"{t},hr,70\n" for t in range(60)))
    demo = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
    result = run_ambient("simulate", str(demo), "-r", str(recording), "--plot", "/dev/full")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "ambient simulate: /dev/full: No space left on device"
    )
