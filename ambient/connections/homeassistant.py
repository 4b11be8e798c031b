"""A thin Home Assistant client on aiohttp: the WebSocket API for service calls and entity
subscriptions, REST for reading one entity's state.

One connection is shared by every HA sensor and actuator. It reconnects forever with backoff on
the injected clock, waits after each (re)connect until HA reports ``RUNNING``, then subscribes
again — only to the entities the config uses (``subscribe_entities`` with ``entity_ids``; never
every state, which large homes cannot fit in one message). A wrong token, HA down or HA
restarting each give one clear log line (never the token) and a retry, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date, time
from typing import Any

import aiohttp

from ambient.asyncutil import ClockTimeout, result_or_clock_timeout
from ambient.clock import Clock
from ambient.config.homeassistant import (
    SUPERVISOR_TOKEN_ENV,
    HomeAssistantConfig,
    resolve_endpoint,
)
from ambient.config.tls import homeassistant_context
from ambient.connections.errors import LostInCall, NotConnected, Rejected
from ambient.counters import Counters
from ambient.stage_times import STAGE

_LOGGER = logging.getLogger(__name__)

#: ``handler(entity_id, new_state, old_state)``; states are HA's state dicts (``state``,
#: ``attributes``, ``last_changed``, ``last_updated``, ``context``) or ``None`` (removed / first).
StateHandler = Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]

BACKOFF_FIRST_S = 1.0
#: How often to ask again whether HA has finished starting (also woken by its started event).
STARTUP_POLL_S = 5.0
CONNECT_TIMEOUT_S = 10.0
REST_TIMEOUT_S = 10.0
COUNTER_SCOPE = "homeassistant"


class HomeAssistantError(Rejected):
    """HA answered a command with an error (``code``: HA's error code, e.g. ``not_found``)."""


def _as_json(value: object) -> str:
    """A date or time (YAML reads ``date: 2025-01-31`` in an action's data as one) as HA's
    services take it, ISO 8601; anything else cannot be sent."""
    if isinstance(value, date | time):
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} cannot be sent to Home Assistant")


#: Commands as JSON: one encoder, made once (as ``json.dumps`` keeps its default one).
_ENCODE_COMMAND = json.JSONEncoder(default=_as_json).encode


class _AuthRejected(Exception):
    pass


class _ConnectionLost(Exception):
    pass


def expand_compressed_state(entity_id: str, compressed: Mapping[str, Any]) -> dict[str, Any]:
    """HA's compressed state (``subscribe_entities``: s, a, c, lc, lu) as a full state dict."""
    context = compressed.get("c")
    if isinstance(context, str):
        context = {"id": context, "parent_id": None, "user_id": None}
    last_changed = compressed.get("lc")
    return {
        "entity_id": entity_id,
        "state": compressed.get("s"),
        "attributes": dict(compressed.get("a") or {}),
        "last_changed": last_changed,
        "last_updated": compressed.get("lu", last_changed),
        "context": dict(context) if isinstance(context, Mapping) else None,
    }


