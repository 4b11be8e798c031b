"""The stress score's average: from rest after a start, each reading for the time it stands."""

from __future__ import annotations

import math

import pytest

from ambient.config.signals import StressConfig
from ambient.signals.stress import StressSmoother, score_of


def test_the_average_starts_from_rest_and_rises_toward_a_steady_z() -> None:
    """A steady z 3 every second from a start: the average is 3 · (1 − e^(−t/τ)) with the
    first reading standing for one second, not 3 at once."""
    smoother, config = StressSmoother(60.0), StressConfig()
    first = smoother.score(0.0, 3.0, config)
    assert smoother.combined == pytest.approx(3.0 * (1.0 - math.exp(-1.0 / 60.0)))
    assert first == pytest.approx(score_of(smoother.combined or 0.0, config))
    for t in range(1, 61):
        smoother.score(float(t), 3.0, config)
    assert smoother.combined == pytest.approx(3.0 * (1.0 - math.exp(-61.0 / 60.0)))


def test_one_high_reading_is_seconds_of_evidence() -> None:
    """z 6.25 (120 bpm on a rest of 70 ± 8), then rest three seconds later: the average stays
    far under the score's 70 (z 1.42); it started afresh after a reset the same way."""
    smoother, config = StressSmoother(60.0), StressConfig()
    for _ in range(2):
        smoother.score(0.0, 6.25, config)
        assert smoother.score(3.0, 0.0, config) < 20.0
        smoother.reset()
        assert smoother.combined is None


def test_the_evidence_is_the_readings_own_mean_without_the_lean_to_rest() -> None:
    """What keeps stressed minutes out of the baseline: right after a start it is the first
    reading itself, and a steady z is that z at once, while the score's average still rises."""
    smoother, config = StressSmoother(60.0), StressConfig()
    assert smoother.evidence is None
    smoother.score(100.0, 3.0, config)
    assert smoother.evidence == pytest.approx(3.0)
    for t in range(101, 131):
        smoother.score(float(t), 3.0, config)
    assert smoother.evidence == pytest.approx(3.0)
    assert smoother.combined == pytest.approx(3.0 * (1.0 - math.exp(-31.0 / 60.0)))
    smoother.score(131.0, 0.0, config)  # z 0 for the second since the reading before
    held = 3.0 * (1.0 - math.exp(-31.0 / 60.0)) * math.exp(-1.0 / 60.0)
    assert smoother.evidence == pytest.approx(held / (1.0 - math.exp(-32.0 / 60.0)))
