"""Time and cron triggers when the wall clock is stepped under them, as on a Raspberry Pi: it
has no real-time clock, starts at its last shutdown's time, and NTP steps it forward (by days,
after a holiday) or, rarely, back. Timers keep their remaining delays (they run on monotonic
time); the schedules read the wall clock at least once a minute, so they follow it. Fire times
a forward step jumps over are missed, as in a restart: the newest fires once, late, if it is at
most `catch_up` ago, the others are skipped and traced, never fired in a burst."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rules.rule_doubles import Harness, log, make_config

from ambient.clock import VirtualClock
from ambient.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
DAY_S = 86400.0


def _at(hour: int, minute: int, second: int = 0, day: int = 4) -> float:
    """Unix seconds of a local time in Berlin, in December 2026 (the 4th unless told)."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=BERLIN).timestamp()


def _rule(trigger: dict[str, Any]) -> dict[str, Any]:
    return {"id": "bedtime", "triggers": [trigger], "actions": [log("dim")]}


async def _started(trigger: dict[str, Any], at: float, store: Store | None = None) -> Harness:
    """The engine on a clock that steps as a live one does (schedules read it every minute)."""
    clock = VirtualClock(at, wall_check_s=60.0)
    config = make_config([_rule(trigger)])
    h = await Harness(config, store=store, start=at, clock=clock).start()
    await h.clock.run_until(at)
    return h


def _decisions(h: Harness) -> list[tuple[str, str, str]]:
    """(local day and time, event, reason) of every trace."""
    return [
        (datetime.fromtimestamp(t.time, BERLIN).strftime("%d %H:%M:%S"), t.event, t.reason)
        for t in h.traces
    ]


async def test_a_forward_step_of_three_days_fires_no_burst_of_missed_fire_times() -> None:
    # Booted at the last shutdown's time, 10:00 on the 4th; NTP steps to the 7th, 22:28:30.
    h = await _started({"trigger": "time", "at": "22:30"}, _at(10, 0))
    await h.clock.run_until(_at(10, 1))
    h.clock.step(_at(22, 28, 30, day=7) - _at(10, 1))
    await h.clock.run_until(_at(22, 29, 59, day=7))
    assert h.performer.messages() == []
    assert [event for _, event, _ in _decisions(h)] == ["suppressed"]
    await h.clock.run_until(_at(22, 31, day=7))
    assert h.performer.messages() == ["dim"]  # today's 22:30, on time
    assert _decisions(h)[-1] == ("07 22:30:00", "fired", "time 22:30")


async def test_fire_times_a_forward_step_jumped_over_are_skipped_and_traced() -> None:
    h = await _started({"trigger": "time", "at": "22:30"}, _at(10, 0))
    h.clock.step(_at(23, 0, day=7) - _at(10, 0))
    await h.clock.run_until(_at(23, 2, day=7))
    assert _decisions(h) == [  # seen within the minute
        (
            "07 23:01:00",
            "suppressed",
            "time 22:30 missed in a step of the clock: due 31min ago, catch_up 5min; skipped",
        )
    ]
    assert h.counters.get("rules", "catch_up_skipped") == 1


async def test_a_fire_time_a_short_forward_step_jumped_over_fires_once_late() -> None:
    h = await _started({"trigger": "cron", "cron": "*/5 * * * *"}, _at(22, 0, 30))
    h.clock.step(_at(22, 13) - _at(22, 0, 30))  # over 22:05 and 22:10; seen at 22:14
    await h.clock.run_until(_at(22, 14, 30))
    assert _decisions(h) == [
        (
            "04 22:14:00",
            "fired",
            "cron `*/5 * * * *` at 22:10, caught up 4min late (missed in a step of the clock; "
            "older ones past catch_up 5min skipped)",
        )
    ]
    await h.clock.run_until(_at(22, 15, 30))
    assert h.performer.messages() == ["dim", "dim"]  # and 22:15 on time


async def test_a_step_back_does_not_fire_a_fire_time_again() -> None:
    h = await _started({"trigger": "time", "at": "22:30"}, _at(22, 0))
    await h.clock.run_until(_at(23, 0))
    h.clock.step(-3600.0)  # NTP finds the clock an hour ahead: 22:00 again
    await h.clock.run_until(_at(22, 31, day=5))
    assert [when for when, _, _ in _decisions(h)] == ["04 22:30:00", "05 22:30:00"]


