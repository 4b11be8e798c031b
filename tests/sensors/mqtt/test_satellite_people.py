"""Satellite batches name only configured people: a hostile or buggy satellite cannot make the
central keep state for ids of its choosing, nor figures for instance names of its choosing.

The central is built from a config as the daemon builds it (``build_sensor``) and feeds the real
signal engine, which keeps state for every person it is fed; batches come through a real
Mosquitto from a client playing the satellite.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fixtures.connections import running
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import device_client

from ambient.clock import RealClock
from ambient.config.root import AmbientConfig
from ambient.connections import Connections
from ambient.connections.mqtt import MqttMessage
from ambient.counters import Counters
from ambient.messages import SignalUpdate
from ambient.readings import Reading
from ambient.sensors.factory import build_sensor
from ambient.sensors.satellite import MAX_TRACKED_SATELLITES, OTHER_SATELLITES, SatelliteSensor
from ambient.signals.engine import SignalEngine
from ambient.store import Store

SCOPE = "mqtt:ambient/+/readings"
WAIT_S = 10.0


class SignalsSink:
    """Feeds the real signal engine, as the daemon's consumer does; says when alex arrives."""

    def __init__(self, config: AmbientConfig, counters: Counters) -> None:
        def on_update(_update: SignalUpdate) -> None:
            pass

        self.signals = SignalEngine(
            config.signals, config.people, RealClock(), Store(None), on_update, counters
        )
        self.counters = counters
        self.people: list[str] = []
        self.alex = asyncio.Event()

    def put_nowait(self, reading: Reading) -> None:
        self.signals.feed(reading)
        self.people.append(reading.person)
        if reading.person == "alex":
            self.alex.set()

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)


def central_config(broker: MosquittoBroker, **sensor: Any) -> AmbientConfig:
    return AmbientConfig.model_validate(
        {
            "instance": "home",
            "mqtt": {"host": broker.host, "port": broker.port, "discovery": False},
            "people": [{"id": "alex"}],
            "sensors": [{"type": "satellite"} | sensor],
        }
    )


def batch(instance: str, *people: str) -> bytes:
    now = RealClock().now()
    rows = [[now, person, "hr", 70, "strap"] for person in people]
    return json.dumps({"v": 1, "instance": instance, "readings": rows}).encode()


async def forward(broker: MosquittoBroker, config: AmbientConfig, *batches: bytes) -> SignalsSink:
    """Run the central, publish ``batches`` then one naming alex, and wait for alex's reading
    (the broker keeps one publisher's order, so everything before it has been handled)."""
    counters = Counters()
    connections = Connections(config, RealClock(), counters)
    sensor = build_sensor(config.sensors[0], 0, connections)
    assert isinstance(sensor, SatelliteSensor)
    sink = SignalsSink(config, counters)
    async with running(connections.mqtt()) as connection:
        task = asyncio.ensure_future(sensor.run(sink))
        try:
            await asyncio.wait_for(connection.wait_subscribed(sensor.topic_filter), WAIT_S)
            async with device_client(broker, identifier="attic") as satellite:
                for payload in (*batches, batch("attic", "alex")):
                    await satellite.publish("ambient/attic/readings", payload, qos=1)
                await asyncio.wait_for(sink.alex.wait(), WAIT_S)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return sink


async def test_a_batch_naming_people_not_configured_makes_no_state_for_them(
    mosquitto: MosquittoBroker,
) -> None:
    strangers = [f"stranger{index}" for index in range(300)]
    sink = await forward(
        mosquitto,
        central_config(mosquitto),
        batch("attic", *strangers[:150]),
        batch("attic", *strangers[150:]),
    )
    assert sink.people == ["alex"]
    assert sink.signals.people() == ["alex"]
    assert sink.counters.scope(SCOPE) == {"unknown_person": 300}


async def test_unlisted_people_admits_that_many_others_first_come(
    mosquitto: MosquittoBroker,
) -> None:
    config = central_config(mosquitto, unlisted_people=2)
    guests = [f"guest{index}" for index in range(5)]
    sink = await forward(mosquitto, config, batch("attic", *guests), batch("attic", "guest1"))
    assert sink.people == ["guest0", "guest1", "guest1", "alex"]  # the ones taken stay welcome
    assert sink.signals.people() == ["alex", "guest0", "guest1"]
    assert sink.counters.scope(SCOPE) == {"unknown_person": 3}


def started_without_broker() -> tuple[SatelliteSensor, SignalsSink]:
    """A central sensor built as the daemon builds it; batches are handed in directly."""
    counters = Counters()
    config = AmbientConfig.model_validate(
        {"mqtt": {}, "people": [{"id": "alex"}], "sensors": [{"type": "satellite"}]}
    )
    sensor = build_sensor(config.sensors[0], 0, Connections(config, RealClock(), counters))
    assert isinstance(sensor, SatelliteSensor)
    sink = SignalsSink(config, counters)
    sensor._sink = sink  # what run() does, without needing a broker
    return sensor, sink


def send(sensor: SatelliteSensor, instance: str, *people: str) -> None:
    sensor.handle(MqttMessage(f"ambient/{instance}/readings", batch(instance, *people), qos=1))


async def test_invented_satellite_names_share_one_entry_past_the_limit() -> None:
    """Instance names come from the topic: past the limit their figures are added up."""
    sensor, sink = started_without_broker()
    invented = MAX_TRACKED_SATELLITES + 500
    for index in range(invented):
        send(sensor, f"sat{index}", "alex")
    satellites = sensor.diagnostics()["satellites"]
    assert len(satellites) == MAX_TRACKED_SATELLITES + 1
    assert satellites[OTHER_SATELLITES]["readings"] == invented - MAX_TRACKED_SATELLITES
    assert satellites["sat0"]["readings"] == 1
    assert len(sink.people) == invented  # every reading still flows


async def test_satellite_names_whose_readings_are_all_refused_take_no_place() -> None:
    sensor, sink = started_without_broker()
    for index in range(MAX_TRACKED_SATELLITES * 2):
        send(sensor, f"squatter{index}", "stranger")
    send(sensor, "bedroom", "alex")
    assert list(sensor.diagnostics()["satellites"]) == ["bedroom"]
    assert sink.people == ["alex"]


async def test_the_ages_of_the_last_readings_are_rounded_as_the_daemons_are() -> None:
    """Readings forwarded keep their satellite's name as their source, so the daemon cannot
    tell they are this sensor's: the age status shows for it is the sensor's own, and it and
    each satellite's are rounded to the millisecond, as the daemon's are for other sensors."""
    sensor, _ = started_without_broker()
    assert sensor.diagnostics()["last_reading_age_s"] is None
    send(sensor, "bedroom", "alex")
    diagnostics = sensor.diagnostics()
    age_s = diagnostics["satellites"]["bedroom"]["last_reading_age_s"]
    assert age_s == round(age_s, 3)
    assert diagnostics["last_reading_age_s"] == round(diagnostics["last_reading_age_s"], 3)
