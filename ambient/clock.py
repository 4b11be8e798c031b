"""Time for every timer in ambient: the real clock live, a virtual one in tests and simulations.

Nothing in ambient calls ``time.time()``, ``asyncio.sleep()`` or ``loop.call_later()`` for
behaviour: it asks a :class:`Clock`, so a simulation can replay an hour in milliseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence, Sized
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

_LOGGER = logging.getLogger(__name__)


def resolve_zone(name: str | None) -> tzinfo:
    """The config's IANA zone, or the system's (a real zone, so DST changes are known), read
    again at each call: a zone changed on the system is taken up by a reload, not only a
    restart (tzlocal's ``get_localzone`` would hand back the one it read first)."""
    if name:
        return ZoneInfo(name)
    import tzlocal

    zone: tzinfo = tzlocal.reload_localzone()
    return zone


class TimerHandle(Protocol):
    """What ``call_at`` returns: something that can be cancelled."""

    def cancel(self) -> None: ...


class Timed(Protocol):
    """Something that happens at ``time`` (a reading): what a replay hands over."""

    @property
    def time(self) -> float: ...


TimedT = TypeVar("TimedT", bound=Timed)


class Clock(ABC):
    """Now, sleep until, call at — in seconds since the unix epoch.

    Every timer callback runs guarded: one that raises is logged in one line and counted in
    :attr:`failed_callbacks` (and told to :attr:`on_callback_failure`), never passed to
    asyncio's default handler, so it can neither stop a simulation nor go unnoticed live.

    Parts that behave differently on different clocks ask the clock, never its type:
    :attr:`virtual`, :attr:`runs_ahead_of_wall_time`, :meth:`for_outside_links`, :meth:`reach`.
    """

    #: Time moves only when a replay moves it (``ambient simulate``): readings go straight
    #: through without a queue, the replay drives time itself, and random choices are seeded.
    virtual: bool = False
    #: Time runs faster than the wall clock (``ambient run --speed N``): times from peers that
    #: live in real time (a satellite's readings) need an offset.
    runs_ahead_of_wall_time: bool = False
    #: Timer callbacks that raised, since this clock was made.
    failed_callbacks: int = 0
    #: Told the name of each callback that raised (the daemon counts it in its counters).
    on_callback_failure: Callable[[str], None] | None = None
    #: How long a wait for a wall-clock time (:meth:`call_at_wall`) sleeps before it reads the
    #: clock again. Timers run on the loop's monotonic time, but the wall clock can be stepped
    #: under them: a Raspberry Pi has no real-time clock and starts at its last shutdown's time
    #: (or 1970) until NTP steps it, sometimes by days. None: this clock is never stepped (as
    #: :meth:`monotonic` assumes unless a clock says otherwise).
    wall_check_s: float | None = None

    @abstractmethod
    def now(self) -> float:
        """The current time in unix seconds."""

    @abstractmethod
    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once at ``when`` (or as soon as possible if that has passed)."""

    def monotonic(self) -> float:
        """Elapsed seconds, which no step of the wall clock moves (the loop's monotonic time,
        that timers run on): for how long a cooldown has lasted, where :meth:`now` is for a
        time of day. Only differences mean anything; this clock is never stepped."""
        return self.now()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self.now() + delay_s, callback)

    def call_at_wall(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once the clock shows ``when``, even if it is stepped meanwhile: for
        a time of day (a fire time, midnight, a weekly report), where ``call_at`` is for a
        deadline a duration away. The clock is read again every :attr:`wall_check_s`: a step
        forward past ``when`` runs it within that, a step back puts it off until ``when``."""
        return _WallTimer(self, when, callback)

    def for_outside_links(self) -> Clock:
        """The clock for timeouts, heartbeats and backoff of the broker and Home Assistant,
        which answer in real time: this clock, except that a faster one hands out a real one."""
        return self

    async def reach(self, when: float) -> None:
        """Return once the clock shows ``when``: a live clock sleeps until then; a virtual one
        is moved there by the caller (a replay), firing what falls due on the way."""
        if when > self.now():
            await self.sleep_until(when)

    def _run_guarded(self, callback: Callable[[], None]) -> None:
        """Run one timer callback; an exception is logged (one line) and counted."""
        try:
            callback()
        except Exception as exc:  # a timer must never take the loop down
            self.failed_callbacks += 1
            name = getattr(callback, "__qualname__", type(callback).__name__)
            _LOGGER.error("Timer callback %s failed: %s: %s", name, type(exc).__name__, exc)
            if self.on_callback_failure is not None:
                self.on_callback_failure(name)

    async def sleep_until(self, when: float) -> None:
        """Suspend the calling task until ``when`` on this clock."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        handle = self.call_at(when, wake)
        try:
            await done
        finally:
            handle.cancel()

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + max(0.0, seconds))

    def local(self, tz: tzinfo | None = None) -> datetime:
        """The current time as an aware datetime in ``tz`` (the system zone by default)."""
        return datetime.fromtimestamp(self.now(), tz=tz).astimezone(tz)


class _WallTimer:
    """A timer for a wall-clock time: slices of at most ``wall_check_s``, each reading the
    clock again (a clock that is never stepped sets one timer, as ``call_at``)."""

    def __init__(self, clock: Clock, when: float, callback: Callable[[], None]) -> None:
        self._clock = clock
        self._when = when
        self._callback = callback
        self._handle: TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        at, check_s = self._when, self._clock.wall_check_s
        if check_s is None:
            self._handle = self._clock.call_at(at, self._callback)
            return
        self._handle = self._clock.call_at(min(at, self._clock.now() + check_s), self._look)

    def _look(self) -> None:
        if self._clock.now() < self._when:
            self._arm()
            return
        self._handle = None
        self._callback()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class RealClock(Clock):
    """Wall-clock time, timers on the running asyncio loop."""

    wall_check_s = 60.0  # NTP may step it

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, when - time.time()), self._run_guarded, callback)


#: The shortest hiccup a speed is named for: a time slice or two of a busy machine (its
#: first late reading may be late by its own work alone, far less than what comes next).
HICCUP_S = 0.01


def speed_kept_up_with(speed: float, late_s: float, room_s: float) -> float:
    """A round ``--speed`` (1, 2, 5, 10, 20, …) at which a replay at ``speed`` that handed a
    reading ``late_s`` of its clock late would have left it ``room_s`` at most, with room for
    a hiccup twice as long (and at least :data:`HICCUP_S`): the machine's delay is real time,
    which a lower speed makes less of the clock."""
    late_real_s = max(late_s / speed, HICCUP_S)
    most = max(room_s, 0.0) / late_real_s / 2.0
    found, power = 1.0, 1.0
    while True:
        for step in (1.0, 2.0, 5.0):
            if step * power > most:
                return found
            found = step * power
        power *= 10.0


class ScaledClock(Clock):
    """Real time running ``speed`` times faster: ``ambient run --speed 60`` replays a recorded
    hour in a minute with every timer (``for``, cooldowns, delays) scaled alike."""

    runs_ahead_of_wall_time = True
    #: The pauses between readings the signals tell from none (``pauses_s``): the signals'
    #: default ``rr_gap`` (beats further apart restart their cleaning) and ``stale_after`` (a
    #: reading older is stale). ``run`` gives its config's own, as a function that answers
    #: for the config running now (a reload may change them).
    PAUSES_S = (5.0, 15.0)

    def __init__(
        self,
        speed: float,
        start: float | None = None,
        *,
        pauses_s: Collection[float] | Callable[[], Collection[float]] = PAUSES_S,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        if callable(pauses_s):
            self._pauses_of: Callable[[], Collection[float]] = pauses_s
        else:
            fixed = sorted(pauses_s)
            self._pauses_of = lambda: fixed
        self.wall_check_s = 60.0 * speed  # a minute of real time, as a live clock's
        self._wall_start = time.time()
        self._monotonic_start = time.monotonic()
        self._start = self._wall_start if start is None else start
        self._said_behind = False
        #: The time of the reading a replay handed over last (None: none yet).
        self._last_handed_s: float | None = None

    @property
    def pauses_s(self) -> list[float]:
        """The pauses watched now, shortest first."""
        return sorted(self._pauses_of())

    def now(self) -> float:
        return self._start + (time.time() - self._wall_start) * self.speed

    def monotonic(self) -> float:
        return (time.monotonic() - self._monotonic_start) * self.speed

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        delay_s = max(0.0, (when - self.now()) / self.speed)
        return loop.call_later(delay_s, self._run_guarded, callback)

    async def reach(self, when: float) -> None:
        """As the clock's; a replay (the one caller) handing its reading over late says once
        that the machine is behind, when the lag put more than one of ``pauses_s`` of the clock
        between it and the reading before, which the recording has not: the clock does not
        wait for it (a satellite's and its central's clocks keep step with real time), so the
        signals saw a pause that is not there, beats as paused (their cleaning starts again)
        or readings as stale (a baseline learns fewer resting minutes, more the faster the
        replay, and a run differs from the next). Other sleepers woken late (a rule's wait)
        hand nothing over: they say nothing."""
        await super().reach(when)
        now, before = self.now(), self._last_handed_s
        self._last_handed_s = when
        if self._said_behind or now - when <= 0.0:
            return
        written_s = 0.0 if before is None else max(0.0, when - before)
        seen_s = now - when + written_s
        pause_s = next((p for p in self.pauses_s if written_s <= p < seen_s), None)
        if pause_s is not None:
            self._said_behind = True
            _LOGGER.warning(
                "--speed %g is faster than this machine keeps up with: a reading came %.0f s "
                "of the clock late, a pause over %g s the recording has not, so the signals "
                "differ from the recording's; give --speed %g or lower (`ambient simulate` "
                "replays exactly)",
                self.speed,
                now - when,
                pause_s,
                speed_kept_up_with(self.speed, now - when, pause_s - written_s),
            )

    def for_outside_links(self) -> Clock:
        return RealClock()


@dataclass(slots=True)
class _VirtualTimer:
    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass(slots=True, eq=False)
class ReplayPlace:
    """Where one replay on a :class:`VirtualClock` stands: the time of the reading it hands
    over next, once it has said so (-inf: not yet, so no other replay may move time)."""

    at_s: float = -math.inf
    waiting: asyncio.Future[None] | None = None


class VirtualClock(Clock):
    """A clock that only moves when told to, jumping straight to the next due timer.

    ``advance_to`` fires due timers synchronously; ``run_until`` also lets the asyncio
    tasks those timers woke run to their next wait, so sleeping coroutines (action
    sequences, delays) behave exactly as they would live.
    """

    virtual = True

    #: Loop turns given when the loop's ready queue cannot be seen (not CPython's loop).
    SETTLE_ROUNDS = 8
    #: At most this many turns in a row while callbacks stay ready (a task that keeps
    #: rescheduling itself must not stall the simulation).
    MAX_SETTLE_ROUNDS = 64
    #: Calls of ``run_until`` that may pass without a loop turn when nothing is ready.
    MAX_TURNS_SKIPPED = 100

    def __init__(self, start: float = 0.0, wall_check_s: float | None = None) -> None:
        """``wall_check_s``: as on a live clock, for a test that steps this one (:meth:`step`)."""
        self._now = start
        self._replays: list[ReplayPlace] = []  # the replays moving this clock (see `join_replay`)
        self._stepped_s = 0.0  # what `step` moved the clock by, in all
        self.wall_check_s = wall_check_s
        # A heap of (when, sequence, timer): tuples compare in C, earliest first, ties in the
        # order they were set.
        self._timers: list[tuple[float, int, _VirtualTimer]] = []
        self._seq = itertools.count()
        self._turns_skipped = 0
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop `_ready` belongs to
        self._ready: Sized | None = None  # CPython's queue of ready callbacks, if it has one

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._stepped_s

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        now = self._now
        timer = _VirtualTimer(now if now > when else when, callback)  # `max`, written out
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        return timer

    def step(self, by_s: float) -> None:
        """The wall clock is stepped by ``by_s`` (NTP after a boot; negative: back) while the
        timers set keep their remaining delays, as a live clock's do on the loop's monotonic
        time: what happens to a Raspberry Pi's clock, in a test."""
        self._now += by_s
        self._stepped_s += by_s
        shifted = [(when + by_s, seq, timer) for when, seq, timer in self._timers]
        for when, _, timer in shifted:
            timer.when = when
        heapq.heapify(shifted)
        self._timers = shifted

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
            self._run_guarded(timer.callback)
        self._now = max(self._now, when)

    async def reach(self, when: float) -> None:
        await self.run_until(when)

    def reach_at_once(self, when: float) -> bool:
        """Do what ``reach`` would, without a coroutine, while it needs no loop turn: move
        time and fire the timers due by ``when`` (True). False: a loop turn is due, before
        anything or after a timer that woke a task; await ``reach(when)``, which turns the
        loop first, just where ``run_until`` would have, and goes on. A replay calls this per
        reading, and most readings (and the timers between them) need no coroutine."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the ready queue is looked up once per loop
            self._loop, self._ready = loop, getattr(loop, "_ready", None)
        ready = self._ready
        return ready is not None and self._fire_due_at_once(when, ready)

    def _fire_due_at_once(self, when: float, ready: Sized) -> bool:
        """``reach_at_once`` with the loop's ready queue at hand."""
        timers = self._timers
        while True:  # as `run_until`: a `_let_ready_tasks_run` before and after each timer
            if ready or self._turns_skipped >= self.MAX_TURNS_SKIPPED:
                return False
            self._turns_skipped += 1
            while timers and timers[0][2].cancelled:  # `_pop_due`, written out (per reading)
                heapq.heappop(timers)
            if not timers or timers[0][0] > when:
                break
            timer = heapq.heappop(timers)[2]
            if timer.when > self._now:  # `max`, written out here and below (per timer)
                self._now = timer.when
            self._run_guarded(timer.callback)
        if when > self._now:
            self._now = when
        return True

    def deliver_at_once(
        self,
        items: Sequence[TimedT],
        start: int,
        deliver: Callable[[TimedT], None],
        stop: int | None = None,
    ) -> int:
        """``reach_at_once(item.time)`` then ``deliver(item)`` for ``items[start:stop]`` in
        order, until a loop turn is due: returns the index of the first item not delivered
        (``stop``, or ``len(items)``, when all were); await ``reach`` to its time and go on.

        A replay hands its readings over this way: most come before the next timer with
        nothing ready to run, and then the clock only moves (no call per reading)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._ready = loop, getattr(loop, "_ready", None)
        ready = self._ready
        if ready is None:
            return start
        timers = self._timers
        end = len(items) if stop is None else stop
        # (a class attribute read through the instance is not a specialised read: once here)
        most_skipped = self.MAX_TURNS_SKIPPED
        for index in range(start, end):
            item = items[index]
            when = item.time
            if ready or self._turns_skipped >= most_skipped or (timers and timers[0][0] <= when):
                if not self._fire_due_at_once(when, ready):
                    return index
            else:  # `reach_at_once` with nothing due: one skipped turn, time moved
                self._turns_skipped += 1
                if when > self._now:
                    self._now = when
            deliver(item)
        return end

    def join_replay(self) -> ReplayPlace:
        """A replay (a recording sensor) starts moving this clock. Several replays take turns
        in time order: each hands over readings up to :meth:`others_at_s` at once, then says
        where it stands with :meth:`replay_turn`, so none moves time past a reading another
        has yet to hand over (that reading would reach the signals behind the clock, late).
        :meth:`leave_replay` when it ends."""
        place = ReplayPlace()
        self._replays.append(place)
        return place

    def leave_replay(self, place: ReplayPlace) -> None:
        self._replays.remove(place)
        self._wake_replays()

    def others_at_s(self, place: ReplayPlace) -> float:
        """The earliest time another replay has yet to hand a reading over at (inf: none)."""
        earliest = math.inf
        for other in self._replays:
            if other is not place and other.at_s < earliest:
                earliest = other.at_s
        return earliest

    async def replay_turn(self, place: ReplayPlace, when: float) -> None:
        """``place``'s replay hands a reading over at ``when`` next: return once no other
        replay has one to hand over before it (at once when none has)."""
        place.at_s = when
        if len(self._replays) < 2:
            return
        self._wake_replays()
        while when > self.others_at_s(place):
            place.waiting = asyncio.get_running_loop().create_future()
            try:
                await place.waiting
            finally:
                place.waiting = None

    def _wake_replays(self) -> None:
        """Wake each waiting replay whose turn it now is."""
        for place in self._replays:
            waiting = place.waiting
            if waiting is None or waiting.done():
                continue
            if place.at_s <= self.others_at_s(place):
                waiting.set_result(None)

    async def run_until(self, when: float) -> None:
        """Like ``advance_to``, but lets the tasks that timers (or readings) woke or started
        run to their next wait before time moves on."""
        loop = asyncio.get_running_loop()
        await self._let_ready_tasks_run(loop)
        while (timer := self._pop_due(when)) is not None:
            self._now = max(self._now, timer.when)
            self._run_guarded(timer.callback)
            await self._let_ready_tasks_run(loop)
        self._now = max(self._now, when)

    async def _let_ready_tasks_run(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the loop turns while callbacks are ready to run: a task woken by a timer or
        an ``asyncio.Event``, or a task just created, runs until its next wait.

        A replay calls this once per reading and most calls find nothing ready; skipping the
        turn then halves a simulation's cost. Every ``MAX_TURNS_SKIPPED``-th call takes a turn
        anyway, so I/O and signal handlers are never held off for long.
        """
        ready = getattr(loop, "_ready", None)  # CPython's queue of ready callbacks
        if ready is None:
            for _ in range(self.SETTLE_ROUNDS):
                await asyncio.sleep(0)
            return
        if not ready and self._turns_skipped < self.MAX_TURNS_SKIPPED:
            self._turns_skipped += 1
            return
        self._turns_skipped = 0
        await asyncio.sleep(0)
        rounds = 1
        while ready and rounds < self.MAX_SETTLE_ROUNDS:
            await asyncio.sleep(0)
            rounds += 1
