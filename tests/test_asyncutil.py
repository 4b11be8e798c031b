"""Waiting for an answer on the injectable clock: a result, or a timeout measured on that clock."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from ambient.asyncutil import ClockTimeout, result_or_clock_timeout
from ambient.clock import VirtualClock


async def test_the_answer_is_returned_when_it_comes_in_time() -> None:
    clock = VirtualClock(100.0)

    async def answer() -> str:
        await clock.sleep(1.0)
        return "done"

    task = asyncio.create_task(result_or_clock_timeout(clock, answer(), 2.0))
    await clock.run_until(101.5)
    assert await task == "done"


async def test_no_answer_in_time_is_a_clock_timeout_and_the_request_is_cancelled() -> None:
    clock = VirtualClock(100.0)
    request_ended: list[str] = []

    async def hang() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            request_ended.append("cancelled")

    task = asyncio.create_task(result_or_clock_timeout(clock, hang(), 2.0))
    await clock.run_until(101.9)
    assert not task.done()
    await clock.run_until(102.0)
    with pytest.raises(ClockTimeout, match="no answer within 2 s"):
        await task
    assert request_ended == ["cancelled"]


async def test_after_a_timeout_the_caller_carries_on_without_a_leftover_cancel() -> None:
    clock = VirtualClock(100.0)

    async def caller() -> str:
        with pytest.raises(ClockTimeout):
            await result_or_clock_timeout(clock, asyncio.Event().wait(), 1.0)
        await clock.sleep(1.0)  # a retry's back-off: must not be cut short by the timeout's cancel
        return "retried"

    task = asyncio.create_task(caller())
    await clock.run_until(103.0)
    assert await task == "retried"


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    clock = VirtualClock(100.0)
    task = asyncio.create_task(result_or_clock_timeout(clock, asyncio.Event().wait(), 5.0))
    await clock.run_until(101.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await clock.run_until(110.0)  # the timer was cancelled with it: nothing fires later


async def test_the_request_starts_in_the_callers_turn() -> None:
    """No task's turn between the call and the request leaving (an action's fast path)."""
    clock = VirtualClock(100.0)
    order: list[str] = []

    async def request() -> None:
        order.append("request sent")

    async def other_work() -> None:
        order.append("other work")

    async def caller() -> None:
        asyncio.get_running_loop().create_task(other_work())  # ready before the request
        await result_or_clock_timeout(clock, request(), 1.0)

    await asyncio.create_task(caller())
    assert order[0] == "request sent"


async def test_a_timeout_after_a_cancel_the_caller_handled_is_still_a_clock_timeout() -> None:
    """A run cancelled by a restart undoes what it changed in the same task: its requests
    still time out as timeouts (to be retried), not as the cancel it already handled."""
    clock = VirtualClock(100.0)

    async def cancelled_then_cleans_up() -> str:
        with contextlib.suppress(asyncio.CancelledError):  # handled: the clean-up follows
            await asyncio.Event().wait()
        with pytest.raises(ClockTimeout):
            await result_or_clock_timeout(clock, asyncio.Event().wait(), 1.0)
        return "cleaned up"

    task = asyncio.create_task(cancelled_then_cleans_up())
    await clock.run_until(100.5)
    task.cancel()
    await clock.run_until(102.0)
    assert await task == "cleaned up"
