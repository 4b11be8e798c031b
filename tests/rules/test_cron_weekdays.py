"""Cron triggers read the day-of-week field as cron does (0 and 7 Sunday, 1 Monday … 6 Saturday),
not as APScheduler 3's own numbering (0 Monday), so `0 9 * * 1-5` fires on weekdays."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from rules.rule_doubles import Harness, log, make_config

from ambient.config.cron import apscheduler_crontab

BERLIN = ZoneInfo("Europe/Berlin")
#: Sunday 2026-01-04, noon: the week that follows runs Monday 5 to Sunday 11 January.
SUNDAY_NOON = datetime(2026, 1, 4, 12, tzinfo=BERLIN).timestamp()


async def _fire_days(cron: str) -> list[str]:
    rule = {"id": "weekly", "triggers": [{"trigger": "cron", "cron": cron}], "actions": [log("x")]}
    h = await Harness(make_config([rule]), start=SUNDAY_NOON).start()
    await h.clock.run_until(SUNDAY_NOON + 7 * 86400)
    return [
        datetime.fromtimestamp(t.time, BERLIN).strftime("%a %H:%M")
        for t in h.traces
        if t.event == "fired"
    ]


@pytest.mark.parametrize(
    ("cron", "days"),
    [
        ("0 9 * * 1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0 9 * * 0", ["Sun"]),
        ("0 9 * * 7", ["Sun"]),
        ("0 9 * * 5-7", ["Fri", "Sat", "Sun"]),
        ("0 9 * * */2", ["Tue", "Thu", "Sat", "Sun"]),
        ("0 9 * * sun-tue", ["Mon", "Tue", "Sun"]),
        ("0 9 * * MON,wed", ["Mon", "Wed"]),
        ("0 9 * * 6,0", ["Sat", "Sun"]),
        ("0 9 * * 1-5/2", ["Mon", "Wed", "Fri"]),
        ("0 9 * * 0-0", ["Sun"]),
        ("0 9 * * sun-sun,3", ["Wed", "Sun"]),
    ],
)
async def test_day_of_week_numbers_are_crons(cron: str, days: list[str]) -> None:
    assert await _fire_days(cron) == [f"{day} 09:00" for day in days]


@pytest.mark.parametrize(
    ("cron", "named"), [("0 9 * * 8", "`8`"), ("0 9 * * fri-mon", "`fri-mon`")]
)
def test_a_day_of_week_cron_does_not_have_is_refused_by_the_config(cron: str, named: str) -> None:
    rule = {"id": "weekly", "triggers": [{"trigger": "cron", "cron": cron}], "actions": [log("x")]}
    with pytest.raises(ValidationError, match=f"invalid cron expression .*day of week {named}"):
        make_config([rule])


def test_other_fields_and_a_star_are_left_as_written() -> None:
    assert apscheduler_crontab("*/15 8-22 * * *") == "*/15 8-22 * * *"
    assert apscheduler_crontab("0 9 1 * 1") == "0 9 1 * mon"
