"""Traces: every decision that changes something, kept (the last N per rule) in the store for
`ambient trace` and handed to listeners (MQTT, HA, `simulate`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ambient.clock import Clock
from ambient.messages import ActionResult, SignalScalar, TraceRecord
from ambient.rules.current_values import CurrentValues
from ambient.rules.rule import Rule
from ambient.rules.write_behind import WriteBehind

_LOGGER = logging.getLogger(__name__)

TRACE_NAMESPACE = "traces"


class Tracer:
    """Hands trace records to the listener at once and to the store behind the actions; a
    failing listener is logged."""

    def __init__(
        self,
        clock: Clock,
        writes: WriteBehind,
        keep: int,
        current_values: CurrentValues,
        on_trace: Callable[[TraceRecord], None],
    ) -> None:
        self.clock = clock
        self._writes = writes
        self._keep = keep
        self._signals_seen = current_values.signals_seen
        self._on_trace = on_trace

    def trace(
        self,
        rule: Rule,
        event: Any,
        reason: str,
        person: str | None,
        trigger: str | None,
        signals: dict[str, SignalScalar | None] | None = None,
        conditions: tuple[tuple[str, bool], ...] = (),
        actions: tuple[ActionResult, ...] = (),
        *,
        ends_episode: bool = False,
    ) -> None:
        if signals is None:
            signals = self._signals_seen(rule, person)
        self.emit(
            TraceRecord(
                time=self.clock.now(),
                rule=rule.id,
                event=event,
                reason=reason,
                person=person,
                trigger=trigger,
                signals=signals,
                conditions=conditions,
                actions=actions,
                ends_episode=ends_episode,
            )
        )

    def emit(self, record: TraceRecord) -> None:
        _LOGGER.debug("Rule %s %s: %s", record.rule, record.event, record.reason)
        try:
            self._on_trace(record)
        except Exception:
            _LOGGER.exception("Trace listener failed")
        self._writes.append(TRACE_NAMESPACE, record.rule, record.as_dict(), keep=self._keep)
