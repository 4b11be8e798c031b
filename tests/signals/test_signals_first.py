"""A split update (the live daemon's): the signals the rules read are worked out first and
handed on before the rest is worked out; every listener of the full update still hears each
change, at the same moments, with the same values and in the same order as without the split."""

from __future__ import annotations

from typing import TypeVar

import pytest
from signals.signals_helpers import Replay
from signals.test_signals_read import Stream, mixed_stream

from ambient.config.people import PersonConfig
from ambient.config.signals import SignalsConfig
from ambient.messages import SignalUpdate, SignalValue
from ambient.signals.engine import SignalEngine
from ambient.store import Store

FIRST_SETS = [
    frozenset({"hr"}),  # the heart part only: the rest waits
    frozenset({"contact", "rr_available"}),
    frozenset({"stress_score", "hr"}),  # the whole moment first
    frozenset({"hr", "breath_rate"}),  # a user-named metric
    frozenset({"breath_rate"}),
    frozenset({"hrv_trend"}),  # an insight's signal: not the engine's
]

R = TypeVar("R", bound=Replay)


class SplitReplay(Replay):
    """A :class:`Replay` whose engine splits its updates; the first halves are kept too."""

    def __init__(self, first: frozenset[str]) -> None:
        super().__init__()
        self.first_updates: list[SignalUpdate] = []
        self.engine = SignalEngine(
            SignalsConfig(),
            [PersonConfig(id="alex")],
            self.clock,
            Store(None),
            self.updates.append,
            first=first,
            on_first_update=self.first_updates.append,
        )


def replayed(replay: R, stream: Stream) -> R:
    for t, metric, value in stream:
        replay.feed(t, metric, value)
    replay.clock.advance_to(stream[-1][0] + 60)  # past staleness: the last timers fire
    return replay


def as_rows(updates: list[SignalUpdate]) -> list[tuple[float, str, list[tuple[str, object]]]]:
    """Every update with its values in order (the order is part of what listeners hear)."""
    return [
        (u.time, u.person, [(n, (v.value, v.time, v.reason)) for n, v in u.values.items()])
        for u in updates
    ]


@pytest.mark.parametrize("first", FIRST_SETS, ids=lambda f: "+".join(sorted(f)))
def test_the_full_updates_are_those_of_an_unsplit_engine(first: frozenset[str]) -> None:
    stream = mixed_stream()
    whole = replayed(Replay(), stream)
    split = replayed(SplitReplay(first), stream)
    assert as_rows(split.updates) == as_rows(whole.updates)
    assert split.engine.norm("alex") == whole.engine.norm("alex")  # the baseline learns alike
    assert split.engine.snapshot("alex") == whole.engine.snapshot("alex")


@pytest.mark.parametrize("first", FIRST_SETS, ids=lambda f: "+".join(sorted(f)))
def test_the_first_half_has_the_first_signals_changes_and_nothing_else(
    first: frozenset[str],
) -> None:
    stream = mixed_stream()
    whole = replayed(Replay(), stream)
    split = replayed(SplitReplay(first), stream)
    expected = [
        SignalUpdate(u.time, u.person, {n: v for n, v in u.values.items() if n in first})
        for u in whole.updates
    ]
    assert as_rows(split.first_updates) == as_rows([u for u in expected if u.values])


def test_the_rules_hear_their_signal_before_the_rest_is_worked_out() -> None:
    """With only `hr` first, the first half's listener sees `hr` as of this update and the
    other signals as of the one before; the full update then brings them."""
    seen: list[tuple[float, float, float]] = []  # the update's time, hr's, hr_delta_rest's
    replay = SplitReplay(frozenset({"hr"}))

    def first_listener(update: SignalUpdate) -> None:
        assert not replay.updates or replay.updates[-1].time < update.time  # not heard yet
        hr, delta = (replay.engine.get("alex", name) for name in ("hr", "hr_delta_rest"))
        seen.append((update.time, hr.time, delta.time))

    replay.engine.on_first_update = first_listener
    for t, hr in ((10.0, 70.0), (11.0, 90.0), (12.0, 75.0)):
        replay.feed(t, "hr", hr)
    assert [t for t, _, _ in seen] == [10.0, 11.0, 12.0]
    for now, hr_time, delta_time in seen[1:]:
        assert hr_time == now  # worked out for this update
        assert delta_time < now  # not yet: the rest comes after the rules heard
    assert [u.time for u in replay.updates] == [10.0, 11.0, 12.0]
    assert all("hr_delta_rest" in u.values and "hr" in u.values for u in replay.updates)


def test_a_failing_first_listener_leaves_the_update_whole() -> None:
    replay = SplitReplay(frozenset({"hr"}))

    def broken(update: SignalUpdate) -> None:
        raise RuntimeError("boom")

    replay.engine.on_first_update = broken
    with pytest.raises(RuntimeError):
        replay.feed(10.0, "hr", 70.0)
    assert replay.engine.get("alex", "hr_delta_rest").time == 10.0  # the rest was worked out


def test_first_and_its_listener_go_together() -> None:
    with pytest.raises(ValueError, match="together"):
        SignalEngine(
            SignalsConfig(), [], Replay().clock, Store(None), print, first=frozenset({"hr"})
        )


def test_a_signal_nobody_reads_is_as_of_the_update_before_in_the_first_half() -> None:
    """Asked for between the halves, a signal worked out only when asked (not in ``read``)
    is the last whole update's, time and value, as an emitted one not yet worked out is:
    never this update's heart rate mixed with the last update's rest."""
    replay = Replay()
    whole: list[SignalValue] = []  # hr_delta_rest after each whole update
    in_first_half: list[SignalValue] = []

    def first_listener(update: SignalUpdate) -> None:
        in_first_half.append(replay.engine.get("alex", "hr_delta_rest"))

    replay.engine = SignalEngine(
        SignalsConfig(),
        [PersonConfig(id="alex")],
        replay.clock,
        Store(None),
        replay.updates.append,
        read=frozenset({"hr"}),
        first=frozenset({"hr"}),
        on_first_update=first_listener,
    )
    for t, hr in ((10.0, 70.0), (11.0, 90.0), (12.0, 75.0)):
        replay.feed(t, "hr", hr)
        whole.append(replay.engine.get("alex", "hr_delta_rest"))
    assert [v.time for v in whole] == [10.0, 11.0, 12.0]
    assert len({v.value for v in whole}) == 3  # each update changes it
    assert in_first_half[1:] == whole[:-1]
