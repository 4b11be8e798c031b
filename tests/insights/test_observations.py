"""Observations: plain-language patterns, each with its numbers, told only when the data
support them (at least 3 days in each group compared, a difference of at least 20 %)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from ambient.insights.observations import observations
from ambient.insights.summaries import DaySummary

FIRST = date(2026, 11, 9)  # a Monday: four weeks to Sunday 6 December


def day(on: date, stress_minutes: float, measured: float = 600.0) -> DaySummary:
    return DaySummary("alex", on, measured, stress_minutes, 0, 0, 200, 20, 60.0, None, None, 30.0)


def four_weeks(tuesdays: list[float | None]) -> list[DaySummary]:
    """100 stress minutes a day; the four Tuesdays as given (None: nothing worn)."""
    out = []
    for k in range(28):
        on = FIRST + timedelta(days=k)
        if on.weekday() != 1:
            out.append(day(on, 100.0))
            continue
        minutes = tuesdays[k // 7]
        out.append(day(on, 0.0, measured=0.0) if minutes is None else day(on, minutes))
    return out


def test_a_busy_weekday_is_told_with_its_numbers() -> None:
    (found,) = observations(four_weeks([300.0, 300.0, 300.0, None]), [])
    # by hand: 24 days of 100 and 3 Tuesdays of 300 (the fourth not worn): 3300 / 27 = 122
    assert found.text == (
        "Tuesdays had the most stress: 300 minutes on average over 3 Tuesdays, against 122 "
        "on an average day. A lighter plan or a short break on Tuesdays may help."
    )


def test_two_busy_tuesdays_are_too_few_to_call_a_pattern() -> None:
    assert observations(four_weeks([300.0, 300.0, None, None]), []) == []


def with_sleep(summary: DaySummary, hours: float) -> DaySummary:
    return replace(summary, sleep_hours=hours)


def test_short_nights_followed_by_calmer_days_suggest_no_earlier_evening() -> None:
    days = [day(FIRST + timedelta(days=k), 100.0) for k in range(28)]
    days = [
        with_sleep(d, 7.5) if k % 4 else with_sleep(day(d.day, 40.0), 5.5)
        for k, d in enumerate(days)
    ]
    (found,) = observations(days, [])
    assert found.text == (
        "On the 7 days after a night under 6.5 h of sleep you had 40 minutes of stress on "
        "average, against 100 after longer nights (21 days): fewer after short nights."
    )


def test_short_nights_followed_by_busier_days_offer_an_earlier_evening() -> None:
    days = [
        with_sleep(day(FIRST + timedelta(days=k), 100.0 if k % 4 else 160.0), 7.5 if k % 4 else 5.5)
        for k in range(28)
    ]
    (found,) = observations(days, [])
    assert found.text.endswith(
        "against 100 after longer nights (21 days): more after short nights. An earlier "
        "evening wind-down is one option to try."
    )
