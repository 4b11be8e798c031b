"""One shared MQTT connection for MQTT sensors, HA discovery, satellites and actions.

Why one: a broker sees one client id per ambient instance, with one persistent session (MQTT 5,
clean start off, a session expiry) so QoS-1 messages sent while ambient is briefly away are
queued by the broker and delivered after the reconnect. The last will marks the instance
``offline`` (retained); ``online`` is published on every connect.

``run`` never returns on its own: it reconnects forever with capped exponential backoff and
jitter, timed on the injectable clock, re-subscribes every filter (retrying one the broker
refuses) and calls the ``on_connect`` hooks (discovery re-publishes) after every (re)connect.
A session another client with our client id keeps taking over is said once, and taken back ever
more slowly (see :mod:`ambient.connections.mqtt_takeover`).

Nothing the broker hands over is lost: a QoS 1/2 message is acknowledged only after its handlers
ran, and one a handler :class:`Declined` (a sensor shutting down) stays unacknowledged, so the
broker delivers it again in the next session. One whose acknowledgement the connection lost
(dropped between its handling and the PUBACK) the broker sends again at the reconnect, flagged
DUP: one of the last ``RECEIVE_MAXIMUM`` handled (in the connection before, or this one) is
skipped, counted ``redelivered``, said at DEBUG (MQTT at least once, not a reading taken twice).
The broker sends at most ``RECEIVE_MAXIMUM`` unacknowledged messages at a time, which bounds
what waits in memory; QoS 0 messages beyond ``QOS0_QUEUE_LIMIT`` are dropped and counted.

After a reconnect the broker first delivers what it queued while we were away. Its age is
unknown, so such messages are marked ``backlog`` until a marker we publish to ourselves comes
back (the broker delivers a session's queue in order).

Subscribing again after a reconnect makes the broker send every retained message again (MQTT 5
retain handling could stop that only for a session that survived, not after a broker restart
without persistence). A retained message whose payload is the last one handled on its topic is
that message again: it is skipped and counted ``retained_repeat``, so its readings (an RR list:
its beats) do not come twice.

A broker sends a message once for each subscription of ours it matches (``home/+/hr`` and
``home/alex/#``): every filter is subscribed with an MQTT 5 subscription identifier, and each
copy goes to the handlers of the filter it names, so no handler gets a message twice.

The session keeps its subscriptions across runs: the filters subscribed are remembered (see
:mod:`ambient.connections.mqtt_subscribed`), and one no longer registered is unsubscribed at
the next connect, after the current ones are subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import ssl
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ambient.asyncutil import reraise_lost_cancel
from ambient.clock import Clock, TimerHandle
from ambient.config.mqtt import MqttConfig
from ambient.config.tls import broker_context
from ambient.connections.errors import NotConnected
from ambient.connections.mqtt_client import (
    IncomingQueue,
    ReceivedMessage,
    acknowledge,
    end_with_session,
    prepare,
)
from ambient.connections.mqtt_subscribed import SubscribedFilters
from ambient.connections.mqtt_takeover import (
    TAKEOVER_WAIT_FIRST_S,
    TAKEOVER_WAIT_MAX_S,
    TakeoverWatch,
)
from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.store import StoreError
from ambient.topics import topic_matches

__all__ = ["Declined", "MqttConnection", "MqttMessage", "backoff_delay", "topic_matches"]

_LOGGER = logging.getLogger(__name__)


class _OncePerMinute(logging.Filter):
    """paho's own warnings and errors (``failed to receive on socket``) come once per attempt,
    and attempts come every 1.5 s while a broker refuses us: each distinct one once a minute."""

    def __init__(self) -> None:
        super().__init__()
        self._throttle = Throttle(60.0)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING or self._throttle.allow(str(record.msg))


#: What aiomqtt and paho log, as ``ambient.connections.mqtt.client``.
_CLIENT_LOGGER = _LOGGER.getChild("client")
_CLIENT_LOGGER.addFilter(_OncePerMinute())

#: Counters scope for the connection itself (payload problems use ``mqtt:<topic filter>``).
COUNTER_SCOPE = "mqtt"
ONLINE = "online"
OFFLINE = "offline"
_CALL_TIMEOUT_S = 10.0
_OFFLINE_TIMEOUT_S = 2.0
_SUBSCRIBE_RETRY_MAX_S = 60.0
_MATCH_CACHE_LIMIT = 4096
#: Topics whose last payload is remembered (to know a retained repeat); forgotten all at once
#: beyond this, as invented topics must not grow memory (a repeat then goes through once).
_LAST_PAYLOAD_LIMIT = 4096
#: Unacknowledged QoS 1/2 messages the broker may send us at once (MQTT 5 Receive Maximum).
RECEIVE_MAXIMUM = 1000
#: The largest packet the broker may send us (MQTT 5 Maximum Packet Size): readings are read up
#: to 16 KiB and ambient's own discovery documents are a few; a larger one (20 MiB from a
#: misbehaving publisher) the broker drops instead of filling the daemon's memory.
MAXIMUM_PACKET_SIZE = 1024 * 1024
#: The largest MQTT 5 subscription identifier.
_LARGEST_SUBSCRIPTION_ID = 268_435_455
#: QoS 0 messages waiting to be handled beyond this are dropped (the broker cannot hold them back).
QOS0_QUEUE_LIMIT = 1000
#: How long to wait for the backlog marker before treating messages as live again.
BACKLOG_MARKER_TIMEOUT_S = 10.0
#: Messages handled in a row before the event loop gets a turn (the reading consumer keeps
#: pace with a flood). A satellite batch holds at most 200 readings: 32 of them stay well
#: below the daemon's reading queue of 10,000.
MESSAGES_PER_TURN = 32


class Declined(Exception):
    """Raised by a handler that cannot take a message now (it is shutting down): the message is
    left unacknowledged, so the broker delivers it again in the next session."""


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """An incoming message, independent of the client library."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0
    #: Queued by the broker while we were away (or redelivered): of unknown age.
    backlog: bool = False


