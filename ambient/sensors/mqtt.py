"""Readings from MQTT topics: Zigbee2MQTT, ESPHome, phone apps.

Every bad payload is dropped with a reason counted under ``mqtt:<topic>`` and logged at most once
per topic per minute (values only at DEBUG: they are health data); nothing here ever raises into
the connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from ambient.clock import Clock
from ambient.config.sensors import MqttSensorConfig
from ambient.connections.mqtt import MqttConnection, MqttMessage
from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.ports import ReadingSink
from ambient.readings import RR, VALID_RANGE, Reading
from ambient.sensors.mqtt_payload import PayloadError, beat_times, parse_payload

_LOGGER = logging.getLogger(__name__)

_PERSON_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_UNIT_FACTOR: Final = {"bpm": 1.0, "ms": 1.0, "s": 1000.0}
#: Timestamps this far ahead of our clock are wrong, not early.
FUTURE_TOLERANCE_S: Final = 60.0


def counter_scope(topic: str) -> str:
    return f"mqtt:{topic}"


class DropLog:
    """Counts a dropped payload per topic and logs it at most once per topic per minute."""

    def __init__(self, counters: Counters, sensor: str, throttle: Throttle | None = None) -> None:
        self._counters = counters
        self._sensor = sensor
        self._throttle = throttle or Throttle(60.0)
        self.dropped: Counter[str] = Counter()

    def drop(self, topic: str, reason: str, detail: str) -> None:
        self.dropped[reason] += 1
        self._counters.increment(counter_scope(topic), reason)
        self._throttle.log(
            _LOGGER,
            logging.WARNING,
            topic,
            "%s: dropped a payload on %s: %s (%s)",
            self._sensor,
            topic,
            reason,
            detail,
        )


class MqttSensor:
    """An :class:`ambient.ports.Sensor` fed by one topic filter of the shared connection."""

    def __init__(
        self,
        config: MqttSensorConfig,
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
        self._drops = DropLog(counters, name)
        self._factor = _UNIT_FACTOR[config.unit] if config.unit else 1.0
        self._range = VALID_RANGE.get(config.metric)
        self._sink: ReadingSink | None = None
        self._subscribed = False
        self._messages = 0
        self._readings = 0
        self._last_reading_at: float | None = None

    async def run(self, sink: ReadingSink) -> None:
        self._sink = sink
        if not self._subscribed:  # run() again after a crash: one subscription
            self._subscribed = True
            self._connection.subscribe(self.config.topic, self.handle, qos=self.config.qos)
        await asyncio.get_running_loop().create_future()  # until cancelled

    def diagnostics(self) -> Mapping[str, Any]:
        last = self._last_reading_at
        return {
            "type": "mqtt",
            "person": self.config.person,
            "topic": self.config.topic,
            "connected": self._connection.connected,
            "messages": self._messages,
            "readings": self._readings,
            "dropped": dict(self._drops.dropped),
            "last_reading_age_s": None if last is None else self._clock.now() - last,
        }

    # -- one message ----------------------------------------------------------------------

    def handle(self, message: MqttMessage) -> None:
        """Turn one message into readings, or drop it with a counted reason."""
        self._messages += 1
        try:
            readings = self.readings_from(message)
        except PayloadError as exc:
            self._drops.drop(message.topic, exc.reason, exc.detail)
            _LOGGER.debug("%s: payload on %s was %r", self.name, message.topic, message.payload)
            return
        sink = self._sink
        if sink is None:
            return
        for reading in readings:
            try:
                sink.put_nowait(reading)
            except asyncio.QueueFull:
                self._drops.drop(message.topic, "queue_full", "the reading queue is full")
                return
            self._readings += 1
            self._last_reading_at = reading.time

    def readings_from(self, message: MqttMessage) -> list[Reading]:
        config = self.config
        person = self._person(message.topic)
        parsed = parse_payload(message.payload, config.value, config.timestamp)
        now = self._clock.now()
        if message.retain:
            # A retained value is as old as its timestamp says; without one its age is unknown.
            if parsed.timestamp is None:
                raise PayloadError("retained_without_time", "retained and has no timestamp")
            if now - parsed.timestamp > config.max_retained_age:
                raise PayloadError(
                    "stale_retained",
                    f"retained value {now - parsed.timestamp:.0f} s old, "
                    f"limit {config.max_retained_age:.0f} s",
                )
        if parsed.timestamp is not None and parsed.timestamp > now + FUTURE_TOLERANCE_S:
            raise PayloadError("bad_timestamp", "timestamp is in the future")
        values = [value * self._factor for value in parsed.values]
        if self._range is not None:
            low, high = self._range
            for value in values:
                if not low <= value <= high:
                    raise PayloadError("out_of_range", f"{config.metric} outside {low:g}..{high:g}")
        end_time = parsed.timestamp if parsed.timestamp is not None else now
        if config.metric == RR and len(values) > 1:
            times = beat_times(end_time, values)
        else:
            times = [end_time] * len(values)
        return [
            Reading(time=t, person=person, metric=config.metric, value=v, source=self.name)
            for t, v in zip(times, values, strict=True)
        ]

    def _person(self, topic: str) -> str:
        level = self.config.person_topic_level
        if level is None:
            return self.config.person or "default"
        levels = topic.split("/")
        if level >= len(levels):
            raise PayloadError("bad_person", f"topic has no level {level} for the person")
        person = levels[level]
        if not _PERSON_PATTERN.match(person):
            raise PayloadError("bad_person", f"topic level {level} is not a person id")
        return person
