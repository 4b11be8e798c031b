"""Five-field cron as cron reads it, handed to APScheduler 3.

APScheduler 3's ``CronTrigger.from_crontab`` numbers the days of the week from Monday (0 is
Monday, 6 Sunday, 7 refused), where every cron numbers them from Sunday (0 and 7 are Sunday, 1
Monday): ``0 9 * * 1-5`` would fire Tuesday to Saturday. The day-of-week field is therefore
rewritten as the day names it means, which both read alike.
"""

from __future__ import annotations

from typing import Final

#: Cron's numbering: the index is the day's number (7 is Sunday again).
_CRON_DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: APScheduler's order, for a stable rewritten field.
_WEEK: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def apscheduler_crontab(text: str) -> str:
    """``text`` with its day-of-week field as day names (``1-5`` → ``mon,tue,wed,thu,fri``);
    anything but five fields is returned as written, for APScheduler to refuse."""
    fields = text.split()
    if len(fields) != 5 or fields[4] == "*":
        return text
    return " ".join([*fields[:4], _day_names(fields[4])])


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
            last = 6 if slash else first
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