MessageHandler = Callable[[MqttMessage], None]
ConnectHook = Callable[[], Awaitable[None]]


def subscription_id(topic_filter: str) -> int:
    """The MQTT 5 subscription identifier of ``topic_filter``: the filter's own, the same in
    every process, as a persistent session keeps what the broker queued for the process
    before with that one's identifiers."""
    return zlib.crc32(topic_filter.encode()) % _LARGEST_SUBSCRIPTION_ID + 1


def _subscription_ids(message: aiomqtt.Message) -> tuple[int, ...]:
    """The identifiers of the subscriptions ``message`` was sent for (none from a broker
    without them, or for a subscription made without one), in order: a broker may name them
    in any, and a copy sent again is the same copy."""
    found = getattr(message.properties, "SubscriptionIdentifier", None)
    return tuple(sorted(found)) if found else ()


def backoff_delay(attempt: int, minimum_s: float, maximum_s: float, rng: random.Random) -> float:
    """Exponential backoff capped at ``maximum_s``, with full-range jitter in its upper half
    so many instances restarting together do not reconnect in lock-step."""
    ceiling = min(maximum_s, minimum_s * (2.0 ** min(attempt, 30)))
    return ceiling * (0.5 + 0.5 * rng.random())


def tls_context(config: MqttConfig) -> ssl.SSLContext | None:
    """None for plain MQTT; a file that cannot be loaded raises :class:`TlsFileError` (an
    ``OSError``: retried as a failed connect)."""
    return None if config.tls is None else broker_context(config.tls)


