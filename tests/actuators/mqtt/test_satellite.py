"""Satellites: a forwarder on one instance, the central SatelliteSensor on another, one broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import (
    Collector,
    RecordingSink,
    device_client,
    make_connection,
    running,
)

from ambient.actuators.mqtt_satellite import SatelliteForwarder
from ambient.clock import RealClock
from ambient.config.sensors import SatelliteSensorConfig
from ambient.connections.mqtt import MqttConnection
from ambient.counters import Counters
from ambient.payload_fields import MAX_PAYLOAD_BYTES
from ambient.readings import Reading
from ambient.sensors.satellite import SatelliteSensor


@contextlib.asynccontextmanager
async def tasks(*coroutines: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    running_tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        yield
    finally:
        for task in running_tasks:
            task.cancel()
        for task in running_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def central_sensor(connection: MqttConnection, counters: Counters) -> SatelliteSensor:
    config = SatelliteSensorConfig(type="satellite")
    return SatelliteSensor(
        config, connection, RealClock(), counters, name="satellites", people=["alex"]
    )


def beat(i: int) -> Reading:
    return Reading(RealClock().now(), "alex", "rr", 800.0 + i, "strap")


async def test_readings_forwarded_in_batches_reach_the_central_instance(
    mosquitto: MosquittoBroker,
) -> None:
    counters = Counters()
    satellite = make_connection(mosquitto, instance="kitchen")
    central = make_connection(mosquitto, instance="home")
    forwarder = SatelliteForwarder(satellite, RealClock(), counters, batch_interval_s=0.05)
    sensor = central_sensor(central, counters)
    sink = RecordingSink()
    async with (
        running(central),
        running(satellite),
        tasks(sensor.run(sink), forwarder.run()),
    ):
        await central.wait_connected()
        for i in range(50):
            forwarder.put_nowait(beat(i))
        received = [await sink.next() for _ in range(50)]
    assert [r.value for r in received] == [800.0 + i for i in range(50)]
    assert {r.source for r in received} == {"kitchen/strap"}
    assert sensor.diagnostics()["satellites"]["kitchen"]["readings"] == 50
    assert counters.snapshot() == {}


async def test_readings_made_while_the_broker_was_down_arrive_after_it_is_back(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    broker = mosquitto_persistent
    counters = Counters()
    satellite = make_connection(broker, instance="kitchen")
    central = make_connection(broker, instance="home")
    forwarder = SatelliteForwarder(satellite, RealClock(), counters, batch_interval_s=0.05)
    sensor = central_sensor(central, counters)
    sink = RecordingSink()
    async with running(central), running(satellite), tasks(sensor.run(sink), forwarder.run()):
        forwarder.put_nowait(beat(0))
        assert (await sink.next()).value == 800.0
        await asyncio.wait_for(forwarder.wait_drained(), 10)  # acknowledged: not sent twice
        lost = asyncio.ensure_future(satellite.wait_attempt_ended())
        broker.kill()
        await asyncio.wait_for(lost, 10)
        for i in range(1, 6):
            forwarder.put_nowait(beat(i))  # the strap keeps beating while the broker is away
        assert forwarder.pending == 5
        broker.start()
        received = [(await sink.next()).value for _ in range(5)]
    assert received == [801.0, 802.0, 803.0, 804.0, 805.0]


async def test_what_a_satellite_held_through_a_broker_outage_goes_out_marked_held(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    """So that the central does not take its age for a clock behind; what follows, sent as it
    comes, is not marked."""
    broker = mosquitto_persistent
    counters = Counters()
    satellite = make_connection(broker, instance="kitchen")
    central = make_connection(broker, instance="home")
    batches = Collector()
    central.subscribe("ambient/+/readings", batches)
    forwarder = SatelliteForwarder(satellite, RealClock(), counters, batch_interval_s=0.05)
    async with running(central), running(satellite), tasks(forwarder.run()):
        await satellite.wait_connected()
        forwarder.put_nowait(beat(0))
        assert "held" not in json.loads((await batches.next()).payload)
        await asyncio.wait_for(forwarder.wait_drained(), 10)
        lost = asyncio.ensure_future(satellite.wait_attempt_ended())
        broker.kill()
        await asyncio.wait_for(lost, 10)
        for i in range(1, 4):
            forwarder.put_nowait(beat(i))
        broker.start()
        held = json.loads((await batches.next()).payload)
        await asyncio.wait_for(forwarder.wait_drained(), 10)
        forwarder.put_nowait(beat(4))
        after = json.loads((await batches.next()).payload)
    assert held["held"] is True and [row[3] for row in held["readings"]] == [801.0, 802.0, 803.0]
    assert "held" not in after and [row[3] for row in after["readings"]] == [804.0]


async def test_bad_batches_are_counted_per_topic_and_good_ones_still_flow(
    mosquitto: MosquittoBroker,
) -> None:
    counters = Counters()
    central = make_connection(mosquitto, instance="home")
    sensor = central_sensor(central, counters)
    sink = RecordingSink()
    now = RealClock().now()
    good = [now, "alex", "hr", 70, "strap"]
    bad_batches: list[str | bytes] = [
        b"not json",
        b'{"v": 2, "instance": "attic", "readings": []}',
        json.dumps({"v": 1, "instance": "attic", "readings": [[now, "alex", "hr", 999, "s"]]}),
        json.dumps({"v": 1, "instance": "attic", "readings": [[now, "Alex!", "hr", 70, "s"]]}),
        json.dumps(
            {"v": 1, "instance": "attic", "readings": [[now - 9999, "alex", "hr", 70, "s"]]}
        ),
        json.dumps({"v": 1, "instance": "attic", "readings": [["now", "alex", "hr", 70, "s"]]}),
        json.dumps({"v": 1, "instance": "elsewhere", "readings": [good]}),
        json.dumps({"v": 1, "instance": "attic", "readings": [good]}),
    ]
    async with running(central), tasks(sensor.run(sink)), device_client(mosquitto) as device:
        await asyncio.wait_for(central.wait_subscribed(sensor.topic_filter), 10)
        for payload in bad_batches:
            await device.publish("ambient/attic/readings", payload, qos=1)
        reading = await sink.next()
    assert reading.value == 70.0
    assert counters.scope("mqtt:ambient/+/readings") == {
        "bad_json": 1,
        "bad_version": 1,
        "out_of_range": 1,
        "bad_person": 1,
        "stale": 1,
        "not_a_number": 1,
        "bad_batch": 1,
    }


async def test_a_full_batch_stays_within_what_the_central_reads(mosquitto: MosquittoBroker) -> None:
    """A full batch (200 beats: what a satellite sends after an outage or a slow start) of a
    sensor with an id of 48 characters came to 19 KiB, past the 16 KiB a central reads of a
    payload: the central dropped it whole as oversized, and its 200 beats were lost. A batch
    now goes out in as many messages as keep each within it."""
    counters = Counters()
    satellite = make_connection(mosquitto, instance="bedroom")
    central = make_connection(mosquitto, instance="home")
    batches = Collector()
    central.subscribe("ambient/+/readings", batches)
    forwarder = SatelliteForwarder(satellite, RealClock(), counters, batch_interval_s=0.05)
    sensor = central_sensor(central, counters)
    sink = RecordingSink()
    strap = "polar_h10_chest_strap_in_the_bedroom_of_the_flat"
    now = RealClock().now()
    beats = [  # beats as a strap gives them, in 1/1024 s
        Reading(now - 200 + i * 0.8125, "alex", "rr", 800.0 + i * 1000 / 1024, strap)
        for i in range(200)
    ]
    for reading in beats:  # buffered before it runs: one full batch
        forwarder.put_nowait(reading)
    async with running(central), running(satellite):
        await central.wait_connected()
        async with tasks(sensor.run(sink), forwarder.run()):
            assert len((await batches.next()).payload) <= MAX_PAYLOAD_BYTES
            received = [await sink.next() for _ in range(200)]
    assert [r.value for r in received] == [r.value for r in beats]
    assert counters.snapshot() == {}
