"""A firing hands its first action over before it does anything the action does not need:
no timer is set on the way (the write of the rule's state follows the action), and that
state is written all the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rules.rule_doubles import Harness, log, make_config

from ambient.clock import TimerHandle
from ambient.messages import ActionContext, ActionResult, SignalUpdate, SignalValue
from ambient.rules.rule_store import STATE_NAMESPACE


def _rule(**extra: Any) -> dict[str, Any]:
    return {
        "id": "fast",
        "person": "alex",
        "mode": "parallel",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "actions": [log("toggle")],
        **extra,
    }


async def test_no_timer_is_set_before_the_first_action_is_handed_over() -> None:
    h = await Harness(make_config([_rule()])).start()
    timers: list[float] = []
    timers_when_performed: list[int] = []
    call_at, perform = h.clock.call_at, h.performer.perform

    def noting_call_at(when: float, callback: Callable[[], None]) -> TimerHandle:
        timers.append(when)
        return call_at(when, callback)

    async def noting_perform(action: Any, context: ActionContext) -> ActionResult:
        timers_when_performed.append(len(timers))
        return await perform(action, context)

    h.clock.call_at = noting_call_at  # type: ignore[method-assign]
    h.performer.perform = noting_perform  # type: ignore[method-assign]
    value = SignalValue(120.0, h.clock.now(), None)
    h.signals.values.setdefault("alex", {})["hr"] = value
    h.engine.on_signals(SignalUpdate(h.clock.now(), "alex", {"hr": value}))  # in this turn

    assert timers_when_performed == [0]
    assert timers  # the write that follows the action


async def test_the_firings_state_is_written_after_the_action() -> None:
    h = await Harness(make_config([_rule()])).start()
    await h.push(0, hr=120.0)
    await h.clock.run_until(h.clock.now() + 1)
    saved = h.store.get(STATE_NAMESPACE, "fast")
    assert saved is not None
    alex = saved["persons"]["alex"]
    assert alex["triggers"]["0"]["phase"] == "active"
    assert alex["last_fired"] == h.t0
    assert h.performer.messages() == ["toggle"]
