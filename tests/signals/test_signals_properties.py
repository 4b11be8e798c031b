"""Properties: whatever arrives, a signal is a number only when its input is fresh."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from signals.signals_helpers import Replay

from ambient.config.signals import SIGNAL_NAMES

NUMERIC = (
    "hr",
    "hr_delta_rest",
    "rmssd",
    "ln_rmssd",
    "ln_rmssd_z",
    "sdnn",
    "pnn50",
    "stress_index",
    "stress_score",
    "quality",
)

rr_values = st.floats(min_value=250, max_value=2500, allow_nan=False)
gaps = st.floats(min_value=0.3, max_value=2.0)


@settings(max_examples=40, deadline=None)
@given(beats=st.lists(st.tuples(gaps, rr_values), max_size=150), silence=st.floats(15.01, 3600))
def test_no_number_from_stale_input(beats: list[tuple[float, float]], silence: float) -> None:
    replay = Replay()
    t = 0.0
    for gap, rr in beats:
        t += gap
        replay.feed(t, "rr", rr)
    replay.clock.advance_to(t + silence)
    for name in NUMERIC:
        value = replay.engine.get("alex", name)
        assert value.value is None, (name, value)
        assert value.reason


@settings(max_examples=20, deadline=None)
@given(metrics=st.lists(st.sampled_from(["contact", "activity", "steps"]), max_size=10))
def test_no_heart_number_without_heart_input(metrics: list[str]) -> None:
    replay = Replay()
    for i, metric in enumerate(metrics):
        replay.feed(float(i), metric, 1.0)
    replay.clock.advance_to(len(metrics) + 1.0)
    for name in NUMERIC:
        assert replay.engine.get("alex", name).value is None
    assert set(replay.engine.snapshot("alex")) <= SIGNAL_NAMES
