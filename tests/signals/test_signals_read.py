"""Only the signals something reads are worked out at each update: each of them changes at
the same moments to the same values as when every signal is worked out, and every other
signal still reads right when asked (as of the last update)."""

from __future__ import annotations

import random

import pytest
from signals.signals_helpers import Replay, inject_artifacts, load_nn, timed

from ambient.config.signals import SIGNAL_NAMES
from ambient.signals.person import NOT_READ

Stream = list[tuple[float, str, float]]

READ_SETS = [
    frozenset({"stress_score"}),
    frozenset({"hr", "activity_state"}),
    frozenset({"stress_score", "hr", "ln_rmssd", "activity_state", "stress_confidence"}),
    frozenset({"stress_index", "quality"}),
    frozenset({"breath_rate", "contact", "rr_available"}),
    frozenset(),
]


def mixed_stream() -> Stream:
    """40 minutes that visit every branch: chest-strap beats with 3 % artifacts and contact
    reports, a 5-minute gap, HR alone, a wrist stream (beats left out) with a walk, a contact
    loss, and a user-named metric (`breath_rate`)."""
    rng = random.Random(11)
    rows: Stream = []
    for t, rr in timed(inject_artifacts(load_nn("60min")[:1100], 0.03, seed=5)):
        if t >= 900:
            break
        rows.append((t, "rr", rr))
    rows += [(float(t), "contact", 1.0) for t in range(5, 900, 10)]
    rows += [(float(t), "hr", 70 + rng.gauss(0, 2)) for t in range(1200, 1500)]
    wrist = timed(load_nn("60min")[1100:2300], start=1500)
    rows += [(t, "rr", rr) for i, (t, rr) in enumerate(wrist) if t < 2400 and i % 8 < 6]
    rows += [(float(t), "hr", 72 + rng.gauss(0, 2)) for t in range(1500, 2400)]
    rows += [(float(t), "movement", 0.25 if 1800 <= t < 2100 else 0.01) for t in range(0, 2400)]
    rows += [(2200.0, "contact", 0.0), (2230.0, "contact", 1.0)]
    rows += [(float(t), "breath_rate", 12 + t % 7) for t in range(0, 2400, 30)]
    return sorted(rows)


def replayed(read: frozenset[str] | None, stream: Stream) -> Replay:
    replay = Replay(read=read)
    for t, metric, value in stream:
        replay.feed(t, metric, value)
    replay.clock.advance_to(stream[-1][0] + 60)  # past staleness: the last timers fire
    return replay


def history(replay: Replay, name: str) -> list[tuple[float, object, str | None]]:
    return [
        (u.time, v.value, v.reason)
        for u in replay.updates
        for n, v in u.values.items()
        if n == name
    ]


@pytest.mark.parametrize("read", READ_SETS, ids=lambda r: "+".join(sorted(r)) or "nothing")
def test_a_read_signal_changes_when_and_as_it_does_with_every_signal_worked_out(
    read: frozenset[str],
) -> None:
    stream = mixed_stream()
    every, only = replayed(None, stream), replayed(read, stream)
    for name in read:
        expected = history(every, name)
        assert expected, f"the stream never sets {name}"
        assert history(only, name) == expected, name
    assert {n for u in only.updates for n in u.values} <= read  # nothing else is published


@pytest.mark.parametrize("read", READ_SETS, ids=lambda r: "+".join(sorted(r)) or "nothing")
def test_a_signal_nobody_reads_is_right_when_asked(read: frozenset[str]) -> None:
    stream = mixed_stream()
    every, only = Replay(), Replay(read=read)
    for t, metric, value in stream:
        for replay in (every, only):
            replay.feed(t, metric, value)
        if metric == "breath_rate":  # every 30 s: ask for everything, as `ambient status` does
            expected = every.engine.snapshot("alex")
            seen = only.engine.snapshot("alex")
            assert set(seen) == set(expected)
            for name, value_now in expected.items():
                if name == "stress_index" and "stress_index" not in read:
                    continue
                got = only.engine.get("alex", name)
                assert (got.value, got.reason) == (value_now.value, value_now.reason), (t, name)
                assert (seen[name].value, seen[name].reason) == (got.value, got.reason)
    assert only.engine.norm("alex") == every.engine.norm("alex")  # the baseline learns alike


def test_the_stress_index_without_a_reader_is_unknown_and_says_why() -> None:
    replay = replayed(frozenset({"hr"}), mixed_stream()[:2000])
    value = replay.engine.get("alex", "stress_index")
    assert value.value is None and value.reason == NOT_READ
    assert replay.engine.snapshot("alex")["stress_index"].reason == NOT_READ


def test_every_signal_can_be_asked_for_when_nothing_is_read() -> None:
    replay = replayed(frozenset(), mixed_stream()[:3000])
    assert replay.updates == []
    assert set(replay.engine.snapshot("alex")) == SIGNAL_NAMES | {"breath_rate", "movement"}
    assert replay.engine.get("alex", "hr").reason == "stale"  # worked out, not "no data"


def test_before_the_first_update_a_signal_nobody_reads_has_no_data() -> None:
    replay = Replay(read=frozenset({"hr"}))
    assert replay.engine.get("alex", "rmssd").reason == "no data"
    assert replay.engine.snapshot("alex") == {}
