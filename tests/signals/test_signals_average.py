"""The exponential average over time that the score and the activity tracker use."""

from __future__ import annotations

import math

import pytest

from ambient.signals.average import ExponentialAverage


def test_a_step_is_followed_by_63_percent_after_one_time_constant() -> None:
    average = ExponentialAverage(60.0)
    assert average.add(0.0, 0.0) == 0.0  # no start: the first reading itself
    assert average.add(60.0, 1.0) == pytest.approx(1 - math.exp(-1))


def test_readings_at_irregular_times_weigh_by_the_time_between_them() -> None:
    often, seldom = ExponentialAverage(30.0), ExponentialAverage(30.0)
    often.add(0.0, 0.0)
    seldom.add(0.0, 0.0)
    for second in range(1, 31):
        often.add(float(second), 1.0)
    seldom.add(30.0, 1.0)
    assert often.value == pytest.approx(seldom.value)


def test_an_average_from_stillness_makes_a_first_spike_small() -> None:
    average = ExponentialAverage(60.0, start=0.0)
    assert average.add(5.0, 0.3) == pytest.approx(0.3 * (1 - math.exp(-1 / 60)))


def test_no_time_constant_is_no_averaging_and_a_reset_starts_afresh() -> None:
    latest = ExponentialAverage(0.0, start=0.0)
    assert latest.add(1.0, 0.4) == 0.4
    assert latest.add(2.0, 0.7) == 0.7
    average = ExponentialAverage(60.0)
    average.add(0.0, 10.0)
    average.reset()
    assert average.value is None
    assert average.add(1.0, 3.0) == 3.0
