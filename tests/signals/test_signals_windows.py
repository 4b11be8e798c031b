"""HRV windows: agreement with neurokit2 on real data, incremental equals batch, invariants."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from signals.signals_helpers import load_nn, timed

from ambient.signals import windows
from ambient.signals.beats import BEAT_TIME, Beat
from ambient.signals.windows import BeatWindow, HeartRateWindow, WindowStats, beat_terms, stats_of


def as_beats(rr_ms: list[float]) -> list[Beat]:
    return [(t, rr, False, i > 0) for i, (t, rr) in enumerate(timed(rr_ms))]


@pytest.mark.parametrize("series", ["5min", "60min"])
def test_agrees_with_neurokit2_on_the_real_series(series: str) -> None:
    nk = pytest.importorskip("neurokit2")  # a dev/test dependency only, never at runtime
    rr = load_nn(series)
    reference = nk.hrv_time(nk.intervals_to_peaks(rr, sampling_rate=1000), sampling_rate=1000)
    ours = stats_of(as_beats(rr), length_s=sum(rr) / 1000)
    assert ours.rmssd == pytest.approx(float(reference["HRV_RMSSD"].iloc[0]), rel=0.005)
    assert ours.sdnn == pytest.approx(float(reference["HRV_SDNN"].iloc[0]), rel=0.005)
    mean_hr = 60000 / float(reference["HRV_MeanNN"].iloc[0])
    assert ours.hr == pytest.approx(mean_hr, rel=0.005)
    assert ours.pnn50 == pytest.approx(float(reference["HRV_pNN50"].iloc[0]), abs=0.5)


def test_the_sliding_window_equals_a_fresh_computation_at_every_beat() -> None:
    beats = as_beats(load_nn("5min"))
    rr_ms = [rr for _, rr, _, _ in beats]
    window = BeatWindow(60.0)
    previous = None
    for i, beat in enumerate(beats):
        window.add(beat, previous)
        time, previous, _, _ = beat
        first = next(k for k in range(i + 1) if beats[k][BEAT_TIME] > time - 60.0)
        inside = beats[first : i + 1]
        expected = stats_of(inside, 60.0)
        got = window.stats()
        assert got.beats == expected.beats
        assert got.hr == pytest.approx(expected.hr)
        if expected.sdnn is not None:
            assert got.sdnn == pytest.approx(expected.sdnn, rel=1e-9, abs=1e-9)
        # the window also counts its first beat's difference to the beat before it
        diffs = [rr_ms[k] - rr_ms[k - 1] for k in range(max(first, 1), i + 1)]
        if diffs:
            rmssd = math.sqrt(sum(d * d for d in diffs) / len(diffs))
            assert got.rmssd == pytest.approx(rmssd, rel=1e-9, abs=1e-9)


def test_stress_index_only_for_windows_of_two_minutes_or_more() -> None:
    beats = as_beats(load_nn("5min"))
    assert stats_of(beats[:60], 60.0).stress_index is None
    five = stats_of(beats, 300.0)
    assert five.stress_index is not None and 5 < five.stress_index < 500


def test_quality_is_the_share_of_the_window_covered_by_clean_beats() -> None:
    beats = [(i * 1.0, 1000.0, i % 4 == 0, True) for i in range(1, 61)]
    stats = stats_of(beats, 60.0)
    assert stats.quality == pytest.approx(0.75)
    assert stats.corrected == pytest.approx(0.25)
    assert stats_of(beats[:30], 60.0).quality == pytest.approx(23 / 60)  # 7 of 30 corrected


def test_an_empty_window_gives_no_numbers() -> None:
    stats = BeatWindow(60.0).stats(now=100.0)
    assert (stats.hr, stats.rmssd, stats.sdnn, stats.pnn50) == (None, None, None, None)
    assert stats.quality == 0.0


@settings(max_examples=60, deadline=None)
@given(
    rr=st.lists(st.floats(400, 1500), min_size=3, max_size=80),
    shift=st.floats(-100, 300),
)
def test_rmssd_is_invariant_to_a_constant_shift(rr: list[float], shift: float) -> None:
    a = stats_of(as_beats(rr), 600.0)
    b = stats_of(as_beats([x + shift for x in rr]), 600.0)
    assert a.rmssd is not None and b.rmssd is not None
    assert math.isclose(a.rmssd, b.rmssd, rel_tol=1e-6, abs_tol=1e-6)
    assert a.pnn50 == b.pnn50


def test_the_plain_figures_are_the_stats_fields_in_order() -> None:
    window = BeatWindow(60.0)
    previous = None
    for beat in as_beats(load_nn("5min")[:90]):
        window.add(beat, previous)
        previous = beat[1]
    assert window.figures() == tuple(window.stats())
    for name in ("hr", "ln_rmssd", "quality", "corrected", "pairs", "coverage"):
        assert WindowStats._fields[getattr(windows, f"STATS_{name.upper()}")] == name


@pytest.mark.parametrize("seed", range(5))
def test_the_heart_rate_window_gives_a_beat_windows_hr_and_coverage_bit_for_bit(seed: int) -> None:
    """Its sum takes the same steps: compared exactly, asked as the engine asks (between
    beats, now and then for coverage), through pauses that empty the window."""
    rng = random.Random(seed)
    full, lean = BeatWindow(15.0, hrv=False), HeartRateWindow(15.0)
    time_s, previous = 0.0, None
    for _ in range(3000):
        rr_ms = rng.gauss(850, 90)
        time_s += rr_ms / 1000 + (30.0 if rng.random() < 0.003 else 0.0)
        terms = beat_terms((time_s, rr_ms, rng.random() < 0.05, True), previous)
        full.add_terms(terms)
        lean.add_terms(terms)
        previous = rr_ms
        if rng.random() < 0.4:
            now = time_s + rng.uniform(0.0, 2.0)
            assert lean.hr(now) == full.hr(now)
            if rng.random() < 0.2:
                assert lean.coverage(now) == full.coverage(now)
            assert len(lean) == len(full)
