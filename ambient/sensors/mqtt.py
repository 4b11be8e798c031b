"""Readings from MQTT topics: Zigbee2MQTT, ESPHome, phone apps.

Every bad payload is dropped with a reason counted under ``mqtt:<topic filter>`` (one scope per
configured filter, however many topics a hostile publisher invents) and logged at most once per
filter and reason per minute (values only at DEBUG: they are health data); nothing here raises
into the connection except :class:`Declined` once the sensor has stopped, which leaves the
message unacknowledged for the broker to deliver again.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import tzinfo
from typing import Any, Final

from ambient.clock import Clock
from ambient.config.sensors import STALE_AFTER_METRICS, MqttSensorConfig
from ambient.connections.mqtt import Declined, MqttConnection, MqttMessage
from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.payload_fields import PayloadError
from ambient.ports import ReadingSink
from ambient.readings import HR, HR_ZERO, RR, VALID_RANGE, Reading, out_of_range_text
from ambient.sensors.cadence import SampledHeartRate
from ambient.sensors.mqtt_payload import beat_times, parse_payload
from ambient.sensors.people import PeopleGate
from ambient.topics import is_person_id

_LOGGER = logging.getLogger(__name__)

_UNIT_FACTOR: Final = {"bpm": 1.0, "ms": 1.0, "s": 1000.0}
#: Timestamps this far ahead of our clock are wrong, not early.
FUTURE_TOLERANCE_S: Final = 60.0
#: Drops that are a device working as made, not a mistake: counted, logged only at DEBUG
#: (ESPHome publishes ``nan`` or ``None`` for a value it does not have, Zigbee2MQTT null, HA
#: ``unknown``; ESPHome retains its states without a time, handed over at every start).
_EXPECTED_DROPS: Final = frozenset({HR_ZERO, "nan", "no_value", "retained_without_time"})
#: The counter of live readings kept though they arrive stale.
BEHIND_CLOCK: Final = "behind_clock"
#: How much of a dropped payload a DEBUG line shows.
_SHOWN_BYTES: Final = 200
#: The range of a metric without one of its own.
_ANY_VALUE: Final = (-math.inf, math.inf)


def counter_scope(topic: str) -> str:
    return f"mqtt:{topic}"


class DropLog:
    """Counts a dropped payload and logs it at most once per minute per reason.

    With ``topic_filter`` every topic the filter matches shares one counter scope and one log
    throttle, so memory stays flat whatever topics arrive; without it, per topic."""

    def __init__(
        self,
        counters: Counters,
        sensor: str,
        throttle: Throttle | None = None,
        *,
        topic_filter: str | None = None,
    ) -> None:
        self._counters = counters
        self._sensor = sensor
        self._throttle = throttle or Throttle(60.0)
        self._topic_filter = topic_filter
        self.dropped: Counter[str] = Counter()

    def drop(self, topic: str, reason: str, detail: str) -> None:
        self.dropped[reason] += 1
        scope = counter_scope(self._topic_filter or topic)
        self._counters.increment(scope, reason)
        self._throttle.log(
            _LOGGER,
            logging.DEBUG if reason in _EXPECTED_DROPS else logging.WARNING,
            f"{scope} {reason}",
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
        people: Collection[str] = (),
        zone: tzinfo | None = None,
        stale_after_s: float = 15.0,
    ) -> None:
        """``zone``: what an ISO timestamp without a zone is in (the config's ``timezone``;
        None: this process's zone); ``stale_after_s``: the signals' ``stale_after``, past
        which (or past the sensor's own ``stale_after``) a live heart reading arrives stale
        (kept, counted and said)."""
        self.name = name
        self.config = config
        self._connection = connection
        self._clock = clock
        self._counters = counters
        self._drops = DropLog(counters, name, topic_filter=config.topic)
        own_stale_after_s = config.stale_after or stale_after_s  # a sparse watch's own span
        # A live heart reading stamped longer ago than that arrives stale (``behind_clock``).
        self._behind_after_s = own_stale_after_s if config.metric in STALE_AFTER_METRICS else None
        #: A live reading older than this is refused (``stale``): ``max_age``, or the sensor's
        #: own longer ``stale_after``, within which its latest sample is still current.
        self._max_age_s = max(config.max_age, config.stale_after or 0.0)
        #: Says once when a heart rate without a span of its own comes minutes apart.
        self._sampled = (
            SampledHeartRate(name, stale_after_s, _LOGGER)
            if config.metric == HR and config.stale_after is None
            else None
        )
        self._behind_log = Throttle(60.0)
        #: Person ids a topic level may name (each costs per-person state downstream).
        self._people = PeopleGate(people, config.unlisted_people)
        #: Per person, the time of the newest sample of an upload taken: an upload overlapping
        #: the one before (the app sending the last hour each time) gives each sample once.
        self._last_sample_time: dict[str, float] = {}
        #: Per person, the time and values of the last message with its own time taken: the
        #: same again (a publisher's retry, a retained copy after a live one) is no reading.
        self._last_stamped: dict[str, tuple[float, tuple[float, ...]]] = {}
        self._zone = zone
        self._factor = _UNIT_FACTOR[config.unit] if config.unit else 1.0
        self._range = VALID_RANGE.get(config.metric)
        self._sink: ReadingSink | None = None
        self._subscribed = False
        self._messages = 0
        self._readings = 0

    async def run(self, sink: ReadingSink) -> None:
        self._sink = sink
        if not self._subscribed:  # run() again after a crash: one subscription
            self._subscribed = True
            self._connection.subscribe(self.config.topic, self.handle, qos=self.config.qos)
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self._sink = None  # stopped: later messages are declined, not lost

    def diagnostics(self) -> Mapping[str, Any]:
        return {
            "type": "mqtt",
            "person": self.config.person,
            "topic": self.config.topic,
            "connected": self._connection.connected,
            "messages": self._messages,
            "readings": self._readings,
            "dropped": dict(self._drops.dropped),
        }

    # -- one message ----------------------------------------------------------------------

    def handle(self, message: MqttMessage) -> None:
        """Turn one message into readings, or drop it with a counted reason.

        Raises :class:`Declined` when the sensor is not running (shutting down): the connection
        then leaves the message unacknowledged and the broker delivers it again."""
        if self._sink is None:
            raise Declined(f"{self.name} is not running")
        self._messages += 1
        try:
            readings = self.readings_from(message)
        except PayloadError as exc:
            self._drops.drop(message.topic, exc.reason, exc.detail)
            payload = message.payload
            if len(payload) <= _SHOWN_BYTES:
                _LOGGER.debug("%s: payload on %s was %r", self.name, message.topic, payload)
            else:  # (up to the 1 MiB the broker hands over: a line a megabyte long each)
                _LOGGER.debug(
                    "%s: payload on %s was %r... (%d bytes)",
                    self.name,
                    message.topic,
                    payload[:_SHOWN_BYTES],
                    len(payload),
                )
            return
        sink = self._sink
        sampled = self._sampled
        for reading in readings:
            try:
                sink.put_nowait(reading)
            except asyncio.QueueFull:
                self._drops.drop(message.topic, "queue_full", "the reading queue is full")
                return
            self._readings += 1
            if sampled is not None and not sampled.said:
                sampled.seen(reading.person, reading.time)

    def readings_from(self, message: MqttMessage) -> list[Reading]:
        config = self.config
        person = self._person(message.topic)
        parsed = parse_payload(message.payload, config.value, config.timestamp, self._zone)
        now = self._clock.now()
        if message.backlog and not message.retain and parsed.timestamp is None:
            # Queued by the broker while we were away: without a timestamp its age is unknown.
            raise PayloadError("backlog_without_time", "queued while away and has no timestamp")
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
        timestamp = parsed.timestamp
        if timestamp is not None and timestamp > now + FUTURE_TOLERANCE_S:
            raise PayloadError(
                "bad_timestamp",
                f"timestamp is in the future (by {timestamp - now:.0f} s): {self._clock_hint()}",
            )
        # How far behind our clock a live message's own time is (not a backlog's or a retained
        # one's: old by nature): past max_age (or a longer own stale_after) it is refused, past
        # stale_after kept and said.
        live_age_s = (
            now - timestamp
            if timestamp is not None and not (message.backlog or message.retain)
            else None
        )
        if live_age_s is not None and live_age_s > self._max_age_s:
            raise self._stale(live_age_s)
        factor = self._factor
        values = parsed.values  # times 1.0 (no unit to convert) is each value itself
        if factor != 1.0:
            values = tuple(value * factor for value in values)
        if parsed.times is not None:  # a batch of samples, each with its own time
            # Behind the clock: its newest sample stands for the whole batch. Its impossible
            # values go alone, in _samples.
            self._note_behind(live_age_s)
            return self._samples(message.topic, person, values, parsed.times, now)
        return self._at_one_time(message.topic, person, values, timestamp, live_age_s, now)

    def _at_one_time(
        self,
        topic: str,
        person: str,
        values: tuple[float, ...],
        timestamp: float | None,
        live_age_s: float | None,
        now: float,
    ) -> list[Reading]:
        """A message's value, or its list of values (beats), at the one time it has: its own
        (``timestamp``), else now."""
        config = self.config
        if timestamp is not None:
            if self._last_stamped.get(person) == (timestamp, values):
                return []  # that reading again: given (or refused) already, not counted again
            self._last_stamped[person] = (timestamp, values)
        low, high = self._range or _ANY_VALUE
        if len(values) == 1:  # the usual message
            if not low <= values[0] <= high:
                raise self._refusal(values[0])
        else:  # a list: an impossible value (a spurious RR) goes alone, as over Bluetooth
            for value in values:
                if not low <= value <= high:
                    refusal = self._refusal(value)
                    self._drops.drop(topic, refusal.reason, refusal.detail)
        self._note_behind(live_age_s)
        # A time ahead of ours (within the tolerance: a publisher's clock running fast) is now.
        end_time = now if timestamp is None or timestamp > now else timestamp
        if len(values) == 1:  # the usual message
            return [Reading(end_time, person, config.metric, values[0], self.name)]
        # Beats are spaced back by every interval sent, a dropped one too: the strap measured
        # that time, so the beats before it ended that much earlier (as over Bluetooth).
        times = beat_times(end_time, values) if config.metric == RR else [end_time] * len(values)
        return [
            Reading(time=t, person=person, metric=config.metric, value=v, source=self.name)
            for t, v in zip(times, values, strict=True)
            if low <= v <= high
        ]

    def _note_behind(self, live_age_s: float | None) -> None:
        """A live message kept though stamped past ``stale_after`` ago is said (``_behind``)."""
        behind_after_s = self._behind_after_s
        if live_age_s is not None and behind_after_s is not None and live_age_s > behind_after_s:
            self._behind(live_age_s)

    def _samples(
        self,
        topic: str,
        person: str,
        values: tuple[float, ...],
        times: tuple[float, ...],
        now: float,
    ) -> list[Reading]:
        """A batch whose samples carry their own times (a watch's upload through its phone):
        one reading each, oldest first (the newest first would make the others late); an
        impossible value goes alone, a time ahead of ours (within the tolerance) is now. The
        newest sample was judged for the whole batch (stale, or behind the clock). A sample at
        or before the person's last one taken from an upload was given already (an upload
        overlapping the one before): it is not given again, nor counted."""
        low, high = self._range or _ANY_VALUE
        metric, source = self.config.metric, self.name
        last = self._last_sample_time.get(person, -math.inf)
        newest = last
        readings = []
        for time, value in sorted(zip(times, values, strict=True)):
            if time <= last:  # (its own time: one ahead of ours, taken as now, comes again)
                continue
            newest = time  # (an impossible value too: counted once)
            if not low <= value <= high:
                refusal = self._refusal(value)
                self._drops.drop(topic, refusal.reason, refusal.detail)
                continue
            readings.append(Reading(min(time, now), person, metric, value, source))
        if newest > last:
            self._last_sample_time[person] = newest
        return readings

    def _stale(self, age_s: float) -> PayloadError:
        """Why a live message stamped ``age_s`` ago is no reading: its heart rate would be
        stale on arrival (a publisher's clock behind ours, or a zoneless time in another zone)."""
        limit = "max_age" if self._max_age_s == self.config.max_age else "stale_after"
        return PayloadError(
            "stale",
            f"timestamp {age_s:.0f} s old, limit {limit} {self._max_age_s:.0f} s: "
            f"{self._clock_hint()}",
        )

    def _clock_hint(self) -> str:
        """What to check of a time far from ours: the publisher's clock, or the zone a time
        without one is read in (a phone's local time read as UTC in Docker is hours off)."""
        zone = "this machine's zone" if self._zone is None else f"{self._zone}"
        return f"is the publisher's clock right? (a time without a zone is read in {zone})"

    def _behind(self, age_s: float) -> None:
        """A live message kept though stamped ``age_s`` ago, past ``stale_after``: the heart
        rate reads stale as it arrives (a watch uploading in batches, a slow relay, a clock
        behind). Counted; said at most once a minute, without the values (health data)."""
        scope = counter_scope(self.config.topic)
        self._counters.increment(scope, BEHIND_CLOCK)
        self._behind_log.log(
            _LOGGER,
            logging.WARNING,
            scope,
            "%s: readings on %s arrive %.0f s behind this machine's clock, past stale_after "
            "(%.0f s): kept, but the signals they feed read stale as they come (counted "
            "%s). Does the publisher send in batches, or is its clock behind?",
            self.name,
            self.config.topic,
            age_s,
            self._behind_after_s,
            BEHIND_CLOCK,
        )

    def _refusal(self, value: float) -> PayloadError:
        """Why ``value``, outside the metric's range, is no reading."""
        if value == 0.0 and self.config.metric == HR:
            return PayloadError(HR_ZERO, "heart rate 0: the device has no reading")
        assert self._range is not None
        low, high = self._range
        said = out_of_range_text(self.config.metric, low, high, self.config.unit, value)
        return PayloadError("out_of_range", said)

    def _person(self, topic: str) -> str:
        level = self.config.person_topic_level
        if level is None:
            return self.config.person or "default"
        levels = topic.split("/")
        if level >= len(levels):
            raise PayloadError("bad_person", f"topic has no level {level} for the person")
        person = levels[level]
        if not is_person_id(person):
            raise PayloadError("bad_person", f"topic level {level} is not a person id")
        if not self._people.admit(person):
            raise PayloadError("unknown_person", f"topic level {level} names no configured person")
        return person
