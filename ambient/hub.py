"""A small in-process publish/subscribe hub: how parts hear about signals, traces and events
without importing each other (the MQTT publisher hears traces; the rule engine hears HA states)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ambient.messages import ExternalEvent, SignalUpdate, TraceRecord

_LOGGER = logging.getLogger(__name__)

_Message = TypeVar("_Message")


class _Listeners(Generic[_Message]):
    """Listeners of one kind of message, each handed every message in the order they came."""

    __slots__ = ("_listeners",)

    def __init__(self) -> None:
        self._listeners: list[Callable[[_Message], None]] = []

    def add(self, listener: Callable[[_Message], None]) -> None:
        self._listeners.append(listener)

    def publish(self, message: _Message) -> None:
        # One faulty listener must not stop the others, nor the pipeline.
        for listener in self._listeners:
            try:
                listener(message)
            except Exception:
                _LOGGER.exception("Listener %r failed", listener)


class Hub:
    def __init__(self) -> None:
        signals: _Listeners[SignalUpdate] = _Listeners()
        # The same listeners, split by whether they hear a split update's first half.
        first: _Listeners[SignalUpdate] = _Listeners()
        later: _Listeners[SignalUpdate] = _Listeners()
        traces: _Listeners[TraceRecord] = _Listeners()
        events: _Listeners[ExternalEvent] = _Listeners()
        self._signals, self._first, self._later = signals, first, later
        self._traces, self._events = traces, events
        # The publishers are the listener lists' own bound methods, not methods of the hub
        # that call them: every signal update of every person goes through one, and a
        # simulated day makes a hundred thousand.
        #: Hands an update to every signal listener.
        self.publish_signals: Callable[[SignalUpdate], None] = signals.publish
        #: The first half of a split update: to the listeners that asked for it.
        self.publish_first_signals: Callable[[SignalUpdate], None] = first.publish
        #: A split update in full, once worked out: to every other listener.
        self.publish_later_signals: Callable[[SignalUpdate], None] = later.publish
        self.publish_trace: Callable[[TraceRecord], None] = traces.publish
        self.publish_event: Callable[[ExternalEvent], None] = events.publish
        #: Named callables whose results make up ``ambient status`` (sensors, rules, …).
        self.status_providers: dict[str, Callable[[], Any]] = {}

    def on_signals(self, listener: Callable[[SignalUpdate], None], *, first: bool = False) -> None:
        """``listener`` hears every signal update. ``first``: of a signal engine's split update
        (the live daemon's) it hears only the first half, the signals it reads, before the
        others are worked out (see ``publish_first_signals``); without it, the full one."""
        self._signals.add(listener)
        (self._first if first else self._later).add(listener)

    def on_trace(self, listener: Callable[[TraceRecord], None]) -> None:
        self._traces.add(listener)

    def on_event(self, listener: Callable[[ExternalEvent], None]) -> None:
        self._events.add(listener)
