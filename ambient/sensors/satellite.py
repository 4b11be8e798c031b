"""The central side of satellites: readings other ambient instances forward over MQTT.

A satellite runs its own BLE/MQTT sensors and publishes batches to
``<base_topic>/<instance>/readings``; this sensor subscribes to ``<base_topic>/+/readings`` and
feeds them into the local pipeline as if they were local, with the satellite's name in
``source``. Bad batches and readings are dropped and counted per topic, never fatal. Heart
readings stamped more than the signals' ``stale_after`` ago (a satellite's clock behind) are
kept, but read stale as they come: they are counted ``behind_clock`` and said at most once a
minute, as MQTT sensors do; not so in a batch marked ``held`` (what the satellite buffered while
the broker was away: old by nature, as the broker's backlog is). A satellite heard from that
goes offline (its ``<base_topic>/<instance>/status``: its last will, or its stop) is said once,
and its return.

Live, both instances read NTP-synchronised wall clocks and readings keep the satellite's times.
Under ``ambient run --speed N`` each process's scaled clock starts at its own launch, so two
instances disagree by about ``(N - 1)`` times the gap between their starts; the central then maps
each satellite's times onto its own clock (see :meth:`SatelliteSensor._offset_s`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from ambient.clock import Clock
from ambient.config.sensors import STALE_AFTER_METRICS, SatelliteSensorConfig
from ambient.connections.mqtt import OFFLINE, ONLINE, Declined, MqttConnection, MqttMessage
from ambient.connections.mqtt_readings import (
    BatchError,
    batch_held,
    decode_batch,
    reading_from_row,
    readings_filter,
)
from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.payload_fields import PayloadError, decode, load_json
from ambient.ports import ReadingSink
from ambient.readings import Reading
from ambient.sensors.mqtt import BEHIND_CLOCK, FUTURE_TOLERANCE_S, DropLog, counter_scope
from ambient.sensors.people import PeopleGate

_LOGGER = logging.getLogger(__name__)

#: Satellites with figures of their own in ``diagnostics``; any further ones are added up.
MAX_TRACKED_SATELLITES: Final = 64
OTHER_SATELLITES: Final = "(other)"


class SatelliteSensor:
    def __init__(
        self,
        config: SatelliteSensorConfig,
        connection: MqttConnection,
        clock: Clock,
        counters: Counters,
        *,
        name: str,
        people: Collection[str] = (),
        stale_after_s: float = 15.0,
    ) -> None:
        """``stale_after_s``: the signals' ``stale_after``, past which a heart reading arrives
        stale (kept, counted ``behind_clock`` and said)."""
        self.name = name
        self.config = config
        self._connection = connection
        self._clock = clock
        self._counters = counters
        self._stale_after_s = stale_after_s
        self._behind_log = Throttle(60.0)
        self._drops = DropLog(
            counters, name, topic_filter=readings_filter(connection.config.base_topic)
        )
        self._own_instance = connection.instance
        self._sink: ReadingSink | None = None
        self._subscribed = False
        #: Person ids a batch may name (each costs per-person state downstream).
        self._people = PeopleGate(people, config.unlisted_people)
        #: Per satellite, for the first ``MAX_TRACKED_SATELLITES`` instance names; the rest
        #: share ``OTHER_SATELLITES`` (instance names come from the topic, chosen by whoever
        #: publishes).
        self._satellites: dict[str, _SatelliteFigures] = {}
        #: The satellites heard from (or listed) whose status says `offline`, said so once.
        self._offline: set[str] = set()
        self._offline_said: set[str] = set()
        self._presence_log = Throttle(60.0)

    @property
    def topic_filter(self) -> str:
        return readings_filter(self._connection.config.base_topic)

    async def run(self, sink: ReadingSink) -> None:
        self._sink = sink
        if not self._subscribed:  # run() again after a crash: one subscription
            self._subscribed = True
            self._connection.subscribe(self.topic_filter, self.handle, qos=1)
            status = f"{self._connection.config.base_topic}/+/status"
            self._connection.subscribe(status, self.handle_status, qos=1)
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self._sink = None  # stopped: later batches are declined, not lost

    def diagnostics(self) -> Mapping[str, Any]:
        """Also the age of the last reading: the daemon keeps it for other sensors, but these
        readings' source names their satellite, so it cannot tell they are this sensor's."""
        now = self._clock.now()
        last_times = [f.last_at for f in self._satellites.values() if f.last_at is not None]
        return {
            "type": "satellite",
            "connected": self._connection.connected,
            "satellites": {
                instance: {
                    "readings": figures.readings,
                    "last_reading_age_s": round(now - figures.last_at, 3),
                }
                for instance, figures in sorted(self._satellites.items())
                if figures.last_at is not None
            },
            "dropped": dict(self._drops.dropped),
            "last_reading_age_s": round(now - max(last_times), 3) if last_times else None,
            "offline": sorted(self._offline),
        }

    def handle_status(self, message: MqttMessage) -> None:
        """A satellite's `online` / `offline` (its last will when it loses power or its
        network, or its clean stop): one heard from, or listed under `instances`, going
        offline is a warning (its readings stop), its return a line; at most one warning a
        minute per satellite, the rest at DEBUG. Any other instance's is not this sensor's."""
        instance = message.topic.split("/")[-2]
        listed = instance in self.config.instances
        if instance == self._own_instance or not (listed or instance in self._satellites):
            return
        if message.payload == OFFLINE.encode():
            if instance in self._offline:
                return
            self._offline.add(instance)
            said = self._presence_log.log(
                _LOGGER,
                logging.WARNING,
                instance,
                "%s: satellite %s is offline (stopped, or its last will: lost power or its "
                "network?); no readings from it until it is back",
                self.name,
                instance,
            )
            if said:
                self._offline_said.add(instance)
            else:
                _LOGGER.debug("%s: satellite %s is offline", self.name, instance)
        elif message.payload == ONLINE.encode() and instance in self._offline:
            self._offline.discard(instance)
            level = logging.INFO if instance in self._offline_said else logging.DEBUG
            self._offline_said.discard(instance)
            _LOGGER.log(level, "%s: satellite %s is back online", self.name, instance)

    def handle(self, message: MqttMessage) -> None:
        if self._sink is None:  # left unacknowledged: the broker delivers it again
            raise Declined(f"{self.name} is not running")
        decoded = self._decoded(message)
        if decoded is None:
            return
        instance, readings, held = decoded
        now = self._clock.now()
        # A satellite gets figures of its own once one of its readings is taken (see _count).
        figures = self._satellites.get(instance) or _SatelliteFigures()
        offset_s = self._offset_s(figures, readings, now)
        accepted = behind = 0
        behind_s = 0.0
        stale_after_s = self._stale_after_s
        # (what the broker or the satellite held while one was away is old by nature)
        live = not (message.backlog or message.retain or held)
        for reading in readings:
            if offset_s:
                reading = replace(reading, time=reading.time + offset_s)
            age_s = now - reading.time
            if age_s > self.config.max_age:
                self._drops.drop(message.topic, "stale", "older than max_age")
                continue
            if reading.time > now + FUTURE_TOLERANCE_S:
                self._drops.drop(message.topic, "bad_timestamp", "in the future")
                continue
            if not self._people.admit(reading.person):
                self._drops.drop(message.topic, "unknown_person", "names no configured person")
                continue
            if self._sink is None:
                break
            try:
                self._sink.put_nowait(reading)
            except asyncio.QueueFull:
                self._drops.drop(message.topic, "queue_full", "the reading queue is full")
                break
            accepted += 1
            if age_s > stale_after_s and live and reading.metric in STALE_AFTER_METRICS:
                behind += 1
                behind_s = max(behind_s, age_s)
        if accepted:
            self._count(instance, figures, accepted, now)
        if behind:
            self._behind(instance, behind, behind_s)

    def _behind(self, instance: str, readings: int, age_s: float) -> None:
        """``readings`` heart readings of a live batch kept though stamped up to ``age_s`` ago,
        past ``stale_after``: the signals they feed read stale as they come. Counted; said at
        most once a minute, without the values (health data)."""
        scope = counter_scope(self.topic_filter)
        self._counters.increment(scope, BEHIND_CLOCK, readings)
        self._behind_log.log(
            _LOGGER,
            logging.WARNING,
            scope,
            "%s: readings from satellite %s arrive up to %.0f s behind this machine's clock, "
            "past stale_after (%.0f s): kept, but the signals they feed read stale as they come "
            "(counted %s). Is it sending what it held while the broker was away, or is its "
            "clock behind (NTP)?",
            self.name,
            instance,
            age_s,
            self._stale_after_s,
            BEHIND_CLOCK,
        )

    def _decoded(self, message: MqttMessage) -> tuple[str, list[Reading], bool] | None:
        """The satellite, the valid readings of a batch we listen to, and whether the satellite
        held it while the broker was away; bad ones are counted."""
        topic_instance = message.topic.split("/")[-2]
        if topic_instance == self._own_instance:
            return None  # our own forwarder (a satellite that is also central)
        if self.config.instances and topic_instance not in self.config.instances:
            return None
        try:
            document = load_json(decode(message.payload))
            instance, rows = decode_batch(document)
        except (PayloadError, BatchError) as exc:
            self._drops.drop(message.topic, exc.reason, exc.detail)
            return None
        if instance != topic_instance:
            self._drops.drop(message.topic, "bad_batch", "instance differs from the topic")
            return None
        readings: list[Reading] = []
        for row in rows:
            try:
                readings.append(reading_from_row(row, instance))
            except BatchError as exc:
                self._drops.drop(message.topic, exc.reason, exc.detail)
        return instance, readings, batch_held(document)

    def _count(self, instance: str, figures: _SatelliteFigures, accepted: int, now: float) -> None:
        """Add ``accepted`` readings to ``instance``'s figures: its own while there is room
        (instance names come from the topic), else the shared ``OTHER_SATELLITES``."""
        if instance not in self._satellites:
            if len(self._satellites) < MAX_TRACKED_SATELLITES:
                self._satellites[instance] = figures
            else:
                figures = self._satellites.setdefault(OTHER_SATELLITES, _SatelliteFigures())
        figures.readings += accepted
        figures.last_at = now

    def _offset_s(self, figures: _SatelliteFigures, readings: list[Reading], now: float) -> float:
        """What to add to a satellite's reading times: 0 on a real clock; on a scaled clock the
        smallest gap seen between a batch's newest reading and its arrival. Backlogs (larger
        gaps) keep their age; a gap beyond ``max_age`` above it means the satellite restarted
        (its clock started again), so the offset is measured afresh."""
        if not readings or not self._clock.runs_ahead_of_wall_time:
            return 0.0
        gap_s = now - max(reading.time for reading in readings)
        offset_s = figures.offset_s
        if offset_s is None or gap_s < offset_s or gap_s - offset_s > self.config.max_age:
            figures.offset_s = offset_s = gap_s
        return offset_s


@dataclass(slots=True)
class _SatelliteFigures:
    readings: int = 0
    last_at: float | None = None
    offset_s: float | None = None  # only on a scaled clock
