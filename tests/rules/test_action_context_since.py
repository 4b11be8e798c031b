"""Actions are told when what the rule answers began (``ActionContext.since``): a signal
trigger's condition first held — its firing minus its ``for`` — the same for every escalation
level of the episode, so a session script can say how long the stress has lasted."""

from __future__ import annotations

from rules.rule_doubles import Harness, log, make_config, stress_rule


async def test_a_signal_episode_began_when_its_condition_first_held() -> None:
    rule = stress_rule(escalate=[{"after": "10min", "actions": [log("level 1")]}])
    h = await Harness(make_config([rule])).start()
    await h.push(30, stress_score=80)  # holds from t0 + 30 s; fires after `for: 2min`
    await h.run_until(150 + 600)
    performed = [(p.context.time - h.t0, p.context.since) for p in h.performer.performed]
    assert performed == [(150, h.t0 + 30), (750, h.t0 + 30)]


async def test_without_an_open_episode_the_run_began_it() -> None:
    rule = {
        "id": "evening",
        "person": "alex",
        "triggers": [{"trigger": "time", "at": "18:00"}],
        "actions": [log("wind down")],
    }
    h = await Harness(make_config([rule])).start()
    await h.run_until(24 * 3600)
    (performed,) = h.performer.performed
    assert performed.context.since == performed.context.time
