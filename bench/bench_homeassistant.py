"""Reading → HA light state: how long from a reading entering ambient until Home Assistant
reports the light's new state back to ambient, beside HA's own REST round trip (the floor).

Starts its own HA (the cached venv from scripts/setup-ha) on loopback. The path measured:
a heart-rate reading crosses a threshold (stand-in for the rule engine, which is benchmarked in
bench_rules.py), the ActionDispatcher performs a calm_lights action through the HA actuator
(scene snapshot + light.turn_on over the WebSocket), and the client's entity subscription
delivers HA's state_changed for light.bed_light.

    python bench/bench_homeassistant.py [--n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import aiohttp
from fixtures.homeassistant import (
    HomeAssistantInstance,
    _free_port,
    _prepare_config_dir,
    ha_available,
)
from pydantic import SecretStr

from ambient.actuators.dispatch import ActionDispatcher
from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.clock import RealClock
from ambient.config.actions import CalmLightsActionConfig
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters
from ambient.messages import ActionContext
from ambient.readings import Reading

LIGHT = "light.bed_light"
THRESHOLD_BPM = 100.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(name: str, values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return (
        f"{name:<46} p50 {statistics.median(ms):6.2f} ms   p99 {percentile(ms, 99):6.2f} ms"
        f"   (n={len(ms)})"
    )


async def measure(ha: HomeAssistantInstance, n: int) -> None:
    clock = RealClock()
    client = HomeAssistantClient(
        HomeAssistantConfig(url=ha.url, token=SecretStr(ha.token)), clock, Counters()
    )
    changed: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
    client.watch_entities(
        [LIGHT],
        lambda _e, new, old: (
            changed.put_nowait((time.perf_counter(), new or {})) if old is not None else None
        ),
    )
    runner = asyncio.create_task(client.run())
    await asyncio.wait_for(client.wait_connected(), 30)
    actuator = HomeAssistantActuator(client, clock)
    dispatcher = ActionDispatcher(clock, [actuator])

    # Floor: HA's own REST round trip for the same kind of call.
    rest: list[float] = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {ha.token}"}) as http:
        for i in range(n):
            started = time.perf_counter()
            async with http.post(
                f"{ha.url}/api/services/light/turn_on",
                json={"entity_id": LIGHT, "brightness": 10 + i % 200},
            ) as reply:
                await reply.read()
            rest.append(time.perf_counter() - started)
    while not changed.empty():
        changed.get_nowait()

    ws_call: list[float] = []
    for i in range(n):
        started = time.perf_counter()
        await client.call_service(
            "light", "turn_on", {"brightness": 10 + i % 200}, {"entity_id": LIGHT}
        )
        ws_call.append(time.perf_counter() - started)
    while not changed.empty():
        changed.get_nowait()

    end_to_end: list[float] = []
    for i in range(n):
        episode = f"bench{i}"
        brightness_pct = 20 + i % 2 * 20  # alternate, so every episode changes the light
        action = CalmLightsActionConfig(
            action="calm_lights", target=[LIGHT], brightness_pct=brightness_pct, transition=0
        )
        reading = Reading(clock.now(), "alex", "hr", 120.0, "bench")
        started = time.perf_counter()
        if reading.value > THRESHOLD_BPM:
            context = ActionContext(rule="bench", person="alex", episode=episode, time=reading.time)
            result = await dispatcher.perform(action, context)
            assert result.ok, result.detail
        while True:
            at, new = await asyncio.wait_for(changed.get(), 10)
            if new.get("attributes", {}).get("brightness") == round(255 * brightness_pct / 100):
                break
        end_to_end.append(at - started)
        await actuator.end_episode(ActionContext("bench", "alex", episode, clock.now()))
        while not changed.empty():
            changed.get_nowait()
    runner.cancel()
    print(summary("HA REST light.turn_on round trip (floor)", rest))
    print(summary("ambient WebSocket call_service round trip", ws_call))
    print(summary("reading -> HA reports light's new state", end_to_end))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    if (reason := ha_available()) is not None:
        print(f"skipped: {reason}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp)
        port = _free_port()
        _prepare_config_dir(config_dir, port)
        ha = HomeAssistantInstance(config_dir=config_dir, port=port)
        started = time.perf_counter()
        ha.start()
        ready_s = time.perf_counter() - started
        try:
            ha.onboard()
            print(f"HA {ha.url} answering after {ready_s:.1f} s")
            asyncio.run(measure(ha, args.n))
        finally:
            ha.stop()


if __name__ == "__main__":
    main()
