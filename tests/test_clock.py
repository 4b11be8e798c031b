"""The clock every timer reads: virtual time jumps to the next due timer, in order."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from ambient.clock import Clock, RealClock, ScaledClock, VirtualClock, speed_kept_up_with
from ambient.readings import Reading


def test_virtual_timers_fire_in_time_order_at_their_own_time() -> None:
    clock = VirtualClock(100.0)
    fired: list[tuple[str, float]] = []
    clock.call_at(130.0, lambda: fired.append(("b", clock.now())))
    clock.call_at(110.0, lambda: fired.append(("a", clock.now())))
    clock.call_later(50.0, lambda: fired.append(("c", clock.now())))
    clock.advance_to(140.0)
    assert fired == [("a", 110.0), ("b", 130.0)]
    assert clock.now() == 140.0
    clock.advance_to(1000.0)
    assert fired[-1] == ("c", 150.0)


def test_cancelled_virtual_timer_never_fires() -> None:
    clock = VirtualClock()
    fired: list[int] = []
    handle = clock.call_at(5.0, lambda: fired.append(1))
    handle.cancel()
    clock.advance_to(10.0)
    assert fired == []
    assert clock.next_due() is None


def test_timer_in_the_past_fires_at_once_without_moving_time_back() -> None:
    clock = VirtualClock(50.0)
    seen: list[float] = []
    clock.call_at(10.0, lambda: seen.append(clock.now()))
    clock.advance_to(50.0)
    assert seen == [50.0]


async def test_sleeping_tasks_wake_on_virtual_time() -> None:
    clock = VirtualClock(0.0)
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.now())
        await clock.sleep(seconds)
        woke.append(clock.now())

    task = asyncio.create_task(sleeper(3600.0))
    await clock.run_until(7200.0)
    assert woke == [3600.0, 7200.0]
    assert task.done()


async def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = ScaledClock(1000.0, start=0.0)
    fired = asyncio.Event()
    clock.call_later(60.0, fired.set)  # one scaled minute = 60 ms of real time
    await asyncio.wait_for(fired.wait(), timeout=5.0)
    assert clock.now() >= 60.0


async def test_a_replay_still_gives_the_loop_turns_for_outside_callbacks() -> None:
    """A replay calls run_until once per reading and skips loop turns when nothing is ready;
    a callback scheduled from outside (I/O, a signal handler) still runs within 100 calls."""
    clock = VirtualClock(0.0)
    loop = asyncio.get_running_loop()
    await clock.run_until(1.0)  # nothing ready: the next calls may skip their turn
    ran: list[float] = []
    loop.call_soon(lambda: ran.append(clock.now()))  # not a timer of the clock
    calls = 0
    while not ran and calls < 200:
        calls += 1
        await clock.run_until(1.0 + calls)
    assert ran, "the outside callback never ran"
    assert calls <= VirtualClock.MAX_TURNS_SKIPPED + 1


def _boom() -> None:
    raise RuntimeError("half-updated")


async def test_a_failing_virtual_timer_is_logged_counted_and_the_replay_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock(0.0)
    failures: list[str] = []
    clock.on_callback_failure = failures.append
    fired: list[float] = []
    clock.call_at(5.0, _boom)
    clock.call_at(6.0, lambda: fired.append(clock.now()))
    with caplog.at_level(logging.ERROR, logger="ambient.clock"):
        await clock.run_until(10.0)
        clock.call_at(11.0, _boom)
        clock.advance_to(12.0)
    assert fired == [6.0]
    assert clock.failed_callbacks == 2
    assert failures == ["_boom", "_boom"]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Timer callback _boom failed: RuntimeError: half-updated"] * 2
    assert all(r.exc_info is None for r in caplog.records)  # one line, no traceback


@pytest.mark.parametrize("make_clock", [RealClock, lambda: ScaledClock(60.0)])
async def test_a_failing_live_timer_never_reaches_asyncios_handler(
    make_clock: Callable[[], Clock],
) -> None:
    clock = make_clock()
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    after: asyncio.Future[None] = loop.create_future()
    clock.call_at(clock.now() - 1.0, _boom)
    clock.call_at(clock.now() - 1.0, lambda: after.set_result(None))
    await after
    assert unhandled == []
    assert clock.failed_callbacks == 1


def test_each_clock_answers_what_its_users_ask() -> None:
    """Parts ask the clock, not its type: the answers that tell live, faster and replayed apart."""
    real, scaled, virtual = RealClock(), ScaledClock(60), VirtualClock(0.0)
    assert [c.virtual for c in (real, scaled, virtual)] == [False, False, True]
    assert [c.runs_ahead_of_wall_time for c in (real, scaled, virtual)] == [False, True, False]
    assert real.for_outside_links() is real
    assert virtual.for_outside_links() is virtual
    assert type(scaled.for_outside_links()) is RealClock  # brokers answer in real time
    # The live clocks can be stepped under their timers (NTP): wall-clock waits look again.
    assert [c.wall_check_s for c in (real, scaled, virtual)] == [60.0, 3600.0, None]


def test_a_stepped_virtual_clock_moves_now_and_keeps_the_timers_remaining_delays() -> None:
    """As a live clock stepped by NTP: ``now`` jumps, a timer still runs after its delay."""
    clock = VirtualClock(1000.0)
    fired: list[float] = []
    clock.call_later(30.0, lambda: fired.append(clock.now()))
    clock.call_later(10.0, lambda: fired.append(clock.now()))
    clock.step(86400.0)
    assert clock.now() == 87400.0
    clock.advance_to(87420.0)
    assert fired == [87410.0]
    clock.step(-86400.0)  # back again: the 30 s timer has 10 s left
    clock.advance_to(1030.0)
    assert fired == [87410.0, 1030.0]


def test_monotonic_time_counts_what_elapsed_whatever_steps_the_wall_clock_took() -> None:
    """What a cooldown or an escalation level counts on: steps move ``now``, not it."""
    clock = VirtualClock(1000.0)
    started = clock.monotonic()
    clock.advance_to(1060.0)
    clock.step(-86400.0)
    clock.advance_to(1090.0 - 86400.0)
    clock.step(3600.0)
    assert clock.monotonic() - started == 90.0


async def test_reaching_a_time_on_a_virtual_clock_moves_it_there() -> None:
    clock = VirtualClock(100.0)
    fired: list[float] = []
    clock.call_at(150.0, lambda: fired.append(clock.now()))
    await clock.reach(200.0)
    assert clock.now() == 200.0
    assert fired == [150.0]


async def test_reaching_at_once_fires_due_timers_without_a_coroutine() -> None:
    """A replay moves time per reading without awaiting while no task needs a turn: the
    timers due on the way fire in order, each at its own time."""
    clock = VirtualClock(0.0)
    fired: list[float] = []
    clock.call_at(2.0, lambda: fired.append(clock.now()))
    clock.call_at(1.0, lambda: fired.append(clock.now()))
    clock.call_at(9.0, lambda: fired.append(clock.now()))
    assert clock.reach_at_once(5.0)
    assert fired == [1.0, 2.0]
    assert clock.now() == 5.0


async def test_a_timer_that_wakes_a_task_hands_reaching_back_to_the_loop() -> None:
    """After a timer wakes a task, ``reach_at_once`` stops (False) with the later timers
    unfired; awaiting ``reach`` then lets the task run at that timer's time before they fire,
    as ``run_until`` does."""
    clock = VirtualClock(0.0)
    woken = asyncio.Event()
    seen: list[tuple[str, float]] = []
    task = await _task_waiting_for(woken, clock, seen)
    clock.call_at(1.0, woken.set)
    clock.call_at(2.0, lambda: seen.append(("timer", clock.now())))
    assert not clock.reach_at_once(5.0)
    assert clock.now() == 1.0 and seen == []
    await clock.reach(5.0)
    await task
    assert seen == [("task", 1.0), ("timer", 2.0)]
    assert clock.now() == 5.0


async def test_delivering_at_once_moves_to_each_item_and_fires_what_falls_due_before_it() -> None:
    """A replay's readings are handed over in a run: each at its own time, after the timers
    due by then (a timer due at an item's own time fires first), with no coroutine."""
    clock = VirtualClock(0.0)
    seen: list[tuple[str, float]] = []
    clock.call_at(2.0, lambda: seen.append(("timer", clock.now())))
    clock.call_at(3.0, lambda: seen.append(("timer", clock.now())))
    items = [Reading(t, "alex", "rr", 800.0, "test") for t in (1.0, 3.0, 4.0)]

    delivered = clock.deliver_at_once(items, 0, lambda r: seen.append(("item", clock.now())))

    assert delivered == len(items)
    assert seen == [("item", 1.0), ("timer", 2.0), ("timer", 3.0), ("item", 3.0), ("item", 4.0)]
    assert clock.now() == 4.0


async def test_delivering_at_once_stops_where_a_task_needs_a_turn() -> None:
    """An item that wakes a task (or a timer that does) stops the run before the next item:
    its index comes back, and awaiting ``reach`` lets the task run first, at the time it
    was woken."""
    clock = VirtualClock(0.0)
    woken = asyncio.Event()
    seen: list[tuple[str, float]] = []
    task = await _task_waiting_for(woken, clock, seen)
    items = [Reading(t, "alex", "rr", 800.0, "test") for t in (1.0, 2.0, 3.0)]

    def deliver(item: Reading) -> None:
        seen.append(("item", clock.now()))
        if item.time == 1.0:
            woken.set()

    assert clock.deliver_at_once(items, 0, deliver) == 1
    await clock.reach(items[1].time)
    deliver(items[1])
    assert clock.deliver_at_once(items, 2, deliver) == 3
    await task
    assert seen == [("item", 1.0), ("task", 1.0), ("item", 2.0), ("item", 3.0)]


async def _task_waiting_for(
    woken: asyncio.Event, clock: VirtualClock, seen: list[tuple[str, float]]
) -> asyncio.Task[None]:
    """A task already waiting for ``woken``; once woken it notes ("task", the clock's time)."""

    async def sleeper() -> None:
        await woken.wait()
        seen.append(("task", clock.now()))

    task = asyncio.create_task(sleeper())
    await clock.run_until(0.5)  # the task starts and waits
    return task


async def test_delivering_at_once_gives_the_loop_a_turn_every_hundred_items() -> None:
    """With nothing ready, a run still stops for a loop turn after ``MAX_TURNS_SKIPPED`` items
    (counted across runs, the item of a failed delivery too), so I/O is never held off."""
    clock = VirtualClock(0.0)
    most = VirtualClock.MAX_TURNS_SKIPPED
    items = [Reading(float(t), "alex", "rr", 800.0, "test") for t in range(1, 4 * most)]
    delivered: list[Reading] = []

    assert clock.deliver_at_once(items, 0, delivered.append) == most
    await clock.reach(items[most].time)  # the turn, then the item it stopped at
    delivered.append(items[most])
    assert clock.deliver_at_once(items, most + 1, delivered.append) == 2 * most + 1
    await clock.reach(items[2 * most + 1].time)

    def refuse(item: Reading) -> None:
        raise RuntimeError("full")

    with pytest.raises(RuntimeError):
        clock.deliver_at_once(items, 2 * most + 1, refuse)
    assert clock.deliver_at_once(items, 2 * most + 2, delivered.append) == 3 * most + 1
    assert delivered == items[: 2 * most + 1] + items[2 * most + 2 : 3 * most + 1]


async def test_a_failing_timer_fired_while_delivering_at_once_is_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock(0.0)
    clock.call_at(1.5, _boom)
    items = [Reading(t, "alex", "rr", 800.0, "test") for t in (1.0, 2.0)]
    delivered: list[Reading] = []
    with caplog.at_level(logging.ERROR, logger="ambient.clock"):
        assert clock.deliver_at_once(items, 0, delivered.append) == 2
    assert delivered == items
    assert clock.failed_callbacks == 1
    assert [r.getMessage() for r in caplog.records] == [
        "Timer callback _boom failed: RuntimeError: half-updated"
    ]


def test_a_wall_timer_runs_when_the_clock_shows_its_time_across_steps() -> None:
    """``call_at_wall``: a step forward past its time runs it within ``wall_check_s``; a step
    back puts it off until the clock shows its time again (``call_at`` keeps its delay)."""
    clock = VirtualClock(0.0, wall_check_s=60.0)
    fired: list[tuple[str, float]] = []
    clock.call_at_wall(3600.0, lambda: fired.append(("forward", clock.now())))
    clock.advance_to(100.0)
    clock.step(7200.0)  # now 7300: past its time
    clock.advance_to(7400.0)
    assert fired == [("forward", 7320.0)]  # the look due at 120 s, shifted by the step
    clock.call_at_wall(8000.0, lambda: fired.append(("back", clock.now())))
    clock.step(-1000.0)  # now 6400: 1600 s to its time on the wall
    clock.advance_to(8100.0)
    assert fired[1:] == [("back", 8000.0)]


def test_a_wall_timer_on_a_clock_never_stepped_is_one_timer() -> None:
    clock = VirtualClock(0.0)
    handle = clock.call_at_wall(5000.0, lambda: None)
    assert clock.next_due() == 5000.0
    handle.cancel()
    assert clock.next_due() is None


async def test_a_scaled_clock_says_once_that_the_machine_is_behind_its_replay(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """At 2000x a loop a real second behind has a replay hand its reading over 2000 s of the
    clock late, whether it slept until then or was already behind: the readings reach the
    signals late and read stale (the demo's hour learnt 44 resting minutes at 200, 24-33 at
    5000-10000 and 3 at 20000). The clock does not wait for the machine (a satellite's and
    its central's clocks keep step with real time), so ``run`` says so, once; a reading
    handed over on time says nothing."""
    wall = [1000.0]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    clock = ScaledClock(2000.0, start=0.0)
    for _ in range(2):
        await clock.reach(clock.now() + 1.0)
    assert caplog.records == []

    due = clock.now()
    wall[0] += 1.0  # the loop a second behind before the replay's turn: no sleep, late
    await clock.reach(due)

    def fall_behind() -> None:
        wall[0] += 1.0  # the loop a second behind while the replay sleeps

    asyncio.get_running_loop().call_soon(fall_behind)
    await clock.reach(clock.now() + 1.0)
    assert clock.now() == 4000.0  # woken late again: said once
    [line] = [r.getMessage() for r in caplog.records]
    assert line == (  # at 2, a second behind is 2 s of the clock late: 1 s apart, 3 s seen
        "--speed 2000 is faster than this machine keeps up with: a reading came 2000 s of the "
        "clock late, a pause over 5 s the recording has not, so the signals differ from the "
        "recording's; give --speed 2 or lower (`ambient simulate` replays exactly)"
    )


async def test_a_scaled_clock_says_once_when_its_lag_shows_the_signals_a_pause_not_recorded(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """At 600x a loop 13 ms behind hands beats over 8 s of the clock late: beats that reach
    the signals more than ``rr_gap`` (5 s) after the one before read as a pause (their cleaning
    starts again), so the run's signals differ from the recording's; it was said only past
    15 s. A lag that leaves readings within ``pauses_s`` of the one before says nothing, nor
    does a pause the recording has itself. It names a speed to give: at 100, 13 ms late is
    1.3 s of the clock, well within the 4 s the recording leaves."""
    wall = [1000.0]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    clock = ScaledClock(600.0, start=0.0, pauses_s=[5.0])

    def clock_at(t: float) -> None:
        wall[0] = 1000.0 + t / 600.0

    clock_at(3.0)
    await clock.reach(0.0)  # 3 s late
    await clock.reach(1.0)  # 2 s late, a second after the one before: 3 s apart as seen
    clock_at(14.0)
    await clock.reach(11.0)  # 3 s late after the recording's own pause of 10 s
    assert caplog.records == []
    clock_at(20.0)
    await clock.reach(12.0)  # 8 s late: 9 s after the one before, 1 s apart as recorded
    clock_at(30.0)
    await clock.reach(13.0)
    [line] = [r.getMessage() for r in caplog.records]
    assert line == (
        "--speed 600 is faster than this machine keeps up with: a reading came 8 s of the clock "
        "late, a pause over 5 s the recording has not, so the signals differ from the "
        "recording's; give --speed 100 or lower (`ambient simulate` replays exactly)"
    )


async def test_a_scaled_clock_says_when_its_lag_opens_a_longer_pause_than_the_recording_s(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A watch's samples 5 min apart, stale past its 6 min: a sample 70 s of the clock late
    (117 ms at 600) reaches the signals after its last went stale. Only the shortest pause
    (rr_gap, 5 s) was watched, which the recording's own 5 min are over: it went unsaid."""
    wall = [1000.0]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    clock = ScaledClock(600.0, start=0.0, pauses_s=[5.0, 15.0, 360.0])
    await clock.reach(0.0)
    wall[0] = 1000.0 + 350.0 / 600.0
    await clock.reach(300.0)  # 50 s late: seen 350 s apart, within 6 min
    assert caplog.records == []
    wall[0] = 1000.0 + 670.0 / 600.0
    await clock.reach(600.0)  # 70 s late: 370 s apart
    [line] = [r.getMessage() for r in caplog.records]
    assert line == (
        "--speed 600 is faster than this machine keeps up with: a reading came 70 s of the clock "
        "late, a pause over 360 s the recording has not, so the signals differ from the "
        "recording's; give --speed 200 or lower (`ambient simulate` replays exactly)"
    )


async def test_a_scaled_clock_watches_the_pauses_its_function_gives_now(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`run --speed` gives its running config's pauses, which a reload can change: they were
    taken once at the start, so a reload's rr_gap of 3 s went unwatched."""
    wall = [1000.0]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    pauses = [[5.0]]
    clock = ScaledClock(600.0, start=0.0, pauses_s=lambda: pauses[0])
    await clock.reach(0.0)
    wall[0] = 1000.0 + 5.0 / 600.0
    await clock.reach(1.0)  # 4 s late: 5 s apart as seen, within 5 s
    assert caplog.records == []
    pauses[0] = [3.0]  # the config reloaded
    assert clock.pauses_s == [3.0]
    wall[0] = 1000.0 + 6.0 / 600.0
    await clock.reach(2.0)  # 4 s late: 5 s apart as seen, over 3 s
    [line] = [r.getMessage() for r in caplog.records]
    assert "a pause over 3 s the recording has not" in line


@pytest.mark.parametrize(
    ("speed", "late_s", "room_s", "given"),
    [
        (600.0, 8.0, 4.0, 100.0),  # 600 * 4 / 8 / 2 = 150: the round speed below
        (600.0, 6.0, 4.15, 200.0),
        (600.0, 42.0, 4.15, 20.0),  # a 70 ms hiccup of a busy machine
        (100_000.0, 3000.0, 2.15, 20.0),
        (2000.0, 2000.0, 5.0, 2.0),
        (600.0, 5.1, 0.0, 1.0),  # never below 1
        (100_000.0, 26.0, 4.15, 200.0),  # late by its own work alone: a hiccup of 10 ms
    ],
)
def test_the_speed_a_lagging_replay_names_leaves_room_for_a_hiccup_twice_as_long(
    speed: float, late_s: float, room_s: float, given: float
) -> None:
    assert speed_kept_up_with(speed, late_s, room_s) == given
    if room_s:
        assert max(late_s / speed, 0.01) * given * 2 <= room_s


async def test_a_scaled_clock_s_other_sleepers_woken_late_say_nothing_of_a_replay(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A live run at ``--speed`` (a central fed by a satellite, no recording of its own): a
    rule's wait or a breathing session's next step woken late hands no reading over, so the
    line saying a replay's readings come late would not be true there."""
    wall = [1000.0]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    clock = ScaledClock(2000.0, start=0.0)

    def fall_behind() -> None:
        wall[0] += 1.0

    asyncio.get_running_loop().call_soon(fall_behind)
    await clock.sleep_until(clock.now())
    assert clock.now() == 2000.0
    assert caplog.records == []
