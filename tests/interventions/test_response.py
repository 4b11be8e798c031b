"""Measuring an episode: after (+5 to +20 min) against before (−5 to 0 min), in baseline SD."""

from __future__ import annotations

import pytest

from ambient.interventions.response import Sample, measure_response

START = 10_000.0


def minutes(
    first_min: int, last_min: int, ln_rmssd: float | None, hr: float | None, state: str = "rest"
) -> list[Sample]:
    return [
        Sample(START + minute * 60.0, ln_rmssd, hr, state)
        for minute in range(first_min, last_min + 1)
    ]


def test_a_rise_in_ln_rmssd_and_a_fall_in_hr_are_measured_in_baseline_sd() -> None:
    samples = minutes(-5, 0, 3.0, 80.0) + minutes(1, 4, 3.1, 78.0) + minutes(5, 20, 3.2, 74.0)
    response = measure_response(samples, START, ln_rmssd_sd=0.4, hr_sd=3.0)
    assert response.usable
    assert response.ln_rmssd_change_sd == pytest.approx(0.5)
    assert response.hr_change_sd == pytest.approx(-2.0)
    assert response.reward == pytest.approx(0.5)


def test_an_hr_only_watch_is_rewarded_by_the_drop_in_hr() -> None:
    samples = minutes(-5, 0, None, 80.0) + minutes(5, 20, None, 74.0)
    response = measure_response(samples, START, ln_rmssd_sd=0.4, hr_sd=3.0)
    assert response.ln_rmssd_change_sd is None
    assert response.reward == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("samples", "reason"),
    [
        (minutes(-5, 0, 3.0, 80.0) + minutes(5, 20, 3.2, 74.0, state="active"), "movement"),
        (minutes(-5, 0, 3.0, 80.0) + minutes(5, 8, 3.2, 74.0), "missing data"),
        (minutes(5, 20, 3.2, 74.0), "missing data"),
    ],
)
def test_an_episode_that_cannot_be_read_fairly_is_kept_but_not_usable(
    samples: list[Sample], reason: str
) -> None:
    response = measure_response(samples, START, ln_rmssd_sd=0.4, hr_sd=3.0)
    assert not response.usable
    assert reason in response.reason
    assert response.reward is None


def test_another_episode_inside_the_span_makes_it_not_usable() -> None:
    samples = minutes(-5, 0, 3.0, 80.0) + minutes(5, 20, 3.2, 74.0)
    response = measure_response(
        samples, START, ln_rmssd_sd=0.4, hr_sd=3.0, other_episode_starts=[START + 600.0]
    )
    assert (response.usable, response.reason) == (False, "another episode overlaps")
