"""Escalation while stress persists, on_recovery and end_episode when it clears, failures traced."""

from __future__ import annotations

from rules.rule_doubles import Harness, log, make_config, stress_rule


def _rule() -> dict[str, object]:
    return stress_rule(
        escalate=[
            {"after": "10min", "actions": [log("level 1")]},
            {"after": "20min", "actions": [log("level 2")]},
        ]
    )


async def test_escalates_at_each_level_while_still_triggered() -> None:
    h = await Harness(make_config([_rule()])).start()
    await h.push(0, stress_score=80)
    await h.run_until(120 + 600)
    await h.push(900, stress_score=78)
    await h.run_until(120 + 1200)
    assert [e[:2] for e in h.events()] == [(120, "fired"), (720, "escalated"), (1320, "escalated")]
    assert h.events()[1][2] == "stress_score still above 70 after 10min (now 80; level 1)"
    assert h.performer.messages() == ["calm", "level 1", "level 2"]


async def test_an_escalation_inside_the_hysteresis_band_does_not_say_still_above() -> None:
    """Back at 65 the trigger (above 70, clears at 60) is still active, so the level runs; its
    reason says the value has not cleared yet rather than that 65 is above 70."""
    h = await Harness(make_config([_rule()])).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=65)
    await h.run_until(120 + 600)
    assert [e[:2] for e in h.events()] == [(120, "fired"), (720, "escalated")]
    assert h.events()[1][2] == (
        "stress_score above 70, not yet cleared after 10min (now 65, within hysteresis 10; level 1)"
    )
    assert h.performer.messages() == ["calm", "level 1"]


async def test_recovery_cancels_pending_escalation_and_ends_the_episode() -> None:
    h = await Harness(make_config([_rule()])).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=55)
    await h.run_until(5000)
    assert h.kinds() == ["fired", "recovered"]
    assert h.performer.messages() == ["calm", "recovered"]
    assert len(h.performer.ended) == 1 and h.performer.ended[0].recovery


async def test_escalation_skipped_when_signal_unknown() -> None:
    h = await Harness(make_config([_rule()])).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=None)
    await h.run_until(720)
    assert h.events()[-1] == (
        720,
        "suppressed",
        "quality: stress_score unknown (stale); escalation 1 skipped",
    )


async def test_suppressed_firing_has_no_recovery() -> None:
    rule = stress_rule(conditions=[{"condition": "signal", "signal": "quality", "above": 0.8}])
    h = await Harness(make_config([rule])).start()
    await h.push(0, stress_score=80, quality=0.5)
    await h.run_until(120)
    await h.push(200, stress_score=10)
    assert [e[1:] for e in h.events()] == [
        ("suppressed", "condition signal quality above 0.8 false")
    ]
    assert h.traces[0].conditions == (("signal quality above 0.8", False),)
    assert h.performer.performed == [] and h.performer.ended == []


async def test_failed_action_is_traced_and_the_sequence_goes_on() -> None:
    rule = stress_rule(
        actions=[{"action": "notify", "service": "notify.sam", "message": "hi"}, log("after")]
    )
    config = make_config([rule], homeassistant={"token": "x"})
    h = Harness(config)
    h.performer.fail = {"notify"}
    await h.start()
    await h.push(0, stress_score=80)
    await h.run_until(120)
    assert h.kinds() == ["action_failed", "fired"]
    failed, fired = h.traces
    assert failed.reason == "notify failed: HA said no"
    assert [(a.action, a.ok) for a in fired.actions] == [("notify", False), ("log", True)]


async def test_fired_trace_lists_actions_before_the_first_delay() -> None:
    rule = stress_rule(actions=[log("dim"), {"delay": "5min"}, log("music")])
    h = await Harness(make_config([rule])).start()
    await h.push(0, stress_score=80)
    await h.run_until(120)
    assert [a.detail for a in h.traces[0].actions] == ["dim"]
    await h.run_until(420)
    assert h.performer.messages() == ["dim", "music"]


async def test_wait_for_recovery_with_timeout() -> None:
    rule = stress_rule(
        cooldown=0,
        actions=[
            log("breathe"),
            {"wait_for": {"signal": "stress_score", "below": 50}, "timeout": "10min"},
            {
                "if": [{"condition": "signal", "signal": "stress_score", "below": 50}],
                "then": [log("well done")],
                "else": [log("call sam")],
            },
        ],
    )
    h = await Harness(make_config([rule])).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=40)
    assert h.performer.messages()[-1] == "well done"
    await h.push(1000, stress_score=80)
    await h.run_until(1120 + 600)
    assert h.performer.messages()[-2:] == ["breathe", "call sam"]
