"""The stress-index window keeps its histogram's mode as beats come and go: at any moment it
must give the stress index a fresh window over the same beats gives."""

from __future__ import annotations

import random

import pytest

from ambient.signals.beats import BEAT_TIME, Beat
from ambient.signals.windows import BeatWindow, stats_of


@pytest.mark.parametrize("seed", range(20))
def test_the_sliding_stress_index_equals_a_fresh_one(seed: int) -> None:
    rng = random.Random(seed)
    window = BeatWindow(300.0, hrv=False)
    beats: list[Beat] = []
    time_s = 0.0
    previous = None
    for _ in range(1200):
        # Steady stretches (one bin holds the mode for long), wide scatter, repeated values
        # (ties between bins) and an occasional pause that empties the window.
        rr_ms = float(round(rng.choice([rng.gauss(850, 6), rng.gauss(850, 70), 850.0, 900.0])))
        rr_ms = min(1600.0, max(350.0, rr_ms))
        time_s += rr_ms / 1000 + (400.0 if rng.random() < 0.002 else 0.0)
        beat = (time_s, rr_ms, rng.random() < 0.05, True)
        window.add(beat, previous)
        beats.append(beat)
        previous = rr_ms
        if rng.random() < 0.3:
            now = time_s + rng.uniform(0.0, 0.3)  # before the next beat, as the engine asks
            inside = [b for b in beats if b[BEAT_TIME] > now - 300.0]
            expected = stats_of(inside, 300.0).stress_index if inside else None
            assert window.stats(now).stress_index == expected
            assert window.quality_and_stress_index(now)[1] == expected
