"""Time and cron fire times that pass while ambient is not running: the rules engine with its
store on disk, stopped (or killed: only what was written survives) and started again on a
virtual clock. A missed fire time fires once, late, if it is at most `catch_up` ago, and says
so; older ones are skipped and traced; one handled before the stop never fires again; several
missed ones fire once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rules.rule_doubles import Harness, log, make_config

from ambient.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
CAUGHT_UP = "caught up"


def _at(hour: int, minute: int, second: int = 0, day: tuple[int, int] = (12, 4)) -> float:
    """Unix seconds of a local time in Berlin (on Friday 4 December 2026 unless told)."""
    month, dom = day
    return datetime(2026, month, dom, hour, minute, second, tzinfo=BERLIN).timestamp()


def _bedtime(**trigger: Any) -> dict[str, Any]:
    """Dim the bedroom at 22:30."""
    return {
        "id": "bedtime",
        "triggers": [{"trigger": "time", "at": "22:30", **trigger}],
        "actions": [log("dim")],
    }


async def _started(path: Path, rules: list[dict[str, Any]], at: float, **extra: Any) -> Harness:
    h = await Harness(make_config(rules, **extra), store=Store(path), start=at).start()
    await h.clock.run_until(at)  # what the start set going (a late firing's run) gets its turn
    return h


async def _down(h: Harness, at: float, how: str) -> None:
    """Run to ``at``, then stop cleanly (``stop``) or be killed (``kill``: no stop runs)."""
    await h.clock.run_until(at)
    if how == "stop":
        await h.engine.stop()
    h.store.close()


def _decisions(h: Harness) -> list[tuple[str, str, str]]:
    """(local time, event, reason) of every trace."""
    return [
        (datetime.fromtimestamp(t.time, BERLIN).strftime("%H:%M:%S"), t.event, t.reason)
        for t in h.traces
    ]


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_a_fire_time_missed_by_a_restart_fires_once_late_and_says_so(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime()], _at(22, 0))
    await _down(h, _at(22, 29, 58), how)
    h = await _started(path, [_bedtime()], _at(22, 30, 5))  # RestartSec 5 s, and the start
    await h.clock.run_until(_at(22, 45))
    assert _decisions(h) == [
        (
            "22:30:05",
            "fired",
            "time 22:30, caught up 5.0 s late (missed while ambient was not running)",
        )
    ]
    assert h.performer.messages() == ["dim"]
    assert h.counters.get("rules", "catch_up_fired") == 1
    await h.clock.run_until(_at(22, 30, day=(12, 5)))
    assert _decisions(h)[1:] == [("22:30:00", "fired", "time 22:30")]  # next day, on time


async def test_a_fire_time_missed_longer_ago_than_catch_up_is_skipped_and_traced(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime()], _at(22, 0))
    await _down(h, _at(22, 29), "stop")
    h = await _started(path, [_bedtime()], _at(22, 36))
    assert _decisions(h) == [
        (
            "22:36:00",
            "suppressed",
            "time 22:30 missed while ambient was not running: due 6min ago, catch_up 5min; skipped",
        )
    ]
    assert h.performer.performed == []
    assert h.counters.get("rules", "catch_up_skipped") == 1
    await _down(h, _at(22, 37), "stop")
    h = await _started(path, [_bedtime()], _at(22, 38))
    assert _decisions(h) == []  # skipped is handled: not traced again


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_a_fire_time_handled_before_the_stop_does_not_fire_again(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime()], _at(22, 0))
    await _down(h, _at(22, 30, 1), how)  # fired at 22:30, written 20 ms later
    assert _decisions(h) == [("22:30:00", "fired", "time 22:30")]
    h = await _started(path, [_bedtime()], _at(22, 30, 4))
    await h.clock.run_until(_at(23, 0))
    assert _decisions(h) == [] and h.performer.performed == []


async def test_a_fire_time_suppressed_before_the_stop_is_handled_too(tmp_path: Path) -> None:
    rule = _bedtime()
    rule["conditions"] = [{"condition": "time", "after": "23:00"}]
    path = tmp_path / "ambient.db"
    h = await _started(path, [rule], _at(22, 0))
    await _down(h, _at(22, 30, 1), "kill")
    assert [event for _, event, _ in _decisions(h)] == ["suppressed"]
    h = await _started(path, [rule], _at(22, 30, 4))
    assert _decisions(h) == []


async def test_several_missed_fire_times_fire_once(tmp_path: Path) -> None:
    rule = {
        "id": "minutely",
        "triggers": [{"trigger": "cron", "cron": "* * * * *", "catch_up": "2min"}],
        "actions": [log("tick")],
    }
    path = tmp_path / "ambient.db"
    h = await _started(path, [rule], _at(22, 26))
    await _down(h, _at(22, 26, 30), "stop")
    h = await _started(path, [rule], _at(22, 30, 10))
    await h.clock.run_until(_at(22, 31))
    assert _decisions(h) == [
        (
            "22:30:10",
            "fired",
            "cron `* * * * *` at 22:30, caught up 10.0 s late (missed while ambient was not "
            "running; 2 missed fire times, fired once; older ones past catch_up 2min skipped)",
        ),
        ("22:31:00", "fired", "cron `* * * * *` at 22:31"),
    ]
    assert h.performer.messages() == ["tick", "tick"]


async def test_a_catch_up_with_a_part_of_a_second_is_said_as_written(tmp_path: Path) -> None:
    """`catch_up: 2.5s` was said as `catch_up 2s`, a limit the config does not hold."""
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime(catch_up="2.5s")], _at(22, 0))
    await _down(h, _at(22, 29, 58), "kill")
    h = await _started(path, [_bedtime(catch_up="2.5s")], _at(22, 30, 5))
    assert [reason for _, _, reason in _decisions(h)] == [
        "time 22:30 missed while ambient was not running: due 5.0 s ago, catch_up 2.5s; skipped"
    ]


async def test_catch_up_0_turns_it_off(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime(catch_up=0)], _at(22, 0))
    await _down(h, _at(22, 29, 58), "kill")
    h = await _started(path, [_bedtime(catch_up=0)], _at(22, 30, 5))
    assert _decisions(h) == [
        (
            "22:30:05",
            "suppressed",
            "time 22:30 missed while ambient was not running: due 5.0 s ago, catch_up 0 (off); "
            "skipped",
        )
    ]
    assert h.performer.performed == []


@pytest.mark.parametrize("store", ["on disk, new", "in memory, as simulate"])
async def test_without_a_record_nothing_was_missed(tmp_path: Path, store: str) -> None:
    """A new store, a new schedule or `simulate`: ambient was not running it before."""
    path = tmp_path / "ambient.db" if store.startswith("on disk") else None
    h = Harness(make_config([_bedtime()]), store=Store(path), start=_at(22, 30, 5))
    await h.start()
    await h.clock.run_until(_at(23, 0))
    assert _decisions(h) == []


async def test_an_edited_rule_with_the_same_schedule_still_catches_up(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime()], _at(22, 0))
    await _down(h, _at(22, 29, 58), "stop")
    edited = _bedtime()
    edited["actions"] = [log("dim to 20 %")]
    h = await _started(path, [edited], _at(22, 30, 5))
    assert [event for _, event, _ in _decisions(h)] == ["fired"]
    assert h.performer.messages() == ["dim to 20 %"]


async def test_a_schedule_edited_away_and_back_missed_nothing_meanwhile(tmp_path: Path) -> None:
    """While the rule ran at 23:00 its 22:30 did not exist: editing it back catches up
    nothing (the record of a schedule the rule no longer has goes with it)."""
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime()], _at(22, 0))
    await _down(h, _at(22, 40), "stop")
    h = await _started(path, [_bedtime(at="23:00")], _at(22, 41))
    await _down(h, _at(22, 32, day=(12, 5)), "stop")  # running all day, a reload at 22:32
    h = await _started(path, [_bedtime()], _at(22, 32, 1, day=(12, 5)))
    assert _decisions(h) == []


async def test_a_time_condition_reads_the_time_of_the_late_firing(tmp_path: Path) -> None:
    """The actions happen now, so the conditions are checked now, as for any firing."""
    rule = _bedtime()
    rule["conditions"] = [{"condition": "time", "before": "22:31"}]
    path = tmp_path / "ambient.db"
    h = await _started(path, [rule], _at(22, 0))
    await _down(h, _at(22, 29, 58), "stop")
    h = await _started(path, [rule], _at(22, 31, 2))
    assert _decisions(h) == [("22:31:02", "suppressed", "condition time (before 22:31) false")]
    assert h.performer.performed == []


async def test_a_late_firing_waits_for_the_entity_state_its_condition_reads(
    tmp_path: Path,
) -> None:
    """Right after a start Home Assistant has sent no state yet: the catch-up waits for it
    (within signals.stale_after of the start) instead of reading it as false."""
    rule = _bedtime()
    rule["conditions"] = [
        {"condition": "state", "entity_id": "input_boolean.bedtime", "state": "on"}
    ]
    path = tmp_path / "ambient.db"
    extra = {"homeassistant": {"token": "t"}}
    h = await _started(path, [rule], _at(22, 0), **extra)
    await _down(h, _at(22, 29, 58), "stop")
    h = await _started(path, [rule], _at(22, 30, 5), **extra)
    await h.clock.run_until(_at(22, 30, 7))
    assert _decisions(h) == []
    await h.event(_at(22, 30, 7) - h.t0, "ha_state", "input_boolean.bedtime", state="on")
    assert _decisions(h) == [
        (
            "22:30:07",
            "fired",
            "time 22:30, caught up 7.0 s late (missed while ambient was not running)",
        )
    ]
    assert h.performer.messages() == ["dim"]


async def test_a_missed_wall_time_in_the_spring_forward_gap_does_not_exist(
    tmp_path: Path,
) -> None:
    rule = _bedtime(at="02:30", catch_up="2h")
    path = tmp_path / "ambient.db"
    h = await _started(path, [rule], _at(1, 0, day=(3, 29)))
    await _down(h, _at(1, 59, day=(3, 29)), "stop")
    h = await _started(path, [rule], _at(3, 1, day=(3, 29)))
    assert _decisions(h) == []


async def test_both_fall_back_occurrences_missed_fire_once(tmp_path: Path) -> None:
    rule = _bedtime(at="02:30", catch_up="2h")
    path = tmp_path / "ambient.db"
    first_0220 = datetime(2026, 10, 25, 2, 20, tzinfo=BERLIN, fold=0).timestamp()
    second_0231 = datetime(2026, 10, 25, 2, 31, tzinfo=BERLIN, fold=1).timestamp()
    h = await _started(path, [rule], first_0220 - 60)
    await _down(h, first_0220, "stop")
    h = await _started(path, [rule], second_0231)
    assert _decisions(h) == [
        (
            "02:31:00",
            "fired",
            "time 02:30, caught up 1min late (missed while ambient was not running; "
            "2 missed fire times, fired once)",
        )
    ]


async def test_a_long_outage_fires_the_newest_fire_time_within_a_long_catch_up(
    tmp_path: Path,
) -> None:
    rule = {
        "id": "minutely",
        "triggers": [{"trigger": "cron", "cron": "* * * * *", "catch_up": "1d"}],
        "actions": [log("tick")],
    }
    path = tmp_path / "ambient.db"
    h = await _started(path, [rule], _at(22, 0, day=(12, 2)))
    await _down(h, _at(22, 0, 30, day=(12, 2)), "stop")
    h = await _started(path, [rule], _at(22, 30, 10))  # two days later
    assert _decisions(h) == [
        (
            "22:30:10",
            "fired",
            "cron `* * * * *` at 22:30, caught up 10.0 s late (missed while ambient was not "
            "running; 1000 or more missed fire times, fired once; older ones past catch_up 24h "
            "skipped)",
        )
    ]


async def test_a_late_firing_waits_for_the_signal_its_condition_reads(tmp_path: Path) -> None:
    rule = _bedtime()
    rule["person"] = "alex"
    rule["conditions"] = [{"condition": "signal", "signal": "hr", "below": 100}]
    path = tmp_path / "ambient.db"
    h = await _started(path, [rule], _at(22, 0))
    await _down(h, _at(22, 29, 58), "stop")
    h = await _started(path, [rule], _at(22, 30, 5))
    assert _decisions(h) == []  # hr is unknown only because ambient has just started
    await h.push(_at(22, 30, 8) - h.t0, hr=72.0)
    assert _decisions(h) == [
        (
            "22:30:08",
            "fired",
            "time 22:30, caught up 8.0 s late (missed while ambient was not running)",
        )
    ]


async def test_the_fire_time_handled_is_kept_with_the_rule_state(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await _started(path, [_bedtime()], _at(22, 0))
    await _down(h, _at(22, 30, 1), "kill")
    store = Store(path)
    record = store.get("rules", "bedtime")
    store.close()
    assert isinstance(record, dict)
    assert record["fire_times"] == {"time 22:30": _at(22, 30)}
    assert record["persons"][""]["last_fired"] == _at(22, 30)  # the firing's state, with it