class MqttConnection:
    """The shared connection; see the module docstring."""

    def __init__(
        self,
        config: MqttConfig,
        instance: str,
        clock: Clock,
        counters: Counters,
        role: str | None = None,
        subscribed: SubscribedFilters | None = None,
    ) -> None:
        """``role`` names a second client of the same instance (``record`` while the daemon
        runs): it gets a client id of its own, so the broker does not drop the daemon's
        session for it, and it never says the instance is online or offline. ``subscribed``
        remembers the filters this client id subscribed, so that one no longer registered is
        unsubscribed at the next connect (without it, such a filter stays in the session)."""
        self.config = config
        self.instance = instance
        self.role = role
        base_id = config.client_id or f"ambient-{instance}"
        self.client_id = base_id if role is None else f"{base_id}-{role}"
        self.status_topic = f"{config.base_topic}/{instance}/status"
        self._clock = clock
        self._counters = counters
        self.counters = counters
        self._remembered = subscribed
        #: What ``subscribed`` holds for our client id, once a session started.
        self._remembered_filters: set[str] = set()
        #: The store answered this session's read: ``_remembered_filters`` may be written.
        self._remembering = False
        #: The subscription identifiers of every filter remembered at a session's start in
        #: this run (unsubscribed since or not): a copy naming none of them nor a filter of
        #: the config is for one the store never knew, which cannot be unsubscribed.
        self._known_ids: set[int] = set()
        self._said_unknown = False
        self._subscriptions: dict[str, tuple[int, list[MessageHandler]]] = {}
        self._match_cache: dict[str, list[tuple[str, MessageHandler]]] = {}
        #: Per topic and the subscriptions it came for, the hash of the last payload handled
        #: (kept across sessions).
        self._last_payload: dict[tuple[str, tuple[int, ...]], int] = {}
        #: The last ``RECEIVE_MAXIMUM`` QoS 1/2 messages handled in this connection (by packet
        #: id, their topic's and payload's hashes: a topic may be long), and those of the
        #: connection before: one the broker sends again (DUP) after a connection that dropped
        #: before its acknowledgement reached it was handled. Older ones are not kept: a
        #: broker numbers its messages anew (restarted without its sessions), and a new
        #: message that has a handled one's id and text is no copy of it.
        self._handled: OrderedDict[int, tuple[int, int]] = OrderedDict()
        self._handled_before: dict[int, tuple[int, int]] = {}
        #: Each filter's subscription identifier (see :func:`subscription_id`).
        self._subscription_id: dict[str, int] = {}
        #: Whether this session's broker takes subscription identifiers.
        self._ids_available = True
        self._hooks: list[ConnectHook] = []
        self._client: aiomqtt.Client | None = None
        self._connected_event: asyncio.Event | None = None
        self._attempt_waiters: list[asyncio.Future[None]] = []
        self._throttle = Throttle(60.0)
        self._rng = random.Random()
        self._takeover = TakeoverWatch()
        self._connected_at = 0.0  # the clock's monotonic time of the last connect
        self._broker_reason: int | None = None  # why the broker ended the last session
        self._said_lost = False  # a line said the broker was lost; the next connect says back
        self.connects = 0
        self.last_error: str | None = None
        #: Filters the broker refused in this session, with why; retried until it accepts.
        self.subscribe_failures: dict[str, str] = {}
        self._granted: dict[str, asyncio.Event] = {}  # set while the broker has the filter
        self._retry_task: asyncio.Task[None] | None = None
        #: The filters the retry task has still to subscribe.
        self._retry_pending: set[str] = set()
        self._backlog_marker: str | None = None  # the marker still awaited in this session
        self._backlog_timer: TimerHandle | None = None

    # -- registration ---------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> None:
        """Deliver messages matching ``topic_filter`` to ``handler`` (a sync callable, called on
        the event loop; it must not block). Subscribed now if connected, and on every connect."""
        known_qos, handlers = self._subscriptions.get(topic_filter, (qos, []))
        handlers.append(handler)
        self._subscriptions[topic_filter] = (max(known_qos, qos), handlers)
        self._subscription_id[topic_filter] = subscription_id(topic_filter)
        self._match_cache.clear()
        client = self._client
        if client is not None:
            self._remember_filters({topic_filter})
            self._subscribe_later(client, [topic_filter], 0.0)

    def on_connect(self, hook: ConnectHook) -> None:
        """Run ``hook`` after every (re)connect, once subscriptions are in place."""
        self._hooks.append(hook)

    # -- state ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    async def wait_connected(self) -> None:
        await self._event().wait()

    async def wait_subscribed(self, topic_filter: str) -> None:
        """Until the broker has accepted ``topic_filter`` in the current session."""
        await self._granted.setdefault(topic_filter, asyncio.Event()).wait()

    async def wait_attempt_ended(self) -> None:
        """Until the current connection attempt (or session) ends, failed or lost."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._attempt_waiters.append(waiter)
        await waiter

    def _attempt_ended(self) -> None:
        waiters, self._attempt_waiters = self._attempt_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def diagnostics(self) -> dict[str, Any]:
        return {
            "broker": f"{self.config.host}:{self.config.port}",
            "client_id": self.client_id,
            "connected": self.connected,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "subscriptions": sorted(self._subscriptions),
            "subscribe_failures": dict(sorted(self.subscribe_failures.items())),
        }

    def _event(self) -> asyncio.Event:
        if self._connected_event is None:
            self._connected_event = asyncio.Event()
        return self._connected_event

    # -- publishing -----------------------------------------------------------------------

    async def publish(
        self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish and, for QoS 1/2, wait for the broker's acknowledgement.

        Raises :class:`NotConnected` when not connected or when the connection drops
        before the broker acknowledged."""
        client = self._client
        if client is None:
            raise NotConnected(
                f"MQTT broker {self.config.host}:{self.config.port} is not connected"
            )
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=_CALL_TIMEOUT_S)
        except aiomqtt.MqttError as exc:
            raise NotConnected(f"MQTT publish to {topic} failed: {exc}") from exc
        reraise_lost_cancel()  # or shutdown can hang

    # -- the connection loop --------------------------------------------------------------

    async def run(self) -> None:
        attempt = 0
        while True:
            was_connected = self.connects
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                self.last_error = str(exc)
            except (OSError, ssl.SSLError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            taken_over = False
            if self.connects > was_connected:
                attempt = 0  # the link worked: the first retry is quick
                self._counters.increment(COUNTER_SCOPE, "connection_lost")
                lasted_s = self._clock.monotonic() - self._connected_at
                taken_over = self._takeover.session_ended(lasted_s, self._broker_reason)
            else:
                self._counters.increment(COUNTER_SCOPE, "connect_failed")
            if taken_over:
                delay_s = self._taken_over_wait()
            else:
                delay_s = backoff_delay(
                    attempt, self.config.backoff_min, self.config.backoff_max, self._rng
                )
                attempt += 1
                cause = self.last_error or "disconnected"
                # Held back per reason: a new one (the broker back, refusing our password) is
                # said at once, the same one ever more rarely.
                self._said_lost |= self._throttle.log(
                    _LOGGER,
                    logging.WARNING,
                    f"connect:{_reason_kind(cause)}",
                    "MQTT broker %s:%s: %s; retrying in %.1f s",
                    self.config.host,
                    self.config.port,
                    cause,
                    delay_s,
                )
            self._attempt_ended()
            await self._clock.sleep(delay_s)

    def _taken_over_wait(self) -> float:
        """Another client uses our client id (see :mod:`mqtt_takeover`): say so once, and wait
        ever longer before taking the session back, so the two do not fight without end."""
        takeovers = self._takeover.takeovers
        self._counters.increment(COUNTER_SCOPE, "session_taken_over")
        self.last_error = f"another client took over the session of client id {self.client_id}"
        delay_s = backoff_delay(
            takeovers - 1, TAKEOVER_WAIT_FIRST_S, TAKEOVER_WAIT_MAX_S, self._rng
        )
        if takeovers == 1:
            _LOGGER.warning(
                "MQTT broker %s:%s: another client uses client id %s and takes the session "
                "at each connect (two ambient daemons with the same `instance`, a copied "
                "config?); give each daemon its own `instance` (or mqtt.client_id). Until "
                "then reconnecting ever more slowly, up to every %.0f min",
                self.config.host,
                self.config.port,
                self.client_id,
                TAKEOVER_WAIT_MAX_S / 60,
            )
        else:
            _LOGGER.debug("MQTT session taken over again; reconnecting in %.1f s", delay_s)
        return delay_s

    def _client_for_session(self) -> aiomqtt.Client:
        config = self.config
        connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect_properties.SessionExpiryInterval = int(config.session_expiry)
        connect_properties.ReceiveMaximum = RECEIVE_MAXIMUM
        connect_properties.MaximumPacketSize = MAXIMUM_PACKET_SIZE
        client = aiomqtt.Client(
            config.host,
            config.port,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=connect_properties,
            will=aiomqtt.Will(self.status_topic, OFFLINE, qos=1, retain=True)
            if self.role is None
            else None,
            keepalive=config.keepalive,
            timeout=_CALL_TIMEOUT_S,
            tls_context=tls_context(config),
            logger=_CLIENT_LOGGER,
        )
        return client

    def _dropped_qos0(self) -> None:
        self._counters.increment(COUNTER_SCOPE, "qos0_queue_full")

    async def _session(self) -> None:
        client = self._client_for_session()
        # Received messages land in a queue of ours, read directly (see _receive).
        incoming = IncomingQueue(QOS0_QUEUE_LIMIT, self._dropped_qos0)
        prepare(client, incoming)
        async with client:
            end_with_session(client, incoming)
            self.connects += 1
            self.last_error = None
            self._handled_before, self._handled = self._handled, OrderedDict()
            self._client = client
            self._connected_at = self._clock.monotonic()
            self._broker_reason = None
            hooks: asyncio.Task[None] | None = None
            self._ids_available = incoming.subscription_ids_available
            self._say_connected()
            try:
                self._expect_backlog_marker()
                removed = self._remember_current()
                await client.subscribe(self._marker_topic, qos=1, timeout=_CALL_TIMEOUT_S)
                if self.role is None:
                    await client.publish(self.status_topic, ONLINE, qos=1, retain=True)
                failed = [
                    f for f in list(self._subscriptions) if not await self._subscribe_now(client, f)
                ]
                if failed:
                    self._subscribe_later(client, failed, self.config.backoff_min)
                await self._unsubscribe_removed(client, incoming, removed)
                await client.publish(self._marker_topic, self._backlog_marker or "", qos=1)
                reraise_lost_cancel()  # a stop lost by a call above would wait here for good
                self._event().set()  # connected and subscribed
                hooks = asyncio.get_running_loop().create_task(self._run_hooks())
                await self._receive(client, incoming)
                self._broker_reason = incoming.broker_reason
                raise aiomqtt.MqttError(incoming.ended_because)
            except asyncio.CancelledError:
                await self._say_offline(client)
                raise
            finally:
                self._client = None
                self._event().clear()
                self._end_backlog()
                for granted in self._granted.values():
                    granted.clear()
                for task in (hooks, self._retry_task):
                    if task is not None:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
                self._retry_task = None

    def _say_connected(self) -> None:
        """Said after every line that said the broker was lost; otherwise throttled, as a
        client id taken over again and again reconnects without end."""
        args = (self.config.host, self.config.port, self.client_id)
        if self._said_lost:
            self._said_lost = False
            _LOGGER.info("Connected to MQTT broker %s:%s as %s", *args)
        else:
            self._throttle.log(
                _LOGGER, logging.INFO, "connected", "Connected to MQTT broker %s:%s as %s", *args
            )

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        """A clean shutdown sends no last will: say ``offline`` ourselves."""
        if self.role is not None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(
                self.status_topic, OFFLINE, qos=1, retain=True, timeout=_OFFLINE_TIMEOUT_S
            )

    # -- subscriptions --------------------------------------------------------------------

    async def _subscribe_now(self, client: aiomqtt.Client, topic_filter: str) -> bool:
        """Subscribe once; a refusal is counted, logged and remembered (False)."""
        entry = self._subscriptions.get(topic_filter)
        if entry is None:
            return True
        properties = None
        if self._ids_available:
            properties = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
            properties.SubscriptionIdentifier = self._subscription_id[topic_filter]
        try:
            granted = await client.subscribe(
                topic_filter, qos=entry[0], properties=properties, timeout=_CALL_TIMEOUT_S
            )
        except aiomqtt.MqttError as exc:  # a timeout, or the link dropped (then run() reconnects)
            problem = str(exc) or type(exc).__name__
        except ValueError as exc:  # a filter paho refuses to send
            problem = str(exc)
        else:
            refused = [code for code in granted if _is_refusal(code)]
            if not refused:
                self.subscribe_failures.pop(topic_filter, None)
                self._granted.setdefault(topic_filter, asyncio.Event()).set()
                return True
            problem = f"refused by the broker: {refused[0]}"
        self.subscribe_failures[topic_filter] = problem
        self._counters.increment(COUNTER_SCOPE, "subscribe_failed")
        self._throttle.log(
            _LOGGER,
            logging.WARNING,
            f"subscribe:{topic_filter}",
            "MQTT subscribe to %s failed: %s; retrying",
            topic_filter,
            problem,
        )
        return False

    def _subscribe_later(self, client: aiomqtt.Client, filters: list[str], first_s: float) -> None:
        """Keep subscribing ``filters`` (with backoff) until the broker accepts them all or this
        session ends; one retry task per session, which takes over the filters the one before
        had not subscribed yet (two filters registered in one turn: the first was dropped)."""
        pending = set(filters)
        if self._retry_task is not None and not self._retry_task.done():
            self._retry_task.cancel()
            pending |= self._retry_pending | set(self.subscribe_failures)
        self._retry_pending = pending
        self._retry_task = asyncio.get_running_loop().create_task(
            self._retry_subscribes(client, pending, first_s)
        )
        self._retry_task.add_done_callback(_log_task_failure)

    async def _retry_subscribes(
        self, client: aiomqtt.Client, pending: set[str], first_s: float
    ) -> None:
        """``pending`` loses each filter the broker accepts (another task may take it over)."""
        attempt = 0
        delay_s = first_s
        while pending and self._client is client:
            if delay_s > 0:
                await self._clock.sleep(delay_s)
            for topic_filter in sorted(pending):
                if await self._subscribe_now(client, topic_filter):
                    pending.discard(topic_filter)
            delay_s = backoff_delay(
                attempt, self.config.backoff_min, _SUBSCRIBE_RETRY_MAX_S, self._rng
            )
            attempt += 1

    # -- filters no longer in the config ---------------------------------------------------

    def _remember_current(self) -> set[str]:
        """Remember the filters this session subscribes before it does (one the store did
        not know could never be undone), and return those remembered that are no longer
        registered: the session still holds them, to be unsubscribed."""
        self._remembering = False
        if self._remembered is None:
            return set()
        try:
            known = self._remembered.load(self.client_id)
        except StoreError:  # not known now: left as it is, for the next connect
            return set()
        self._remembering = True
        self._remembered_filters = set() if known is None else known
        self._known_ids |= {subscription_id(f) for f in self._remembered_filters}
        current = {*self._subscriptions, self._marker_topic}
        self._remember_filters(current)
        return self._remembered_filters - current

    def _remember_filters(self, filters: set[str]) -> None:
        if self._remembered is None or not self._remembering:
            return
        if not filters <= self._remembered_filters:
            self._remembered_filters |= filters
            self._remembered.save(self.client_id, self._remembered_filters)

    async def _unsubscribe_removed(
        self, client: aiomqtt.Client, incoming: IncomingQueue, removed: set[str]
    ) -> None:
        """Unsubscribe the filters of an earlier config, after this one's are subscribed (no
        moment with neither); one that fails stays remembered, for the next connect."""
        gone = set()
        for topic_filter in sorted(removed - set(self._subscriptions)):
            if await self._unsubscribe_now(client, incoming, topic_filter):
                gone.add(topic_filter)
        if gone and self._remembered is not None:
            self._remembered_filters -= gone
            self._remembered.save(self.client_id, self._remembered_filters)

    async def _unsubscribe_now(
        self, client: aiomqtt.Client, incoming: IncomingQueue, topic_filter: str
    ) -> bool:
        try:
            await client.unsubscribe(topic_filter, timeout=_CALL_TIMEOUT_S)
        except aiomqtt.MqttError as exc:  # a timeout, or the link dropped (then run() reconnects)
            problem = str(exc) or type(exc).__name__
        except ValueError as exc:  # a filter paho refuses to send
            problem = str(exc)
        else:
            refused = [code for code in incoming.unsubscribe_codes if _is_refusal(code)]
            if not refused:  # (0x11, no such subscription, is gone too)
                _LOGGER.info("Unsubscribed MQTT filter %s: no longer in the config", topic_filter)
                return True
            problem = f"refused by the broker: {refused[0]:#x}"
        self._counters.increment(COUNTER_SCOPE, "unsubscribe_failed")
        self._throttle.log(
            _LOGGER,
            logging.WARNING,
            f"unsubscribe:{topic_filter}",
            "MQTT unsubscribe from %s (no longer in the config) failed: %s; trying again at "
            "the next connect",
            topic_filter,
            problem,
        )
        return False

    def _say_unknown_filter(self, via: tuple[int, ...]) -> None:
        """A copy came for a filter no longer used that the store does not know: said once
        a run (at every start, while the session keeps it), never for one being unsubscribed."""
        if self._remembered is None or self._said_unknown or not self._known_ids.isdisjoint(via):
            return
        self._said_unknown = True
        _LOGGER.warning(
            "MQTT broker %s:%s keeps a filter in the session of client id %s that ambient "
            "no longer uses and cannot unsubscribe (subscribed before ambient remembered "
            "its filters, or with another store); its messages are skipped. To end that "
            "session once, see 'Filters taken out of the config' in docs/mqtt.md",
            self.config.host,
            self.config.port,
            self.client_id,
        )

    # -- the backlog marker ---------------------------------------------------------------

    @property
    def _marker_topic(self) -> str:
        role = "" if self.role is None else f"/{self.role}"
        return f"{self.config.base_topic}/{self.instance}{role}/backlog_end"

    def _expect_backlog_marker(self) -> None:
        self._end_backlog()
        self._backlog_marker = f"{self.connects}-{uuid.uuid4().hex}"
        self._backlog_timer = self._clock.call_later(
            BACKLOG_MARKER_TIMEOUT_S, self._backlog_marker_lost
        )

    def _backlog_marker_lost(self) -> None:
        self._backlog_timer = None
        if self._backlog_marker is not None:
            self._backlog_marker = None
            self._counters.increment(COUNTER_SCOPE, "backlog_marker_lost")

    def _end_backlog(self) -> None:
        self._backlog_marker = None
        if self._backlog_timer is not None:
            self._backlog_timer.cancel()
            self._backlog_timer = None

    async def _run_hooks(self) -> None:
        for hook in list(self._hooks):
            try:
                await hook()
            except NotConnected:
                return  # disconnected again; the next connect runs the hooks anew
            except Exception:
                _LOGGER.exception("MQTT on_connect hook %r failed", hook)

    async def _receive(self, client: aiomqtt.Client, incoming: IncomingQueue) -> None:
        """Hand every received message to its handlers until the session ends.

        Read straight from the queue: aiomqtt's ``client.messages`` starts a task and an
        ``asyncio.wait`` for every message, which cost two thirds of the time a backlog took
        to drain. ``get`` suspends only when the queue is empty; while it does, a message is
        handled in the turn that received it (see :class:`IncomingQueue`)."""

        def handle_now(message: aiomqtt.Message) -> None:
            try:
                self._dispatch(client, message)
            except Exception:  # inside paho's read: never let it break the connection
                _LOGGER.exception("Handling an MQTT message on %s failed", message.topic.value)

        handled = 0
        while True:
            if incoming.qsize():
                message = incoming.get_nowait()
            else:
                incoming.handle_now = handle_now
                try:
                    message = await incoming.get()
                finally:
                    incoming.handle_now = None
            if message is None:
                return
            self._dispatch(client, message)
            handled += 1
            if handled % MESSAGES_PER_TURN == 0:
                await asyncio.sleep(0)

    def _dispatch(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Deliver one message, then acknowledge it unless a handler declined it."""
        topic = message.topic.value
        payload = message.payload
        if not isinstance(payload, bytes):  # aiomqtt always gives bytes; be defensive
            payload = b"" if payload is None else str(payload).encode()
        mid = message.mid
        dup = isinstance(message, ReceivedMessage) and message.dup
        if not dup:  # its id is free again: the message that had it was acknowledged
            self._handled.pop(mid, None)
            self._handled_before.pop(mid, None)
        if topic == self._marker_topic:
            if self._backlog_marker is not None and payload == self._backlog_marker.encode():
                self._end_backlog()
            accepted = True
        else:
            via = _subscription_ids(message)
            key = (topic, via)  # a copy for another subscription is for other handlers
            sent = (hash(topic), hash(payload))
            if message.retain and self._last_payload.get(key) == hash(payload):
                self._counters.increment(COUNTER_SCOPE, "retained_repeat")
                _LOGGER.debug("skipped the retained message on %s: handled already", topic)
                accepted = True
            elif dup and sent in (self._handled.get(mid), self._handled_before.get(mid)):
                # MQTT at least once: its acknowledgement was lost with the connection. Kept
                # as handled in this one: this acknowledgement may be lost in turn.
                self._handled_now(mid, sent)
                self._counters.increment(COUNTER_SCOPE, "redelivered")
                _LOGGER.debug("skipped the message on %s sent again: handled already", topic)
                accepted = True
            else:
                backlog = self._backlog_marker is not None
                qos, retain = int(message.qos), bool(message.retain)
                accepted = self.deliver(MqttMessage(topic, payload, retain, qos, backlog), via)
                if accepted:  # a declined one comes again, and must then be handled
                    self._remember(key, payload)
                    if qos > 0:
                        self._handled_now(mid, sent)
        if accepted and message.qos > 0:
            acknowledge(client, message)

    def _handled_now(self, mid: int, sent: tuple[int, int]) -> None:
        """Keep ``sent`` (packet id ``mid``) among the last messages handled (see
        ``_handled``): no more can be unacknowledged when a connection drops than the broker
        may send at once."""
        handled = self._handled
        handled.pop(mid, None)  # (its newest place)
        handled[mid] = sent
        if len(handled) > RECEIVE_MAXIMUM:
            handled.popitem(last=False)

    def _remember(self, key: tuple[str, tuple[int, ...]], payload: bytes) -> None:
        """Keep ``payload`` (its hash) as the last handled on a topic for its subscriptions."""
        last_payload = self._last_payload
        if len(last_payload) >= _LAST_PAYLOAD_LIMIT and key not in last_payload:
            last_payload.clear()
        last_payload[key] = hash(payload)

    def deliver(self, message: MqttMessage, via: tuple[int, ...] = ()) -> bool:
        """Hand ``message`` to every handler whose filter matches its topic (of those
        ``via`` names, the subscription identifiers it was sent for); False when one declined
        it (it must stay unacknowledged)."""
        matched = self._match_cache.get(message.topic)
        if matched is None:
            matched = [
                (topic_filter, handler)
                for topic_filter, (_qos, filter_handlers) in self._subscriptions.items()
                if topic_matches(topic_filter, message.topic)
                for handler in filter_handlers
            ]
            if len(self._match_cache) >= _MATCH_CACHE_LIMIT:
                self._match_cache.clear()
            self._match_cache[message.topic] = matched
        if via:
            ids = self._subscription_id
            chosen = [(f, handler) for f, handler in matched if ids[f] in via]
            if chosen:
                matched = chosen
            elif not message.backlog:
                # Sent for a filter of an earlier config the session still holds: the filters
                # of this one that match have their own copy.
                self._counters.increment(COUNTER_SCOPE, "old_subscription")
                _LOGGER.debug("skipped a copy on %s for a filter no longer used", message.topic)
                self._say_unknown_filter(via)
                return True
            # (queued while away for such a filter: every match takes it, at least once)
        accepted = True
        for topic_filter, handler in matched:
            try:
                handler(message)
            except Declined:
                accepted = False
            except Exception:
                # Counted per filter, not per topic: invented topics must not grow memory.
                self._counters.increment(f"mqtt:{topic_filter}", "handler_error")
                self._throttle.log(
                    _LOGGER,
                    logging.ERROR,
                    f"handler:{topic_filter}",
                    "Handling an MQTT message on %s failed",
                    message.topic,
                )
                _LOGGER.debug("Handler failure on %s", message.topic, exc_info=True)
        return accepted


#: Causes that say only that the broker is not there (lost, refused, unreachable, silent):
#: one outage, whichever of them each attempt meets.
_AWAY = re.compile(r"^disconnected|\[Errno -?\d+\]|timed out", re.IGNORECASE)


def _reason_kind(cause: str) -> str:
    """What a failed attempt's ``cause`` tells of why: ``away`` for the broker not being
    there, else the cause itself (our password refused, a certificate, a TLS port)."""
    return "away" if _AWAY.search(cause) else cause


def _is_refusal(code: object) -> bool:
    """A SUBACK entry that refuses: an MQTT 5 reason code of 0x80 or more (or 128 in 3.1.1)."""
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80


def _log_task_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("MQTT background task failed", exc_info=task.exception())
