"""Satellite times under ``ambient run --speed``: the central maps them onto its own clock.

Two scaled clocks started a second apart disagree by about ``speed - 1`` seconds; without the
mapping every forwarded reading is stale or in the future. Live (real clock) the satellite's
times are kept. The central's scaled clock runs at a negligible speed here so that its ``now``
stays put (a real :class:`ScaledClock`, no stand-in); batches are handed to the sensor as the
connection would deliver them, without a broker (the broker path is in
tests/actuators/mqtt/test_satellite.py and test_satellite_processes.py).
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from ambient.clock import Clock, RealClock, ScaledClock
from ambient.config.mqtt import MqttConfig
from ambient.config.sensors import SatelliteSensorConfig
from ambient.connections.mqtt import MqttConnection, MqttMessage
from ambient.counters import Counters
from ambient.readings import Reading
from ambient.sensors.satellite import SatelliteSensor

NOW = 1_800_000_000.0
TOPIC = "ambient/kitchen/readings"


class Collected:
    def __init__(self) -> None:
        self.readings: list[Reading] = []

    def put_nowait(self, reading: Reading) -> None:
        self.readings.append(reading)

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)


async def started_sensor(
    clock: Clock, counters: Counters, stale_after_s: float = 15.0
) -> tuple[SatelliteSensor, Collected]:
    connection = MqttConnection(MqttConfig(), "home", clock, counters)
    sensor = SatelliteSensor(
        SatelliteSensorConfig(type="satellite"),
        connection,
        clock,
        counters,
        name="satellites",
        people=["alex"],
        stale_after_s=stale_after_s,
    )
    sink = Collected()
    task = asyncio.ensure_future(sensor.run(sink))
    await asyncio.sleep(0)  # run() takes the sink and subscribes, then waits forever
    task.cancel()
    return sensor, sink


def batch(*times: float, held: bool = False) -> MqttMessage:
    rows = [[time, "alex", "rr", 800.0, "recording0"] for time in times]
    document: dict[str, object] = {"v": 1, "instance": "kitchen", "readings": rows}
    if held:
        document["held"] = True
    return MqttMessage(TOPIC, json.dumps(document).encode(), qos=1)


def frozen_scaled_clock() -> ScaledClock:
    return ScaledClock(1e-9, start=NOW)


async def test_a_scaled_central_maps_a_satellite_clock_behind_it_keeping_the_spacing() -> None:
    counters = Counters()
    sensor, sink = await started_sensor(frozen_scaled_clock(), counters)
    behind = NOW - 900.0  # the central started 1.5 s earlier at --speed 600
    sensor.handle(batch(behind - 2.0, behind - 1.0, behind))
    assert [round(r.time - NOW, 3) for r in sink.readings] == [-2.0, -1.0, 0.0]
    assert {r.source for r in sink.readings} == {"kitchen/recording0"}
    assert counters.snapshot() == {}


async def test_a_scaled_central_maps_a_satellite_clock_ahead_of_it() -> None:
    counters = Counters()
    sensor, sink = await started_sensor(frozen_scaled_clock(), counters)
    ahead = NOW + 900.0  # the satellite started first: its readings look 15 min in the future
    sensor.handle(batch(ahead - 1.0, ahead))
    assert [round(r.time - NOW, 3) for r in sink.readings] == [-1.0, 0.0]
    assert counters.snapshot() == {}


async def test_a_late_batch_keeps_its_age_and_a_fresher_one_tightens_the_offset() -> None:
    counters = Counters()
    sensor, sink = await started_sensor(frozen_scaled_clock(), counters)
    sensor.handle(batch(NOW - 902.0))  # first batch: offset 902 s (2 s in transit)
    sensor.handle(batch(NOW - 1022.0))  # held back 120 s more (a backlog): stays 120 s old
    sensor.handle(batch(NOW - 900.5))  # quicker transit: the offset becomes 900.5 s
    sensor.handle(batch(NOW - 901.5))
    assert [round(r.time - NOW, 3) for r in sink.readings] == [0.0, -120.0, 0.0, -1.0]


async def test_a_restarted_satellite_clock_is_measured_afresh() -> None:
    counters = Counters()
    sensor, sink = await started_sensor(frozen_scaled_clock(), counters)
    sensor.handle(batch(NOW - 900.0))
    # Restarted 2 s later at --speed 600: its clock is now ~1200 s further behind, which is
    # more than max_age (300 s) beyond the offset, so that is a new clock, not a backlog.
    sensor.handle(batch(NOW - 2100.0))
    assert [round(r.time - NOW, 3) for r in sink.readings] == [0.0, 0.0]
    assert counters.snapshot() == {}


async def test_a_real_clock_central_keeps_the_satellite_times() -> None:
    counters = Counters()
    sensor, sink = await started_sensor(RealClock(), counters)
    now = RealClock().now()
    sensor.handle(batch(now - 2.0, now - 1.0))
    sensor.handle(batch(now - 900.0))  # an unsynchronised satellite clock is not corrected
    assert [round(r.time - now, 3) for r in sink.readings] == [-2.0, -1.0]
    assert counters.scope("mqtt:ambient/+/readings") == {"stale": 1}


async def test_readings_behind_the_clock_are_kept_counted_and_said_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A satellite's beats stamped past stale_after (15 s) ago, within max_age (a satellite
    sending what it buffered while the broker was away, or its clock behind): kept, but the
    signals they feed read stale as they come, so counted behind_clock (per reading, as MQTT
    sensors count theirs) and said once a minute, naming how far behind, never a value."""
    counters = Counters()
    sensor, sink = await started_sensor(RealClock(), counters)
    now = RealClock().now()
    with caplog.at_level(logging.INFO, logger="ambient.sensors.satellite"):
        sensor.handle(batch(now - 61.0, now - 60.0, now - 1.0))
        sensor.handle(batch(now - 40.0))
    assert len(sink.readings) == 4
    assert counters.scope("mqtt:ambient/+/readings") == {"behind_clock": 3}
    [said] = [r for r in caplog.records if "behind" in r.getMessage()]
    assert said.levelno == logging.WARNING
    assert "kitchen" in said.getMessage() and "61 s behind" in said.getMessage()
    assert "800" not in said.getMessage()


