"""Test doubles of ambient's own interfaces for rule tests: a SignalView that is a dict, and an
ActionPerformer that records what it was asked to do (no outside world is involved, so these
are not mocks of anything real), plus a small harness around a RuleEngine on a VirtualClock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ambient.clock import VirtualClock
from ambient.config.root import AmbientConfig
from ambient.counters import Counters
from ambient.messages import (
    ActionContext,
    ActionResult,
    ExternalEvent,
    SignalScalar,
    SignalUpdate,
    SignalValue,
    TraceRecord,
)
from ambient.rules.engine import RuleEngine
from ambient.store import Store

T0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC


class DictSignals:
    """The current signals, person -> name -> value; missing means unknown."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, SignalValue]] = {}

    def get(self, person: str, name: str) -> SignalValue:
        value = self.values.get(person, {}).get(name)
        return value if value is not None else SignalValue.unknown(0.0, "no data")

    def people(self) -> list[str]:
        return sorted(self.values)


@dataclass
class Performed:
    action: Any
    context: ActionContext


@dataclass
class RecordingPerformer:
    """Records every action, episode end and the episodes each settle was told the rules
    still own; ``fail`` makes chosen kinds fail."""

    performed: list[Performed] = field(default_factory=list)
    ended: list[ActionContext] = field(default_factory=list)
    live: list[set[str]] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    async def perform(self, action: Any, context: ActionContext) -> ActionResult:
        self.performed.append(Performed(action, context))
        kind = str(getattr(action, "action", "?"))
        if kind in self.fail:
            return ActionResult(kind, False, "HA said no")
        return ActionResult(kind, True, getattr(action, "message", kind))

    async def end_episode(self, context: ActionContext) -> None:
        self.ended.append(context)

    async def settle_episodes(self, live: set[str]) -> None:
        self.live.append(set(live))

    def messages(self) -> list[str]:
        return [str(getattr(p.action, "message", p.action)) for p in self.performed]


def make_config(rules: list[dict[str, Any]], **extra: Any) -> AmbientConfig:
    data: dict[str, Any] = {"people": [{"id": "alex"}, {"id": "sam"}], "rules": rules}
    data.update(extra)
    data.setdefault("timezone", "Europe/Berlin")
    data.setdefault("store", {"path": None})
    return AmbientConfig.model_validate(data)


class Harness:
    """A RuleEngine on a VirtualClock with dict signals, a recording performer and traces."""

    def __init__(
        self,
        config: AmbientConfig,
        store: Store | None = None,
        start: float = T0,
        clock: VirtualClock | None = None,
    ) -> None:
        self.config = config
        self.t0 = start
        self.clock = clock if clock is not None else VirtualClock(start)
        self.store = store if store is not None else Store(None)
        self.signals = DictSignals()
        self.performer = RecordingPerformer()
        self.traces: list[TraceRecord] = []
        self.counters = Counters()
        self.engine = RuleEngine(
            config,
            self.clock,
            self.store,
            self.signals,
            self.performer,
            self.traces.append,
            counters=self.counters,
        )

    async def start(self) -> Harness:
        await self.engine.start()
        return self

    async def restarted(self, path: Path) -> Harness:
        """Stop the engine, close the store, start a new engine on the same file at the clock's
        time (a new process: its timers and elapsed time start afresh)."""
        await self.engine.stop()
        self.store.close()
        again = Harness(self.config, store=Store(path), start=self.clock.now())
        again.signals.values = self.signals.values
        again.t0 = self.t0
        return await again.start()

    def step_clock(self, seconds: float) -> None:
        """Step the wall clock as NTP does; the times given to push and run_until follow it
        (t0 becomes T0 as the stepped clock reads it)."""
        self.clock.step(seconds)
        self.t0 += seconds

    async def push(self, at: float, person: str = "alex", **values: SignalScalar | None) -> None:
        """Run the clock to ``t0 + at`` seconds, then deliver these signal values."""
        await self.clock.run_until(self.t0 + at)
        update: dict[str, SignalValue] = {}
        for name, value in values.items():
            signal = SignalValue(value, self.clock.now(), None if value is not None else "stale")
            self.signals.values.setdefault(person, {})[name] = signal
            update[name] = signal
        self.engine.on_signals(SignalUpdate(self.clock.now(), person, update))
        await self.clock.run_until(self.clock.now())

    async def event(self, at: float, kind: Any, key: str, **data: Any) -> None:
        await self.clock.run_until(self.t0 + at)
        self.engine.on_event(ExternalEvent(self.clock.now(), kind, key, data))
        await self.clock.run_until(self.clock.now())

    async def run_until(self, at: float) -> None:
        await self.clock.run_until(self.t0 + at)

    def events(self, rule: str | None = None) -> list[tuple[float, str, str]]:
        """(seconds since t0, event, reason) of every trace, in emission order."""
        return [
            (round(t.time - self.t0, 3), t.event, t.reason)
            for t in self.traces
            if rule is None or t.rule == rule
        ]

    def kinds(self) -> list[str]:
        return [t.event for t in self.traces]


def log(message: str, **extra: Any) -> dict[str, Any]:
    return {"action": "log", "message": message, **extra}


def stress_rule(**overrides: Any) -> dict[str, Any]:
    """Alex's stress rule: above 70 for 2 min, hysteresis 10, cooldown 30 min."""
    rule: dict[str, Any] = {
        "id": "calm",
        "person": "alex",
        "triggers": [
            {
                "trigger": "signal",
                "signal": "stress_score",
                "above": 70,
                "for": "2min",
                "hysteresis": 10,
                "id": "stressed",
            }
        ],
        "cooldown": "30min",
        "actions": [log("calm")],
        "on_recovery": [log("recovered")],
    }
    rule.update(overrides)
    return rule
