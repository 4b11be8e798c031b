"""Observations: plain-language patterns, each with its numbers, told only when the data
support them (at least 3 days in each group compared, a difference of at least 20 %)."""

from __future__ import annotations

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
