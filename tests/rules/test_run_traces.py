"""What a run does after its first wait, and a queued run once it starts, is traced: each later
stretch of a run (up to its next wait, or its end) gets a `continued` trace with that stretch's
actions, so the timeline and `ambient trace` show every action a rule performed."""

from __future__ import annotations

from typing import Any, get_args

from rules.rule_doubles import Harness, log, make_config, stress_rule

from ambient.actuators.mqtt_entities import RULE_EVENT_TYPES
from ambient.messages import TraceEvent
from ambient.rules.tracing import TRACE_NAMESPACE


def _continued(h: Harness) -> list[tuple[float, str]]:
    return [(t, reason) for t, event, reason in h.events() if event == "continued"]


def _details(h: Harness) -> list[tuple[str, list[str]]]:
    return [(t.event, [a.detail for a in t.actions]) for t in h.traces]


async def test_the_actions_after_a_delay_are_traced_when_they_are_done() -> None:
    rule = stress_rule(actions=[log("dim"), {"delay": "10min"}, log("again")], on_recovery=[])
    h = await Harness(make_config([rule])).start()
    await h.push(0, stress_score=80)
    await h.run_until(719)
    assert _details(h) == [("fired", ["dim"])]
    await h.run_until(720)
    assert h.events()[-1] == (720, "continued", "after delay 10min (step 2 of 3)")
    assert _details(h)[-1] == ("continued", ["again"])
    assert (h.traces[-1].person, h.traces[-1].trigger) == ("alex", "stressed")
    await h.engine.stop()
    stored = h.store.recent(TRACE_NAMESPACE, "calm", limit=10)  # what `ambient trace` shows
    assert [(t["event"], [a["detail"] for a in t["actions"]]) for t in stored][-1] == (
        "continued",
        ["again"],
    )


async def test_each_later_stretch_is_traced_at_its_wait_and_the_end() -> None:
    wait: dict[str, Any] = {"wait_for": {"signal": "stress_score", "below": 40}, "timeout": "5min"}
    steps = [log("a"), {"delay": "1min"}, log("b"), wait, log("c"), log("d")]
    h = await Harness(make_config([stress_rule(actions=steps, on_recovery=[])])).start()
    await h.push(0, stress_score=80)
    await h.run_until(180)  # fired at 120; the delay ends at 180, then the wait starts
    assert h.events()[-1] == (180, "continued", "after delay 1min (step 2 of 6)")
    assert _details(h) == [("fired", ["a"]), ("continued", ["b"])]
    await h.push(200, stress_score=30)
    assert _continued(h)[-1] == (200, "after wait_for stress_score below 40, met (step 4 of 6)")
    assert [d for d in _details(h) if d[0] == "continued"][-1] == ("continued", ["c", "d"])
    last = [t for t in h.traces if t.event == "continued"][-1]
    assert last.signals["stress_score"] == 30  # the values when it was traced


async def test_a_wait_for_that_times_out_says_so() -> None:
    wait = {"wait_for": {"signal": "stress_score", "below": 40}, "timeout": "5min"}
    h = await Harness(make_config([stress_rule(actions=[wait, log("late")])])).start()
    await h.push(0, stress_score=80)
    await h.run_until(420)
    assert h.events()[-1] == (
        420,
        "continued",
        "after wait_for stress_score below 40, timed out (step 1 of 2)",
    )
    assert _details(h)[-1] == ("continued", ["late"])


async def test_a_stretch_without_actions_is_not_traced() -> None:
    steps = [log("a"), {"delay": "1min"}, {"delay": "1min"}, log("b")]
    h = await Harness(make_config([stress_rule(actions=steps, on_recovery=[])])).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    assert h.events() == [
        (120, "fired", "stress_score 80 above 70 for 2min"),
        (240, "continued", "after delay 1min (step 3 of 4)"),
    ]
    assert _details(h)[-1] == ("continued", ["b"])


async def test_a_recovery_and_an_escalation_say_whose_stretch_it_is() -> None:
    level = {"after": "10min", "actions": [log("level 1"), {"delay": "1min"}, log("level 1 again")]}
    rule = stress_rule(
        escalate=[level], on_recovery=[log("restore"), {"delay": "1min"}, log("restored")]
    )
    h = await Harness(make_config([rule])).start()
    await h.push(0, stress_score=80)
    await h.push(730, stress_score=82)  # escalated at 720 (fired at 120)
    await h.run_until(780)
    assert h.events()[-1] == (780, "continued", "escalation 1, after delay 1min (step 2 of 3)")
    await h.push(800, stress_score=30)
    await h.run_until(860)
    assert h.events()[-1] == (860, "continued", "recovery, after delay 1min (step 2 of 3)")
    assert _details(h)[-1] == ("continued", ["restored"])


