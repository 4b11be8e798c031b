"""Five-field cron as cron reads it, handed to APScheduler 3.

APScheduler 3's ``CronTrigger.from_crontab`` numbers the days of the week from Monday (0 is
Monday, 6 Sunday, 7 refused), where every cron numbers them from Sunday (0 and 7 are Sunday, 1
Monday): ``0 9 * * 1-5`` would fire Tuesday to Saturday. The day-of-week field is therefore
rewritten as the day names it means, which both read alike.

A cron whose day of month is in none of its months (``0 9 30 2 *``) is valid to cron and to
APScheduler, and never fires: :func:`why_never_fires` says so, for ``ambient check``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

#: Cron's numbering: the index is the day's number (7 is Sunday again).
_CRON_DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: APScheduler's order, for a stable rewritten field.
_WEEK: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The first day of a leap year, whose days hold every day of month each month can have.
_LEAP_YEAR_START: Final = date(2028, 1, 1)


def apscheduler_crontab(text: str) -> str:
    """``text`` with its day-of-week field as day names (``1-5`` → ``mon,tue,wed,thu,fri``);
    anything but five fields is returned as written, for APScheduler to refuse."""
    fields = text.split()
    if len(fields) != 5 or fields[4] == "*":
        return text
    return " ".join([*fields[:4], _day_names(fields[4])])


def why_never_fires(text: str) -> str | None:
    """Why the valid cron ``text`` can never fire: no calendar day has its day of month in one of
    its months (30 February, 31 April). None when one has: a leap year's days are tried, so
    ``29 2`` fires (in leap years). Every calendar day falls on every day of the week in some
    year, so the day-of-week field cannot keep a cron from ever firing."""
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(apscheduler_crontab(text), timezone="UTC")
    fields = {field.name: field for field in trigger.fields}
    day_field, month_field = fields["day"], fields["month"]
    day = _LEAP_YEAR_START
    while day.year == _LEAP_YEAR_START.year:
        if (
            month_field.get_next_value(day) == day.month
            and day_field.get_next_value(day) == day.day
        ):
            return None
        day += timedelta(days=1)
    _, _, day_of_month, month, _ = text.split()
    return f"day `{day_of_month}` of month `{month}` is no calendar day"


def _day_names(field: str) -> str:
    days: set[int] = set()
    for item in field.split(","):
        part, slash, step_text = item.partition("/")
        step = _number(step_text, item) if slash else 1
        if step < 1:
            raise ValueError(f"day of week `{item}`: the step must be at least 1")
        if part == "*":
            first, last = 0, 6
        elif "-" in part:
            start, _, end = part.partition("-")
            first, last = _day(start, item), _day(end, item)
            if last == 0 < first:
                last = 7  # `fri-sun`: Sunday closes the week (`sun-sun` stays Sunday)
            if first > last:
                raise ValueError(f"day of week `{item}` runs backwards (cron days: 0-7, sun-sat)")
        else:
            first = _day(part, item)
            last = 7 if slash else first  # `1/2` is `1-7/2`: the week ends on Sunday, 7
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(name for name in _WEEK if _CRON_DAYS.index(name) in days)


def _day(token: str, item: str) -> int:
    name = token.lower()
    if name in _CRON_DAYS:
        return _CRON_DAYS.index(name)
    day = _number(token, item)
    if not 0 <= day <= 7:
        raise ValueError(f"day of week `{item}` is not a day (cron days: 0-7, sun-sat)")
    return day


def _number(token: str, item: str) -> int:
    if not token.isdigit():
        raise ValueError(f"day of week `{item}` is not a day (cron days: 0-7, sun-sat)")
    return int(token)
