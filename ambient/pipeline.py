"""How readings travel from sensors to the signal engine: a bounded queue when live, a direct
call on a virtual clock (so a simulation processes each reading at exactly its own time)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.readings import Reading
from ambient.stage_times import STAGE

_LOGGER = logging.getLogger(__name__)
_THROTTLE = Throttle(60.0)

ReadingHandler = Callable[[Reading], None]


class ReadingQueue:
    """Bounded: when the consumer falls behind, the oldest reading is dropped and counted, so a
    burst can never exhaust a Pi's memory and fresh readings always get through.

    While :meth:`consume` runs, a reading that finds the queue empty and no reading being
    processed is processed at once, in the sensor's turn: everything before it is done, so
    the order holds, and the action it fires leaves one event-loop turn sooner (no wait for
    the consumer task's turn). Readings that come faster than they are processed queue up.
    """

    def __init__(self, maxsize: int, counters: Counters, handler: ReadingHandler) -> None:
        self._queue: asyncio.Queue[Reading] = asyncio.Queue(maxsize)
        self._counters = counters
        self._handler = handler
        self._consuming = False
        self._processing = False

    def put_nowait(self, reading: Reading) -> None:
        if STAGE is not None:
            STAGE("queued")
        if self._nothing_ahead():
            self._process(reading)
            return
        if self._queue.full():
            self._queue.get_nowait()
            self._counters.increment("pipeline", "dropped_queue_full")
            _THROTTLE.log(_LOGGER, logging.WARNING, "full", "Reading queue full: dropped oldest")
        self._queue.put_nowait(reading)

    async def put(self, reading: Reading) -> None:
        if self._nothing_ahead():
            self._process(reading)
            return
        await self._queue.put(reading)

    async def consume(self) -> None:
        """Process queued readings in order until cancelled (the daemon's consumer task)."""
        self._consuming = True
        try:
            while True:
                self._process(await self._queue.get())
        finally:
            self._consuming = False

    def drain(self) -> None:
        """Process what is still queued (at shutdown, once the sensors have stopped)."""
        while self._queue.qsize():
            self._process(self._queue.get_nowait())

    def qsize(self) -> int:
        return self._queue.qsize()

    def _nothing_ahead(self) -> bool:
        """Whether a reading put now may be processed at once without passing another."""
        return self._consuming and not self._processing and not self._queue.qsize()

    def _process(self, reading: Reading) -> None:
        if STAGE is not None:
            STAGE("consumed")
        self._processing = True
        try:
            self._handler(reading)
        except Exception:
            self._counters.increment("pipeline", "processing_error")
            _LOGGER.exception("Failed to process a %s reading", reading.metric)
        finally:
            self._processing = False
        if STAGE is not None:
            STAGE("processed")


class DirectSink:
    """Hands each reading straight to the handler (virtual clock: no queue, no reordering)."""

    def __init__(self, handler: ReadingHandler) -> None:
        self._handler = handler
        #: The handler itself, not a method that calls it: a simulation hands every reading
        #: over this way (one Python call less per reading).
        self.put_nowait: ReadingHandler = handler

    async def put(self, reading: Reading) -> None:
        self._handler(reading)

    def qsize(self) -> int:
        return 0
