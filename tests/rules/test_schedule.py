"""Next fire times of cron triggers, as APScheduler's CronTrigger reads the expression."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ambient.config.cron import why_never_fires
from ambient.config.triggers import CronTriggerConfig
from ambient.rules.schedule import cron_triggers, next_fire_time


@pytest.mark.parametrize("day_of_month", ["1/2", "1-31/2", "*/2"])
def test_a_start_with_a_step_in_the_day_of_month_runs_to_the_months_end(
    day_of_month: str,
) -> None:
    """`1/2` is APScheduler's (cron itself refuses a start without an end): from the 1st every
    2nd day to the month's end, as `1-31/2` and `*/2`; the count starts again each month, so
    the 31st and the next 1st both fire."""
    zone = ZoneInfo("Europe/Berlin")
    config = CronTriggerConfig(trigger="cron", cron=f"0 9 {day_of_month} * *")
    (trigger,) = cron_triggers(config, zone)
    after = datetime(2026, 1, 26, tzinfo=zone).timestamp()

    days = []
    for _ in range(6):
        fire = next_fire_time(trigger, zone, after)
        assert fire is not None
        days.append(datetime.fromtimestamp(fire, zone).strftime("%b %d %H:%M"))
        after = fire

    assert days == [
        f"{d} 09:00" for d in ("Jan 27", "Jan 29", "Jan 31", "Feb 01", "Feb 03", "Feb 05")
    ]
    assert why_never_fires(config.cron) is None
