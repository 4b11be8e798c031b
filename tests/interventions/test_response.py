"""Measuring an episode: after (+5 to +20 min) against before (−5 to 0 min), in baseline SD."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ambient.interventions.response import Sample, Side, before_span, measure_response

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


def test_ln_rmssd_known_for_only_a_sliver_of_a_side_is_not_read_as_the_response() -> None:
    # The strap's intervals dropped out (HR went on): one minute of ln RMSSD is no mean of
    # the five, so the response is the HR drop, as for an HR-only watch.
    before = minutes(-5, -4, 2.0, 80.0) + minutes(-3, 0, None, 80.0)
    samples = before + minutes(5, 20, 3.2, 74.0)
    response = measure_response(samples, START, ln_rmssd_sd=0.4, hr_sd=3.0)
    assert response.usable
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


@pytest.mark.parametrize(
    "other_start_s",
    [
        0.0,  # two rules calming the same person at the same moment: whose response is it?
        -600.0,  # its before-span lies in the earlier episode's session and after-span
        -1499.0,  # the earlier one's after-span ends just inside this one's before-span
    ],
)
def test_an_episode_in_the_measured_span_of_another_is_not_usable(other_start_s: float) -> None:
    samples = minutes(-5, 0, 3.0, 80.0) + minutes(5, 20, 3.2, 74.0)
    response = measure_response(
        samples, START, ln_rmssd_sd=0.4, hr_sd=3.0, other_episode_starts=[START + other_start_s]
    )
    assert (response.usable, response.reason) == (False, "another episode overlaps")


def test_an_earlier_episode_measured_before_this_one_began_does_not_overlap() -> None:
    samples = minutes(-5, 0, 3.0, 80.0) + minutes(5, 20, 3.2, 74.0)
    response = measure_response(
        samples, START, ln_rmssd_sd=0.4, hr_sd=3.0, other_episode_starts=[START - 1500.0]
    )
    assert response.usable


def windowed(level_at: Callable[[float], float], window_s: float) -> list[Sample]:
    """One sample every 10 s from −6 to +20 min, each the mean level over the window before it
    (what a signal computed over the beats of that window reads)."""
    samples = []
    for step in range(-36, 121):
        time = START + step * 10.0
        inside = [level_at(time - window_s + k) for k in range(int(window_s))]
        samples.append(Sample(time, sum(inside) / len(inside), 70.0))
    return samples


def test_the_after_span_reads_no_beats_of_the_session_through_the_signals_window() -> None:
    # The body answers at +5 min exactly; the 60 s window behind the first signals of the
    # after-span still holds session beats, and must not shrink the response.
    samples = windowed(lambda t: 3.0 if t < START + 300 else 3.4, 60.0)
    response = measure_response(samples, START, ln_rmssd_sd=0.4, hr_sd=3.0, window_s=60.0)
    assert response.ln_rmssd_change_sd == pytest.approx(1.0)
    unaligned = measure_response(samples, START, ln_rmssd_sd=0.4, hr_sd=3.0)
    assert unaligned.ln_rmssd_change_sd is not None and unaligned.ln_rmssd_change_sd < 0.98


@pytest.mark.parametrize(
    "stored",
    [None, "x", {"ln_rmssd": "3.0", "hr": 80.0, "coverage": 1.0}, {"hr": 80.0}, [1, 2]],
)
def test_a_before_span_stored_by_no_version_is_read_as_none(stored: object) -> None:
    assert Side.from_json(stored) is None


def test_the_recorded_before_span_stands_in_for_samples_a_restart_lost() -> None:
    recorded = before_span(minutes(-5, 0, 3.0, 80.0), START)
    assert Side.from_json(recorded.to_json()) == recorded
    after_only = minutes(5, 20, 3.2, 74.0)
    response = measure_response(
        after_only, START, ln_rmssd_sd=0.4, hr_sd=3.0, recorded_before=recorded
    )
    assert response.usable and response.ln_rmssd_change_sd == pytest.approx(0.5)
