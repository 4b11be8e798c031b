"""What a replay keeps of its signal updates for timelines and scores: the first person's
changes, times from the replay's start, in a few dozen bytes each; a timeline built from them is
the one built from every update kept."""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

from ambient.config import load_config
from ambient.evaluate.changes import COMPACT_AT_CHANGES, DRAWN_SIGNALS, SignalChanges, SignalColumn
from ambient.evaluate.envelope import COLUMNS, EXACT_UP_TO_POINTS, column_width_s
from ambient.evaluate.timeline import build_timeline
from ambient.messages import SignalUpdate, SignalValue
from ambient.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent.parent
START = 1_767_603_600.0


def update(time: float, person: str, **values: float | None) -> SignalUpdate:
    return SignalUpdate(
        time,
        person,
        {
            name: SignalValue(value, time, None if value is not None else "stale")
            for name, value in values.items()
        },
    )


def test_the_first_persons_changes_are_kept_from_the_start() -> None:
    changes = SignalChanges(START)
    changes(update(START + 1.5, "alex", hr=61.0, rmssd=None))
    changes(update(START + 2.0, "sam", hr=90.0))
    changes(update(START + 3.25, "alex", hr=62.0))
    assert changes.person == "alex"
    assert list(changes.signals) == ["hr", "rmssd"]
    assert changes.signals["hr"].changes() == [(1.5, 61.0, None), (3.25, 62.0, None)]
    assert changes.signals["rmssd"].changes() == [(1.5, None, "stale")]


def test_a_timeline_from_the_kept_changes_is_the_one_from_every_update() -> None:
    """For the signals a picture draws: a replay kept for a picture keeps only those (a week
    of beats changes two dozen signals at each beat)."""
    config = load_config(ROOT / "config" / "ambient.example.yaml")
    recording = ROOT / "ambient" / "data" / "demo.csv"
    every = asyncio.run(simulate(config, recording, {"person.alex": "home"}, keep_signals=True))
    kept = asyncio.run(simulate(config, recording, {"person.alex": "home"}, keep_changes=True))
    assert kept.signals == [] and every.changes is None
    from_every = build_timeline(config, every, "demo", {})
    from_kept = build_timeline(config, kept, "demo", {})
    assert len(from_every.signals) > 10
    assert sorted(from_kept.signals) == sorted(DRAWN_SIGNALS)
    for signal in DRAWN_SIGNALS:
        assert from_kept.changes(signal) == from_every.changes(signal)
    assert (from_kept.person, from_kept.events) == (from_every.person, from_every.events)


def test_changes_kept_for_some_signals_leave_the_others_out() -> None:
    changes = SignalChanges(START, signals=("hr",))
    changes(update(START + 1.5, "alex", hr=61.0, rmssd=None))
    assert list(changes.signals) == ["hr"]


def test_a_kept_change_takes_a_few_dozen_bytes() -> None:
    """Updates made one by one and let go, as in a replay: what stays is what is kept (each
    value's own float, its time and its reason)."""
    names = [f"signal_{k}" for k in range(8)]
    tracemalloc.start()
    try:
        changes = SignalChanges(START)
        before = tracemalloc.get_traced_memory()[0]
        for k in range(5000):
            changes(
                update(START + k, "alex", **{n: 60.0 + k % 50 + i for i, n in enumerate(names)})
            )
        kept_bytes = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept_bytes / (5000 * len(names)) < 64


def test_a_long_replay_s_column_keeps_no_more_changes_however_long_it_runs() -> None:
    """Past ``compact_at`` changes (by default hours of beats) a column keeps what a picture
    draws of them, a few points a pixel column: here two days of beats keep no more than the
    first 8 hours did, and a month (1.4 million more changes) would not either."""
    column = SignalColumn(compact_at=2 * EXACT_UP_TO_POINTS)
    most = 0
    for k in range(200_000):
        column.add(k * 0.86, 60.0 + k % 13, None)
        most = max(most, len(column))
    assert most < 2 * EXACT_UP_TO_POINTS
    assert len(column) <= 8 * COLUMNS
    assert column.width_s == column_width_s(199_999 * 0.86)


def test_a_column_keeps_every_change_up_to_hours_of_beats() -> None:
    assert COMPACT_AT_CHANGES == 4 * EXACT_UP_TO_POINTS  # a line drawn point for point is all there
