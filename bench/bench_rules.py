"""Rule engine throughput: signal updates per second through 100 rules x 5 people, one core.

Two workloads:
- realistic: each update carries 5 signals moving as random walks (most updates cross no
  threshold; some fire, recover, hit cooldowns and conditions), as the signal engine emits them;
- worst case: every update swings stress_score across every threshold, so every rule on it
  changes state (and persists it) on every update.

Run: python bench/bench_rules.py
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from ambient.clock import VirtualClock
from ambient.config.root import AmbientConfig
from ambient.messages import (
    ActionContext,
    ActionResult,
    SignalUpdate,
    SignalValue,
    TraceRecord,
)
from ambient.rules.engine import RuleEngine
from ambient.store import Store

PEOPLE = ["p1", "p2", "p3", "p4", "p5"]
N_RULES = 100
T0 = 1_790_000_000.0


class Signals:
    def __init__(self) -> None:
        self.values: dict[str, dict[str, SignalValue]] = {}

    def get(self, person: str, name: str) -> SignalValue:
        value = self.values.get(person, {}).get(name)
        return value if value is not None else SignalValue.unknown(0.0, "no data")

    def people(self) -> list[str]:
        return PEOPLE


class ReportOnly:
    async def perform(self, action: Any, context: ActionContext) -> ActionResult:
        return ActionResult("log", True, "reported", performed=False)

    async def end_episode(self, context: ActionContext) -> None:
        return None

    async def settle_episodes(self, live: set[str]) -> None:
        return None


def _rules(rng: random.Random) -> list[dict[str, Any]]:
    signals = [("stress_score", 40, 95), ("hr", 80, 140), ("ln_rmssd_z", -2.5, -0.5)]
    rules = []
    for index in range(N_RULES):
        name, low, high = signals[index % len(signals)]
        threshold = round(rng.uniform(low, high), 1)
        side = "below" if name == "ln_rmssd_z" else "above"
        rule: dict[str, Any] = {
            "id": f"rule_{index:03d}",
            "triggers": [
                {
                    "trigger": "signal",
                    "signal": name,
                    side: threshold,
                    "for": rng.choice([0, 30, 120, 300]),
                    "hysteresis": rng.choice([0, 2, 5, 10]) if name != "ln_rmssd_z" else 0.3,
                }
            ],
            "cooldown": rng.choice([0, 600, 2700]),
            "actions": [{"action": "log"}],
            "on_recovery": [{"action": "log"}],
        }
        if index % 4 == 0:
            rule["conditions"] = [{"condition": "signal", "signal": "quality", "above": 0.5}]
        rules.append(rule)
    return rules


async def _run(updates: list[SignalUpdate], config: AmbientConfig) -> tuple[float, int]:
    clock = VirtualClock(T0)
    traces: list[TraceRecord] = []
    signals = Signals()
    engine = RuleEngine(config, clock, Store(None), signals, ReportOnly(), traces.append)
    await engine.start()
    started = time.perf_counter()
    for position, update in enumerate(updates):
        clock.advance_to(update.time)
        signals.values.setdefault(update.person, {}).update(update.values)
        engine.on_signals(update)
        if position % 20 == 0:
            await asyncio.sleep(0)  # the loop turns (actions run, state is saved) every 20 updates
    elapsed = time.perf_counter() - started
    await engine.stop()
    return elapsed, len(traces)


def _realistic(count: int, rng: random.Random) -> list[SignalUpdate]:
    state = {
        p: {"stress_score": 50.0, "hr": 75.0, "ln_rmssd_z": 0.0, "quality": 0.9} for p in PEOPLE
    }
    updates = []
    for i in range(count):
        person = PEOPLE[i % len(PEOPLE)]
        now = T0 + i * 0.2  # 5 people x 1 update/s each = 5 updates/s of wall time
        values = state[person]
        values["stress_score"] = min(100.0, max(0.0, values["stress_score"] + rng.gauss(0, 1.5)))
        values["hr"] = min(190.0, max(45.0, values["hr"] + rng.gauss(0, 1.0)))
        values["ln_rmssd_z"] = min(3.0, max(-3.0, values["ln_rmssd_z"] + rng.gauss(0, 0.05)))
        values["quality"] = min(1.0, max(0.0, values["quality"] + rng.gauss(0, 0.02)))
        update = {name: SignalValue(round(v, 2), now) for name, v in values.items()}
        update["activity_state"] = SignalValue("rest", now)
        updates.append(SignalUpdate(now, person, update))
    return updates


def _worst(count: int) -> list[SignalUpdate]:
    updates = []
    for i in range(count):
        person = PEOPLE[i % len(PEOPLE)]
        now = T0 + i * 0.2
        value = 99.0 if (i // len(PEOPLE)) % 2 == 0 else 1.0
        updates.append(SignalUpdate(now, person, {"stress_score": SignalValue(value, now)}))
    return updates


def main() -> None:
    rng = random.Random(4)
    config = AmbientConfig.model_validate(
        {"people": [{"id": p} for p in PEOPLE], "rules": _rules(rng), "store": {"path": None}}
    )
    realistic = _realistic(200_000, rng)
    elapsed, traces = asyncio.run(_run(realistic, config))
    print(
        f"realistic: {len(realistic)} updates (5 signals each) through {N_RULES} rules x "
        f"{len(PEOPLE)} people: {len(realistic) / elapsed:,.0f} updates/s "
        f"({elapsed:.2f} s, {traces} traces)"
    )
    worst = _worst(20_000)
    elapsed, traces = asyncio.run(_run(worst, config))
    print(
        f"worst case: {len(worst)} updates, every one crossing all {N_RULES // 3 + 1} "
        f"stress_score thresholds: {len(worst) / elapsed:,.0f} updates/s "
        f"({elapsed:.2f} s, {traces} traces)"
    )


if __name__ == "__main__":
    main()