async def test_a_batch_the_satellite_held_through_a_broker_outage_is_not_a_clock_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What a satellite buffered while the broker was away comes marked `held`: old by nature,
    as the broker's own backlog is. Kept with its times, neither counted nor said."""
    counters = Counters()
    sensor, sink = await started_sensor(RealClock(), counters)
    now = RealClock().now()
    with caplog.at_level(logging.INFO, logger="ambient.sensors.satellite"):
        sensor.handle(batch(now - 61.0, now - 60.0, now - 1.0, held=True))
    assert [round(now - r.time) for r in sink.readings] == [61, 60, 1]
    assert counters.snapshot() == {}
    assert not caplog.records


async def test_behind_the_clock_is_measured_against_the_configured_stale_after() -> None:
    counters = Counters()
    clock = RealClock()
    sensor, _ = await started_sensor(clock, counters, stale_after_s=60.0)
    now = clock.now()
    sensor.handle(batch(now - 50.0, now - 70.0))
    assert counters.scope("mqtt:ambient/+/readings") == {"behind_clock": 1}


async def test_hostile_batches_get_a_named_reason_not_a_handler_error() -> None:
    """Huge integers and deep nesting break ``json.loads`` in ways other than bad JSON."""
    counters = Counters()
    sensor, sink = await started_sensor(RealClock(), counters)
    now = RealClock().now()
    huge = b'{"v": 1, "instance": "kitchen", "readings": [[' + b"9" * 5000 + b', "alex"]]}'
    deep = b'{"v": 1, "instance": "kitchen", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    too_big = json.dumps(
        {"v": 1, "instance": "kitchen", "readings": [[now, "alex", "rr", 10**400, "s"]]}
    ).encode()
    # a source that is no name (it was taken as `kitchen/None`, `kitchen/[1, 2]`)
    sources = json.dumps(
        {
            "v": 1,
            "instance": "kitchen",
            "readings": [[now, "alex", "rr", 800, s] for s in (None, [1, 2], "")],
        }
    ).encode()
    for payload in (huge, deep, too_big, sources):
        sensor.handle(MqttMessage(TOPIC, payload, qos=1))
    assert sink.readings == []
    assert counters.snapshot() == {
        "mqtt:ambient/+/readings": {
            "number_too_long": 1,
            "too_deep": 1,
            "nan": 1,
            "bad_source": 3,
        }
    }
