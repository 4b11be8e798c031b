"""Beat cleaning: what Lipponen & Tarvainen's method, run as a stream, must get right."""

from __future__ import annotations

import itertools
import math

import pytest
from signals.signals_helpers import inject_artifacts, load_nn, timed

from ambient.signals.beats import Beat, BeatCleaner


def clean(rr_ms: list[float]) -> tuple[list[Beat], BeatCleaner]:
    cleaner = BeatCleaner()
    beats: list[Beat] = []
    for t, rr in timed(rr_ms):
        beats += cleaner.add(t, rr)
    beats += cleaner.flush()
    return beats, cleaner


def rmssd_raw(rr_ms: list[float]) -> float:
    diffs = [b - a for a, b in itertools.pairwise(rr_ms)]
    return math.sqrt(sum(d * d for d in diffs) / len(diffs))


def rmssd_clean(beats: list[Beat]) -> float:
    diffs = [b[1] - a[1] for a, b in itertools.pairwise(beats) if b[3]]  # rr_ms, follows_clean
    return math.sqrt(sum(d * d for d in diffs) / len(diffs))


@pytest.mark.parametrize("series", ["5min", "60min"])
def test_clean_high_hrv_series_is_left_nearly_alone(series: str) -> None:
    """A 20 %-rule flags long respiratory beats of high-HRV people; this must not."""
    rr = load_nn(series)
    beats, _cleaner = clean(rr)
    corrected = sum(corrected for _, _, corrected, _ in beats)
    assert corrected / len(beats) < 0.01
    assert abs(rmssd_clean(beats) / rmssd_raw(rr) - 1) < 0.02
    assert sum(rr_ms for _, rr_ms, _, _ in beats) == pytest.approx(sum(rr))  # time is kept


@pytest.mark.parametrize("seed", range(6))
def test_artifacts_in_the_real_hour_are_corrected(seed: int) -> None:
    rr = load_nn("60min")
    reference = rmssd_raw(rr)
    bad = inject_artifacts(rr, 0.02, seed)
    beats, cleaner = clean(bad)
    assert abs(rmssd_raw(bad) / reference - 1) > 0.38  # uncorrected is far off
    assert abs(rmssd_clean(beats) / reference - 1) < 0.03
    found = cleaner.corrections
    assert found["missed"] >= 25 and found["extra"] >= 25 and found["ectopic"] >= 25


def test_artifacts_in_the_real_five_minutes_are_corrected_on_average() -> None:
    """Six artifacts in 337 beats: single runs vary, the mean error stays within 3 %."""
    rr = load_nn("5min")
    reference = rmssd_raw(rr)
    errors = []
    for seed in range(10):
        bad = inject_artifacts(rr, 0.02, seed)
        assert abs(rmssd_raw(bad) / reference - 1) > 0.38
        errors.append(rmssd_clean(clean(bad)[0]) / reference - 1)
    assert abs(sum(errors) / len(errors)) < 0.03
    assert max(abs(e) for e in errors) < 0.06


def test_a_missed_beat_is_split_and_an_extra_one_merged() -> None:
    rr = load_nn("5min")[:60]
    missed = [*rr[:30], rr[30] + rr[31], *rr[32:]]
    beats, cleaner = clean(missed)
    assert cleaner.corrections["missed"] == 1
    assert len(beats) == len(rr)
    extra = [*rr[:30], rr[30] * 0.5, rr[30] * 0.5, *rr[31:]]
    beats, cleaner = clean(extra)
    assert cleaner.corrections["extra"] == 1
    assert [round(rr_ms) for _, rr_ms, _, _ in beats] == [round(x) for x in rr]


def test_impossible_intervals_are_dropped_and_break_the_run() -> None:
    cleaner = BeatCleaner()
    beats: list[Beat] = []
    for t, rr in timed([800.0] * 20 + [2600.0] + [800.0] * 20):
        beats += cleaner.add(t, rr)
    beats += cleaner.flush()
    assert cleaner.corrections["out_of_range"] == 1
    assert all(300 <= rr_ms <= 2000 for _, rr_ms, _, _ in beats)
    # the first beat, and the first after the drop
    assert sum(not follows_clean for _, _, _, follows_clean in beats) == 2


def test_a_too_short_fragment_joins_the_next_interval() -> None:
    cleaner = BeatCleaner()
    beats: list[Beat] = []
    for t, rr in timed([800.0] * 20 + [250.0, 550.0] + [800.0] * 5):
        beats += cleaner.add(t, rr)
    beats += cleaner.flush()
    assert [rr_ms for _, rr_ms, _, _ in beats] == [800.0] * 26


def test_the_look_ahead_is_two_beats_once_warm() -> None:
    cleaner = BeatCleaner()
    out = [len(cleaner.add(t, rr)) for t, rr in timed([800.0 + (i % 3) for i in range(40)])]
    assert sum(out[:16]) == 0  # the first beats wait to set the thresholds
    assert sum(out) == 38 and out[-1] == 1


def test_intervals_with_beats_left_out_between_them_give_no_successive_difference() -> None:
    """A wrist sensor skips beats it is unsure of: the interval after a skip does not follow
    the one before it, so their difference is no RMSSD term."""
    cleaner = BeatCleaner()
    beats: list[Beat] = []
    t = 0.0
    for i in range(40):
        t += 0.8
        if i % 5 == 4:
            continue  # skipped: the next interval ends 1.6 s after the previous one
        beats += cleaner.add(t, 800.0 + (20 if i % 2 else -20))
    beats += cleaner.flush()
    assert len(beats) == 32
    after_skip = [beat for beat in beats if round(beat[0] / 0.8) % 5 == 1 and beat[0] > 1]
    assert after_skip and not any(follows_clean for _, _, _, follows_clean in after_skip)
    assert sum(follows_clean for _, _, _, follows_clean in beats) == 32 - 1 - len(after_skip)
