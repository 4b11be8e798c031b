"""Cooldowns, escalation levels, `for` windows and delays when the wall clock is stepped under
them, as NTP does on a Raspberry Pi: they are durations, so they last as long as they say
(elapsed time) whatever the clock does, live and across a restart; the trace says when they end
on the clock as it reads now, with the day when that is not today. A test cannot step the
system's clock, so VirtualClock.step stands in for NTP: it moves `now` and keeps the timers'
remaining delays, as the loop's monotonic timers do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.rule_doubles import Harness, log, make_config, stress_rule

from ambient.store import Store

HOUR_S = 3600.0
DAY_S = 86400.0
# T0 is 16:13:20 in Europe/Berlin; the stress rule fires 2 min later, at 16:15:20.
FIRED_S = 120.0


def _escalating_rule() -> dict[str, Any]:
    return stress_rule(
        escalate=[
            {"after": "10min", "actions": [log("tell Alex")]},
            {"after": "30min", "actions": [log("tell Sam")]},
        ]
    )


async def test_a_forward_step_brings_no_escalation_level_on_early() -> None:
    h = await Harness(make_config([_escalating_rule()])).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    h.clock.step(HOUR_S)  # NTP: the clock was an hour behind
    await h.clock.run_until(h.t0 + HOUR_S + FIRED_S + 600)
    assert h.performer.messages() == ["calm", "tell Alex"]  # 10 min after the firing
    await h.clock.run_until(h.t0 + HOUR_S + FIRED_S + 1799)
    assert h.performer.messages() == ["calm", "tell Alex"]  # not 20 min early
    await h.clock.run_until(h.t0 + HOUR_S + FIRED_S + 1800)
    assert h.performer.messages() == ["calm", "tell Alex", "tell Sam"]
    assert [e[:2] for e in h.events()] == [
        (FIRED_S, "fired"),
        (HOUR_S + FIRED_S + 600, "escalated"),
        (HOUR_S + FIRED_S + 1800, "escalated"),
    ]


async def test_a_step_back_puts_no_escalation_level_off() -> None:
    h = await Harness(make_config([_escalating_rule()])).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    h.clock.step(-DAY_S)
    await h.clock.run_until(h.t0 - DAY_S + FIRED_S + 1800)
    assert h.performer.messages() == ["calm", "tell Alex", "tell Sam"]


async def test_a_step_back_by_a_day_does_not_lengthen_the_cooldown() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=50)
    await h.run_until(400)
    h.step_clock(-DAY_S)
    await h.run_until(600)
    await h.push(600, stress_score=80)
    await h.run_until(720)
    # The cooldown ends 30 min after the firing, 16:45:20 on the clock as it reads now.
    assert h.events()[-1] == (720, "suppressed", "cooldown until 16:45:20")
    await h.push(1900, stress_score=50)
    await h.push(2000, stress_score=80)
    await h.run_until(2120)
    assert h.events()[-1] == (2120, "fired", "stress_score 80 above 70 for 2min")


async def test_a_forward_step_does_not_end_the_cooldown_early() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=50)
    await h.run_until(400)
    h.step_clock(HOUR_S)
    [status] = h.engine.status()  # what `ambient status` shows: the end as the clock reads now
    assert (status["state"], status["cooldown_until"]) == ("cooling_down", h.t0 + FIRED_S + 1800)
    await h.push(600, stress_score=80)
    await h.run_until(720)
    assert h.events()[-1] == (720, "suppressed", "cooldown until 17:45:20")
    await h.push(1900, stress_score=50)
    await h.push(2000, stress_score=80)
    await h.run_until(2120)
    assert h.kinds()[-1] == "fired"


async def test_a_cooldown_ending_on_another_day_says_the_day() -> None:
    h = await Harness(make_config([stress_rule(cooldown="12h")])).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=50)
    await h.push(600, stress_score=80)
    await h.run_until(720)
    # Fired on 21 September 2026 at 16:15:20; the cooldown ends the next morning.
    assert h.events()[-1] == (720, "suppressed", "cooldown until 2026-09-22 04:15:20")


async def test_a_cooldown_stepped_back_then_restarted_ends_on_time(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=50)
    h.step_clock(-DAY_S)
    await h.run_until(400)
    h = await h.restarted(path)  # a reload after the step: what was saved must follow it
    await h.push(600, stress_score=80)
    await h.run_until(720)
    assert h.events()[-1] == (720, "suppressed", "cooldown until 16:45:20")
    await h.push(1900, stress_score=50)
    await h.push(2000, stress_score=80)
    await h.run_until(2120)
    assert h.events()[-1] == (2120, "fired", "stress_score 80 above 70 for 2min")


async def test_escalation_stepped_forward_then_restarted_comes_on_time(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([_escalating_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    h.step_clock(HOUR_S)
    await h.run_until(400)
    h = await h.restarted(path)
    await h.push(500, stress_score=81)
    await h.run_until(FIRED_S + 599)
    assert h.performer.messages() == []  # nothing since the restart: level 1 is not due yet
    await h.run_until(FIRED_S + 600)
    assert h.performer.messages() == ["tell Alex"]
    await h.run_until(FIRED_S + 1799)
    assert h.performer.messages() == ["tell Alex"]
    await h.run_until(FIRED_S + 1800)
    assert h.performer.messages() == ["tell Alex", "tell Sam"]


async def test_a_for_window_stepped_back_then_restarted_ends_on_time(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(30)
    h.step_clock(-DAY_S)
    await h.run_until(60)
    h = await h.restarted(path)
    await h.push(90, stress_score=81)
    await h.run_until(119)
    assert h.kinds() == []
    await h.run_until(120)  # 2 min after the window opened, not a day and 2 min
    assert h.events() == [(120, "fired", "stress_score 81 above 70 for 2min")]


async def test_a_delay_stepped_forward_then_restarted_waits_out_what_was_left(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule(actions=[log("calm"), {"delay": "10min"}, log("again")])
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(200)
    h.step_clock(HOUR_S)
    await h.run_until(300)
    h = await h.restarted(path)
    await h.run_until(FIRED_S + 599)
    assert h.performer.messages() == []  # not at once: 7 min of the delay are left
    await h.run_until(FIRED_S + 600)
    assert h.performer.messages() == ["again"]
