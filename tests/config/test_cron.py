"""Cron expressions as cron reads them: which of them can never fire (a day that no month
has, such as 30 February), for `ambient check` to say so. Every calendar day falls on every day
of the week in some year, so only the day of month and the month decide it. The day of week is
handed to APScheduler as the day names cron means (a step runs to Sunday, 7)."""

from __future__ import annotations

import pytest

from ambient.config.cron import apscheduler_crontab, why_never_fires


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("0 9 30 2 *", "day `30` of month `2` is no calendar day"),
        ("0 9 31 4 *", "day `31` of month `4` is no calendar day"),
        ("0 9 31 6 *", "day `31` of month `6` is no calendar day"),
        ("0 9 31 2,4,6,9,11 *", "day `31` of month `2,4,6,9,11` is no calendar day"),
        ("0 9 30-31 feb *", "day `30-31` of month `feb` is no calendar day"),
        ("0 9 30 2 mon", "day `30` of month `2` is no calendar day"),
    ],
)
def test_a_cron_no_calendar_day_matches_never_fires(cron: str, why: str) -> None:
    assert why_never_fires(cron) == why


@pytest.mark.parametrize(
    "cron",
    [
        "0 9 * * *",
        "*/15 8-22 * * mon-fri",
        "0 9 31 * *",  # the 31st of the months that have one
        "0 9 29 2 *",  # in leap years
        "0 9 29 2 1",  # 29 February on a Monday: 2044
        "0 9 last 2 *",
        "0 9 13 * 5",  # Friday the 13th (day of month and day of week must both match)
    ],
)
def test_a_cron_some_calendar_day_matches_can_fire(cron: str) -> None:
    assert why_never_fires(cron) is None


@pytest.mark.parametrize(
    ("day_of_week", "days"),
    [
        ("1/2", "mon,wed,fri,sun"),
        ("mon/2", "mon,wed,fri,sun"),
        ("3/2", "wed,fri,sun"),
        ("0/2", "tue,thu,sat,sun"),
        ("*/2", "tue,thu,sat,sun"),
    ],
)
def test_a_start_with_a_step_in_the_day_of_week_runs_to_sunday(day_of_week: str, days: str) -> None:
    """The field ends at 7, Sunday, in cron (`1/2` is cron's `1-7/2`) as in APScheduler's own
    week (Monday to Sunday): `1/2` is Monday, Wednesday, Friday and Sunday, not to Saturday."""
    assert apscheduler_crontab(f"0 9 * * {day_of_week}") == f"0 9 * * {days}"
