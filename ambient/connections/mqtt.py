"""One shared MQTT connection for MQTT sensors, HA discovery, satellites and actions.

Why one: a broker sees one client id per ambient instance, with one persistent session (MQTT 5,
clean start off, a session expiry) so QoS-1 messages sent while ambient is briefly away are
queued by the broker and delivered after the reconnect. The last will marks the instance
``offline`` (retained); ``online`` is published on every connect.

``run`` never returns on its own: it reconnects forever with capped exponential backoff and
jitter, timed on the injectable clock, re-subscribes every filter and calls the ``on_connect``
hooks (discovery re-publishes) after every (re)connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ambient.clock import Clock
from ambient.config.mqtt import MqttConfig
from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.ports import ActuatorUnavailable

_LOGGER = logging.getLogger(__name__)

#: Counters scope for the connection itself (per-topic payload problems use ``mqtt:<topic>``).
COUNTER_SCOPE = "mqtt"
ONLINE = "online"
OFFLINE = "offline"
_CALL_TIMEOUT_S = 10.0
_OFFLINE_TIMEOUT_S = 2.0
_MATCH_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """An incoming message, independent of the client library."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 0


MessageHandler = Callable[[MqttMessage], None]
ConnectHook = Callable[[], Awaitable[None]]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching: ``+`` one level, ``#`` the rest (and the parent level)."""
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            # '#' does not match topics starting with '$' at the first level.
            return not (index == 0 and topic.startswith("$"))
        if index >= len(topic_levels):
            return False
        if level == "+":
            if index == 0 and topic_levels[0].startswith("$"):
                return False
            continue
        if level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


def backoff_delay(attempt: int, minimum_s: float, maximum_s: float, rng: random.Random) -> float:
    """Exponential backoff capped at ``maximum_s``, with full-range jitter in its upper half
    so many instances restarting together do not reconnect in lock-step."""
    ceiling = min(maximum_s, minimum_s * (2.0 ** min(attempt, 30)))
    return ceiling * (0.5 + 0.5 * rng.random())


def tls_context(config: MqttConfig) -> ssl.SSLContext | None:
    if config.tls is None:
        return None
    tls = config.tls
    context = ssl.create_default_context(
        cafile=str(tls.ca_file) if tls.ca_file is not None else None
    )
    if tls.certfile is not None and tls.keyfile is not None:
        context.load_cert_chain(str(tls.certfile), str(tls.keyfile))
    if tls.insecure:
        context.check_hostname = False
    return context


