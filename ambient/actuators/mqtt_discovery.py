"""Home Assistant MQTT discovery: ambient's people and daemon appear in HA with no YAML.

The publisher listens to the hub (signal updates, rule traces, commands), keeps the state each
entity should show (:class:`~ambient.actuators.mqtt_state.StateBook`) and publishes it retained,
throttled; discovery and every state are re-published after each (re)connect and whenever HA's
birth message (``<prefix>/status`` = ``online``) says HA restarted. What goes out at once (rule
events, a meaningful change) is sent when a rule's trace comes (a firing's trace follows its
action's answer) or :data:`SETTLE_S` after the first change, so a reading's states do not reach
HA while HA handles the action that reading has just sent; the changes of that moment go out
together, the latest state per topic. HA's pause switch and
breathing button become hub events at once: ``ExternalEvent(kind="command", key="pause",
data={"paused": bool})`` and ``key="breathing"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from ambient.actuators.mqtt_entities import (
    PERSON_ENTITIES,
    REFRESH_S,
    UNKNOWN,
    DiscoveryPayloads,
    Topics,
    format_state,
)
from ambient.actuators.mqtt_state import StateBook
from ambient.clock import Clock
from ambient.config.root import AmbientConfig
from ambient.connections.errors import NotConnected
from ambient.connections.mqtt import MqttConnection, MqttMessage
from ambient.hub import Hub
from ambient.logs import Throttle
from ambient.messages import ExternalEvent, SignalUpdate, TraceRecord

_LOGGER = logging.getLogger(__name__)
NO_RULE = "none"
_EVENT_QUEUE_LIMIT = 100
#: A tick this close to the next ``publish_interval`` is that one (float sums of the steps).
_TICK_SLACK_S = 1e-6
#: Discovery documents larger than this are another's (ambient's are a few KiB): not parsed.
_DOCUMENT_LIMIT = 256 * 1024
#: How long urgent states wait for a rule's trace before they are sent anyway. HA subscribes to
#: them: sent in the turn after a reading, they reached HA while it still handled the service
#: call that reading had just made. A tenth of a second is past most calls' answers (a few ms on
#: loopback) and unseen in HA's UI; a reading that fires nothing waits it out.
SETTLE_S: Final = 0.1


class DiscoveryPublisher:
    """A :class:`~ambient.ports.Service`: run it next to ``connection.run()``."""

    def __init__(
        self, config: AmbientConfig, connection: MqttConnection, hub: Hub, clock: Clock
    ) -> None:
        if config.mqtt is None:
            raise ValueError("HA discovery needs an `mqtt:` section")
        self.topics = Topics(config)
        self.payloads = DiscoveryPayloads(config, self.topics)
        self._connection = connection
        self._hub = hub
        self._clock = clock
        self._interval_s = config.mqtt.publish_interval
        self._people = {person.id for person in config.people}
        #: Per person, the entities their device announces: no other state is published.
        self._announced = {person: self.payloads.entities_of(person) for person in self._people}
        #: The zone of the active rule's ``since_iso`` (None: this machine's).
        self._zone: tzinfo | None = ZoneInfo(config.timezone) if config.timezone else None
        self._book = StateBook(REFRESH_S)
        self._events: deque[str] = deque(maxlen=_EVENT_QUEUE_LIMIT)
        #: (rule, person) -> the trace that opened its episode, until it recovers.
        self._active: dict[tuple[str, str | None], TraceRecord] = {}
        self._throttle = Throttle(60.0)
        self._wake: asyncio.Event | None = None
        self._sending: asyncio.Lock | None = None
        self._settled: asyncio.Future[None] | None = None
        self._traced = False  # a rule's trace came since the last urgent send
        self._background: set[asyncio.Task[None]] = set()
        self.discovery_publishes = 0
        #: The connection's session (its count of connects) whose documents were made last.
        self._documents_made_in: int | None = None
        #: Per device, the retired components the broker's copy of its document names by their
        #: platform alone (seen in a document come from the broker).
        self._removals_on_broker: dict[str, set[str]] = {}
        self._published: asyncio.Event | None = None
        self._count_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._initial_states()
        hub.on_signals(self._on_signals)
        hub.on_trace(self._on_trace)
        hub.on_event(self._on_event)
        connection.subscribe(self.topics.birth, self._on_birth)
        connection.subscribe(self.topics.discovery("+"), self._on_discovery_document)
        connection.subscribe(self.topics.pause_command, self._on_pause_command)
        connection.subscribe(self.topics.breathing_command, self._on_breathing_command)
        connection.on_connect(self._on_connect)

    # -- running --------------------------------------------------------------------------

    async def run(self) -> None:
        self._poll_providers()
        if self._connection.connected:  # started after the first connect: catch up
            await self.publish_all()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._tick_loop())
            group.create_task(self._urgent_loop())

    async def _tick_loop(self) -> None:
        """Small changes every ``publish_interval``; the refresh of states not sent for
        ``REFRESH_S`` at least every ``REFRESH_S / 2`` whatever the interval, so a
        physiological entity never reaches ``expire_after`` while ambient runs."""
        step_s = min(self._interval_s, REFRESH_S / 2)
        changes_at = self._clock.now() + self._interval_s
        while True:
            await self._clock.sleep(step_s)
            self._poll_providers()
            now = self._clock.now()
            if now >= changes_at - _TICK_SLACK_S:  # never more often than the interval
                changes_at = now + self._interval_s
                await self._publish_states(self._book.due)
            else:
                await self._publish_states(self._book.stale)

    async def _urgent_loop(self) -> None:
        wake = self._event()
        while True:
            await wake.wait()
            if not self._traced:
                await self._settle()  # what changes meanwhile goes out with it
            wake.clear()
            self._traced = False
            await self._send_events()
            await self._publish_states(self._book.urgent)

    async def _settle(self) -> None:
        """Until a rule's trace comes (its action, if any, was answered) or :data:`SETTLE_S`."""
        settled = asyncio.get_running_loop().create_future()
        self._settled = settled
        timer = self._clock.call_later(SETTLE_S, lambda: _resolve(settled))
        try:
            await settled
        finally:
            timer.cancel()
            self._settled = None

    async def flush(self) -> None:
        """Send the rule events and every changed state now, not after :data:`SETTLE_S` or
        the next tick: the daemon calls this at shutdown while the broker is still
        connected, so the last states are not lost."""
        if not self._connection.connected:
            return  # everything is re-published after the next connect
        await self._send_events()
        await self._publish_states(lambda _now: self._book.changed())

    def _event(self) -> asyncio.Event:
        if self._wake is None:
            self._wake = asyncio.Event()
        return self._wake

    async def _on_connect(self) -> None:
        self._published_event().clear()
        self._book.forget_sent()
        await self.publish_all()

    async def publish_all(self) -> None:
        """Discovery for every device, then every state (retained). The documents are made
        in the sender's turn: one made before a component was retired never follows one made
        after (a reconnect's and a retirement's publication run side by side)."""
        async with self._sender():
            self._documents_made_in = self._connection.connects
            for topic, document in self.payloads.all().items():
                payload = json.dumps(document, separators=(",", ":"))
                await self._connection.publish(topic, payload, qos=1, retain=True)
        await self._publish_states(lambda _now: self._book.everything())
        self.discovery_publishes += 1
        self._published_event().set()
        waiting = []
        for count, waiter in self._count_waiters:
            if self.discovery_publishes >= count and not waiter.done():
                waiter.set_result(None)
            elif not waiter.done():
                waiting.append((count, waiter))
        self._count_waiters = waiting

    async def wait_publishes(self, count: int) -> None:
        """Until discovery has been published ``count`` times in all (tests, diagnostics)."""
        if self.discovery_publishes >= count:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._count_waiters.append((count, waiter))
        await waiter

    async def wait_published(self) -> None:
        """Until discovery and all states have been published since the last (re)connect."""
        await self._published_event().wait()

    def _published_event(self) -> asyncio.Event:
        if self._published is None:
            self._published = asyncio.Event()
        return self._published

    async def _publish_states(self, pick: Callable[[float], list[tuple[str, str]]]) -> None:
        """Publish the states ``pick`` chooses, one sender at a time: the states are chosen
        when the sender's turn comes, so an older state of a topic never follows a newer one
        (the ticks, the urgent sends, a flush and a republish run side by side)."""
        async with self._sender():
            for topic, payload in pick(self._clock.now()):
                try:
                    await self._connection.publish(topic, payload, qos=1, retain=True)
                except NotConnected:
                    return  # everything is re-published after the reconnect
                self._book.sent(topic, payload, self._clock.now())

    async def _send_events(self) -> None:
        async with self._sender():  # each event once, in order
            while self._events:
                payload = self._events[0]
                try:
                    # Never retained: HA ignores retained events, and a replay would be wrong.
                    await self._connection.publish(self.topics.rule_event, payload, qos=1)
                except NotConnected:
                    self._events.clear()  # an event is a moment; it is not sent late
                    return
                self._events.popleft()

    def _sender(self) -> asyncio.Lock:
        if self._sending is None:
            self._sending = asyncio.Lock()
        return self._sending

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- states ---------------------------------------------------------------------------

    def _set(
        self, topic: str, payload: str, value: float | None = None, deadband: float = 0.0
    ) -> None:
        if self._book.set(topic, payload, value, deadband):
            self._event().set()

    def _initial_states(self) -> None:
        for person in self._people:
            for entity in self._announced[person]:
                self._book.set(self.topics.person_state(person, entity.key), UNKNOWN)
            self._book.set(self.topics.wearable(person), "online")
        self._book.set(self.topics.paused, "OFF")
        self._book.set(self.topics.mqtt_reconnects, "0", 0.0)
        self._set_active_rule()

    def _on_signals(self, update: SignalUpdate) -> None:
        if update.person not in self._people:
            return
        for entity in self._announced[update.person]:
            if entity.signal is None or entity.signal not in update.values:
                continue
            payload, number = format_state(entity, update.values[entity.signal].value)
            self._set(
                self.topics.person_state(update.person, entity.key),
                payload,
                number,
                entity.deadband,
            )

    def _poll_providers(self) -> None:
        """Wearable diagnostics and the pause state, from the daemon's status providers."""
        self._book.set(
            self.topics.mqtt_reconnects,
            str(self._connection.reconnects),
            float(self._connection.reconnects),
        )
        if self._keep_open_episodes():  # one ended without a recovery (the rule changed)
            self._set_active_rule()
        paused = _call(self._hub.status_providers.get("paused"))
        if isinstance(paused, bool):
            self._set(self.topics.paused, "ON" if paused else "OFF")
        self._insight_attributes()
        self._calming_states()
        sensors = _call(self._hub.status_providers.get("sensors"))
        if not isinstance(sensors, list):
            return
        for person in self._people:
            mine = [s for s in sensors if isinstance(s, Mapping) and s.get("person") == person]
            if mine:
                self._wearable_states(person, mine)

    def _insight_attributes(self) -> None:
        """The HRV trend's numbers and reason, as attributes of the "HRV below normal" sensor;
        where the last day's ln RMSSD came from (a night or a quiet daytime moment: not
        comparable in one history), as the attribute ``source`` of its sensor."""
        insights = _call(self._hub.status_providers.get("insights"))
        if not isinstance(insights, Mapping):
            return
        for person in self._people:
            of_person = insights.get(person) or {}
            trend = of_person.get("hrv_trend")
            if trend is not None and self._announces(person, "hrv_low"):
                self._set(self.topics.attributes(person, "hrv_low"), json.dumps(trend))
            if self._announces(person, "day_ln_rmssd"):
                source = {"source": of_person.get("day_ln_rmssd_source")}
                self._set(self.topics.attributes(person, "day_ln_rmssd"), json.dumps(source))

    def _announces(self, person: str, key: str) -> bool:
        """Whether ``person``'s device announces the entity ``key`` (no state goes to another)."""
        return any(entity.key == key for entity in self._announced[person])

    def _calming_states(self) -> None:
        """The calming option most likely next and what was learnt, per person."""
        calming = _call(self._hub.status_providers.get("calming"))
        if not isinstance(calming, Mapping):
            return
        for person in self._people:
            entry = calming.get(person)
            if isinstance(entry, Mapping) and self._announces(person, "calming_choice"):
                self._set(self.topics.person_state(person, "calming_choice"), str(entry["state"]))
                self._set(
                    self.topics.attributes(person, "calming_choice"),
                    json.dumps(entry["attributes"], sort_keys=True),
                )

    def _wearable_states(self, person: str, sensors: list[Mapping[str, Any]]) -> None:
        states = [s.get("connected") for s in sensors]
        connected = any(state is True for state in states)
        all_down = all(state is False for state in states)
        self._set(self.topics.wearable(person), "offline" if all_down else "online")
        for entity in PERSON_ENTITIES:
            topic = self.topics.person_state(person, entity.key)
            if entity.key == "wearable_connected":
                value: Any = connected if not all(s is None for s in states) else None
            elif entity.key == "battery":
                value = _first(sensors, "battery_pct")
            elif entity.key == "rssi":
                value = _first(sensors, "rssi")
            elif entity.key == "reconnects":
                counts = [s["reconnects"] for s in sensors if isinstance(s.get("reconnects"), int)]
                value = sum(counts) if counts else None
            else:
                continue
            payload, number = format_state(entity, value)
            self._book.set(topic, payload, number, entity.deadband)

    # -- rules ----------------------------------------------------------------------------

    def _on_trace(self, record: TraceRecord) -> None:
        if record.event in ("fired", "escalated"):
            self._active[(record.rule, record.person)] = record
            self._keep_open_episodes()
        elif record.event == "recovered":
            self._active.pop((record.rule, record.person), None)
        self._events.append(
            json.dumps(
                {
                    "event_type": record.event,
                    "rule": record.rule,
                    "person": record.person,
                    "reason": record.reason,
                    "trigger": record.trigger,
                }
            )
        )
        self._set_active_rule()
        self._event().set()
        self._traced = True
        if self._settled is not None:
            _resolve(self._settled)

    def _keep_open_episodes(self) -> bool:
        """The open episodes as the rules' status has them: a firing by a time, an MQTT
        message or an HA state opens none (no recovery would end it), and one opened before a
        restart is still open. True when that changed what is kept."""
        rows = _call(self._hub.status_providers.get("rules"))
        if not isinstance(rows, list):
            return False
        open_now: dict[tuple[str, str | None], float] = {}
        for row in rows:
            if isinstance(row, Mapping) and isinstance(row.get("episode_since"), int | float):
                open_now[(str(row.get("id")), row.get("person"))] = float(row["episode_since"])
        ended = [key for key in self._active if key not in open_now]
        for key in ended:
            del self._active[key]
        resumed = [key for key in open_now if key not in self._active]
        for rule, person in resumed:  # its firing was traced before this process
            self._active[(rule, person)] = TraceRecord(
                open_now[(rule, person)], rule, "fired", "", person
            )
        return bool(ended or resumed)

    def _set_active_rule(self) -> None:
        latest = max(self._active.values(), key=lambda r: r.time, default=None)
        self._set(self.topics.active_rule, latest.rule if latest else NO_RULE)
        attributes = {
            "active": [
                {
                    "rule": r.rule,
                    "person": r.person,
                    "since": r.time,
                    "since_iso": _iso_time(r.time, self._zone),
                    "trigger": r.trigger,
                }
                for r in sorted(self._active.values(), key=lambda r: r.time)
            ],
        }
        self._set(self.topics.active_rule_attributes, json.dumps(attributes))

    def _on_event(self, event: ExternalEvent) -> None:
        if event.kind != "command":
            return
        if event.key == "pause":
            paused = bool(event.data.get("paused", True))
            self._set(self.topics.paused, "ON" if paused else "OFF")
        elif event.key == "resume":
            self._set(self.topics.paused, "OFF")

    # -- from Home Assistant --------------------------------------------------------------

    def _on_birth(self, message: MqttMessage) -> None:
        """HA sends its birth once it has read the retained discovery documents (after they
        stop coming): the removals the broker's documents named then are read, and the
        devices are announced again without them. A retained birth is an old one."""
        if message.payload.strip() == b"online":
            _LOGGER.info("Home Assistant (re)started: re-publishing discovery and states")
            if not message.retain:
                for device_id, keys in self._removals_on_broker.items():
                    self.payloads.forget_retired(device_id, keys)
                self._removals_on_broker.clear()
            self._published_event().clear()
            self._spawn(self._republish_quietly())

    async def _republish_quietly(self) -> None:
        with contextlib.suppress(NotConnected):  # the reconnect will do it
            await self.publish_all()

    def _on_discovery_document(self, message: MqttMessage) -> None:
        """A discovery document on the broker (the retained ones come at every subscribe):
        a device of this instance that the config no longer has is withdrawn, and a component
        this config no longer announces is removed from its device, so neither stays in HA.
        One the document names by its platform alone was removed already: the devices go out
        again for it only if this session's went out without it (the broker's copy then
        lacks it); otherwise the connect's publication carries it, once."""
        device_id = self.topics.device_id_of(message.topic)
        if (
            device_id is None
            or not device_id.startswith(self.payloads.daemon_device_id)
            or not message.payload
            or len(message.payload) > _DOCUMENT_LIMIT
        ):
            return  # another's, or emptied (HA does that when a user deletes the device)
        try:
            document = json.loads(message.payload)
        except ValueError:
            return
        if self.payloads.is_former_person(device_id, document):
            self._spawn(self._withdraw(message.topic, document))
            return
        retired, dropped = self.payloads.retire(device_id, document)
        self._removals_on_broker[device_id] = self.payloads.removals_named(device_id, document)
        if retired:
            # Those a document still announced in full (an earlier removal left the platform).
            removed = sorted(key for key in retired if len(document["cmps"][key]) > 1)
            if removed:
                _LOGGER.info(
                    "Removing from Home Assistant the entities of %s no longer announced: %s",
                    device_id,
                    ", ".join(removed),
                )
            if removed or self._documents_made_in == self._connection.connects:
                self._spawn(self._retire(dropped))

    async def _retire(self, dropped_topics: list[str]) -> None:
        """Announce the devices without the retired components (HA removes them), then empty
        the retained states and attributes those had."""
        with contextlib.suppress(NotConnected):  # the next connect's retained copy comes again
            await self.publish_all()
            for topic in dropped_topics:
                await self._connection.publish(topic, "", qos=1, retain=True)

    async def _withdraw(self, discovery_topic: str, document: Any) -> None:
        """Empty a former device's discovery document (HA then deletes it and its entities),
        then the retained states it named."""
        _LOGGER.info(
            "Removing %s from Home Assistant: no longer in the config",
            self.topics.device_id_of(discovery_topic),
        )
        with contextlib.suppress(NotConnected):  # the next connect's retained copy comes again
            await self._connection.publish(discovery_topic, "", qos=1, retain=True)
            for topic in self.payloads.withdrawn_topics(document):
                await self._connection.publish(topic, "", qos=1, retain=True)

    def _on_pause_command(self, message: MqttMessage) -> None:
        if message.retain:
            return  # a stale retained command must not pause ambient at every reconnect
        command = message.payload.strip().upper()
        if command not in (b"ON", b"OFF"):
            self._bad_command(message, "expected ON or OFF")
            return
        paused = command == b"ON"
        self._hub.publish_event(
            ExternalEvent(self._clock.now(), "command", "pause", {"paused": paused})
        )
        self._set(self.topics.paused, "ON" if paused else "OFF")

    def _on_breathing_command(self, message: MqttMessage) -> None:
        if message.retain:
            return
        if message.payload.strip().upper() != b"PRESS":
            self._bad_command(message, "expected PRESS")
            return
        self._hub.publish_event(ExternalEvent(self._clock.now(), "command", "breathing", {}))

    def _bad_command(self, message: MqttMessage, detail: str) -> None:
        self._connection.counters.increment(f"mqtt:{message.topic}", "bad_command")
        self._throttle.log(
            _LOGGER,
            logging.WARNING,
            message.topic,
            "Ignored a command on %s: %s",
            message.topic,
            detail,
        )


def _iso_time(time_s: float, zone: tzinfo | None) -> str:
    """Unix seconds as ISO 8601 with the zone's offset, as HA's ``as_datetime`` reads it."""
    return datetime.fromtimestamp(time_s, zone).astimezone(zone).isoformat(timespec="seconds")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _call(provider: Any) -> Any:
    if provider is None:
        return None
    try:
        return provider()
    except Exception:
        _LOGGER.debug("status provider failed", exc_info=True)
        return None


def _first(sensors: list[Mapping[str, Any]], key: str) -> Any:
    for sensor in sensors:
        value = sensor.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None