async def test_after_a_step_back_the_schedule_fires_at_the_wall_time_not_early() -> None:
    h = await _started({"trigger": "time", "at": "22:30"}, _at(22, 0))
    await h.clock.run_until(_at(22, 10))
    h.clock.step(-3600.0)  # 21:10: its timer has 20 minutes to run, the wall clock 80
    await h.clock.run_until(_at(22, 29, 59))
    assert _decisions(h) == []
    await h.clock.run_until(_at(22, 31))
    assert _decisions(h) == [("04 22:30:00", "fired", "time 22:30")]


async def test_a_fire_time_handled_before_a_power_cut_does_not_fire_again_after_the_boot(
    tmp_path: Path,
) -> None:
    """The clock at the boot is behind the newest fire time handled (fake-hwclock restores the
    time it saved at most an hour before the power cut); NTP steps it within a minute."""
    path = tmp_path / "ambient.db"
    h = await _started({"trigger": "time", "at": "22:30"}, _at(22, 0), Store(path))
    await h.clock.run_until(_at(22, 31))
    assert h.performer.messages() == ["dim"]
    h.store.close()  # the power cut: no stop
    h = await _started({"trigger": "time", "at": "22:30"}, _at(22, 17), Store(path))
    await h.clock.run_until(_at(22, 17, 10))
    h.clock.step(_at(22, 31, 40) - _at(22, 17, 10))
    await h.clock.run_until(_at(22, 29, day=5))
    assert _decisions(h) == []
    assert h.performer.messages() == []


async def test_booted_in_1970_the_schedule_waits_for_ntp_and_fires_on_the_real_day(
    tmp_path: Path,
) -> None:
    """No saved time at all: the clock starts at the epoch, and NTP steps it by 56 years."""
    path = tmp_path / "ambient.db"
    h = await _started({"trigger": "time", "at": "22:30"}, _at(22, 0), Store(path))
    await h.clock.run_until(_at(22, 31))
    await h.engine.stop()
    h.store.close()
    h = await _started({"trigger": "time", "at": "22:30"}, 12.0, Store(path))
    await h.clock.run_until(40.0)
    h.clock.step(_at(22, 0, day=5) - 40.0)
    await h.clock.run_until(_at(22, 31, day=5))
    assert h.performer.messages() == ["dim"]
    assert _decisions(h) == [("05 22:30:00", "fired", "time 22:30")]


async def test_a_trigger_with_several_times_is_caught_up_once_for_a_step() -> None:
    h = await _started({"trigger": "time", "at": ["08:00", "22:30"]}, _at(10, 0))
    h.clock.step(_at(21, 0, day=7) - _at(10, 0))
    await h.clock.run_until(_at(22, 31, day=7))
    assert [(when, event) for when, event, _ in _decisions(h)] == [
        ("07 21:01:00", "suppressed"),
        ("07 22:30:00", "fired"),
    ]


async def test_a_late_firing_after_a_step_that_waits_for_its_signal_says_it_was_a_step() -> None:
    # A step seen within the grace after the start: the late firing waits for the heart rate
    # its condition reads, and then still names the step, not a stop, as what missed it.
    at = _at(22, 9, 55)
    rule = _rule({"trigger": "cron", "cron": "*/5 * * * *"})
    rule["person"] = "alex"
    rule["conditions"] = [{"condition": "signal", "signal": "hr", "below": 100}]
    clock = VirtualClock(at, wall_check_s=1.0)
    h = await Harness(make_config([rule]), start=at, clock=clock).start()
    await h.clock.run_until(at)
    h.clock.step(10.0)  # over 22:10, within the grace (signals.stale_after, 15 s)
    await h.clock.run_until(_at(22, 10, 6))
    assert _decisions(h) == []  # hr is unknown only because ambient has just started
    await h.push(_at(22, 10, 7) - h.t0, hr=72.0)
    assert [reason for _, _, reason in _decisions(h)] == [
        "cron `*/5 * * * *` at 22:10, caught up 7.0 s late (missed in a step of the clock)"
    ]
