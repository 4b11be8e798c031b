"""A firing's first action leaves in the turn that fired the rule (before the reading's other
listeners, without waiting for the run task's turn); traces, their order and what a restart
repeats stay as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.rule_doubles import Harness, log, make_config

from ambient.messages import SignalUpdate, SignalValue
from ambient.store import Store


def _rule(rule_id: str = "fast", **extra: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "person": "alex",
        "mode": "parallel",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "actions": [log("toggle"), log("after")],
        **extra,
    }


def _deliver(h: Harness, **values: float) -> None:
    """Hand the engine an update in this turn, as the reading pipeline does (no await)."""
    update = {name: SignalValue(value, h.clock.now(), None) for name, value in values.items()}
    for name, signal in update.items():
        h.signals.values.setdefault("alex", {})[name] = signal
    h.engine.on_signals(SignalUpdate(h.clock.now(), "alex", update))


async def _next_turns(h: Harness) -> None:
    await h.clock.run_until(h.clock.now())


async def test_the_first_action_leaves_before_the_turn_ends_and_the_trace_after() -> None:
    h = await Harness(make_config([_rule()])).start()
    _deliver(h, hr=120)
    assert h.performer.messages() == ["toggle"]  # only the first: the rest in the run's task
    assert h.traces == []
    await _next_turns(h)
    assert h.performer.messages() == ["toggle", "after"]
    assert h.events() == [(0.0, "fired", "hr 120 above 100")]
    assert [result.detail for result in h.traces[0].actions] == ["toggle", "after"]


async def test_traces_of_one_update_keep_their_order() -> None:
    """The fired rule's trace still follows a suppression the same update caused later."""
    held = _rule("held", conditions=[{"condition": "signal", "signal": "hr", "below": 50}])
    h = await Harness(make_config([_rule(), held])).start()
    _deliver(h, hr=120)
    await _next_turns(h)
    assert [(t.rule, t.event) for t in h.traces] == [("held", "suppressed"), ("fast", "fired")]


async def test_no_head_start_for_a_delay_first_or_a_restart_mode() -> None:
    delayed = _rule("delayed", actions=[{"delay": "1s"}, log("late")])
    restart = _rule("restart", mode="restart", actions=[log("restarted")])
    h = await Harness(make_config([delayed, restart])).start()
    _deliver(h, hr=120)
    assert h.performer.messages() == []
    await _next_turns(h)
    assert h.performer.messages() == ["restarted"]


async def test_a_recovery_while_paused_performs_nothing() -> None:
    h = await Harness(make_config([_rule(on_recovery=[log("recovered")])])).start()
    _deliver(h, hr=120)
    await _next_turns(h)
    h.engine.set_paused(True, "test")
    _deliver(h, hr=60)
    await _next_turns(h)
    assert h.performer.messages() == ["toggle", "after"]
    recovered = [t for t in h.traces if t.event == "recovered"]
    assert [r.detail.split(":")[0] for r in recovered[0].actions] == ["suppressed"]


async def test_a_restart_rule_fired_twice_in_one_turn_performs_the_second_run_only() -> None:
    rule = _rule(
        mode="restart",
        triggers=[
            {"trigger": "signal", "signal": "hr", "above": 100},
            {"trigger": "signal", "signal": "stress_score", "above": 70},
        ],
    )
    h = await Harness(make_config([rule])).start()
    _deliver(h, hr=120, stress_score=80)
    await _next_turns(h)
    assert h.performer.messages() == ["toggle", "after"]


async def test_a_stop_before_the_run_took_its_first_action_does_not_repeat_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([_rule()]), store=Store(path)).start()
    _deliver(h, hr=120)
    await h.engine.stop()  # in this turn: the run's task never started
    h.store.close()
    assert h.performer.messages() == ["toggle"]
    again = await Harness(h.config, store=Store(path), start=h.clock.now()).start()
    await again.run_until(1)
    assert again.performer.messages() == ["after"]
