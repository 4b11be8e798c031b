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
    burst can never exhaust a Pi's memory and fresh readings always get through."""

    def __init__(self, maxsize: int, counters: Counters) -> None:
        self._queue: asyncio.Queue[Reading] = asyncio.Queue(maxsize)
        self._counters = counters

    def put_nowait(self, reading: Reading) -> None:
        if STAGE is not None:
            STAGE("queued")
        if self._queue.full():
            self._queue.get_nowait()
            self._counters.increment("pipeline", "dropped_queue_full")
            _THROTTLE.log(_LOGGER, logging.WARNING, "full", "Reading queue full: dropped oldest")
        self._queue.put_nowait(reading)

    async def put(self, reading: Reading) -> None:
        await self._queue.put(reading)

    async def get(self) -> Reading:
        return await self._queue.get()

    def get_nowait(self) -> Reading | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def qsize(self) -> int:
        return self._queue.qsize()


class DirectSink:
    """Hands each reading straight to the handler (virtual clock: no queue, no reordering)."""

    def __init__(self, handler: ReadingHandler) -> None:
        self._handler = handler

    def put_nowait(self, reading: Reading) -> None:
        self._handler(reading)

    async def put(self, reading: Reading) -> None:
        self._handler(reading)

    def qsize(self) -> int:
        return 0
