"""The seams between stages, as protocols: what the daemon wires together.

A sensor produces readings into a :class:`ReadingSink`; the signal engine turns readings into
:class:`~ambient.messages.SignalUpdate`; the rule engine reads a :class:`SignalView` and asks an
:class:`ActionPerformer` to act; traces go to every :class:`TraceSink`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ambient.config.actions import ChooseCalming, LeafActionConfig
from ambient.messages import (
    ActionContext,
    ActionResult,
    CalmingDecision,
    SignalValue,
    TraceRecord,
)
from ambient.readings import Reading


class ReadingSink(Protocol):
    """Where sensors put readings. ``put_nowait`` never blocks (BLE callbacks are sync);
    ``put`` waits for room (recordings replayed at full speed)."""

    def put_nowait(self, reading: Reading) -> None: ...

    async def put(self, reading: Reading) -> None: ...


class Sensor(Protocol):
    """A source of readings. ``run`` owns its connection and its reconnects, and returns only
    when cancelled (live sensors) or when its input is exhausted (a recording)."""

    name: str

    async def run(self, sink: ReadingSink) -> None: ...

    def diagnostics(self) -> Mapping[str, Any]: ...


class SignalView(Protocol):
    """Read access to the current signals; values go unknown when stale."""

    def get(self, person: str, name: str) -> SignalValue: ...

    def people(self) -> list[str]: ...


TraceSink = Callable[[TraceRecord], None]


class ActionPerformer(Protocol):
    """Performs one action (a validated action config) in a context; never raises for an
    action that failed, it reports it in the result."""

    async def perform(self, action: LeafActionConfig, context: ActionContext) -> ActionResult: ...

    async def end_episode(self, context: ActionContext) -> None: ...

    async def settle_episodes(self, live: set[str]) -> None:
        """End the episodes still held whose ids are not in ``live`` (no rule owns them)."""
        ...


class Actuator(Protocol):
    """Performs the action kinds it names (``log``, ``calm_lights``, ``service_call`` …).

    Let :class:`~ambient.connections.errors.NotConnected` through when the outside world is
    not reachable right now (the dispatcher retries within the action's TTL); return
    ``ActionResult(ok=False)`` for a definite failure that retrying will not fix.
    """

    kinds: frozenset[str]

    async def perform(self, action: LeafActionConfig, context: ActionContext) -> ActionResult: ...

    async def end_episode(self, context: ActionContext) -> None: ...


class Service(Protocol):
    """A long-running part the daemon starts once (a connection, a publisher)."""

    async def run(self) -> None: ...


class CalmingChooser(Protocol):
    """Decides which option a `choose_calming` step performs, and opens the episode that will
    be measured once the option has been performed."""

    def decide(self, step: ChooseCalming, rule: str, person: str | None) -> CalmingDecision: ...

    def started(
        self,
        step: ChooseCalming,
        rule: str,
        person: str | None,
        decision: CalmingDecision,
        context: Mapping[str, Any],
        started: float,
    ) -> int | None: ...