class MqttConnection:
    """The shared connection; see the module docstring."""

    def __init__(self, config: MqttConfig, instance: str, clock: Clock, counters: Counters) -> None:
        self.config = config
        self.instance = instance
        self.client_id = config.client_id or f"ambient-{instance}"
        self.status_topic = f"{config.base_topic}/{instance}/status"
        self._clock = clock
        self._counters = counters
        self.counters = counters
        self._subscriptions: dict[str, tuple[int, list[MessageHandler]]] = {}
        self._match_cache: dict[str, list[MessageHandler]] = {}
        self._hooks: list[ConnectHook] = []
        self._client: aiomqtt.Client | None = None
        self._connected_event: asyncio.Event | None = None
        self._attempt_waiters: list[asyncio.Future[None]] = []
        self._throttle = Throttle(60.0)
        self._rng = random.Random()
        self.connects = 0
        self.last_error: str | None = None

    # -- registration ---------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> None:
        """Deliver messages matching ``topic_filter`` to ``handler`` (a sync callable, called on
        the event loop; it must not block). Subscribed now if connected, and on every connect."""
        known_qos, handlers = self._subscriptions.get(topic_filter, (qos, []))
        handlers.append(handler)
        self._subscriptions[topic_filter] = (max(known_qos, qos), handlers)
        self._match_cache.clear()
        client = self._client
        if client is not None:
            task = asyncio.get_running_loop().create_task(self._subscribe_now(client, topic_filter))
            task.add_done_callback(_log_task_failure)

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

        Raises :class:`ActuatorUnavailable` when not connected or when the connection drops
        before the broker acknowledged."""
        client = self._client
        if client is None:
            raise ActuatorUnavailable(
                f"MQTT broker {self.config.host}:{self.config.port} is not connected"
            )
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=_CALL_TIMEOUT_S)
        except aiomqtt.MqttError as exc:
            raise ActuatorUnavailable(f"MQTT publish to {topic} failed: {exc}") from exc
        # Python 3.11's asyncio.wait_for (inside aiomqtt) swallows a cancellation that arrives
        # in the same loop turn as the acknowledgement; honour it, or shutdown can hang.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError

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
            if self.connects > was_connected:
                attempt = 0  # the link worked: the first retry is quick
                self._counters.increment(COUNTER_SCOPE, "connection_lost")
            else:
                self._counters.increment(COUNTER_SCOPE, "connect_failed")
            delay_s = backoff_delay(
                attempt, self.config.backoff_min, self.config.backoff_max, self._rng
            )
            attempt += 1
            self._attempt_ended()
            self._throttle.log(
                _LOGGER,
                logging.WARNING,
                "connect",
                "MQTT broker %s:%s: %s; retrying in %.1f s",
                self.config.host,
                self.config.port,
                self.last_error or "disconnected",
                delay_s,
            )
            await self._clock.sleep(delay_s)

    def _client_for_session(self) -> aiomqtt.Client:
        config = self.config
        connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect_properties.SessionExpiryInterval = int(config.session_expiry)
        return aiomqtt.Client(
            config.host,
            config.port,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=connect_properties,
            will=aiomqtt.Will(self.status_topic, OFFLINE, qos=1, retain=True),
            keepalive=config.keepalive,
            timeout=_CALL_TIMEOUT_S,
            tls_context=tls_context(config),
            logger=_LOGGER.getChild("client"),
        )

    async def _session(self) -> None:
        client = self._client_for_session()
        async with client:
            self.connects += 1
            self.last_error = None
            self._client = client
            hooks: asyncio.Task[None] | None = None
            _LOGGER.info(
                "Connected to MQTT broker %s:%s as %s",
                self.config.host,
                self.config.port,
                self.client_id,
            )
            try:
                await client.publish(self.status_topic, ONLINE, qos=1, retain=True)
                for topic_filter in list(self._subscriptions):
                    await self._subscribe_now(client, topic_filter)
                self._event().set()  # connected and subscribed
                hooks = asyncio.get_running_loop().create_task(self._run_hooks())
                async for message in client.messages:
                    self._dispatch(message)
            except asyncio.CancelledError:
                await self._say_offline(client)
                raise
            finally:
                self._client = None
                self._event().clear()
                if hooks is not None:
                    hooks.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await hooks

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        """A clean shutdown sends no last will: say ``offline`` ourselves."""
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(
                self.status_topic, OFFLINE, qos=1, retain=True, timeout=_OFFLINE_TIMEOUT_S
            )

    async def _subscribe_now(self, client: aiomqtt.Client, topic_filter: str) -> None:
        entry = self._subscriptions.get(topic_filter)
        if entry is None:
            return
        with contextlib.suppress(aiomqtt.MqttError):  # a drop here is handled by run()
            await client.subscribe(topic_filter, qos=entry[0], timeout=_CALL_TIMEOUT_S)

    async def _run_hooks(self) -> None:
        for hook in list(self._hooks):
            try:
                await hook()
            except ActuatorUnavailable:
                return  # disconnected again; the next connect runs the hooks anew
            except Exception:
                _LOGGER.exception("MQTT on_connect hook %r failed", hook)

    def _dispatch(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        payload = message.payload
        if not isinstance(payload, bytes):  # aiomqtt always gives bytes; be defensive
            payload = b"" if payload is None else str(payload).encode()
        self.deliver(MqttMessage(topic, payload, bool(message.retain), int(message.qos)))

    def deliver(self, message: MqttMessage) -> None:
        """Hand ``message`` to every handler whose filter matches its topic."""
        handlers = self._match_cache.get(message.topic)
        if handlers is None:
            handlers = [
                handler
                for topic_filter, (_qos, filter_handlers) in self._subscriptions.items()
                if topic_matches(topic_filter, message.topic)
                for handler in filter_handlers
            ]
            if len(self._match_cache) >= _MATCH_CACHE_LIMIT:
                self._match_cache.clear()
            self._match_cache[message.topic] = handlers
        for handler in handlers:
            try:
                handler(message)
            except Exception:
                self._counters.increment(f"mqtt:{message.topic}", "handler_error")
                self._throttle.log(
                    _LOGGER,
                    logging.ERROR,
                    f"handler:{message.topic}",
                    "Handling an MQTT message on %s failed",
                    message.topic,
                )
                _LOGGER.debug("Handler failure on %s", message.topic, exc_info=True)


def _log_task_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("MQTT background task failed", exc_info=task.exception())
