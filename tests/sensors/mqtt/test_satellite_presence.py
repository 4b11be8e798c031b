"""A satellite going offline is said at the central: its readings stop for a reason.

Its last will (`offline`, retained) comes when it loses power or its network; it says
`online` again at its reconnect. The central and the satellite are real connections to a real
Mosquitto; the satellite's link is cut under it (its socket shut down), as a power cut would.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from fixtures.connections import running
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import Collector, RecordingSink, device_client, make_connection

from ambient.clock import RealClock
from ambient.config.root import AmbientConfig
from ambient.connections import Connections
from ambient.connections.mqtt import MqttConnection, MqttMessage
from ambient.connections.mqtt_readings import encode_batch
from ambient.counters import Counters
from ambient.readings import Reading
from ambient.sensors.factory import build_sensor
from ambient.sensors.satellite import SatelliteSensor

BEDROOM = "ambient/bedroom/status"


def cut(connection: MqttConnection) -> None:
    """Shut the connection's socket: the broker sees it gone without a word (its will)."""
    assert connection._client is not None
    link = connection._client._client.socket()
    assert isinstance(link, socket.socket)
    link.shutdown(socket.SHUT_RDWR)


async def test_a_satellite_that_drops_out_is_one_warning_and_its_return_one_line(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The bedroom Pi loses power: the central said nothing, its readings just stopped. Now
    one warning names the satellite, and one line says it is back. An instance it never heard
    from (another daemon on the broker) is not its to speak of."""
    config = AmbientConfig.model_validate(
        {
            "instance": "home",
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "discovery": False},
            "people": [{"id": "alex"}],
            "sensors": [{"type": "satellite"}],
        }
    )
    connections = Connections(config, RealClock(), Counters())
    sensor = build_sensor(config.sensors[0], 0, connections)
    assert isinstance(sensor, SatelliteSensor)
    sink = RecordingSink()
    statuses = Collector()
    central = connections.mqtt()
    bedroom = make_connection(mosquitto, instance="bedroom")
    task = asyncio.ensure_future(sensor.run(sink))
    with caplog.at_level(logging.DEBUG, logger="ambient.sensors.satellite"):
        async with running(central), running(bedroom):
            central.subscribe("ambient/+/status", statuses)  # after the sensor's own handler
            await central.wait_subscribed("ambient/+/status")
            reading = Reading(RealClock().now(), "alex", "hr", 61.0, "strap")
            await bedroom.publish("ambient/bedroom/readings", encode_batch("bedroom", [reading]))
            assert (await sink.next()).source == "bedroom/strap"
            async with device_client(mosquitto) as other:
                await other.publish("ambient/hall/status", b"offline", qos=1, retain=True)
            cut(bedroom)
            await statuses.until(lambda m: m.topic == BEDROOM and m.payload == b"offline")
            assert sensor.diagnostics()["offline"] == ["bedroom"]
            await statuses.until(lambda m: m.topic == BEDROOM and m.payload == b"online")
            assert sensor.diagnostics()["offline"] == []
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    said = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "ambient.sensors.satellite" and r.levelno >= logging.INFO
    ]
    assert said == [
        (
            "WARNING",
            "satellite0: satellite bedroom is offline (stopped, or its last will: lost power "
            "or its network?); no readings from it until it is back",
        ),
        ("INFO", "satellite0: satellite bedroom is back online"),
    ]


def test_a_satellite_flapping_is_one_warning_and_one_return_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A satellite on a failing power supply goes offline and back again and again: one
    warning and its one return line in the minute, the rest at DEBUG; the status lists it
    while it is offline. Its own status and one of an instance neither listed nor heard from
    are not the sensor's to speak of. (The status messages are handed to the sensor as the
    broker would: what matters is what it makes of a run of them within a minute.)"""
    config = AmbientConfig.model_validate(
        {
            "instance": "home",
            "mqtt": {"host": "127.0.0.1", "port": 1, "discovery": False},
            "people": [{"id": "alex"}],
            "sensors": [{"type": "satellite", "instances": ["bedroom"]}],
        }
    )
    sensor = build_sensor(config.sensors[0], 0, Connections(config, RealClock(), Counters()))
    assert isinstance(sensor, SatelliteSensor)

    def status(instance: str, payload: bytes) -> None:
        sensor.handle_status(MqttMessage(f"ambient/{instance}/status", payload, True, 1))

    with caplog.at_level(logging.DEBUG, logger="ambient.sensors.satellite"):
        for payload in (b"offline", b"online", b"offline", b"online", b"offline"):
            status("bedroom", payload)
        status("home", b"offline")
        status("hall", b"offline")
    assert sensor.diagnostics()["offline"] == ["bedroom"]
    said = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "ambient.sensors.satellite"
    ]
    assert [s for s in said if s[0] != "DEBUG"] == [
        (
            "WARNING",
            "satellite0: satellite bedroom is offline (stopped, or its last will: lost power "
            "or its network?); no readings from it until it is back",
        ),
        ("INFO", "satellite0: satellite bedroom is back online"),
    ]
    assert [s for s in said if s[0] == "DEBUG"] == [
        ("DEBUG", "satellite0: satellite bedroom is offline"),
        ("DEBUG", "satellite0: satellite bedroom is back online"),
        ("DEBUG", "satellite0: satellite bedroom is offline"),
    ]
