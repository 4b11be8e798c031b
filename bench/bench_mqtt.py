"""MQTT sensor path against a real Mosquitto on loopback.

1. Throughput: readings/s from an MQTT publisher through MqttConnection + MqttSensor into the
   signal engine (publish -> signal update), QoS 0 and QoS 1.
2. Latency: publish -> rule fired (trace), p50/p99, with the real SignalEngine and RuleEngine.

Run: ``python bench/bench_mqtt.py`` (needs /usr/sbin/mosquitto).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import aiomqtt
from fixtures.mosquitto import MosquittoBroker

from ambient.clock import RealClock
from ambient.config.mqtt import MqttConfig
from ambient.config.root import AmbientConfig
from ambient.config.sensors import MqttSensorConfig
from ambient.connections.mqtt import MqttConnection
from ambient.counters import Counters
from ambient.messages import ActionContext, ActionResult, SignalUpdate, TraceRecord
from ambient.readings import Reading
from ambient.sensors.mqtt import MqttSensor
from ambient.store import Store

THROUGHPUT_MESSAGES = 20_000
LATENCY_ROUNDS = 300
WINDOW = 500  # readings published but not yet through the sensor
CHUNK = 100  # in flight at once, below Mosquitto's per-client queue limits


class FeedSink:
    """Feeds the signal engine directly, as the daemon's queue consumer does."""

    def __init__(self, feed: Any, expected: int) -> None:
        self.feed = feed
        self.count = 0
        self.expected = expected
        self.done = asyncio.Event()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def put_nowait(self, reading: Reading) -> None:
        self.feed(reading)
        self.count += 1
        if self.count >= self.expected:
            self.done.set()
        while self._waiters and self._waiters[0][0] <= self.count:
            _, waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)

    async def reached(self, count: int) -> None:
        """Flow control: the publisher stays at most a window ahead (the broker drops
        QoS-1 messages beyond a subscriber's queue limit, 1000 by default)."""
        if self.count >= count:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((count, waiter))
        await waiter

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)


def ambient_config(rules: list[dict[str, Any]] | None = None) -> AmbientConfig:
    return AmbientConfig.model_validate(
        {"people": [{"id": "alex"}], "rules": rules or [], "store": {"path": None}}
    )


@contextlib.asynccontextmanager
async def running(*coroutines: Any) -> Any:
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def throughput(broker: MosquittoBroker, qos: int) -> float:
    from ambient.signals.engine import SignalEngine

    clock, counters = RealClock(), Counters()
    config = ambient_config()
    updates = 0

    def on_update(_update: SignalUpdate) -> None:
        nonlocal updates
        updates += 1

    signals = SignalEngine(config.signals, config.people, clock, Store(None), on_update, counters)
    connection = MqttConnection(
        MqttConfig(host=broker.host, port=broker.port), f"bench{qos}", clock, counters
    )
    sensor_config = MqttSensorConfig(type="mqtt", topic="bench/hr", person="alex", metric="hr")
    sensor = MqttSensor(sensor_config, connection, clock, counters, name="bench")
    sink = FeedSink(signals.feed, THROUGHPUT_MESSAGES)
    async with running(connection.run(), sensor.run(sink)):
        await connection.wait_connected()
        await asyncio.sleep(0.1)  # let the sensor's subscription land (bench only)
        async with aiomqtt.Client(
            broker.host, broker.port, max_inflight_messages=1000, identifier=f"pub{qos}"
        ) as publisher:
            publisher.pending_calls_threshold = CHUNK + 1
            start = time.perf_counter()
            for first in range(0, THROUGHPUT_MESSAGES, CHUNK):
                await asyncio.wait_for(sink.reached(first - WINDOW), 30)
                await asyncio.gather(
                    *(
                        publisher.publish("bench/hr", str(60 + i % 40), qos=qos, timeout=60)
                        for i in range(first, min(first + CHUNK, THROUGHPUT_MESSAGES))
                    )
                )
            try:
                await asyncio.wait_for(sink.done.wait(), 30)
            except TimeoutError:
                raise SystemExit(
                    f"only {sink.count} of {THROUGHPUT_MESSAGES} readings arrived (qos {qos})"
                ) from None
            elapsed = time.perf_counter() - start
    signals.close()
    assert counters.total() == 0, counters.snapshot()
    assert updates > 0
    return THROUGHPUT_MESSAGES / elapsed


class NullPerformer:
    async def perform(self, action: Any, context: ActionContext) -> ActionResult:
        return ActionResult("log", True, "bench")

    async def end_episode(self, context: ActionContext) -> None:
        return None

    async def settle_episodes(self, live: set[str]) -> None:
        return None


async def rule_latency(broker: MosquittoBroker) -> list[float]:
    from ambient.rules.engine import RuleEngine
    from ambient.signals.engine import SignalEngine

    clock, counters = RealClock(), Counters()
    rule = {
        "id": "bench",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "bench_level", "above": 0.5}],
        "actions": [{"action": "log", "message": "fired"}],
    }
    config = ambient_config([rule])
    store = Store(None)
    fired: asyncio.Queue[float] = asyncio.Queue()
    recovered: asyncio.Queue[float] = asyncio.Queue()

    def on_trace(record: TraceRecord) -> None:
        if record.event == "fired":
            fired.put_nowait(time.perf_counter())
        elif record.event == "recovered":
            recovered.put_nowait(time.perf_counter())

    engine: Any = None

    def on_update(update: SignalUpdate) -> None:
        engine.on_signals(update)

    signals = SignalEngine(config.signals, config.people, clock, store, on_update, counters)
    engine = RuleEngine(config, clock, store, signals, NullPerformer(), on_trace)
    await engine.start()
    connection = MqttConnection(
        MqttConfig(host=broker.host, port=broker.port), "benchrule", clock, counters
    )
    sensor_config = MqttSensorConfig(
        type="mqtt", topic="bench/level", person="alex", metric="bench_level"
    )
    sensor = MqttSensor(sensor_config, connection, clock, counters, name="bench")
    sink = FeedSink(signals.feed, 10**9)
    latencies: list[float] = []
    async with running(connection.run(), sensor.run(sink)):
        await connection.wait_connected()
        await asyncio.sleep(0.1)  # let the sensor's subscription land (bench only)
        async with aiomqtt.Client(broker.host, broker.port, identifier="pubrule") as publisher:
            for _ in range(LATENCY_ROUNDS):
                start = time.perf_counter()
                await publisher.publish("bench/level", "1", qos=1)
                latencies.append(await asyncio.wait_for(fired.get(), 10) - start)
                await publisher.publish("bench/level", "0", qos=1)
                await asyncio.wait_for(recovered.get(), 10)
    await engine.stop()
    signals.close()
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        broker = MosquittoBroker(Path(directory))
        broker.start()
        try:
            for qos in (0, 1):
                rate = await throughput(broker, qos)
                print(f"MQTT sensor path, QoS {qos}: {rate:,.0f} readings/s (publish -> signals)")
            latencies = await rule_latency(broker)
            print(
                f"publish -> rule fired: p50 {statistics.median(latencies) * 1000:.2f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms ({len(latencies)} rounds)"
            )
        finally:
            broker.kill()


if __name__ == "__main__":
    asyncio.run(main())
