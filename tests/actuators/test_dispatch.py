"""The dispatcher: one actuator per kind, a per-attempt timeout, retries with backoff inside
the time-to-live and nothing performed after it; in report-only mode nothing is performed."""

from __future__ import annotations

import asyncio
from typing import Any

from ambient.actuators.dispatch import ActionDispatcher
from ambient.clock import VirtualClock
from ambient.config.actions import (
    LogActionConfig,
    MqttPublishActionConfig,
    ServiceCallActionConfig,
)
from ambient.connections.errors import NotConnected
from ambient.messages import ActionContext, ActionResult


class FlakyHomeAssistant:
    """A test double of an actuator: down for the first ``down_for`` attempts, or hanging."""

    kinds = frozenset({"service_call"})

    def __init__(self, clock: VirtualClock, down_for: int = 0, hang: bool = False) -> None:
        self.clock = clock
        self.down_for = down_for
        self.hang = hang
        self.attempts: list[float] = []

    async def perform(self, action: Any, context: ActionContext) -> ActionResult:
        self.attempts.append(self.clock.now())
        if self.hang:
            await asyncio.Event().wait()
        if len(self.attempts) <= self.down_for:
            raise NotConnected("HA is not connected")
        return ActionResult("service_call", True, "done")

    async def end_episode(self, context: ActionContext) -> None:
        return None


CALL = ServiceCallActionConfig(action="light.turn_on", ttl=10, timeout=2)


def context(clock: VirtualClock) -> ActionContext:
    return ActionContext(rule="calm", person="alex", episode="e1", time=clock.now())


async def run(clock: VirtualClock, dispatcher: ActionDispatcher) -> ActionResult:
    task = asyncio.create_task(dispatcher.perform(CALL, context(clock)))
    await clock.run_until(clock.now() + 60)
    return await task


async def test_retries_with_backoff_until_delivered() -> None:
    clock = VirtualClock(100.0)
    ha = FlakyHomeAssistant(clock, down_for=2)
    result = await run(clock, ActionDispatcher(clock, [ha]))
    assert result.ok
    assert [round(t - 100, 3) for t in ha.attempts] == [0, 1.001, 3.002]


async def test_never_performed_after_its_time_to_live() -> None:
    clock = VirtualClock(100.0)
    ha = FlakyHomeAssistant(clock, down_for=99)
    result = await run(clock, ActionDispatcher(clock, [ha]))
    assert not result.ok
    assert result.detail.startswith("dropped: time-to-live passed (HA is not connected)")
    assert max(ha.attempts) <= 110.0


async def test_a_hanging_attempt_times_out_and_is_retried() -> None:
    clock = VirtualClock(100.0)
    ha = FlakyHomeAssistant(clock, hang=True)
    result = await run(clock, ActionDispatcher(clock, [ha]))
    assert not result.ok
    assert [round(t - 100, 3) for t in ha.attempts][:2] == [0, 3.001]  # 2 s timeout + 1 s


async def test_timeouts_can_run_on_another_clock() -> None:
    """Under `--speed`, per-attempt timeouts use real time while TTLs use the daemon's."""
    clock, timeouts = VirtualClock(100.0), VirtualClock(0.0)
    ha = FlakyHomeAssistant(clock, hang=True)
    dispatcher = ActionDispatcher(clock, [ha], timeout_clock=timeouts)
    task = asyncio.create_task(dispatcher.perform(CALL, context(clock)))
    await clock.run_until(160.0)  # the daemon's clock alone never times the attempt out
    assert not task.done() and len(ha.attempts) == 1
    await timeouts.run_until(2.0)
    await clock.run_until(161.0)
    result = await task
    assert result.detail.startswith("dropped: time-to-live passed")


async def test_report_only_performs_nothing() -> None:
    clock = VirtualClock(100.0)
    ha = FlakyHomeAssistant(clock)
    result = await ActionDispatcher(clock, [ha], report_only=True).perform(CALL, context(clock))
    assert (result.ok, result.performed) == (True, False)
    assert result.detail == "light.turn_on"
    assert ha.attempts == []


async def test_a_kind_without_actuator_is_a_clear_failure() -> None:
    clock = VirtualClock(100.0)
    result = await ActionDispatcher(clock, []).perform(
        LogActionConfig(action="log"), context(clock)
    )
    assert not result.ok
    assert result.detail == "no actuator configured for `log`"


async def test_report_only_shows_a_publish_as_its_payload_is_sent() -> None:
    """`mqtt.publish` sends JSON literals (`true`, `71.25`, `null`) and fills `{episode}`,
    `{time}` and `{signals}`: simulate showed a message's words instead (`on`, `71.2`,
    `unknown`) and left those three as written, not the payload `run` publishes."""
    clock = VirtualClock(100.0)
    publish = MqttPublishActionConfig(
        action="mqtt.publish",
        topic="ambient/{person}/calm",
        payload='{"hr": {hr}, "strap": {contact}, "rr": {rr}, "ep": "{episode}", "t": {time}}',
    )
    signals = {"hr": 71.25, "contact": True, "rr": None}
    calm = ActionContext("calm", "alex", "e1", clock.now(), signals=signals)

    result = await ActionDispatcher(clock, [], report_only=True).perform(publish, calm)

    assert result.detail == (
        "mqtt.publish topic=ambient/alex/calm "
        'payload={"hr": 71.25, "strap": true, "rr": null, "ep": "e1", "t": 100.0}'
    )


async def test_an_action_due_after_its_time_to_live_is_dropped_saying_too_late() -> None:
    clock = VirtualClock(100.0)
    ha = FlakyHomeAssistant(clock)
    late = ActionContext(rule="calm", person="alex", episode="e1", time=clock.now() - 11)
    result = await ActionDispatcher(clock, [ha]).perform(CALL, late)
    assert (result.ok, result.detail) == (False, "dropped: time-to-live passed (too late)")
    assert ha.attempts == []
