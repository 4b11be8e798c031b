"""A task whose first step runs in the caller's turn, as that task, and then behaves as any
task: its result, its exception, its cancellation (before and after its first turn)."""

from __future__ import annotations

import asyncio
import contextlib

from ambient.rules.eager_task import eager_task


async def _wait_for(future: asyncio.Future[int], seen: list[str]) -> int:
    seen.append("started")
    assert asyncio.current_task() is not None
    try:
        value = await future
    except asyncio.CancelledError:
        seen.append("cancelled")
        raise
    return value * 2


async def test_the_first_step_runs_at_once_as_the_new_task() -> None:
    loop = asyncio.get_running_loop()
    caller = asyncio.current_task()
    tasks: list[asyncio.Task[object] | None] = []

    async def note_task() -> int:
        tasks.append(asyncio.current_task())
        return 5

    task = eager_task(note_task())
    assert tasks == [task]
    assert asyncio.current_task() is caller
    assert await task == 5
    future: asyncio.Future[int] = loop.create_future()
    seen: list[str] = []
    waiting = eager_task(_wait_for(future, seen))
    assert seen == ["started"] and not waiting.done()
    future.set_result(21)
    assert await waiting == 42


async def test_from_a_plain_callback() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    seen: list[str] = []
    made: list[asyncio.Task[int]] = []
    loop.call_soon(lambda: made.append(eager_task(_wait_for(future, seen))))
    await asyncio.sleep(0)
    assert seen == ["started"]
    future.set_result(1)
    assert await made[0] == 2


async def test_its_exception_is_the_tasks() -> None:
    async def fail() -> None:
        raise ValueError("no")

    task = eager_task(fail())
    try:
        await task
    except ValueError as exc:
        assert str(exc) == "no"
    else:
        raise AssertionError("the exception was lost")


async def test_cancelled_before_and_after_its_first_turn() -> None:
    loop = asyncio.get_running_loop()
    for turns_first in (0, 1):
        future: asyncio.Future[int] = loop.create_future()
        seen: list[str] = []
        task = eager_task(_wait_for(future, seen))
        for _ in range(turns_first):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert future.cancelled()  # what it waited for was cancelled, as a task does
        assert seen == ["started", "cancelled"]
