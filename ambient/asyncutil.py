"""Small asyncio helpers used across the package, one copy each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from ambient.clock import Clock

T = TypeVar("T")


class ClockTimeout(Exception):
    """The awaited call gave no answer within its time on the clock."""


async def result_or_clock_timeout(clock: Clock, awaitable: Awaitable[T], seconds: float) -> T:
    """Await ``awaitable`` but give up after ``seconds`` on ``clock`` (virtual in simulations,
    where ``asyncio.timeout`` would wait in real time); raises :class:`ClockTimeout`.

    The awaitable runs in the calling task, as with ``asyncio.timeout``: a request leaves at once
    instead of after a new task's first turn, and a cancel from outside reaches it directly."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("result_or_clock_timeout must be awaited inside a task")
    cancelling = task.cancelling()  # cancels the caller already handled are not this timeout's
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = clock.call_later(seconds, expire)
    try:
        return await awaitable
    except asyncio.CancelledError:
        if expired and task.uncancel() <= cancelling:
            raise ClockTimeout(f"no answer within {seconds:g} s") from None
        raise
    finally:
        timer.cancel()


def reraise_lost_cancel() -> None:
    """Raise :class:`asyncio.CancelledError` if this task was asked to stop.

    Python 3.11's ``asyncio.wait_for`` (inside aiomqtt's calls, bleak's GATT reads) returns the
    result when the answer and a cancel arrive in the same loop turn, losing the cancel; the task
    still counts the request, so honouring it here keeps shutdown from hanging."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
