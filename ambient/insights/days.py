"""Local calendar days in the configured time zone: a day ends at local midnight, so it is
23 or 25 hours long when the clocks change."""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, date, datetime, time, timedelta, tzinfo


def day_of(moment: float, zone: tzinfo) -> date:
    """The local date of a unix time."""
    return datetime.fromtimestamp(moment, zone).date()


def day_start(day: date, zone: tzinfo) -> float:
    """Unix time of local midnight starting ``day``."""
    return datetime.combine(day, time(0), zone).timestamp()


def day_end(day: date, zone: tzinfo) -> float:
    """Unix time of local midnight ending ``day`` (the next day's start)."""
    return day_start(day + timedelta(days=1), zone)


def iso_week(text: str) -> date:
    """The Monday of an ISO week written ``2026-W49``; ValueError for anything else."""
    year, _, week = text.partition("-W")
    try:
        monday = date.fromisocalendar(int(year), int(week), 1)
        # The report reads the weeks around it: the first and last years have none.
        if not MINYEAR < monday.year < MAXYEAR:
            raise ValueError(f"year {monday.year} is at the end of the calendar")
    except ValueError as exc:
        raise ValueError(f"`{text}` is not an ISO week such as 2026-W49") from exc
    return monday


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def day_and_month(day: date) -> str:
    """``6 Dec``: a date as a person writes it (a screen reader reads ``06`` as "zero six")."""
    return f"{day.day} {day:%b}"
