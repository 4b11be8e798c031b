"""Fault bench: hostile topics and invented people keep memory flat.

A real Mosquitto on loopback; ambient's MQTT connection with three sensors feeding the real
signal engine: ``junk/#`` (every payload bad, each on a topic never seen before), ``phones/+/hr``
(person from the topic; ``people:`` lists only alex) and a ``satellite`` sensor (batches on
``ambient/+/readings``). A hostile client publishes 20,000 distinct bad topics, 5,000 invented
person ids on topics, 5,000 more inside satellite batches, and batches from 2,000 invented
satellites. The bench prints Python heap growth (tracemalloc) and the size of the counters
document (what ``ambient status`` shows) as it goes.

Run: ``python bench/bench_faults_topics.py`` (needs mosquitto). Stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import aiomqtt
from fixtures.mosquitto import MosquittoBroker

from ambient.clock import RealClock
from ambient.config.mqtt import MqttConfig
from ambient.config.root import AmbientConfig
from ambient.config.sensors import MqttSensorConfig, SatelliteSensorConfig
from ambient.connections.mqtt import MqttConnection
from ambient.counters import Counters
from ambient.messages import SignalUpdate
from ambient.readings import Reading
from ambient.sensors.mqtt import MqttSensor
from ambient.sensors.satellite import SatelliteSensor
from ambient.store import Store

BAD_TOPICS = 20_000
PEOPLE = 5_000
SATELLITE_PEOPLE = 5_000
SATELLITES = 2_000
#: Rows in one hostile satellite batch (a real satellite sends at most 200).
BATCH_ROWS = 200
CHECKPOINTS = 4
WAIT_S = 60.0


class CountingSink:
    """Feeds the signal engine, as the daemon's consumer does, counts what got through and
    says when a reading arrived."""

    def __init__(self, feed: Any) -> None:
        self.feed = feed
        self.count = 0
        self.seen = asyncio.Event()

    def put_nowait(self, reading: Reading) -> None:
        self.feed(reading)
        self.count += 1
        self.seen.set()

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)


def sensor(connection: MqttConnection, counters: Counters, **values: Any) -> MqttSensor:
    config = MqttSensorConfig.model_validate({"type": "mqtt", "metric": "hr"} | values)
    return MqttSensor(
        config, connection, RealClock(), counters, name=values["topic"], people=["alex"]
    )


def satellite_batch(instance: str, people: list[str]) -> bytes:
    now = RealClock().now()
    rows = [[now, person, "hr", 70, "strap"] for person in people]
    return json.dumps({"v": 1, "instance": instance, "readings": rows}).encode()


def part(total: int, step: int) -> range:
    """The share of ``total`` published at checkpoint ``step`` (1-based)."""
    return range(total * (step - 1) // CHECKPOINTS, total * step // CHECKPOINTS)


def heap_mib() -> float:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] / 2**20


async def settle(connection: MqttConnection, client: aiomqtt.Client, seen: asyncio.Event) -> None:
    """Until everything published so far went through the connection: a marker message."""
    seen.clear()
    await client.publish("phones/alex/hr", b"70", qos=1)
    await asyncio.wait_for(seen.wait(), WAIT_S)


async def run() -> int:
    from ambient.signals.engine import SignalEngine

    tracemalloc.start()
    with tempfile.TemporaryDirectory() as directory:
        broker = MosquittoBroker(Path(directory) / "mosquitto")
        broker.start()
        counters = Counters()
        config = AmbientConfig.model_validate({"people": [{"id": "alex"}]})

        def on_update(_update: SignalUpdate) -> None:
            pass

        signals = SignalEngine(
            config.signals, config.people, RealClock(), Store(None), on_update, counters
        )
        connection = MqttConnection(
            MqttConfig(host=broker.host, port=broker.port), "home", RealClock(), counters
        )
        alex = CountingSink(signals.feed)
        seen = alex.seen
        junk = sensor(connection, counters, topic="junk/#", person="alex")
        phones = sensor(connection, counters, topic="phones/+/hr", person_topic_level=1)
        satellites = SatelliteSensor(
            SatelliteSensorConfig(type="satellite"),
            connection,
            RealClock(),
            counters,
            name="satellites",
            people=["alex"],
        )
        tasks = [
            asyncio.ensure_future(connection.run()),
            asyncio.ensure_future(junk.run(alex)),
            asyncio.ensure_future(phones.run(alex)),
            asyncio.ensure_future(satellites.run(alex)),
        ]
        try:
            await asyncio.wait_for(connection.wait_connected(), WAIT_S)
            for topic_filter in ("junk/#", "phones/+/hr", satellites.topic_filter):
                await asyncio.wait_for(connection.wait_subscribed(topic_filter), WAIT_S)
            async with aiomqtt.Client(broker.host, broker.port, identifier="hostile") as client:
                await settle(connection, client, seen)
                base_mib = heap_mib()
                print(
                    f"{'bad topics':>10} {'people':>7} {'in batches':>10} {'satellites':>10}"
                    f" {'heap growth':>12} {'counters doc':>13}"
                )
                for step in range(1, CHECKPOINTS + 1):
                    topics = part(BAD_TOPICS, step)
                    for index in topics:
                        await client.publish(f"junk/{index}", b"not a number", qos=1)
                    people = part(PEOPLE, step)
                    for index in people:
                        await client.publish(f"phones/stranger{index}/hr", b"70", qos=1)
                    guests = part(SATELLITE_PEOPLE, step)
                    invented = [f"guest{index}" for index in guests]
                    for low in range(0, len(invented), BATCH_ROWS):
                        payload = satellite_batch("attic", invented[low : low + BATCH_ROWS])
                        await client.publish("ambient/attic/readings", payload, qos=1)
                    instances = part(SATELLITES, step)
                    for index in instances:
                        payload = satellite_batch(f"sat{index}", ["alex"])
                        await client.publish(f"ambient/sat{index}/readings", payload, qos=1)
                    await settle(connection, client, seen)
                    document_kib = len(json.dumps(counters.snapshot())) / 1024
                    status_kib = len(json.dumps(satellites.diagnostics())) / 1024
                    print(
                        f"{topics.stop:>10} {people.stop:>7} {guests.stop:>10}"
                        f" {instances.stop:>10} {heap_mib() - base_mib:>9.2f} MiB"
                        f" {document_kib:>9.1f} KiB  (satellite status {status_kib:.1f} KiB)"
                    )
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            broker.kill()
    print(f"counters: {json.dumps(counters.snapshot())}")
    print(f"readings accepted: {alex.count} (alex only)")
    print(f"people with signal state: {len(signals.people())} ({', '.join(signals.people()[:5])})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