def _queued_pulse() -> dict[str, Any]:
    """A queued rule whose run lasts 10 min: a firing meanwhile waits for it to end."""
    return {
        "id": "pulse",
        "person": "alex",
        "mode": "queued",
        "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70}],
        "actions": [log("start"), {"delay": "10min"}, log("end")],
    }


async def test_a_queued_run_is_traced_when_it_starts_with_its_actions() -> None:
    h = await Harness(make_config([_queued_pulse()])).start()
    for at in (0, 60):
        await h.push(at, stress_score=80)
        await h.push(at + 30, stress_score=10)
    await h.run_until(600)
    pulse = [(t, e, r) for t, e, r in h.events() if e != "recovered"]
    assert pulse[-2:] == [
        (600, "continued", "after delay 10min (step 2 of 3)"),
        (600, "continued", "queued run started, 9min after its firing"),
    ]
    assert _details(h)[-1] == ("continued", ["start"])
    assert [e for e in h.kinds() if e == "fired"] == ["fired", "fired"]  # no new firing


async def test_a_wait_for_that_times_out_and_ends_the_run_is_traced_as_its_end() -> None:
    wait = {
        "wait_for": {"signal": "stress_score", "below": 40},
        "timeout": "10min",
        "continue_on_timeout": False,
    }
    steps = [log("dim"), wait, log("never")]
    h = await Harness(make_config([stress_rule(actions=steps, on_recovery=[])])).start()
    await h.push(0, stress_score=80)
    await h.run_until(120 + 600)  # fired at 120; the wait times out 10 min later
    assert h.events()[-1] == (
        720,
        "ended",
        "wait_for stress_score below 40 timed out after 10min (step 2 of 3)",
    )
    assert _details(h) == [("fired", ["dim"]), ("ended", [])]
    assert h.traces[-1].signals["stress_score"] == 80  # the values when it ended
    assert not h.traces[-1].ends_episode  # the run ended; the episode goes on
    assert h.performer.messages() == ["dim"]


async def test_a_recovery_ended_by_its_wait_for_says_whose_run_ended() -> None:
    wait = {"wait_for": {"signal": "heart_rate", "below": 60}, "timeout": "1min"}
    rule = stress_rule(on_recovery=[log("restore"), {**wait, "continue_on_timeout": False}])
    h = await Harness(make_config([rule])).start()
    await h.push(0, stress_score=80)
    await h.push(200, stress_score=30, heart_rate=90)
    await h.run_until(260)
    assert h.events()[-1] == (
        260,
        "ended",
        "recovery, wait_for heart_rate below 60 timed out after 1min (step 2 of 2)",
    )


async def test_a_wait_for_that_times_out_and_goes_on_ends_nothing() -> None:
    wait = {"wait_for": {"signal": "stress_score", "below": 40}, "timeout": "1min"}
    h = await Harness(make_config([stress_rule(actions=[wait], on_recovery=[])])).start()
    await h.push(0, stress_score=80)
    await h.run_until(600)
    assert "ended" not in h.kinds()


def test_every_trace_event_reaches_home_assistants_rule_event_entity() -> None:
    assert set(get_args(TraceEvent)) == set(RULE_EVENT_TYPES)


async def test_a_queued_runs_start_carries_the_signals_when_it_starts() -> None:
    h = await Harness(make_config([_queued_pulse()])).start()
    await h.push(0, stress_score=80)
    await h.push(30, stress_score=10)
    await h.push(60, stress_score=85)  # fires; queued behind the first run
    await h.push(300, stress_score=20)
    await h.run_until(600)
    started = h.traces[-1]
    assert started.reason == "queued run started, 9min after its firing"
    assert started.signals["stress_score"] == 20  # not the 85 of its firing, 9 min before


async def test_by_default_the_store_keeps_twenty_firings_of_a_rule_whose_runs_wait() -> None:
    rule = stress_rule(
        cooldown=0,
        actions=[log("dim"), {"delay": "10min"}, log("again")],
        on_recovery=[log("restore"), {"delay": "1min"}, log("restored")],
    )
    h = await Harness(make_config([rule])).start()
    for firing in range(20):  # each: fired, continued, recovered, continued
        at = firing * 1000
        await h.push(at, stress_score=80)
        await h.push(at + 800, stress_score=30)
        await h.run_until(at + 900)
    assert len(h.traces) == 80
    await h.engine.stop()
    stored = h.store.recent(TRACE_NAMESPACE, "calm", limit=1000)  # what `ambient trace` shows
    assert [t["event"] for t in stored].count("fired") == 20
