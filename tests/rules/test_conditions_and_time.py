"""Conditions (time crossing midnight, state, signal, trigger id, and/or/not) and scheduled
triggers (time, cron) on virtual time, across DST changes in Europe/Berlin."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from rules.rule_doubles import Harness, log, make_config

from ambient.rules.schedule import next_fire_time
from ambient.rules.timeofday import in_window

BERLIN = ZoneInfo("Europe/Berlin")


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).timestamp()


def _local(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, BERLIN).strftime("%m-%d %H:%M%z")


def test_time_window_crossing_midnight() -> None:
    after, before = time(22, 0), time(6, 0)
    assert in_window(time(23, 59), after, before)
    assert in_window(time(0, 0), after, before)
    assert in_window(time(5, 59, 59), after, before)
    assert not in_window(time(6, 0), after, before)
    assert not in_window(time(21, 59), after, before)
    assert in_window(time(22, 0), after, before)
    assert in_window(time(9, 0), time(7, 0), time(23, 0))
    assert not in_window(time(23, 30), time(7, 0), time(23, 0))


def _cron_rule(cron: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "nightly",
        "triggers": [{"trigger": "cron", "cron": cron}],
        "actions": [log("x")],
        **extra,
    }


async def _fire_times(rule: dict[str, Any], start: float, end: float) -> list[str]:
    h = Harness(make_config([rule]), start=start)
    await h.start()
    await h.clock.run_until(end)
    return [_local(t.time) for t in h.traces if t.event == "fired"]


async def test_daily_cron_skips_the_spring_forward_gap_like_ha() -> None:
    fired = await _fire_times(_cron_rule("30 2 * * *"), _at(2026, 3, 28, 12), _at(2026, 3, 31, 12))
    # 02:30 does not exist on 29 March 2026: no firing that day (APScheduler alone: 03:30).
    assert fired == ["03-30 02:30+0200", "03-31 02:30+0200"]


async def test_daily_cron_fires_at_both_occurrences_when_falling_back() -> None:
    fired = await _fire_times(
        _cron_rule("30 2 * * *"), _at(2026, 10, 24, 12), _at(2026, 10, 26, 12)
    )
    assert fired == ["10-25 02:30+0200", "10-25 02:30+0100", "10-26 02:30+0100"]


async def test_half_hourly_cron_across_both_changes() -> None:
    spring = await _fire_times(
        _cron_rule("*/30 1-3 * * *"), _at(2026, 3, 29, 0, 50), _at(2026, 3, 29, 3, 50)
    )
    assert spring == [
        "03-29 01:00+0100",
        "03-29 01:30+0100",
        "03-29 03:00+0200",
        "03-29 03:30+0200",
    ]
    fall = await _fire_times(_cron_rule("0 2 * * *"), _at(2026, 10, 25, 0), _at(2026, 10, 25, 4))
    assert fall == ["10-25 02:00+0200", "10-25 02:00+0100"]


def test_next_fire_time_is_strictly_after() -> None:
    trigger = CronTrigger.from_crontab("0 * * * *", timezone=BERLIN)
    start = _at(2026, 1, 1, 10)
    assert next_fire_time(trigger, BERLIN, start) == start + 3600


async def test_time_trigger_with_weekday_and_conditions_per_person() -> None:
    rule = {
        "id": "evening",
        "triggers": [{"platform": "time", "at": "21:30", "weekday": ["mon", "tue"]}],
        "conditions": [{"condition": "signal", "signal": "stress_score", "above": 50}],
        "actions": [log("wind down")],
    }
    h = Harness(make_config([rule]), start=_at(2026, 11, 22, 12))  # a Sunday
    await h.start()
    await h.push(0, "alex", stress_score=60.0)
    await h.push(1, "sam", stress_score=40.0)
    await h.clock.run_until(_at(2026, 11, 25, 12))
    assert sorted((_local(t.time), str(t.person), t.event) for t in h.traces) == [
        ("11-23 21:30+0100", "alex", "fired"),
        ("11-23 21:30+0100", "sam", "suppressed"),
        ("11-24 21:30+0100", "alex", "fired"),
        ("11-24 21:30+0100", "sam", "suppressed"),
    ]
    reasons = {(str(t.person), t.reason) for t in h.traces}
    assert reasons == {
        ("alex", "time 21:30"),
        ("sam", "condition signal stress_score above 50 false"),
    }


async def test_time_condition_crossing_midnight_in_a_rule() -> None:
    rule = {
        "id": "night",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "conditions": [{"condition": "time", "after": "22:00", "before": "06:00"}],
        "actions": [log("x")],
    }
    h = await Harness(make_config([rule]), start=_at(2026, 11, 24, 21, 0)).start()
    for hours, expected in (
        (0.5, "suppressed"),
        (2.5, "fired"),
        (4.0, "fired"),
        (9.5, "suppressed"),
    ):
        await h.push(hours * 3600, hr=50.0)
        await h.push(hours * 3600 + 1, hr=120.0)
        decision = [t for t in h.traces if t.event != "recovered"][-1]
        assert (_local(decision.time)[6:11], decision.event) == (
            _local(h.t0 + hours * 3600 + 1)[6:11],
            expected,
        )
    assert h.traces[-1].reason == "condition time (after 22:00, before 06:00) false"


async def test_nested_conditions_and_trigger_ids() -> None:
    rule = {
        "id": "nested",
        "person": "alex",
        "mode": "parallel",
        "triggers": [
            {"trigger": "signal", "signal": "hr", "above": 100, "id": "hr_high"},
            {"trigger": "signal", "signal": "stress_score", "above": 70, "id": "stressed"},
        ],
        "conditions": [
            {
                "condition": "or",
                "conditions": [
                    {"condition": "trigger", "id": "stressed"},
                    {
                        "condition": "and",
                        "conditions": [
                            {"condition": "signal", "signal": "activity_state", "state": "rest"},
                            {
                                "condition": "not",
                                "conditions": [
                                    {
                                        "condition": "state",
                                        "entity_id": "person.alex",
                                        "state": "not_home",
                                    }
                                ],
                            },
                        ],
                    },
                ],
            }
        ],
        "actions": [log("x")],
    }
    h = await Harness(make_config([rule], homeassistant={"token": "t"})).start()
    await h.event(0, "ha_state", "person.alex", state="home")
    await h.push(0, hr=120.0, activity_state="active")
    await h.push(10, stress_score=80.0)
    await h.push(20, hr=50.0, activity_state="rest")
    await h.push(30, hr=120.0)
    await h.event(40, "ha_state", "person.alex", state="not_home")
    await h.push(50, hr=50.0)
    await h.push(60, hr=120.0)
    decisions = [(t.trigger, t.event) for t in h.traces if t.event != "recovered"]
    assert decisions == [
        ("hr_high", "suppressed"),
        ("stressed", "fired"),
        ("hr_high", "fired"),
        ("hr_high", "suppressed"),
    ]


async def test_time_condition_with_equal_ends_holds_all_day_as_in_ha() -> None:
    """HA reads `after` not earlier than `before` as a window wrapping midnight, so equal ends
    (and a lone `before: "00:00"`, `after` being midnight) hold the whole day, never no time."""
    rule = {
        "id": "all_day",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "conditions": [
            {"condition": "time", "after": "07:00", "before": "07:00"},
            {"condition": "time", "before": "00:00"},
        ],
        "actions": [log("x")],
    }
    h = await Harness(make_config([rule]), start=_at(2026, 11, 24, 6, 0)).start()
    for minutes in (0, 59, 60, 61, 18 * 60):
        await h.push(minutes * 60, hr=50.0)
        await h.push(minutes * 60 + 1, hr=120.0)
    assert [t.event for t in h.traces if t.event != "recovered"] == ["fired"] * 5


async def _past_the_grace_period(h: Harness) -> Harness:
    """Times from ``signals.stale_after`` after the start on: a value never seen is unknown
    then, not one that has not arrived yet (a firing before waits for it)."""
    await h.run_until(20)
    h.t0 += 20
    return h


async def test_an_unknown_value_satisfies_no_condition_not_even_under_not() -> None:
    """As in HA, where a test of an unavailable value is an error that `not` and `or` pass on:
    `not (activity_state is active)` does not hold while activity_state is unknown (the strap
    is off), or the rule would act on nothing known. `or` holds when another part does."""
    rule = {
        "id": "calm",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "conditions": [
            {
                "condition": "not",
                "conditions": [
                    {"condition": "signal", "signal": "activity_state", "state": "active"}
                ],
            },
            {
                "condition": "or",
                "conditions": [
                    {"condition": "signal", "signal": "quality", "above": 0.5},
                    {"condition": "trigger", "id": "none"},
                    {"condition": "time", "after": "00:00"},
                ],
            },
        ],
        "actions": [log("x")],
    }
    h = await _past_the_grace_period(await Harness(make_config([rule])).start())
    await h.push(0, hr=120.0)  # activity_state never seen
    await h.push(10, hr=50.0, activity_state=None)  # seen, unknown (stale)
    await h.push(20, hr=120.0)
    await h.push(30, hr=50.0, activity_state="rest")
    await h.push(40, hr=120.0)
    decisions = [(t.time - h.t0, t.event, t.reason) for t in h.traces if t.event != "recovered"]
    assert decisions == [
        (0, "suppressed", "condition not (signal activity_state is active) false"),
        (20, "suppressed", "condition not (signal activity_state is active) false"),
        (40, "fired", "hr 120 above 100"),
    ]


async def test_another_persons_unknown_value_satisfies_no_condition_as_ones_own() -> None:
    """A condition naming its person reads theirs, and their unknown is as the rule's own
    person's: `not (sam is stressed)` does not hold while Sam's strap is off or stale."""
    rule = {
        "id": "calm",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "conditions": [
            {
                "condition": "not",
                "conditions": [
                    {"condition": "signal", "signal": "stress_score", "above": 70, "person": "sam"}
                ],
            }
        ],
        "actions": [log("x")],
    }
    h = await _past_the_grace_period(await Harness(make_config([rule])).start())
    await h.push(0, hr=120.0)  # Sam's score never seen
    await h.push(10, hr=50.0)
    await h.push(15, "sam", stress_score=None)  # seen, unknown (stale)
    await h.push(20, hr=120.0)
    await h.push(30, hr=50.0)
    await h.push(35, "sam", stress_score=80.0)  # Sam is stressed
    await h.push(40, hr=120.0)
    await h.push(50, hr=50.0)
    await h.push(55, "sam", stress_score=20.0)
    await h.push(60, hr=120.0)
    decisions = [(t.time - h.t0, t.event, t.reason) for t in h.traces if t.event != "recovered"]
    held = "condition not (signal stress_score of sam above 70) false"
    assert decisions == [
        (0, "suppressed", held),
        (20, "suppressed", held),
        (40, "suppressed", held),
        (60, "fired", "hr 120 above 100"),
    ]


async def test_a_true_or_false_signal_is_on_or_off_in_a_condition_as_in_a_state_trigger() -> None:
    """`contact` is true or false; a state trigger reads it as `on` / `off` (YAML's `on` is a
    boolean, HA's states are text), and a signal condition reads it the same way."""
    rule = {
        "id": "worn",
        "person": "alex",
        "mode": "parallel",
        "triggers": [
            {"trigger": "signal", "signal": "hr", "above": 100, "id": "fast"},
            {"trigger": "state", "signal": "contact", "to": True, "id": "put_on"},
        ],
        "conditions": [{"condition": "signal", "signal": "contact", "state": True}],
        "actions": [log("x")],
    }
    h = await Harness(make_config([rule])).start()
    await h.push(0, contact=False)
    await h.push(10, contact=True)
    await h.push(20, hr=120.0)
    await h.push(30, hr=50.0, contact=False)
    await h.push(40, hr=120.0)
    decisions = [(t.trigger, t.event) for t in h.traces if t.event != "recovered"]
    assert decisions == [("put_on", "fired"), ("fast", "fired"), ("fast", "suppressed")]


async def test_new_york_skips_its_spring_gap_and_repeats_its_fall_back_hour() -> None:
    new_york = ZoneInfo("America/New_York")

    def at(month: int, day: int, hour: int) -> float:
        return datetime(2026, month, day, hour, tzinfo=new_york).timestamp()

    async def fired(at_text: str, start: float, end: float) -> list[str]:
        rule = {"id": "r", "triggers": [{"trigger": "time", "at": at_text}], "actions": [log("x")]}
        h = Harness(make_config([rule], timezone="America/New_York"), start=start)
        await h.start()
        await h.clock.run_until(end)
        return [
            datetime.fromtimestamp(t.time, new_york).strftime("%m-%d %H:%M%z") for t in h.traces
        ]

    assert await fired("02:30", at(3, 7, 12), at(3, 9, 12)) == ["03-09 02:30-0400"]
    assert await fired("01:30", at(10, 31, 12), at(11, 1, 12)) == [
        "11-01 01:30-0400",
        "11-01 01:30-0500",
    ]
