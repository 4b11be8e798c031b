"""The unknown seconds tallied as a replay goes are, bit for bit and in the same order of
reasons, what the kept changes give (``unknown_seconds``) for the same end: the end given
before the replay (a labels file's), or any end at or after each signal's last change (the
recording's); the tally says when it cannot answer, keeps the first person's changes only,
and takes the same memory for a thousand changes as for fifty thousand. An evaluation without
a picture keeps no signal changes and scores the same as one with it."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambient.config import load_config
from ambient.evaluate.changes import SignalChanges
from ambient.evaluate.run import detection_config, evaluate_recording, rules_to_evaluate
from ambient.evaluate.scoring import unknown_seconds
from ambient.evaluate.tally import PeopleTally, UnknownTally
from ambient.labels import load_labels_file
from ambient.messages import SignalUpdate, SignalValue

ROOT = Path(__file__).resolve().parent.parent.parent
START = 1_767_603_600.0
REASONS = [None, "", "no data", "stale", "too few beats", "exercise"]

#: One update: seconds since the one before (0: at the same time) and, per signal, a value
#: (None: unknown) and the reason given when unknown.
change = st.tuples(st.sampled_from([None, 1.0, 2.5]), st.sampled_from(REASONS))
step = st.tuples(
    st.sampled_from([0.0, 0.1, 0.25, 1.0, 3.7, 60.0, 1e-9]),
    st.dictionaries(st.sampled_from(["hr", "rmssd", "stress_score"]), change, min_size=1),
)


def updates_of(
    steps: list[tuple[float, dict[str, tuple[float | None, str | None]]]], first_s: float
) -> list[SignalUpdate]:
    time, updates = START + first_s, []
    for gap_s, values in steps:
        time += gap_s
        updates.append(
            SignalUpdate(
                time,
                "alex",
                {name: SignalValue(v, time, r) for name, (v, r) in values.items()},
            )
        )
    return updates


def fed(listener: SignalChanges | UnknownTally, updates: list[SignalUpdate]) -> None:
    for update in updates:
        listener(update)


def from_changes(changes: SignalChanges, signal: str, end_s: float) -> list[tuple[str, float]]:
    column = changes.signals.get(signal)
    return list(unknown_seconds([] if column is None else column.changes(), end_s).items())


SIGNALS = ["hr", "rmssd", "stress_score", "never_seen"]


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(step, max_size=40),
    first_s=st.sampled_from([0.0, 0.5, 30.0]),
    end_s=st.one_of(st.floats(0.0, 400.0), st.sampled_from([0.0, 0.5, 30.0, 60.0])),
)
def test_with_the_end_known_the_tally_is_what_the_changes_give(
    steps: list[tuple[float, dict[str, tuple[float | None, str | None]]]],
    first_s: float,
    end_s: float,
) -> None:
    """Ends before the first change, between changes, at one, after the last: all clipped."""
    updates = updates_of(steps, first_s)
    changes, tally = SignalChanges(START), UnknownTally(START, end_s=end_s)
    fed(changes, updates)
    fed(tally, updates)
    assert tally.signals == list(changes.signals)
    assert tally.answers_for(end_s)
    for signal in SIGNALS:
        assert list(tally.unknown_seconds(signal, end_s).items()) == from_changes(
            changes, signal, end_s
        )


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(step, max_size=40),
    first_s=st.sampled_from([0.0, 0.5, 30.0]),
    after_s=st.one_of(st.just(0.0), st.floats(0.0, 100.0)),
    before_s=st.floats(1e-6, 100.0),
)
def test_with_the_end_known_after_the_tally_answers_for_ends_after_every_change(
    steps: list[tuple[float, dict[str, tuple[float | None, str | None]]]],
    first_s: float,
    after_s: float,
    before_s: float,
) -> None:
    updates = updates_of(steps, first_s)
    changes, tally = SignalChanges(START), UnknownTally(START)
    fed(changes, updates)
    fed(tally, updates)
    last_s = max((c.changes()[-1][0] for c in changes.signals.values()), default=0.0)
    end_s = last_s + after_s  # the recording's end: at or after the last change
    assert tally.answers_for(end_s)
    for signal in SIGNALS:
        assert list(tally.unknown_seconds(signal, end_s).items()) == from_changes(
            changes, signal, end_s
        )
    if changes.signals and last_s - before_s < last_s:
        assert not tally.answers_for(last_s - before_s)


def test_a_stretch_open_at_the_end_counts_to_the_end_and_a_signal_never_known_all_of_it() -> None:
    tally = UnknownTally(START)
    tally(SignalUpdate(START + 10, "alex", {"hr": SignalValue(None, START + 10, "stale")}))
    tally(SignalUpdate(START + 20, "alex", {"hr": SignalValue(60.0, START + 20)}))
    tally(SignalUpdate(START + 30, "alex", {"hr": SignalValue(None, START + 30, None)}))
    tally(SignalUpdate(START + 30, "alex", {"rmssd": SignalValue(None, START + 30, "few")}))
    assert tally.unknown_seconds("hr", 100.0) == {"no data": 10.0, "stale": 10.0, "unknown": 70.0}
    assert tally.unknown_seconds("rmssd", 100.0) == {"no data": 30.0, "few": 70.0}
    assert tally.unknown_seconds("sdnn", 100.0) == {"no data": 100.0}
    assert tally.unknown_seconds("sdnn", 0.0) == {}


def test_an_end_known_before_the_last_change_clips_the_stretches_there() -> None:
    tally = UnknownTally(START, end_s=15.0)
    tally(SignalUpdate(START + 10, "alex", {"hr": SignalValue(None, START + 10, "stale")}))
    tally(SignalUpdate(START + 20, "alex", {"hr": SignalValue(60.0, START + 20)}))
    tally(SignalUpdate(START + 30, "alex", {"hr": SignalValue(None, START + 30, "gone")}))
    assert tally.unknown_seconds("hr", 15.0) == {"no data": 10.0, "stale": 5.0}
    assert tally.answers_for(15.0) and not tally.answers_for(100.0)


def test_only_the_first_persons_updates_count() -> None:
    tally = UnknownTally(START)
    tally(SignalUpdate(START + 5, "alex", {"hr": SignalValue(60.0, START + 5)}))
    tally(SignalUpdate(START + 6, "sam", {"hr": SignalValue(None, START + 6, "stale")}))
    tally(SignalUpdate(START + 7, "sam", {"rmssd": SignalValue(None, START + 7, "stale")}))
    assert tally.person == "alex" and tally.signals == ["hr"]
    assert tally.unknown_seconds("hr", 10.0) == {"no data": 5.0}


def retained_bytes(changes: int) -> int:
    """What a tally holds after ``changes`` updates of three signals (made and let go, as in a
    replay), unknown half the time for one of four reasons."""
    tracemalloc.start()
    try:
        tally = UnknownTally(START)
        before = tracemalloc.get_traced_memory()[0]
        for k in range(changes):
            time = START + k
            value = None if k % 2 else 60.0 + k % 7
            reason = f"reason {k % 4}"
            tally(
                SignalUpdate(
                    time,
                    "alex",
                    {n: SignalValue(value, time, reason) for n in ("hr", "rmssd", "score")},
                )
            )
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_tally_does_not_grow_with_the_changes() -> None:
    assert retained_bytes(50_000) <= retained_bytes(1_000) + 512


@pytest.fixture
def stress_predict() -> tuple[Path, Path]:
    folder = ROOT / "bench" / "data" / "stress-predict"
    return folder / "S01.csv", folder / "labels.jsonl"


def test_an_evaluation_without_a_picture_keeps_no_changes_and_scores_the_same(
    stress_predict: tuple[Path, Path],
) -> None:
    """With the labels file (its end before the recording's) and without it (the
    recording's end)."""
    recording, labels_path = stress_predict
    config = load_config(ROOT / "config" / "ambient.example.yaml")
    detectors = detection_config(config, rules_to_evaluate(config, None))
    states = {"person.alex": "home"}
    for by_subject in (load_labels_file(labels_path), {}):
        kept = evaluate_recording(detectors, recording, by_subject, labels_path, states)
        tallied = evaluate_recording(
            detectors, recording, by_subject, labels_path, states, keep_timeline=False
        )
        assert kept.timeline.signals and not tallied.timeline.signals
        assert len(kept.unknown_by_signal) > 10
        assert json.dumps(tallied.unknown_by_signal) == json.dumps(kept.unknown_by_signal)
        assert (tallied.scores, tallied.firings_s) == (kept.scores, kept.firings_s)
        assert tallied.duration_s == kept.duration_s


def test_a_recording_out_of_order_is_tallied_once_from_its_sorted_replay(
    stress_predict: tuple[Path, Path], tmp_path: Path
) -> None:
    """The replay met the row out of order late and started again (read whole, sorted): what
    the first try tallied is dropped."""
    recording, labels_path = stress_predict
    lines = recording.read_text().splitlines(keepends=True)
    lines[-40], lines[-20] = lines[-20], lines[-40]  # far past the first block
    unsorted = tmp_path / "S01.csv"
    unsorted.write_text("".join(lines))
    config = load_config(ROOT / "config" / "ambient.example.yaml")
    detectors = detection_config(config, rules_to_evaluate(config, None))
    by_subject, states = load_labels_file(labels_path), {"person.alex": "home"}
    kept = evaluate_recording(detectors, recording, by_subject, labels_path, states)
    tallied = evaluate_recording(
        detectors, unsorted, by_subject, labels_path, states, keep_timeline=False
    )
    assert json.dumps(tallied.unknown_by_signal) == json.dumps(kept.unknown_by_signal)


def test_every_persons_tally_is_what_a_tally_following_them_alone_gives() -> None:
    """Sam's signals start a minute after Alex's: each person's tally is their own, begun
    at the start (Sam's first minute is `no data`), in the order they first had a value."""
    alex = updates_of([(1.0, {"hr": (70.0, None)}), (30.0, {"hr": (None, "stale")})], 0.0)
    sam = [
        SignalUpdate(u.time + 60.0, "sam", u.values)
        for u in updates_of([(0.0, {"hr": (None, "exercise")})], 0.0)
    ]
    updates = sorted([*alex, *sam], key=lambda u: u.time)
    people = PeopleTally(START, end_s=120.0)
    for update in updates:
        people(update)
    assert list(people.by_person) == ["alex", "sam"]
    for person, tally in people.by_person.items():
        alone = UnknownTally(START, end_s=120.0, person=person)
        fed(alone, updates)
        assert tally.unknown_seconds("hr", 120.0) == alone.unknown_seconds("hr", 120.0)
    assert people.by_person["sam"].unknown_seconds("hr", 120.0) == {
        "no data": 60.0,
        "exercise": 60.0,
    }
