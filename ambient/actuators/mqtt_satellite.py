"""The satellite side: forwards every local reading to the central instance over MQTT.

A :class:`SatelliteForwarder` is the satellite's :class:`~ambient.ports.ReadingSink`. Readings
are batched (a strap makes one RR reading per beat; one MQTT message per beat would be wasteful)
and published QoS 1 to ``<base_topic>/<instance>/readings``. While the broker is away they wait
in a bounded buffer (oldest dropped and counted when full) and go out after the reconnect, in
batches marked ``held`` so that the central instance does not take their age for a clock behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from ambient.asyncutil import reraise_lost_cancel
from ambient.clock import Clock
from ambient.connections.errors import NotConnected
from ambient.connections.mqtt import MqttConnection
from ambient.connections.mqtt_readings import encode_batch, readings_topic
from ambient.counters import Counters
from ambient.payload_fields import MAX_PAYLOAD_BYTES
from ambient.readings import Reading

_LOGGER = logging.getLogger(__name__)
COUNTER_SCOPE = "satellite"


class SatelliteForwarder:
    """ReadingSink + Service: ``put_nowait`` buffers, ``run`` publishes the batches."""

    def __init__(
        self,
        connection: MqttConnection,
        clock: Clock,
        counters: Counters,
        *,
        batch_interval_s: float = 0.25,
        max_batch: int = 200,
        max_buffer: int = 20_000,
    ) -> None:
        self.topic = readings_topic(connection.config.base_topic, connection.instance)
        self._connection = connection
        self._clock = clock
        self._counters = counters
        self._batch_interval_s = batch_interval_s
        self._max_batch = max_batch
        self._buffer: deque[Reading] = deque()
        #: How many readings at the buffer's front waited for the broker (put while it was
        #: away, or left by a publish it refused): their batches go out marked ``held``.
        self._held = 0
        self._max_buffer = max_buffer
        self._wake: asyncio.Event | None = None
        self._drained: list[asyncio.Future[None]] = []
        self.forwarded = 0

    def _event(self) -> asyncio.Event:
        if self._wake is None:
            self._wake = asyncio.Event()
        return self._wake

    # -- ReadingSink ----------------------------------------------------------------------

    def put_nowait(self, reading: Reading) -> None:
        if len(self._buffer) >= self._max_buffer:
            self._buffer.popleft()
            self._held = max(0, self._held - 1)
            self._counters.increment(COUNTER_SCOPE, "buffer_full")
        self._buffer.append(reading)
        if not self._connection.connected:  # the broker is away: all buffered waits for it
            self._held = len(self._buffer)
        self._event().set()

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)

    async def wait_drained(self) -> None:
        """Until everything buffered so far has been acknowledged by the broker."""
        if not self._buffer:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drained.append(waiter)
        await waiter

    @property
    def pending(self) -> int:
        return len(self._buffer)

    # -- Service --------------------------------------------------------------------------

    async def run(self) -> None:
        wake = self._event()
        while True:
            await wake.wait()
            # Let a batch gather (many beats per message), on the injectable clock.
            if len(self._buffer) < self._max_batch:
                await self._clock.sleep(self._batch_interval_s)
            wake.clear()
            await self._connection.wait_connected()
            await self._flush()
            reraise_lost_cancel()

    async def _flush(self) -> None:
        while self._buffer:
            reraise_lost_cancel()
            batch = [self._buffer[i] for i in range(min(self._max_batch, len(self._buffer)))]
            payload = encode_batch(self._connection.instance, batch, held=self._held > 0)
            while len(payload) > MAX_PAYLOAD_BYTES and len(batch) > 1:  # else dropped whole
                batch = batch[: len(batch) // 2]  # (long ids: a full batch passes 16 KiB)
                payload = encode_batch(self._connection.instance, batch, held=self._held > 0)
            try:
                await self._connection.publish(self.topic, payload, qos=1)
            except NotConnected:
                self._held = len(self._buffer)  # they wait for the broker
                self._event().set()  # try again after the reconnect; readings stay buffered
                return
            for reading in batch:  # the buffer may have shed its oldest meanwhile
                if self._buffer and self._buffer[0] is reading:
                    self._buffer.popleft()
                    self._held = max(0, self._held - 1)
            self.forwarded += len(batch)
        waiters, self._drained = self._drained, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
