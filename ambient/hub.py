"""A small in-process publish/subscribe hub: how parts hear about signals, traces and events
without importing each other (the MQTT publisher hears traces; the rule engine hears HA states)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ambient.messages import ExternalEvent, SignalUpdate, TraceRecord

_LOGGER = logging.getLogger(__name__)


class Hub:
    def __init__(self) -> None:
        self._signal_listeners: list[Callable[[SignalUpdate], None]] = []
        # The same listeners, split by whether they hear a split update's first half.
        self._first_listeners: list[Callable[[SignalUpdate], None]] = []
        self._later_listeners: list[Callable[[SignalUpdate], None]] = []
        self._trace_listeners: list[Callable[[TraceRecord], None]] = []
        self._event_listeners: list[Callable[[ExternalEvent], None]] = []
        #: Named callables whose results make up ``ambient status`` (sensors, rules, …).
        self.status_providers: dict[str, Callable[[], Any]] = {}

    def on_signals(self, listener: Callable[[SignalUpdate], None], *, first: bool = False) -> None:
        """``listener`` hears every signal update. ``first``: of a signal engine's split update
        (the live daemon's) it hears only the first half, the signals it reads, before the
        others are worked out (see :meth:`publish_first_signals`); without it, the full one."""
        self._signal_listeners.append(listener)
        (self._first_listeners if first else self._later_listeners).append(listener)

    def on_trace(self, listener: Callable[[TraceRecord], None]) -> None:
        self._trace_listeners.append(listener)

    def on_event(self, listener: Callable[[ExternalEvent], None]) -> None:
        self._event_listeners.append(listener)

    def publish_signals(self, update: SignalUpdate) -> None:
        self._publish(self._signal_listeners, update)

    @staticmethod
    def _publish(listeners: list[Callable[[SignalUpdate], None]], update: SignalUpdate) -> None:
        # `_call` written out: every signal update of every person comes here.
        for listener in listeners:
            try:
                listener(update)
            except Exception:
                _LOGGER.exception("Listener %r failed", listener)

    def publish_first_signals(self, update: SignalUpdate) -> None:
        """The first half of a split update: to the listeners that asked for it."""
        self._publish(self._first_listeners, update)

    def publish_later_signals(self, update: SignalUpdate) -> None:
        """A split update in full, once worked out: to every other listener."""
        self._publish(self._later_listeners, update)

    def publish_trace(self, record: TraceRecord) -> None:
        for listener in self._trace_listeners:
            self._call(listener, record)

    def publish_event(self, event: ExternalEvent) -> None:
        for listener in self._event_listeners:
            self._call(listener, event)

    @staticmethod
    def _call(listener: Callable[[Any], None], message: object) -> None:
        # One faulty listener must not stop the others, nor the pipeline.
        try:
            listener(message)
        except Exception:
            _LOGGER.exception("Listener %r failed", listener)