def apply_state_diff(old: Mapping[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    """A state after one ``subscribe_entities`` change (``+`` additions, ``-`` removals)."""
    new = dict(old)
    new["attributes"] = dict(old.get("attributes") or {})
    new["context"] = dict(old.get("context") or {})
    additions = diff.get("+") or {}
    if "s" in additions:
        new["state"] = additions["s"]
    if "lc" in additions:
        new["last_changed"] = new["last_updated"] = additions["lc"]
    elif "lu" in additions:
        new["last_updated"] = additions["lu"]
    # HA sends only what changed (websocket_api.messages._state_diff): a bare string means only
    # the context id changed, a mapping the parts that did; parent and user carry over.
    context = additions.get("c")
    if isinstance(context, str):
        new["context"]["id"] = context
    elif isinstance(context, Mapping):
        new["context"].update(context)
    new["attributes"].update(additions.get("a") or {})
    for key in (diff.get("-") or {}).get("a") or ():
        new["attributes"].pop(key, None)
    return new


class HomeAssistantClient:
    """Satisfies :class:`ambient.ports.Service`; run it once, share it."""

    def __init__(
        self,
        config: HomeAssistantConfig,
        clock: Clock,
        counters: Counters,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.counters = counters
        self.endpoint = resolve_endpoint(config, os.environ if environ is None else environ)
        #: HA's id of the user ambient acts as (from ``auth/current_user``): state changes in
        #: a context with another user id were made by someone else.
        self.user_id: str | None = None
        #: ``connecting``, ``auth_failed``, ``waiting_for_ha``, ``connected``, ``disconnected``.
        self.status = "disconnected"
        self.last_error: str | None = None
        self.connect_count = 0
        self._handlers: dict[str, list[StateHandler]] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._subscribed: set[str] = set()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session: aiohttp.ClientSession | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._event_handlers: dict[int, Callable[[Any], None]] = {}
        self._next_id = 1
        self._connected = asyncio.Event()
        self._status_listeners: list[Callable[[str], None]] = []
        self._logged_error: str | None = None
        self._reached_running = False
        #: Subscriptions started outside the connection loop, kept until they finish.
        self._subscribing: set[asyncio.Task[None]] = set()
        self._event_watchers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        #: Watched entities HA said it does not have (told once, until one appears).
        self._missing: set[str] = set()
        self._missing_watchers: list[Callable[[str], None]] = []

    # -- public API --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Authenticated, HA running, subscriptions in place."""
        return self.status == "connected"

    async def wait_connected(self) -> None:
        await self._connected.wait()

    def watch_entities(self, entity_ids: Iterable[str], handler: StateHandler) -> None:
        """Call ``handler`` on every change of these entities (first with their current state,
        ``old_state=None``), across reconnects. Only watched entities are ever subscribed."""
        new_ids = []
        for entity_id in entity_ids:
            if entity_id not in self._handlers:
                new_ids.append(entity_id)
            self._handlers.setdefault(entity_id, []).append(handler)
            if (state := self._states.get(entity_id)) is not None:
                handler(entity_id, state, None)
        if new_ids and self.connected:
            task = asyncio.get_running_loop().create_task(self._subscribe_entities(new_ids))
            self._subscribing.add(task)
            task.add_done_callback(self._subscribing.discard)

    def watch_events(self, event_type: str, handler: Callable[[dict[str, Any]], None]) -> None:
        """Call ``handler`` with the data of every event of ``event_type`` on HA's bus, across
        reconnects. HA lets only administrators subscribe to most event types: a refusal is
        one warning line, and the rest of the client works on."""
        new = event_type not in self._event_watchers
        self._event_watchers.setdefault(event_type, []).append(handler)
        if new and self.connected:
            task = asyncio.get_running_loop().create_task(self._subscribe_events([event_type]))
            self._subscribing.add(task)
            task.add_done_callback(self._subscribing.discard)

    def watch_missing(self, handler: Callable[[str], None]) -> None:
        """Call ``handler`` with each watched entity HA said it does not have (its states,
        sent when the subscription starts, lack it): what waits for the entity's state after a
        start need not wait on. Entities already found missing are told at once."""
        self._missing_watchers.append(handler)
        for entity_id in sorted(self._missing):
            handler(entity_id)

    def state(self, entity_id: str) -> dict[str, Any] | None:
        """The last state seen of a watched entity (``None`` before the first)."""
        return self._states.get(entity_id)

    async def call_service(
        self,
        domain: str,
        service: str,
        data: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
        *,
        return_response: bool = False,
    ) -> dict[str, Any]:
        """Call ``domain.service`` over the WebSocket; returns HA's result (with ``context``,
        and the service's answer under ``response`` when ``return_response`` asks for it).

        Raises :class:`NotConnected` when not connected (worth retrying) and
        :class:`HomeAssistantError` when HA rejects the call (not worth retrying).
        """
        message: dict[str, Any] = {
            "type": "call_service",
            "domain": domain,
            "service": service,
            "service_data": data or {},
        }
        if target:
            message["target"] = target
        if return_response:
            message["return_response"] = True
        if not self.connected:
            raise NotConnected(f"Home Assistant is not connected ({self.status})")
        result = await self._command(message)
        return result if isinstance(result, dict) else {"result": result}

    async def services(self) -> dict[str, Any]:
        """Every service HA has, by domain (``{"notify": {"mobile_app_x": {...}}, ...}``).

        Raises :class:`NotConnected` when not connected."""
        if not self.connected:
            raise NotConnected(f"Home Assistant is not connected ({self.status})")
        result = await self._command({"type": "get_services"})
        return result if isinstance(result, dict) else {}

    async def get_state(self, entity_id: str) -> dict[str, Any] | None:
        """One entity's current state over REST (``None`` if HA does not know the entity)."""
        session, endpoint = self._session, self.endpoint
        if session is None or endpoint is None or not self.connected:
            raise NotConnected("Home Assistant is not connected")
        try:
            async with session.get(
                f"{endpoint.rest_url}/states/{entity_id}",
                headers=self._auth_headers(),
                timeout=aiohttp.ClientTimeout(total=REST_TIMEOUT_S),
            ) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise HomeAssistantError(
                        f"http_{response.status}", f"GET state of {entity_id} failed"
                    )
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NotConnected(f"Home Assistant unreachable: {exc}") from exc
        if not isinstance(body, dict):
            raise HomeAssistantError("bad_reply", f"state of {entity_id} is not an object")
        return body

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff — until cancelled, or until HA rejects the
        token (then it waits, see :meth:`_token_rejected`)."""
        if self.endpoint is None:
            self._set_status("no_token")
            _LOGGER.error(
                "Home Assistant: no `homeassistant.token` configured and no %s in the "
                "environment; HA actions and sensors stay unavailable",
                SUPERVISOR_TOKEN_ENV,
            )
            await asyncio.Event().wait()
            return
        first_delay_s = min(BACKOFF_FIRST_S, float(self.config.backoff_max))
        delay_s = first_delay_s
        ssl_context = homeassistant_context(self.config)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context),
            timeout=aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S),
        ) as session:
            self._session = session
            try:
                token_rejected = False
                while not token_rejected:
                    self._reached_running = False
                    try:
                        await self._serve_once(session)
                    except asyncio.CancelledError:
                        raise
                    except _AuthRejected as exc:
                        token_rejected = self._token_rejected(str(exc))
                        self._set_status("auth_failed")
                    except (
                        aiohttp.ClientError,
                        OSError,
                        TimeoutError,
                        _ConnectionLost,
                        NotConnected,
                    ) as exc:
                        if self._reached_running:
                            self._report(f"closed the connection ({exc})", "disconnected")
                        else:
                            self._report(
                                f"is not reachable ({type(exc).__name__}: {exc})", "connect"
                            )
                        self._set_status("disconnected")
                    except HomeAssistantError as exc:
                        self._report(f"answered with an error ({exc})", "error")
                        self._set_status("disconnected")
                    except Exception as exc:  # a bug: never the end of the client (nor daemon)
                        told = self._report(
                            f"failed unexpectedly ({type(exc).__name__}: {exc})",
                            "unexpected_error",
                        )
                        # what was not expected is a bug to report: its traceback, once
                        _LOGGER.log(
                            logging.ERROR if told else logging.DEBUG,
                            "Home Assistant client failure",
                            exc_info=True,
                        )
                        self._set_status("disconnected")
                    finally:
                        self._teardown()
                    if token_rejected:
                        break
                    if self._reached_running:
                        delay_s = first_delay_s
                    _LOGGER.debug("Home Assistant: reconnecting in %.0f s", delay_s)
                    await self.clock.sleep(delay_s)
                    delay_s = min(delay_s * 2, float(self.config.backoff_max))
            finally:
                self._session = None
        await asyncio.Event().wait()  # the token is dead: a reload or restart brings another

    def _token_rejected(self, reason: str) -> bool:
        """HA said no to the token: whether to stop trying it. A user's token never becomes
        valid again, and HA answers each failed login with a notification and counts it
        toward banning the address (``ip_ban_enabled``): said once, not tried again. The
        Supervisor's own token is tried on (its proxy, not HA, answers; it is never banned)."""
        if self.endpoint is not None and self.endpoint.via_supervisor:
            self._report(f"rejected the access token ({reason})", "auth_invalid")
            return False
        self.counters.increment(COUNTER_SCOPE, "auth_invalid")
        message = f"Home Assistant at {self._where()} rejected the access token ({reason})"
        self.last_error = message
        _LOGGER.error(
            "%s: not trying it again (each failed login is a warning in Home Assistant and "
            "may get this address banned); make a new long-lived access token (Home "
            "Assistant: your profile → Security), put it in homeassistant.token, then reload "
            "or restart ambient",
            message,
        )
        return True

    def diagnostics(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "last_error": self.last_error,
            "connects": self.connect_count,
            "watched_entities": sorted(self._handlers),
        }

    # -- one connection ----------------------------------------------------------------------

    async def _serve_once(self, session: aiohttp.ClientSession) -> None:
        """One connection from connect to loss (always ends by raising)."""
        assert self.endpoint is not None
        self._set_status("connecting")
        # Uncompressed: the messages are small (entities filtered), and deflating each call
        # here and inflating it in HA cost both sides time on the way to every action.
        async with session.ws_connect(
            self.endpoint.websocket_url, max_msg_size=0, autoping=True, heartbeat=None, compress=0
        ) as ws:
            await _within(self.clock, self._authenticate(ws), CONNECT_TIMEOUT_S)
            self._ws = ws
            reader = asyncio.create_task(self._read(ws))
            pinger: asyncio.Task[None] | None = None
            try:
                await self._command(
                    {"type": "supported_features", "features": {"coalesce_messages": 1}}
                )
                user = await self._command({"type": "auth/current_user"})
                self.user_id = user.get("id") if isinstance(user, dict) else None
                pinger = asyncio.create_task(self._heartbeat())
                await self._wait_until_running(reader)
                self._subscribed.clear()
                await self._subscribe_entities(list(self._handlers))
                await self._subscribe_events(list(self._event_watchers))
                self._reached_running = True
                self.connect_count += 1
                self._set_status("connected")
                self._connected.set()
                if self._logged_error is not None:
                    _LOGGER.warning("Home Assistant: connected again to %s", self._where())
                else:
                    _LOGGER.info("Home Assistant: connected to %s", self._where())
                self._logged_error = None
                self.last_error = None
                await reader
                raise _ConnectionLost("connection closed")
            finally:
                if pinger is not None:
                    pinger.cancel()
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader

    async def _authenticate(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        assert self.endpoint is not None
        hello = await _receive_object(ws)
        if hello.get("type") != "auth_required":
            raise _ConnectionLost(f"unexpected greeting {hello.get('type')!r}")
        await ws.send_json({"type": "auth", "access_token": self.endpoint.token})
        answer = await _receive_object(ws)
        if answer.get("type") == "auth_invalid":
            raise _AuthRejected(str(answer.get("message", "auth_invalid")))
        if answer.get("type") != "auth_ok":
            raise _ConnectionLost(f"unexpected auth answer {answer.get('type')!r}")

    async def _wait_until_running(self, reader: asyncio.Task[None]) -> None:
        """HA accepts connections while it is still starting; act only once it runs."""
        started = asyncio.Event()
        subscription = await self._command(
            {"type": "subscribe_events", "event_type": "homeassistant_started"},
            on_event=lambda _event: started.set(),
        )
        del subscription
        announced = False
        while True:
            config = await self._command({"type": "get_config"})
            state = config.get("state") if isinstance(config, dict) else None
            if state == "RUNNING" or started.is_set():
                return
            if not announced:
                self._set_status("waiting_for_ha")
                _LOGGER.info("Home Assistant is %s; waiting until it runs", state or "starting")
                announced = True
            waiter = asyncio.create_task(started.wait())
            sleeper = asyncio.create_task(self.clock.sleep(STARTUP_POLL_S))
            try:
                await asyncio.wait({waiter, sleeper, reader}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                sleeper.cancel()
            if reader.done():
                raise _ConnectionLost("connection closed while HA was starting")

    async def _subscribe_entities(self, entity_ids: list[str]) -> None:
        wanted = [e for e in entity_ids if e not in self._subscribed]
        if not wanted:
            return
        self._subscribed.update(wanted)
        first = True

        def on_event(event: Any) -> None:
            nonlocal first
            self._on_entities(event)
            if first:  # HA's current states of the wanted entities: the absent ones it lacks
                first = False
                self._tell_missing([e for e in wanted if e not in self._states])

        try:
            await self._command(
                {"type": "subscribe_entities", "entity_ids": wanted}, on_event=on_event
            )
        except (NotConnected, HomeAssistantError) as exc:
            self._subscribed.difference_update(wanted)
            _LOGGER.warning("Home Assistant: could not subscribe to %s: %s", wanted, exc)

    async def _subscribe_events(self, event_types: list[str]) -> None:
        for event_type in event_types:
            try:
                await self._command(
                    {"type": "subscribe_events", "event_type": event_type},
                    on_event=functools.partial(self._on_bus_event, event_type),
                )
            except (NotConnected, HomeAssistantError) as exc:
                _LOGGER.warning(
                    "Home Assistant: could not subscribe to %s events: %s", event_type, exc
                )

    def _tell_missing(self, entity_ids: list[str]) -> None:
        """A watched entity HA does not have (a typo in the config, a removed integration)
        would stay silent forever: one warning per entity, counted ``ha:<id>``
        ``unknown_entity``, and nothing more until it has appeared once."""
        for entity_id in entity_ids:
            if entity_id in self._missing:
                continue
            self._missing.add(entity_id)
            self.counters.increment(f"ha:{entity_id}", "unknown_entity")
            _LOGGER.warning(
                "Home Assistant has no entity %s: it gives nothing until it appears", entity_id
            )
            for handler in list(self._missing_watchers):
                try:
                    handler(entity_id)
                except Exception:
                    _LOGGER.exception("Home Assistant: handler of missing %s failed", entity_id)

    def _on_bus_event(self, event_type: str, event: Any) -> None:
        data = event.get("data") if isinstance(event, dict) else None
        for handler in list(self._event_watchers.get(event_type, ())):
            try:
                handler(dict(data) if isinstance(data, dict) else {})
            except Exception:
                _LOGGER.exception("Home Assistant: handler of %s events failed", event_type)

    async def _heartbeat(self) -> None:
        """HA's application-level ping; a missing pong means a dead connection."""
        interval_s = float(self.config.ping_interval)
        timeout_s = float(self.config.ping_timeout)
        while True:
            await self.clock.sleep(interval_s)
            pong = asyncio.ensure_future(self._command({"type": "ping"}))
            timer = asyncio.ensure_future(self.clock.sleep(timeout_s))
            try:
                await asyncio.wait({pong, timer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
            if not pong.done():
                pong.cancel()
                _LOGGER.warning("Home Assistant: no pong within %.0f s; reconnecting", timeout_s)
                if self._ws is not None:
                    await self._ws.close()
                return
            if pong.exception() is not None:
                return

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                payload = raw.json()
            except ValueError:
                self.counters.increment(COUNTER_SCOPE, "bad_json")
                _LOGGER.warning("Home Assistant sent a message that is not JSON; ignored")
                continue
            for message in payload if isinstance(payload, list) else [payload]:
                if not isinstance(message, dict):
                    continue
                try:
                    self._dispatch(message)
                except Exception:  # a bug; a reader that died would leave every call hanging
                    self.counters.increment(COUNTER_SCOPE, "bad_message")
                    _LOGGER.exception("Home Assistant: handling a message failed; ignored")

    def _dispatch(self, message: dict[str, Any]) -> None:
        message_id = message.get("id")
        kind = message.get("type")
        if kind == "event" and isinstance(message_id, int):
            handler = self._event_handlers.get(message_id)
            if handler is not None:
                try:
                    handler(message.get("event"))
                except Exception:
                    _LOGGER.exception("Home Assistant: event handler failed")
            return
        if not isinstance(message_id, int):
            return
        future = self._pending.pop(message_id, None)
        if future is None or future.done():
            return
        if kind == "pong":
            future.set_result(None)
        elif kind == "result":
            if message.get("success"):
                future.set_result(message.get("result"))
            else:
                error = message.get("error")
                if not isinstance(error, dict):
                    error = {"message": str(error or "")}
                reason = str(error.get("message") or "").strip()
                future.set_exception(
                    HomeAssistantError(
                        str(error.get("code", "unknown_error")),
                        reason or "Home Assistant gave no reason (its own log may say more)",
                    )
                )

    def _on_entities(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        for entity_id, compressed in (event.get("a") or {}).items():
            self._missing.discard(entity_id)
            new = expand_compressed_state(entity_id, compressed)
            old = self._states.get(entity_id)
            self._states[entity_id] = new
            if old is not None and _same_state(old, new):
                continue  # the re-sent current state after a reconnect: nothing changed
            self._notify(entity_id, new, old)
        for entity_id, diff in (event.get("c") or {}).items():
            old = self._states.get(entity_id)
            if old is None:
                continue
            new = apply_state_diff(old, diff)
            self._states[entity_id] = new
            self._notify(entity_id, new, old)
        for entity_id in event.get("r") or ():
            old = self._states.pop(entity_id, None)
            self._notify(entity_id, None, old)

    def _notify(
        self, entity_id: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        for handler in list(self._handlers.get(entity_id, ())):
            try:
                handler(entity_id, new, old)
            except Exception:
                _LOGGER.exception("Home Assistant: handler for %s failed", entity_id)

    async def _command(
        self, message: dict[str, Any], *, on_event: Callable[[Any], None] | None = None
    ) -> Any:
        ws = self._ws
        if ws is None or ws.closed:
            raise NotConnected("Home Assistant is not connected")
        message_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        if on_event is not None:
            self._event_handlers[message_id] = on_event
        try:
            await ws.send_json({"id": message_id, **message}, dumps=_ENCODE_COMMAND)
            if STAGE is not None:
                STAGE("sent")
        except TypeError as exc:  # data the config gave that JSON cannot carry
            self._pending.pop(message_id, None)
            self._event_handlers.pop(message_id, None)
            raise HomeAssistantError("not_json", str(exc)) from None
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            self._pending.pop(message_id, None)
            self._event_handlers.pop(message_id, None)
            raise NotConnected(f"Home Assistant connection lost: {exc}") from exc
        try:
            return await future
        finally:
            self._pending.pop(message_id, None)

    def _teardown(self) -> None:
        self._ws = None
        self._connected.clear()
        if self.status == "connected":
            self._set_status("disconnected")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LostInCall("Home Assistant connection lost"))
        self._pending.clear()
        self._event_handlers.clear()
        self._subscribed.clear()

    # -- helpers -----------------------------------------------------------------------------

    def on_status(self, listener: Callable[[str], None]) -> None:
        """Hear every status change (``connected``, ``auth_failed`` …): for status and tests."""
        self._status_listeners.append(listener)

    def _set_status(self, status: str) -> None:
        self.status = status
        for listener in list(self._status_listeners):
            try:
                listener(status)
            except Exception:
                _LOGGER.exception("Home Assistant: status listener failed")

    def _report(self, what: str, reason: str) -> bool:
        """One clear line per distinct failure; repeats of the same one go to DEBUG. True
        when the line was logged as an error (the failure is new)."""
        self.counters.increment(COUNTER_SCOPE, reason)
        message = f"Home Assistant at {self._where()} {what}"
        self.last_error = message
        if message != self._logged_error:
            _LOGGER.error(
                "%s; retrying with backoff (up to %g s)", message, self.config.backoff_max
            )
            self._logged_error = message
            return True
        _LOGGER.debug("%s", message)
        return False

    def _where(self) -> str:
        if self.endpoint is not None and self.endpoint.via_supervisor:
            return "the Supervisor proxy"
        return self.config.url

    def _auth_headers(self) -> dict[str, str]:
        assert self.endpoint is not None
        return {"Authorization": f"Bearer {self.endpoint.token}"}


async def _within(clock: Clock, awaitable: Awaitable[None], seconds: float) -> None:
    """Await ``awaitable``, but treat no answer within ``seconds`` (on ``clock``) as lost."""
    try:
        await result_or_clock_timeout(clock, awaitable, seconds)
    except ClockTimeout as exc:
        raise _ConnectionLost(str(exc)) from None


async def _receive_object(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next handshake message; HA (or a proxy before it) closing the socket instead, or
    sending something else, is a lost connection to retry, not an error that ends the client
    (aiohttp raises a ``TypeError`` for a close frame, a ``ValueError`` for text not JSON)."""
    message = await ws.receive()
    if message.type is not aiohttp.WSMsgType.TEXT:
        raise _ConnectionLost(f"closed during the handshake ({message.type.name.lower()})")
    try:
        payload = message.json()
    except ValueError:
        raise _ConnectionLost("sent a handshake message that is not JSON") from None
    if not isinstance(payload, dict):
        raise _ConnectionLost("sent a handshake message that is not an object")
    return payload


def _same_state(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return old.get("state") == new.get("state") and old.get("attributes") == new.get("attributes")
