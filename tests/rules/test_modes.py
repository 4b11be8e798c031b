"""Modes as HA defines them, per rule and person: single, restart, queued and parallel with max."""

from __future__ import annotations

from typing import Any

from rules.rule_doubles import Harness, log, make_config


def _rule(mode: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "pulse",
        "person": "alex",
        "mode": mode,
        "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70}],
        "actions": [log("start"), {"delay": "10min"}, log("end")],
        **extra,
    }


def _decisions(h: Harness) -> list[tuple[str, str]]:
    """Fired / suppressed traces (each firing here also recovers 30 s later, and its run's
    actions after the delay are traced as `continued`)."""
    decided = ("fired", "suppressed")
    return [(event, reason) for _, event, reason in h.events() if event in decided]


async def _fire_three_times(h: Harness) -> None:
    for at in (0, 60, 120):
        await h.push(at, stress_score=80)
        await h.push(at + 30, stress_score=10)


async def test_single_suppresses_while_running() -> None:
    h = await Harness(make_config([_rule("single")])).start()
    await _fire_three_times(h)
    await h.run_until(2000)
    assert _decisions(h) == [
        ("fired", "stress_score 80 above 70"),
        ("suppressed", "mode single: already running"),
        ("suppressed", "mode single: already running"),
    ]
    assert h.performer.messages() == ["start", "end"]


async def test_restart_cancels_the_running_sequence() -> None:
    h = await Harness(make_config([_rule("restart")])).start()
    await _fire_three_times(h)
    await h.run_until(2000)
    assert [event for event, _ in _decisions(h)] == ["fired", "fired", "fired"]
    assert h.performer.messages() == ["start", "start", "start", "end"]


async def test_queued_runs_one_after_another_up_to_max() -> None:
    h = await Harness(make_config([_rule("queued", max=2)])).start()
    await _fire_three_times(h)
    assert _decisions(h) == [
        ("fired", "stress_score 80 above 70"),
        ("fired", "stress_score 80 above 70 (queued)"),
        ("suppressed", "mode queued: 2 runs already running or queued"),
    ]
    await h.run_until(599)
    assert h.performer.messages() == ["start"]
    await h.run_until(600)
    assert h.performer.messages() == ["start", "end", "start"]
    await h.run_until(1200)
    assert h.performer.messages() == ["start", "end", "start", "end"]


async def test_parallel_runs_at_once_up_to_max() -> None:
    h = await Harness(make_config([_rule("parallel", max=2)])).start()
    await _fire_three_times(h)
    assert [event for event, _ in _decisions(h)] == ["fired", "fired", "suppressed"]
    assert _decisions(h)[-1][1] == "mode parallel: 2 runs already running"
    await h.run_until(700)
    assert h.performer.messages() == ["start", "start", "end", "end"]


async def test_status_shows_running_and_cooling_down() -> None:
    h = await Harness(make_config([_rule("single", cooldown="1h")])).start()
    assert h.engine.status()[0]["state"] == "armed"
    await h.push(0, stress_score=80)
    row = h.engine.status()[0]
    assert (row["id"], row["person"], row["state"]) == ("pulse", "alex", "running")
    await h.run_until(700)
    row = h.engine.status()[0]
    assert row["state"] == "cooling_down"
    assert row["cooldown_until"] == h.clock.now() - 700 + 3600
