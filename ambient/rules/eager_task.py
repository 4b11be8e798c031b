"""A task whose first step runs at once, in the caller's turn, instead of at the event loop's
next turn: a rule's first action leaves while the reading that fired it is still being
processed, not after everything else that reading does.

Python 3.12 has this built in (``asyncio.Task(..., eager_start=True)``). On 3.11 the first step
runs here, as the new task (``asyncio.current_task()`` names it, so a per-attempt timeout
cancels the right task) and in the task's own context; the task's first scheduled turn then
carries on from where that step stopped. What the task's owner sees is the same either way: a
pending task (or, on 3.12, one already done) whose result, exception and cancellation behave
as a task's — with one difference on 3.11: a task whose first step already finished is still
pending until its first turn, so ``cancel()`` then succeeds and drops the result (on 3.12 it is
done and ``cancel()`` returns False). The rule runs cancel only heads whose result they ignore.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# What the first step ended with: a value yielded to the task (the future it waits for), the
# coroutine's result, or its exception.
_YIELDED, _RETURNED, _RAISED = "yielded", "returned", "raised"


def eager_task(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """``coro`` as a task of the running loop, its first step already run."""
    loop = asyncio.get_running_loop()
    if sys.version_info >= (3, 12):
        return asyncio.Task(coro, loop=loop, eager_start=True)
    context = contextvars.copy_context()
    started = _StartedCoroutine(coro)
    task = loop.create_task(started, context=context)
    previous = asyncio.current_task(loop)
    if previous is not None:
        asyncio.tasks._leave_task(loop, previous)
    asyncio.tasks._enter_task(loop, task)
    try:
        context.run(started.first_step)
    finally:
        asyncio.tasks._leave_task(loop, task)
        if previous is not None:
            asyncio.tasks._enter_task(loop, previous)
    return task


class _StartedCoroutine(Coroutine[Any, Any, T], Generic[T]):
    """What the task drives on 3.11: the outcome of the first step, then the coroutine."""

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro
        self._first: tuple[str, Any] | None = None

    def first_step(self) -> None:
        try:
            self._first = (_YIELDED, self._coro.send(None))
        except StopIteration as stop:
            self._first = (_RETURNED, stop.value)
        except BaseException as exc:  # handed to the task, which reports it as its own
            self._first = (_RAISED, exc)

    def send(self, value: Any) -> Any:
        first, self._first = self._first, None
        if first is None:
            return self._coro.send(value)
        outcome, payload = first
        if outcome == _YIELDED:
            return payload
        if outcome == _RETURNED:
            raise StopIteration(payload)
        raise payload

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        """The task was cancelled before its first turn: as a task does, cancel the future the
        first step waits for, and let the coroutine see that when it resumes."""
        first, self._first = self._first, None
        if first is not None:
            outcome, payload = first
            if outcome != _YIELDED:
                raise typ if val is None else val
            cancelled = isinstance(typ, asyncio.CancelledError) or (
                isinstance(typ, type) and issubclass(typ, asyncio.CancelledError)
            )
            if cancelled and isinstance(payload, asyncio.Future) and payload.cancel():
                return payload
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._first = None
        self._coro.close()

    def __await__(self) -> Generator[Any, None, T]:
        raise TypeError("a started coroutine is driven by its task, not awaited")
