"""Whether the system clock is synchronised: said once at start, shown in status until it is.

The kernel's NTP state cannot be changed from a test, so the watch is given a stand-in reader
(a list of answers, one per read); one test calls the real reader on this machine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from ambient.clock import ScaledClock, VirtualClock
from ambient.clock_sync import ClockSyncWatch, read_kernel_clock_synchronised


def answers(*states: bool | None) -> Callable[[], bool | None]:
    """A stand-in for the kernel's state: each read gives the next answer, then the last."""
    left = list(states)

    def read() -> bool | None:
        return left.pop(0) if len(left) > 1 else left[0]

    return read


def test_the_real_reader_gives_a_known_answer_on_this_machine() -> None:
    assert read_kernel_clock_synchronised() in (True, False, None)


async def test_an_unsynchronised_clock_is_said_once_at_start_and_shown_until_ntp_sets_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock(start=1000.0)
    watch = ClockSyncWatch(clock, answers(False, False, False, True))
    with caplog.at_level(logging.INFO, logger="ambient.clock_sync"):
        task = asyncio.ensure_future(watch.run())
        await clock.run_until(1000.0)
        assert watch.status() == {"synchronised": False}
        await clock.run_until(1000.0 + 2 * ClockSyncWatch.CHECK_S)
        assert watch.status() == {"synchronised": False}  # read again each minute
        await clock.run_until(1000.0 + 3 * ClockSyncWatch.CHECK_S)
    await task  # it stops watching once synchronised
    assert watch.status() == {"synchronised": True, "since": 1000.0 + 3 * ClockSyncWatch.CHECK_S}
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in records] == [logging.WARNING, logging.INFO]
    assert "not synchronised" in records[0][1]
    assert "timestamp is in the future" in records[0][1]
    assert "synchronised (NTP) after 3 min" in records[1][1]


@pytest.mark.parametrize(("state", "shown"), [(True, {"synchronised": True}), (None, None)])
async def test_a_synchronised_or_unknown_clock_says_nothing_and_is_not_read_again(
    caplog: pytest.LogCaptureFixture, state: bool | None, shown: dict[str, bool] | None
) -> None:
    reads: list[bool | None] = []

    def read() -> bool | None:
        reads.append(state)
        return state

    clock = VirtualClock(start=1000.0)
    watch = ClockSyncWatch(clock, read)
    with caplog.at_level(logging.INFO, logger="ambient.clock_sync"):
        await watch.run()
    assert watch.status() == shown
    assert caplog.records == []
    assert len(reads) == 1
    assert clock.next_due() is None  # no check left scheduled


async def test_a_reader_that_stops_answering_ends_the_watch_without_a_word(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock(start=1000.0)
    watch = ClockSyncWatch(clock, answers(False, None))
    with caplog.at_level(logging.INFO, logger="ambient.clock_sync"):
        task = asyncio.ensure_future(watch.run())
        await clock.run_until(1000.0 + ClockSyncWatch.CHECK_S)
    await task
    assert watch.status() is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_status_is_unknown_before_the_first_read() -> None:
    assert ClockSyncWatch(VirtualClock(), answers(False)).status() is None


async def test_a_replay_at_speed_says_nothing_of_ntp(caplog: pytest.LogCaptureFixture) -> None:
    """``ambient run --speed 600`` (the demo) keeps a time of its own racing ahead of the
    system clock: whether NTP has set the system clock says nothing about it."""

    def read() -> bool | None:
        raise AssertionError("the system clock's NTP state was read for a replay")

    watch = ClockSyncWatch(ScaledClock(600.0), read)
    with caplog.at_level(logging.INFO, logger="ambient.clock_sync"):
        await watch.run()
    assert (watch.status(), caplog.records) == (None, [])
