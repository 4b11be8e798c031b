"""The live reading queue: bounded (the oldest reading goes, counted), readings processed in the
order they came, a reading processed at once when nothing is ahead of it, and a failing reading
counted without stopping the ones after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from ambient.counters import Counters
from ambient.pipeline import ReadingQueue
from ambient.readings import Reading


def reading(value: float) -> Reading:
    return Reading(1800000000.0 + value, "alex", "hr", value, "mqtt0")


async def turns_until(condition: Callable[[], bool], max_turns: int = 1000) -> None:
    """Give the loop turns (no time passes) until ``condition`` holds."""
    for _ in range(max_turns):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail("the condition never held")


class Processed:
    """The handler: the values processed, in order; ``also`` runs inside each call."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.also: Callable[[Reading], None] = lambda _reading: None

    def __call__(self, processed: Reading) -> None:
        self.values.append(processed.value)
        self.also(processed)


@pytest.fixture
def processed() -> Processed:
    return Processed()


@pytest.fixture
def counters() -> Counters:
    return Counters()


@pytest.fixture
async def consuming(processed: Processed, counters: Counters) -> AsyncIterator[ReadingQueue]:
    """A queue whose consumer task is running (as in the daemon)."""
    queue = ReadingQueue(3, counters, processed)
    consumer = asyncio.get_running_loop().create_task(queue.consume())
    await asyncio.sleep(0)  # the consumer's first turn: it waits on the empty queue
    yield queue
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)


def test_a_full_queue_drops_its_oldest_reading_and_counts_it(
    processed: Processed, counters: Counters
) -> None:
    queue = ReadingQueue(3, counters, processed)  # nothing consumes yet: readings wait
    for value in (1, 2, 3, 4, 5):
        queue.put_nowait(reading(value))
    assert queue.qsize() == 3
    assert counters.get("pipeline", "dropped_queue_full") == 2
    queue.drain()
    assert processed.values == [3, 4, 5]


async def test_a_reading_with_nothing_ahead_of_it_is_processed_at_once(
    consuming: ReadingQueue, processed: Processed
) -> None:
    consuming.put_nowait(reading(1))
    assert processed.values == [1]  # before the consumer task had a turn
    await consuming.put(reading(2))
    assert processed.values == [1, 2]


async def test_readings_queued_before_the_consumer_starts_are_processed_first(
    processed: Processed, counters: Counters
) -> None:
    queue = ReadingQueue(10, counters, processed)
    queue.put_nowait(reading(1))  # no consumer yet: queued
    consumer = asyncio.get_running_loop().create_task(queue.consume())
    await turns_until(lambda: processed.values == [1])
    queue.put_nowait(reading(2))
    assert processed.values == [1, 2]
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)


async def test_a_reading_that_comes_while_another_is_processed_waits_its_turn(
    consuming: ReadingQueue, processed: Processed
) -> None:
    # Seen here, not asserted in the handler: the queue counts a handler's exception instead.
    after_handing_over: list[list[float]] = []

    def hand_over_another(current: Reading) -> None:
        if current.value == 1:
            consuming.put_nowait(reading(2))  # e.g. a sensor's callback inside processing
            after_handing_over.append(list(processed.values))

    processed.also = hand_over_another
    consuming.put_nowait(reading(1))
    assert after_handing_over == [[1]]  # the 2 was not processed inside the first one
    consuming.put_nowait(reading(3))  # the 2 waits for the consumer's turn: so does the 3
    assert processed.values == [1]
    await turns_until(lambda: len(processed.values) == 3)
    assert processed.values == [1, 2, 3]


async def test_a_reading_that_fails_is_counted_and_the_next_one_processed(
    consuming: ReadingQueue, processed: Processed, counters: Counters
) -> None:
    def fail_on_the_first(current: Reading) -> None:
        if current.value == 1:
            raise ValueError("a bug in a signal")

    processed.also = fail_on_the_first
    consuming.put_nowait(reading(1))
    consuming.put_nowait(reading(2))
    assert processed.values == [1, 2]
    assert counters.get("pipeline", "processing_error") == 1


async def test_drain_processes_what_is_still_queued_in_order(
    processed: Processed, counters: Counters
) -> None:
    queue = ReadingQueue(10, counters, processed)
    for value in (1, 2, 3):
        queue.put_nowait(reading(value))
    queue.drain()
    assert processed.values == [1, 2, 3]
    assert queue.qsize() == 0
