"""The start of a time or cron trigger leaves no gap: a fire time that falls while the start is
still working out what was missed (the clock moves on meanwhile, on a slow Raspberry Pi for
tens of milliseconds) is either caught up or fired on time, never neither."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rules.rule_doubles import log, make_config

from ambient.clock import VirtualClock
from ambient.rules.firing import Firing
from ambient.rules.resume import ResumeGrace
from ambient.rules.rule import Rule, build_rule
from ambient.rules.scheduled_triggers import ScheduledTriggers

BERLIN = ZoneInfo("Europe/Berlin")


def _at(hour: int, minute: int, second: float = 0) -> float:
    whole = int(second)
    moment = datetime(2026, 12, 4, hour, minute, whole, tzinfo=BERLIN)
    return moment.timestamp() + (second - whole)


class _MovingClock(VirtualClock):
    """A virtual clock on which each reading takes a second: time passes as the start works."""

    def now(self) -> float:
        read = super().now()
        self.advance_to(read + 1.0)
        return read


async def test_a_fire_time_passing_while_the_start_works_fires() -> None:
    config = make_config(
        [
            {
                "id": "bedtime",
                "triggers": [{"trigger": "time", "at": "22:30"}],
                "actions": [log("dim")],
            }
        ]
    )
    rule = build_rule(config.rules[0])
    rule.fire_times = {"time 22:30": _at(22, 29, 58)}  # handled up to the stop
    clock = _MovingClock(_at(22, 29, 59.5))
    fired: list[float] = []

    def fire_for_scope(rule: Rule, firing: Firing, now: float) -> None:
        fired.append(now)

    async def inputs_known(*args: object) -> None:
        return None

    scheduled = ScheduledTriggers(
        clock,
        BERLIN,
        lambda rule: ["alex"],
        fire_for_scope,
        lambda *args, **kwargs: None,
        lambda rule: None,
        ResumeGrace(clock, 60.0),
        inputs_known,
    )
    scheduled.start(rule)
    clock.advance_to(_at(22, 31))
    assert fired != [] and rule.fire_times["time 22:30"] == _at(22, 30)
