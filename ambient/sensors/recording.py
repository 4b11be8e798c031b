"""The ``recording`` sensor: replays a recording on the daemon's clock.

Relative recordings (``t`` from the start) are anchored at the clock's time when the replay
starts; absolute ones keep their times when the clock is virtual (a simulation starts at the
recording's first time) and are shifted to now when live. On a virtual clock the replay moves
time itself, so an hour replays as fast as the CPU allows. A recording read already where the
replay puts it (a simulation reads it onto its clock, named as this sensor) is handed over as
it is. A simulation may instead hand over a recording it reads as it replays (a
``RecordingStream``, a block at a time): a file that turns out not to be replayable so (a row
out of time order, another kind of time) ends this sensor's replay, kept in ``failure`` for
the simulation to act on, and ``on_failure`` is told.

Live (``ambient run``), the file is read through once per pass to check its time order, then
played as it is read, a block at a time, so a month of beats never sits in memory; ``loop``
opens it again for each pass. A file out of time order is read whole and sorted, and played
so (every pass from memory), as before.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Final

from ambient.clock import Clock, ReplayPlace, VirtualClock
from ambient.config.sensors import RecordingSensorConfig
from ambient.pipeline import DirectSink
from ambient.ports import ReadingSink
from ambient.readings import Reading, moved
from ambient.recordings import (
    OutOfOrder,
    Recording,
    RecordingError,
    RecordingStream,
    load_recording,
)

_LOGGER = logging.getLogger(__name__)
#: Readings made ready for a virtual replay at a time (their times moved, the sensor named):
#: few, so they die young (a long chunk outlives a collection and costs the collector more).
_CHUNK: Final = 64


class RecordingSensor:
    def __init__(
        self,
        config: RecordingSensorConfig,
        clock: Clock,
        *,
        name: str,
        recording: Recording | RecordingStream | None = None,
        people: Collection[str] | None = None,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._preloaded = recording
        #: Why a recording read as it replays stopped short (None: it did not).
        self.failure: OutOfOrder | RecordingError | None = None
        self.on_failure = on_failure
        #: The people the config knows: rows for anyone else are skipped and reported.
        self._people = people
        self.clock = clock
        self.name = name
        self._replayed = 0
        self._total = 0
        self._skipped = 0

    async def run(self, sink: ReadingSink) -> None:
        if isinstance(self._preloaded, RecordingStream):
            await self._replay_stream(self._preloaded, sink)
            return
        if self._preloaded is None and not self.clock.virtual:
            try:
                await self._play_file_live(sink)
                return
            except OutOfOrder as exc:  # met by the read-through, before any reading went out
                _LOGGER.debug("%s: read whole and sorted", exc)
        recording = self._preloaded or load_recording(
            self.config.path, self.config.person or "default", self._people
        )
        self._skipped = len(recording.problems)
        readings = recording.readings
        self._total = len(readings)
        if not readings:
            _LOGGER.warning("Recording %s has no readings", self.config.path)
            return
        while True:
            # A recording read onto a clock (`origin_s`) is moved by the difference: none
            # when it was read onto this clock's start.
            if self.clock.virtual:
                offset = (self.clock.now() if recording.relative else 0.0) - recording.origin_s
                chunks = _chunks(readings)
                if offset == 0.0 and recording.source == self.name:
                    await self._replay_virtual(self.clock, chunks, None, sink)
                else:
                    await self._replay_virtual(self.clock, chunks, offset, sink)
            else:
                start = recording.origin_s if recording.relative else readings[0].time
                await self._replay_live(readings, self.clock.now() - start, sink)
            if not self.config.loop:
                return

    async def _replay_stream(self, stream: RecordingStream, sink: ReadingSink) -> None:
        """A recording read as it replays, on a virtual clock (a simulation's)."""
        if stream.first_time_s is None:
            _LOGGER.warning("Recording %s has no readings", self.config.path)
        offset = (self.clock.now() if stream.relative else 0.0) - stream.origin_s
        as_read = offset == 0.0 and stream.source == self.name
        try:
            await self._replay_virtual(
                self.clock, stream.batches(), None if as_read else offset, sink
            )
        except (OutOfOrder, RecordingError) as exc:
            self.failure = exc
            if self.on_failure is not None:
                self.on_failure()
        self._total = self._replayed

    async def _play_file_live(self, sink: ReadingSink) -> None:
        """The file played on a live clock as it is read, pass after pass with ``loop``;
        :class:`OutOfOrder` (from a pass's first read-through) when it is not in time order."""
        path, person, people = self.config.path, self.config.person or "default", self._people
        first_pass = True
        while True:
            # Read through first: a row out of order is found before any reading goes out,
            # and the skipped rows are logged once, before the replay, as when read whole.
            with RecordingStream(path, person, people, log_problems=first_pass) as scan:
                total = sum(len(block) for block in scan.batches())
                self._skipped, self._total = scan.problem_count, total
            if not total:
                _LOGGER.warning("Recording %s has no readings", path)
                return
            with RecordingStream(path, person, people, log_problems=False) as stream:
                start = stream.origin_s if stream.relative else stream.first_time_s
                offset = self.clock.now() - (start or 0.0)
                readings = itertools.chain.from_iterable(stream.batches())
                try:
                    await self._replay_live(readings, offset, sink)
                except OutOfOrder as exc:  # its readings so far are out: never sent again
                    _LOGGER.warning("%s: the recording changed while it played: pass ended", exc)
            if not self.config.loop:
                return
            first_pass = False

    async def _replay_virtual(
        self,
        clock: Clock,
        chunks: Iterable[list[Reading]],
        offset: float | None,
        sink: ReadingSink,
    ) -> None:
        """Each reading at its own virtual time (moved by ``offset``; None: the readings are
        already this sensor's, at their times); the replay moves the clock itself, taking
        turns with the other replays on it (``VirtualClock.join_replay``): every reading of
        every recording reaches the sink at its own time, in time order across them."""
        if not isinstance(clock, VirtualClock):
            await self._replay_each(clock, None, chunks, offset, sink)
            return
        place = clock.join_replay()
        try:
            await asyncio.sleep(0)  # the replays started beside this one join too
            if isinstance(sink, DirectSink):
                await self._replay_at_once(clock, place, chunks, offset, sink.put_nowait)
            else:
                await self._replay_each(clock, place, chunks, offset, sink)
        finally:
            clock.leave_replay(place)

    async def _replay_each(
        self,
        clock: Clock,
        place: ReplayPlace | None,
        chunks: Iterable[list[Reading]],
        offset: float | None,
        sink: ReadingSink,
    ) -> None:
        """``_replay_virtual`` a reading at a time (a sink that may wait)."""
        name = self.name
        virtual = clock if isinstance(clock, VirtualClock) else None
        for chunk in chunks:
            for reading in chunk:
                when = reading.time + (offset or 0.0)
                if virtual is None or place is None:
                    await clock.reach(when)
                else:
                    if when > virtual.others_at_s(place):
                        await virtual.replay_turn(place, when)
                    if not virtual.reach_at_once(when):
                        await virtual.replay_turn(place, when)
                        await clock.reach(when)
                await sink.put(Reading(when, reading.person, reading.metric, reading.value, name))
                self._replayed += 1

    async def _replay_at_once(
        self,
        clock: VirtualClock,
        place: ReplayPlace,
        chunks: Iterable[list[Reading]],
        offset: float | None,
        put_now: Callable[[Reading], None],
    ) -> None:
        """The replay of a simulation: readings handed straight to the pipeline, a run at a
        time (``VirtualClock.deliver_at_once``) up to the next reading another replay has
        to hand over, awaiting the clock only when a loop turn (or that replay's turn) is
        due. ``diagnostics`` counts them after each run."""
        name = self.name
        for chunk in chunks:
            if offset is not None:
                chunk = moved(chunk, offset, name)
            index = 0
            while index < len(chunk):
                others_at_s = clock.others_at_s(place)
                stop = None
                if others_at_s < chunk[-1].time:  # another replay's turn comes in this chunk
                    stop = bisect.bisect_right(chunk, others_at_s, index, key=_time_s)
                delivered = clock.deliver_at_once(chunk, index, put_now, stop)
                if delivered < len(chunk):  # a loop turn or another replay's turn first
                    await clock.replay_turn(place, chunk[delivered].time)
                    await clock.reach(chunk[delivered].time)
                    put_now(chunk[delivered])
                    delivered += 1
                self._replayed += delivered - index
                index = delivered

    async def _replay_live(
        self, readings: Iterable[Reading], offset: float, sink: ReadingSink
    ) -> None:
        for reading in readings:
            when = reading.time + offset
            await self.clock.reach(when)  # (a clock that cannot keep up says so)
            await sink.put(Reading(when, reading.person, reading.metric, reading.value, self.name))
            self._replayed += 1

    def diagnostics(self) -> Mapping[str, Any]:
        return {
            "name": self.name,
            "type": "recording",
            "connected": self._replayed < self._total or self.config.loop,
            "replayed": self._replayed,
            "total": self._total,
            "skipped_rows": self._skipped,
        }


def _time_s(reading: Reading) -> float:
    return reading.time


def _chunks(readings: list[Reading]) -> Iterator[list[Reading]]:
    """``readings`` a few at a time (``_CHUNK``)."""
    for first in range(0, len(readings), _CHUNK):
        yield readings[first : first + _CHUNK]
