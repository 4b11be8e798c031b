"""The central side of satellites: readings other ambient instances forward over MQTT.

A satellite runs its own BLE/MQTT sensors and publishes batches to
``<base_topic>/<instance>/readings``; this sensor subscribes to ``<base_topic>/+/readings`` and
feeds them into the local pipeline as if they were local, with the satellite's name in
``source``. Bad batches and readings are dropped and counted per topic, never fatal.

Live, both instances read NTP-synchronised wall clocks and readings keep the satellite's times.
Under ``ambient run --speed N`` each process's scaled clock starts at its own launch, so two
instances disagree by about ``(N - 1)`` times the gap between their starts; the central then maps
each satellite's times onto its own clock (see :meth:`SatelliteSensor._offset_s`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ambient.clock import Clock
from ambient.config.sensors import SatelliteSensorConfig
from ambient.connections.mqtt import Declined, MqttConnection, MqttMessage
from ambient.connections.mqtt_readings import (
    BatchError,
    decode_batch,
    reading_from_row,
    readings_filter,
)
from ambient.counters import Counters
from ambient.ports import ReadingSink
from ambient.readings import Reading
from ambient.sensors.mqtt import FUTURE_TOLERANCE_S, DropLog
from ambient.sensors.mqtt_payload import PayloadError, decode, load_json

_LOGGER = logging.getLogger(__name__)


class SatelliteSensor:
    def __init__(
        self,
        config: SatelliteSensorConfig,
        connection: MqttConnection,
        clock: Clock,
        counters: Counters,
        *,
        name: str,
    ) -> None:
        self.name = name
        self.config = config
        self._connection = connection
        self._clock = clock
        self._drops = DropLog(
            counters, name, topic_filter=readings_filter(connection.config.base_topic)
        )
        self._own_instance = connection.instance
        self._sink: ReadingSink | None = None
        self._subscribed = False
        self._readings_by_instance: dict[str, int] = {}
        self._last_at: dict[str, float] = {}
        self._offsets_s: dict[str, float] = {}  # per satellite, only on a scaled clock

    @property
    def topic_filter(self) -> str:
        return readings_filter(self._connection.config.base_topic)

    async def run(self, sink: ReadingSink) -> None:
        self._sink = sink
        if not self._subscribed:  # run() again after a crash: one subscription
            self._subscribed = True
            self._connection.subscribe(self.topic_filter, self.handle, qos=1)
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self._sink = None  # stopped: later batches are declined, not lost

    def diagnostics(self) -> Mapping[str, Any]:
        now = self._clock.now()
        return {
            "type": "satellite",
            "connected": self._connection.connected,
            "satellites": {
                instance: {"readings": count, "last_reading_age_s": now - self._last_at[instance]}
                for instance, count in sorted(self._readings_by_instance.items())
            },
            "dropped": dict(self._drops.dropped),
            "last_reading_age_s": (now - max(self._last_at.values())) if self._last_at else None,
        }

    def handle(self, message: MqttMessage) -> None:
        if self._sink is None:  # left unacknowledged: the broker delivers it again
            raise Declined(f"{self.name} is not running")
        topic_instance = message.topic.split("/")[-2]
        if topic_instance == self._own_instance:
            return  # our own forwarder (a satellite that is also central)
        if self.config.instances and topic_instance not in self.config.instances:
            return
        try:
            document = load_json(decode(message.payload))
            instance, rows = decode_batch(document)
        except PayloadError as exc:
            self._drops.drop(message.topic, exc.reason, exc.detail)
            return
        except BatchError as exc:
            self._drops.drop(message.topic, exc.reason, exc.detail)
            return
        if instance != topic_instance:
            self._drops.drop(message.topic, "bad_batch", "instance differs from the topic")
            return
        now = self._clock.now()
        readings: list[Reading] = []
        for row in rows:
            try:
                readings.append(reading_from_row(row, instance))
            except BatchError as exc:
                self._drops.drop(message.topic, exc.reason, exc.detail)
        offset_s = self._offset_s(instance, readings, now)
        for reading in readings:
            if offset_s:
                reading = replace(reading, time=reading.time + offset_s)
            if now - reading.time > self.config.max_age:
                self._drops.drop(message.topic, "stale", "older than max_age")
                continue
            if reading.time > now + FUTURE_TOLERANCE_S:
                self._drops.drop(message.topic, "bad_timestamp", "in the future")
                continue
            if self._sink is None:
                return
            try:
                self._sink.put_nowait(reading)
            except asyncio.QueueFull:
                self._drops.drop(message.topic, "queue_full", "the reading queue is full")
                return
            self._readings_by_instance[instance] = self._readings_by_instance.get(instance, 0) + 1
            self._last_at[instance] = now

    def _offset_s(self, instance: str, readings: list[Reading], now: float) -> float:
        """What to add to ``instance``'s reading times: 0 on a real clock; on a scaled clock the
        smallest gap seen between a batch's newest reading and its arrival. Backlogs (larger
        gaps) keep their age; a gap beyond ``max_age`` above it means the satellite restarted
        (its clock started again), so the offset is measured afresh."""
        if not readings or not self._clock.runs_ahead_of_wall_time:
            return 0.0
        gap_s = now - max(reading.time for reading in readings)
        offset_s = self._offsets_s.get(instance)
        if offset_s is None or gap_s < offset_s or gap_s - offset_s > self.config.max_age:
            self._offsets_s[instance] = offset_s = gap_s
        return offset_s
