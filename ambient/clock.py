"""Time for every timer in ambient: the real clock live, a virtual one in tests and simulations.

Nothing in ambient calls ``time.time()``, ``asyncio.sleep()`` or ``loop.call_later()`` for
behaviour: it asks a :class:`Clock`, so a simulation can replay an hour in milliseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol


class TimerHandle(Protocol):
    """What ``call_at`` returns: something that can be cancelled."""

    def cancel(self) -> None: ...


class Clock(ABC):
    """Now, sleep until, call at — in seconds since the unix epoch."""

    @abstractmethod
    def now(self) -> float:
        """The current time in unix seconds."""

    @abstractmethod
    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once at ``when`` (or as soon as possible if that has passed)."""

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self.now() + delay_s, callback)

    async def sleep_until(self, when: float) -> None:
        """Suspend the calling task until ``when`` on this clock."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not done.done():
                self._woke()
                done.set_result(None)

        handle = self.call_at(when, wake)
        try:
            await done
        finally:
            handle.cancel()

    def _woke(self) -> None:  # noqa: B027 - a hook, deliberately a no-op here
        """A sleeping task is about to resume (the virtual clock gives it loop turns)."""

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + max(0.0, seconds))

    def local(self, tz: tzinfo | None = None) -> datetime:
        """The current time as an aware datetime in ``tz`` (the system zone by default)."""
        return datetime.fromtimestamp(self.now(), tz=tz).astimezone(tz)


class RealClock(Clock):
    """Wall-clock time, timers on the running asyncio loop."""

    def now(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, when - time.time()), callback)


class ScaledClock(Clock):
    """Real time running ``speed`` times faster: ``ambient run --speed 60`` replays a recorded
    hour in a minute with every timer (``for``, cooldowns, delays) scaled alike."""

    def __init__(self, speed: float, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._wall_start = time.time()
        self._start = self._wall_start if start is None else start

    def now(self) -> float:
        return self._start + (time.time() - self._wall_start) * self.speed

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, (when - self.now()) / self.speed), callback)


@dataclass(slots=True)
class _VirtualTimer:
    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock(Clock):
    """A clock that only moves when told to, jumping straight to the next due timer.

    ``advance_to`` fires due timers synchronously; ``run_until`` also lets the asyncio
    tasks those timers woke run to their next wait, so sleeping coroutines (action
    sequences, delays) behave exactly as they would live.
    """

    #: Loop iterations granted to woken tasks after each timer; enough for a task to wake,
    #: do its work and register its next sleep.
    SETTLE_ROUNDS = 8
    #: Loop turns ``run_until`` may skip in a row when no callback is ready (see
    #: ``_turn_needed``).
    MAX_TURNS_SKIPPED = 100

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        # A heap of (when, sequence, timer): tuples compare in C, earliest first, ties in the
        # order they were set.
        self._timers: list[tuple[float, int, _VirtualTimer]] = []
        self._seq = itertools.count()
        # Set when a sleeping task was woken or a task was created: only then do the woken
        # tasks need loop turns, so plain timers (most of a simulation) cost no task switches.
        self._stirred = False
        self._watched_loop: asyncio.AbstractEventLoop | None = None
        self._turns_skipped = 0

    async def sleep_until(self, when: float) -> None:
        self._watch_task_creation()
        await super().sleep_until(when)

    def _woke(self) -> None:
        self._stirred = True

    def _watch_task_creation(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._watched_loop is loop:
            return loop
        self._watched_loop = loop
        previous = loop.get_task_factory()

        def factory(
            loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
        ) -> asyncio.Future[Any]:
            self._stirred = True
            if previous is not None:
                return previous(loop, coro, **kwargs)
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        return loop

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _VirtualTimer(max(when, self._now), callback)
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        return timer

    def next_due(self) -> float | None:
        """When the next live timer is due, or ``None`` when nothing is scheduled."""
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def _pop_due(self, until: float) -> _VirtualTimer | None:
        due = self.next_due()
        if due is None or due > until:
            return None
        return heapq.heappop(self._timers)[2]

    def advance_to(self, when: float) -> None:
        """Move time forward to ``when``, firing due timers in order (no task switches)."""
        while (timer := self._pop_due(when)) is not None:
            self._now = max(self._now, timer.when)
            timer.callback()
        self._now = max(self._now, when)

    async def run_until(self, when: float) -> None:
        """Like ``advance_to``, but lets the tasks that timers (or readings) woke or started
        run to their next wait before time moves on."""
        loop = self._watch_task_creation()
        # Tasks woken by readings (an asyncio.Event set by a signal update) take their next
        # step before time moves on. (Each wait is checked before it is awaited: a replay
        # calls this once per reading, and most calls have nothing to wait for.)
        if self._turn_needed(loop):
            await asyncio.sleep(0)
        if self._stirred:
            await self._settle()
        while (timer := self._pop_due(when)) is not None:
            self._now = max(self._now, timer.when)
            timer.callback()
            if self._turn_needed(loop):
                await asyncio.sleep(0)  # a future the timer resolved wakes its task
            if self._stirred:
                await self._settle()
        self._now = max(self._now, when)

    def _turn_needed(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether to give the loop a turn: only when a callback is ready to run (a resolved
        future, a set Event).

        With none ready the turn would only resume this task, and a replay takes one step per
        reading: skipping it halves a simulation's cost. Every ``MAX_TURNS_SKIPPED``-th turn
        is taken anyway, so I/O and signal handlers are never held off for long.
        """
        ready = getattr(loop, "_ready", None)  # CPython's queue of ready callbacks
        if ready is None or ready or self._turns_skipped >= self.MAX_TURNS_SKIPPED:
            self._turns_skipped = 0
            return True
        self._turns_skipped += 1
        return False

    async def _settle(self) -> None:
        rounds = 0
        while self._stirred and rounds < 4:
            self._stirred = False
            rounds += 1
            for _ in range(self.SETTLE_ROUNDS):
                await asyncio.sleep(0)
