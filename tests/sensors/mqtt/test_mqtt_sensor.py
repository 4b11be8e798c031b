"""The MQTT sensor: payloads to readings, and every bad payload dropped, counted and throttled."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import (
    WAIT_S,
    Collector,
    RecordingSink,
    device_client,
    make_connection,
    running,
)

from ambient.clock import VirtualClock
from ambient.config.mqtt import MqttConfig
from ambient.config.root import AmbientConfig
from ambient.config.sensors import MqttSensorConfig
from ambient.connections import Connections
from ambient.connections.mqtt import Declined, MqttConnection, MqttMessage
from ambient.counters import Counters
from ambient.readings import Reading
from ambient.sensors.factory import build_sensor
from ambient.sensors.mqtt import MqttSensor

NOW = 1_700_000_000.0


def sensor_config(**values: Any) -> MqttSensorConfig:
    values.setdefault("type", "mqtt")
    values.setdefault("topic", "zigbee2mqtt/alex_watch")
    values.setdefault("person", "alex")
    values.setdefault("metric", "hr")
    return MqttSensorConfig.model_validate(values)


class Harness:
    """A sensor with an unconnected real connection; messages are handed in directly."""

    def __init__(
        self, people: tuple[str, ...] = ("alex", "sam"), zone: tzinfo | None = None, **config: Any
    ) -> None:
        self.clock = VirtualClock(NOW)
        self.counters = Counters()
        connection = MqttConnection(MqttConfig(), "test", self.clock, self.counters)
        self.sensor = MqttSensor(
            sensor_config(**config),
            connection,
            self.clock,
            self.counters,
            name="watch",
            people=people,
            zone=zone,
        )
        self.sink = RecordingSink()
        self.sensor._sink = self.sink  # what run() does, without needing a broker

    def feed(
        self,
        payload: bytes,
        topic: str = "zigbee2mqtt/alex_watch",
        retain: bool = False,
        backlog: bool = False,
    ) -> list[Reading]:
        before = len(self.sink.readings)
        self.sensor.handle(MqttMessage(topic, payload, retain=retain, backlog=backlog))
        return self.sink.readings[before:]


def test_plain_number_becomes_a_reading_now() -> None:
    h = Harness()
    [reading] = h.feed(b"72")
    assert reading == Reading(NOW, "alex", "hr", 72.0, "watch")


def test_json_path_and_timestamp() -> None:
    h = Harness(value="heart.bpm", timestamp="ts")
    [reading] = h.feed(b'{"heart": {"bpm": 66}, "ts": 1699999990}')
    assert (reading.time, reading.value) == (1699999990.0, 66.0)


def test_rr_in_seconds_converted_to_ms_with_beat_times() -> None:
    h = Harness(metric="rr", unit="s", value="rr")
    readings = h.feed(b'{"rr": [0.8, 0.9]}')
    assert [r.value for r in readings] == [800.0, 900.0]
    assert [r.time for r in readings] == [NOW - 0.9, NOW]


def test_an_impossible_interval_in_a_list_is_dropped_alone() -> None:
    """A strap relayed over MQTT (an ESP32 forwarding a Garmin HRM-Dual) sends its spurious
    51.8 ms beside real beats: as over Bluetooth, the real ones are kept, and the dropped one
    is still time the strap measured: the beat before it ended that much earlier."""
    h = Harness(metric="rr", value="rr")
    readings = h.feed(b'{"rr": [1044, 51.8, 980]}')
    assert [r.value for r in readings] == [1044.0, 980.0]
    assert [r.time for r in readings] == [pytest.approx(NOW - 0.98 - 0.0518, abs=1e-6), NOW]
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"out_of_range": 1}
    assert h.feed(b'{"rr": [51.8, 9000]}') == []
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"out_of_range": 3}
    [last] = h.feed(b'{"rr": [980, 51.8]}')
    assert [last.value, last.time] == [980.0, pytest.approx(NOW - 0.0518, abs=1e-6)]


def test_heart_rate_zero_is_no_reading_counted_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """HR 0 is how straps (and an ESPHome relay of one) say they have no reading, all night on
    the nightstand: as over Bluetooth, no reading and a count, not a warning a minute."""
    h = Harness()
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        assert h.feed(b"0") == []
        assert h.feed(b"0.0\n") == []
    assert not caplog.records
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"hr_zero": 2}
    listed = Harness(value="hr")
    assert [r.value for r in listed.feed(b'{"hr": [0, 64]}')] == [64.0]
    assert listed.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"hr_zero": 1}


def test_nan_is_a_device_saying_unknown_counted_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ESPHome publishes `nan` for a sensor it has no value for (its strap disconnected), as HA
    says `unknown`: no reading and a count, not a warning each time the strap leaves."""
    h = Harness()
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        assert h.feed(b"nan") == []
        assert h.feed(b"None") == []  # ESPHome with publish_nan_as_none
    assert not caplog.records
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"nan": 1, "no_value": 1}


def test_a_dropped_payload_is_shown_at_debug_only_in_its_first_bytes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dropped payload is shown at DEBUG, to see what a device sends: a publisher sending
    ambient payloads of up to 1 MiB (the largest the broker hands over) made each a line of a
    megabyte, filling the card's journal. The first 200 bytes are shown, with the length."""
    h = Harness()
    with caplog.at_level(logging.DEBUG, logger="ambient.sensors.mqtt"):
        assert h.feed(b"7" * 1024 * 1024) == []
        assert h.feed(b"72 beats") == []
    shown = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(shown) == 2
    assert len(shown[0]) < 400 and "1048576 bytes" in shown[0]
    assert "b'72 beats'" in shown[1]


def test_a_timestamp_slightly_ahead_is_taken_as_now() -> None:
    """A publisher whose clock runs 30 s fast: its readings are not from the future (stamped
    ahead, the heart rate would stay current 30 s after the watch stopped sending)."""
    h = Harness(value="hr", timestamp="ts")
    [reading] = h.feed(b'{"hr": 70, "ts": %d}' % (NOW + 30))
    assert reading.time == NOW
    rr = Harness(metric="rr", value="rr", timestamp="ts")
    readings = rr.feed(b'{"rr": [800, 900], "ts": %d}' % (NOW + 30))
    assert [r.time for r in readings] == [NOW - 0.9, NOW]


def test_an_iso_time_without_a_zone_is_read_in_the_configs_timezone() -> None:
    """The config's `timezone` reaches the sensor: a zoneless ISO time from a publisher in
    Berlin is not read as UTC (the zone of a Docker container or the HA add-on)."""
    config = AmbientConfig.model_validate(
        {
            "timezone": "Europe/Berlin",
            "mqtt": {"host": "localhost"},
            "sensors": [{"type": "mqtt", "topic": "watch/hr", "metric": "hr", "person": "alex"}],
        }
    )
    clock = VirtualClock(NOW)
    sensor = build_sensor(
        sensor_config(value="hr", timestamp="ts"),
        0,
        Connections(config, clock, Counters()),
    )
    assert isinstance(sensor, MqttSensor)
    berlin_time = b'{"hr": 70, "ts": "2023-11-14T23:13:10"}'  # 10 s before NOW, in Berlin
    [reading] = sensor.readings_from(MqttMessage("zigbee2mqtt/alex_watch", berlin_time))
    assert reading.time == NOW - 10


def test_a_time_far_ahead_is_dropped_saying_how_far_and_in_which_zone_a_zoneless_one_is_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A phone in Berlin sending its local time without a zone to ambient in Docker (UTC) is
    an hour ahead: the line said only "timestamp is in the future", with nothing to point at
    the zone (a publisher west of UTC got its hint, as `stale`). It says how far ahead, and
    in which zone a zoneless time was read; never the value."""
    h = Harness(value="hr", timestamp="ts", zone=UTC)
    local = datetime.fromtimestamp(NOW, timezone(timedelta(hours=1))).replace(tzinfo=None)
    payload = b'{"hr": 71, "ts": "%s"}' % local.isoformat().encode()
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        assert h.feed(payload) == []
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"bad_timestamp": 1}
    [line] = [r.getMessage() for r in caplog.records]
    assert "timestamp is in the future (by 3600 s)" in line
    assert "a time without a zone is read in UTC" in line and "71" not in line


def test_a_live_reading_stamped_older_than_max_age_is_dropped_saying_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A publisher whose clock is behind (or whose zoneless time is read in another zone) sends
    readings that are stale on arrival: the heart rate read stale with nothing counted."""
    h = Harness(value="hr", timestamp="ts", max_age=120)
    assert h.feed(b'{"hr": 70, "ts": %d}' % (NOW - 100))  # within max_age: kept, with its time
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        assert h.feed(b'{"hr": 71, "ts": %d}' % (NOW - 3600)) == []
    assert h.counters.get("mqtt:zigbee2mqtt/alex_watch", "stale") == 1
    [line] = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert "3600 s old" in line and "clock" in line and "71" not in line
    # queued while ambient was away: keeps its age (`ambient record` keeps such a backlog)
    assert h.feed(b'{"hr": 72, "ts": %d}' % (NOW - 3600), backlog=True)
    assert Harness().sensor.config.max_age == 300.0


def test_live_readings_behind_the_clock_are_kept_counted_and_said_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A watch uploading in small batches, or a slow relay: readings stamped more than the
    signals' `stale_after` (15 s) ago but within `max_age` are kept with their times (the heart
    rate reads stale as they arrive): counted and said, naming the sensor and how far behind."""
    h = Harness(value="hr", timestamp="ts")
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        assert h.feed(b'{"hr": 70, "ts": %d}' % (NOW - 15))  # within stale_after: current
        assert not caplog.records
        [kept] = h.feed(b'{"hr": 71, "ts": %d}' % (NOW - 40))
        assert h.feed(b'{"hr": 72, "ts": %d}' % (NOW - 45))
    assert kept.time == NOW - 40
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"behind_clock": 2}
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("watch:") and "40 s behind" in line and "71" not in line
    # queued by the broker while ambient was away: behind by nature, not counted
    assert h.feed(b'{"hr": 73, "ts": %d}' % (NOW - 60), backlog=True)
    assert h.counters.get("mqtt:zigbee2mqtt/alex_watch", "behind_clock") == 2


def test_behind_the_clock_is_measured_against_the_configured_stale_after() -> None:
    config = AmbientConfig.model_validate(
        {
            "mqtt": {"host": "localhost"},
            "signals": {"stale_after": "60s"},
            "sensors": [{"type": "mqtt", "topic": "watch/hr", "metric": "hr", "person": "alex"}],
        }
    )
    counters = Counters()
    sensor = build_sensor(
        sensor_config(value="hr", timestamp="ts"),
        0,
        Connections(config, VirtualClock(NOW), counters),
    )
    assert isinstance(sensor, MqttSensor)
    for age_s in (40, 70):
        payload = b'{"hr": 70, "ts": %d}' % (NOW - age_s)
        sensor.readings_from(MqttMessage("zigbee2mqtt/alex_watch", payload))
    assert counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"behind_clock": 1}


def test_a_sensor_with_its_own_stale_after_is_behind_only_past_it() -> None:
    """A watch that uploads its samples late by nature (`stale_after: 20min`): one stamped 5
    minutes ago is its latest sample, current for 15 more minutes, not a clock behind."""
    h = Harness(value="hr", timestamp="ts", stale_after=1200.0)
    [kept] = h.feed(b'{"hr": 70, "ts": %d}' % (NOW - 300))
    assert kept.time == NOW - 300
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {}


def test_a_user_named_metric_behind_the_clock_is_not_counted() -> None:
    """Metrics passed through go stale after `metric_stale_after` (10 min), past `max_age`."""
    h = Harness(metric="room_co2", value="co2", timestamp="ts")
    assert h.feed(b'{"co2": 800, "ts": %d}' % (NOW - 100))
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {}


def test_person_from_a_topic_level() -> None:
    h = Harness(topic="phones/+/hr", person=None, person_topic_level=1)
    [reading] = h.feed(b"70", topic="phones/sam/hr")
    assert reading.person == "sam"
    assert h.feed(b"70", topic="phones/Not A Person/hr") == []
    assert h.counters.get("mqtt:phones/+/hr", "bad_person") == 1


def test_a_topic_level_names_only_configured_people() -> None:
    h = Harness(topic="phones/+/hr", person=None, person_topic_level=1)
    for index in range(50):
        assert h.feed(b"70", topic=f"phones/stranger{index}/hr") == []
    assert h.counters.scope("mqtt:phones/+/hr") == {"unknown_person": 50}
    assert [r.person for r in h.feed(b"70", topic="phones/alex/hr")] == ["alex"]


def test_unlisted_people_are_accepted_only_up_to_the_configured_number() -> None:
    h = Harness(topic="phones/+/hr", person=None, person_topic_level=1, unlisted_people=2)
    accepted = [r.person for i in range(5) for r in h.feed(b"70", topic=f"phones/guest{i}/hr")]
    assert accepted == ["guest0", "guest1"]
    assert h.feed(b"71", topic="phones/guest1/hr")  # the ones taken stay welcome
    assert h.counters.get("mqtt:phones/+/hr", "unknown_person") == 3


def test_hostile_topics_share_one_counter_scope() -> None:
    h = Harness(topic="z/#")
    for index in range(2000):
        h.feed(b"garbage", topic=f"z/{index}")
    assert h.counters.snapshot() == {"mqtt:z/#": {"not_a_number": 2000}}


@pytest.mark.parametrize(
    ("config", "payload", "reason"),
    [
        ({}, b"seventy", "not_a_number"),
        ({}, b"NaN", "nan"),
        ({}, b"300", "out_of_range"),
        ({}, b"12", "out_of_range"),
        ({"metric": "rr"}, b"5000", "out_of_range"),
        ({"metric": "rr", "unit": "s"}, b"0.1", "out_of_range"),
        ({"value": "heart.bpm"}, b"{not json", "bad_json"),
        ({"value": "heart.bpm"}, b'{"heart": {}}', "missing_path"),
        ({}, b"7" * 20000, "oversized"),
        ({}, b"\xc3\x28", "bad_encoding"),
        ({"value": "v", "timestamp": "t"}, b'{"v": 70, "t": }', "bad_json"),
        ({"value": "v"}, b'{"v": ' + b"7" * 4301 + b"}", "number_too_long"),
        ({"value": "v"}, b'{"v": 70, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "too_deep"),
        ({}, b"[" * 5000 + b"]" * 5000, "too_deep"),
        ({"value": "v"}, b'{"v": ' + b"7" * 400 + b"}", "not_finite"),
        (
            {"value": "v", "timestamp": "t"},
            b'{"v": 70, "t": "0001-01-01T00:00:00"}',
            "bad_timestamp",
        ),
        (
            {"value": "v", "timestamp": "t"},
            b'{"v": 70, "t": "9999-12-31T23:59:59"}',
            "bad_timestamp",
        ),
        ({"value": "v", "timestamp": "t"}, b'{"v": 70, "t": -1e300}', "bad_timestamp"),
        ({"value": "v", "timestamp": "t"}, b'{"v": 70, "t": 0}', "bad_timestamp"),
        (
            {"value": "v", "timestamp": "t"},
            b'{"v": 70, "t": ' + str(NOW + 3600).encode() + b"}",
            "bad_timestamp",
        ),
    ],
)
def test_each_bad_payload_is_dropped_and_counted_per_topic(
    config: dict[str, Any], payload: bytes, reason: str
) -> None:
    h = Harness(**config)
    assert h.feed(payload) == []
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {reason: 1}
    assert h.sensor.diagnostics()["dropped"] == {reason: 1}


def test_retained_values_need_a_recent_timestamp() -> None:
    h = Harness(value="v", timestamp="t", max_retained_age=60)
    assert h.feed(b'{"v": 70, "t": %d}' % (NOW - 30), retain=True)
    assert h.feed(b'{"v": 70, "t": %d}' % (NOW - 120), retain=True) == []
    assert h.counters.get("mqtt:zigbee2mqtt/alex_watch", "stale_retained") == 1
    plain = Harness()
    assert plain.feed(b"70", retain=True) == []
    assert plain.counters.get("mqtt:zigbee2mqtt/alex_watch", "retained_without_time") == 1


def test_a_retained_state_without_a_time_is_counted_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ESPHome retains its states: the copy the broker hands over at every start has no time,
    so its age is unknown. Skipping it is normal (docs/mqtt.md): a count, not a warning."""
    h = Harness()
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        assert h.feed(b"70", retain=True) == []
    assert not caplog.records
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"retained_without_time": 1}
    assert h.feed(b"71") != []  # the live updates that follow are used


def test_drops_are_logged_once_per_reason_per_minute_without_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness(topic="z/+")
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        for _ in range(5):
            h.feed(b"999", topic="z/a")
        h.feed(b"999", topic="z/b")
        h.feed(b"x", topic="z/b")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "z/a" in warnings[0] and "out_of_range" in warnings[0]
    assert "z/b" in warnings[1] and "not_a_number" in warnings[1]
    assert not any("999" in w for w in warnings)
    assert h.counters.scope("mqtt:z/+") == {"out_of_range": 6, "not_a_number": 1}


@pytest.mark.parametrize(
    ("config", "payload", "said"),
    [
        ({"metric": "rr"}, b"0.81", "rr outside 200..3000 ms (in seconds? set `unit: s`)"),
        ({"metric": "rr", "unit": "s"}, b"810", "(in milliseconds? leave out `unit: s`)"),
        ({}, b"7100", "hr outside 20..250 bpm"),
    ],
)
def test_a_value_out_of_range_names_the_unit_and_a_likely_slip_without_the_value(
    caplog: pytest.LogCaptureFixture, config: dict[str, Any], payload: bytes, said: str
) -> None:
    h = Harness(**config)
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        assert h.feed(payload) == []
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said in warning
    assert payload.decode() not in warning


def test_a_backlog_value_needs_a_timestamp() -> None:
    """Queued by the broker while ambient was away: without a time, its age is unknown."""
    plain = Harness()
    assert plain.feed(b"70", backlog=True) == []
    assert plain.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"backlog_without_time": 1}
    timed = Harness(value="v", timestamp="t")
    [reading] = timed.feed(b'{"v": 70, "t": %d}' % (NOW - 600), backlog=True)
    assert reading.time == NOW - 600


def test_a_stopped_sensor_declines_messages() -> None:
    h = Harness()
    h.sensor._sink = None
    with pytest.raises(Declined):
        h.feed(b"70")


def test_unit_must_fit_the_metric() -> None:
    with pytest.raises(ValueError, match="bpm"):
        sensor_config(unit="ms")
    with pytest.raises(ValueError, match="ms"):
        sensor_config(metric="rr", unit="bpm")


@contextlib.asynccontextmanager
async def running_sensor(
    connection: MqttConnection, sensor: MqttSensor, sink: RecordingSink
) -> AsyncIterator[None]:
    task = asyncio.get_running_loop().create_task(sensor.run(sink))
    try:
        async with running(connection):
            yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_zigbee2mqtt_payloads_through_a_real_broker_survive_garbage(
    mosquitto: MosquittoBroker,
) -> None:
    counters = Counters()
    connection = make_connection(mosquitto, counters=counters)
    sensor = MqttSensor(
        sensor_config(value="heart_rate"), connection, connection._clock, counters, name="watch"
    )
    sink = RecordingSink()
    async with running_sensor(connection, sensor, sink), device_client(mosquitto) as device:
        topic = "zigbee2mqtt/alex_watch"
        for payload in (
            b'{"heart_rate": 61}',
            b"garbage",
            b'{"heart_rate": NaN}',
            b'{"battery": 90}',
            b'{"heart_rate": 62}',
        ):
            await device.publish(topic, payload, qos=1)
        assert [(await sink.next()).value for _ in range(2)] == [61.0, 62.0]
    assert counters.scope("mqtt:zigbee2mqtt/alex_watch") == {
        "bad_json": 1,
        "nan": 1,
        "missing_path": 1,
    }
    assert sensor.diagnostics()["readings"] == 2
    # The age of the last reading is the daemon's, from what the pipeline saw: one number.
    assert "last_reading_age_s" not in sensor.diagnostics()


def test_a_sensor_with_its_own_stale_after_keeps_a_sample_older_than_max_age() -> None:
    """A watch whose phone relays its 15-minute samples late (`stale_after: 20min`): one
    stamped 10 minutes ago is still its current sample for 10 more minutes, so `max_age`
    (5 min) does not refuse it as a clock behind; past its own `stale_after` it is refused."""
    h = Harness(value="hr", timestamp="ts", stale_after=1200.0)
    [kept] = h.feed(b'{"hr": 70, "ts": %d}' % (NOW - 600))
    assert kept.time == NOW - 600
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {}
    assert h.feed(b'{"hr": 71, "ts": %d}' % (NOW - 1500)) == []
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"stale": 1}


def batch(*samples: tuple[float, float]) -> bytes:
    """A Health Auto Export upload: ``(bpm, seconds before NOW)`` samples, as listed."""
    data = [{"Avg": bpm, "date": NOW - ago} for bpm, ago in samples]
    return json.dumps({"data": {"metrics": [{"name": "heart_rate", "data": data}]}}).encode()


def test_a_watchs_batch_of_samples_is_read_each_at_its_own_time_oldest_first() -> None:
    """An Apple Watch's heart rate uploaded by its phone every few minutes, several samples in
    one payload (newest first): each is a reading of its own time, given oldest first so that
    none is taken for late; the newest judges the batch, so older samples past `max_age` in it
    are kept, and an impossible value goes alone."""
    h = Harness(
        value="data.metrics.0.data.*.Avg",
        timestamp="data.metrics.0.data.*.date",
        stale_after=360.0,
    )
    readings = h.feed(batch((66, 60), (0, 300), (64, 420), (61, 780)))
    assert [(r.time, r.value) for r in readings] == [
        (NOW - 780, 61.0),
        (NOW - 420, 64.0),
        (NOW - 60, 66.0),
    ]
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"hr_zero": 1}
    assert h.feed(batch((70, 1200), (71, 900))) == []  # its newest past stale_after and max_age
    assert h.counters.get("mqtt:zigbee2mqtt/alex_watch", "stale") == 1


def test_a_batch_whose_newest_sample_is_behind_the_clock_is_counted_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The newest sample judges the batch: past the signals' `stale_after` (15 s) but within
    `max_age` its samples are kept, the upload counted behind the clock once (not per sample)
    and said, an impossible value going alone."""
    h = Harness(value="data.metrics.0.data.*.Avg", timestamp="data.metrics.0.data.*.date")
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
        readings = h.feed(batch((66, 40), (0, 100), (64, 200)))
    assert [(r.time, r.value) for r in readings] == [(NOW - 200, 64.0), (NOW - 40, 66.0)]
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"behind_clock": 1, "hr_zero": 1}
    [line] = [r.getMessage() for r in caplog.records]
    assert "40 s behind" in line and "66" not in line


def health_auto_export_sensor(
    mosquitto: MosquittoBroker,
) -> tuple[MqttConnection, MqttSensor, RecordingSink, Counters]:
    """A sensor reading Health Auto Export's uploads (one sample per element of its list) on
    ``health/alex``, its connection to the real broker, where it gives its readings and its
    counters."""
    counters = Counters()
    connection = make_connection(mosquitto, counters=counters)
    paths = {"value": "data.metrics.0.data.*.Avg", "timestamp": "data.metrics.0.data.*.date"}
    config = sensor_config(topic="health/alex", stale_after=600.0, **paths)
    sensor = MqttSensor(config, connection, connection._clock, counters, name="apple_watch")
    return connection, sensor, RecordingSink(), counters


async def test_a_health_auto_export_upload_through_a_real_broker_gives_each_sample(
    mosquitto: MosquittoBroker,
) -> None:
    """The app's own shape and time format (``2025-11-26 18:10:00 +0100``), newest first."""
    connection, sensor, sink, counters = health_auto_export_sensor(mosquitto)
    taken = math.floor(connection._clock.now())
    berlin = timezone(timedelta(hours=1))

    def sample(bpm: float, ago_s: int) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(taken - ago_s, berlin).strftime("%Y-%m-%d %H:%M:%S %z")
        return {"Min": bpm - 2, "Avg": bpm, "Max": bpm + 2, "date": stamp, "source": "Watch"}

    upload = {"data": {"metrics": [{"name": "heart_rate", "units": "count/min", "data": [
        sample(66.5, 60), sample(64, 420)
    ]}]}}  # fmt: skip
    async with running_sensor(connection, sensor, sink), device_client(mosquitto) as device:
        await device.publish("health/alex", json.dumps(upload).encode(), qos=1)
        readings = [await sink.next() for _ in range(2)]
    assert [(r.time, r.value) for r in readings] == [(taken - 420, 64.0), (taken - 60, 66.5)]
    assert counters.scope("mqtt:health/alex") == {}


async def test_overlapping_uploads_give_each_sample_once_through_a_real_broker(
    mosquitto: MosquittoBroker,
) -> None:
    """An automation that sends the last hour at each run repeats samples already taken (the
    newest of one upload opens the next): the signals would take a sample at the time of the
    last one again (its heart rate twice in the minute's mean for the baseline), so a sample
    at or before the last one taken of the person is not given again; a new one is."""
    connection, sensor, sink, counters = health_auto_export_sensor(mosquitto)
    taken = math.floor(connection._clock.now())

    def upload(*samples: tuple[float, int]) -> bytes:
        data = [{"Avg": bpm, "date": taken - ago_s} for bpm, ago_s in samples]
        return json.dumps({"data": {"metrics": [{"name": "heart_rate", "data": data}]}}).encode()

    async with running_sensor(connection, sensor, sink), device_client(mosquitto) as device:
        await device.publish("health/alex", upload((66, 60), (64, 420)), qos=1)
        first = [await sink.next() for _ in range(2)]
        await device.publish("health/alex", upload((70, 0), (66, 60), (64, 420)), qos=1)
        second = await sink.next()
    assert [(r.time, r.value) for r in first] == [(taken - 420, 64.0), (taken - 60, 66.0)]
    assert (second.time, second.value) == (taken, 70.0)
    assert sensor.diagnostics()["readings"] == 3
    assert counters.scope("mqtt:health/alex") == {}


def test_a_repeated_sample_is_one_persons_not_anothers() -> None:
    """The last time taken is each person's: a topic level's second person's upload of the
    same times is theirs, and is given."""
    h = Harness(
        topic="health/+",
        person=None,
        person_topic_level=1,
        value="data.metrics.0.data.*.Avg",
        timestamp="data.metrics.0.data.*.date",
    )
    assert len(h.feed(batch((66, 10), (64, 12)), topic="health/alex")) == 2
    assert len(h.feed(batch((66, 10), (64, 12)), topic="health/sam")) == 2
    assert [r.value for r in h.feed(batch((67, 5), (66, 10)), topic="health/alex")] == [67.0]


def test_a_heart_rate_minutes_apart_without_a_stale_after_says_what_to_give(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A watch measuring every 5 minutes, configured as if it streamed: its heart rate is
    current 15 s after each sample, and nothing said why rules never fire. It is said once,
    with the span to give it, naming the sensor, never a value; one that has a span is quiet."""

    def said(stale_after: float | None) -> list[str]:
        caplog.clear()
        h = Harness(value="hr", timestamp="ts", stale_after=stale_after)
        with caplog.at_level(logging.WARNING, logger="ambient.sensors.mqtt"):
            for ago in (1500, 1200, 900, 600, 300, 0):
                h.feed(b'{"hr": 70, "ts": %d}' % (NOW - ago), backlog=True)
        return [r.getMessage() for r in caplog.records if "apart" in r.getMessage()]

    [line] = said(None)
    assert line.startswith("Sensor watch:") and "`stale_after: 6min`" in line
    assert "70" not in line
    assert said(360.0) == []


async def test_a_reading_sent_again_with_its_own_time_is_taken_once_through_a_real_broker(
    mosquitto: MosquittoBroker,
) -> None:
    """A phone app sends its last reading again when it reconnects (a retry, ESPHome-like
    re-publishing of its states), live, with the time it was measured: the signals would
    take that heart rate twice at one time (in the minute's mean). A message of a person
    with the same time and values as the last one taken is that reading again: not given
    again; another value at that time, or a newer time, is a reading."""
    counters = Counters()
    connection = make_connection(mosquitto, counters=counters)
    clock = connection._clock
    config = sensor_config(topic="phone/alex/hr", value="hr", timestamp="ts")
    sensor = MqttSensor(config, connection, clock, counters, name="phone")
    sink = RecordingSink()
    measured = math.floor(clock.now()) - 5

    def reading(bpm: int, ago_s: int = 0) -> bytes:
        return json.dumps({"hr": bpm, "ts": measured - ago_s}).encode()

    async with running_sensor(connection, sensor, sink), device_client(mosquitto) as phone:
        for payload in (reading(66), reading(66), reading(67), reading(68, -1)):
            await phone.publish("phone/alex/hr", payload, qos=1)
        taken = [await sink.next() for _ in range(3)]
    assert [(r.time, r.value) for r in taken] == [
        (measured, 66.0),
        (measured, 67.0),
        (measured + 1, 68.0),
    ]
    assert sink.readings == taken
    assert sensor.diagnostics()["messages"] == 4


async def test_an_esphome_heart_rate_retained_without_a_time_is_never_taken_again_as_now(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    """ESPHome retains every state it publishes, without a time. Live, each is a reading now;
    the copy the broker sends again at every subscribe (a broker restart, ambient's own
    restart) is of unknown age, maybe hours: it is never a reading stamped now, nor is what
    the broker queued without a time while ambient was away."""
    broker = mosquitto_persistent
    topic = "esphome/bedroom/alex_hr"
    counters = Counters()
    scope = counters.scope

    def new_sensor() -> tuple[MqttConnection, MqttSensor]:
        connection = make_connection(broker, instance="home", counters=counters)
        config = sensor_config(topic=topic)
        return connection, MqttSensor(config, connection, connection._clock, counters, name="esp")

    async with device_client(broker, identifier="esp") as esp:
        await esp.publish(topic, b"72", qos=1, retain=True)  # from before ambient started
    sink = RecordingSink()
    connection, sensor = new_sensor()
    async with running_sensor(connection, sensor, sink):
        await connection.wait_subscribed(topic)
        async with device_client(broker, identifier="esp") as esp:
            await esp.publish(topic, b"73", qos=1, retain=True)
            assert (await sink.next()).value == 73.0
        await connection.publish("home/probe", b"", qos=1)  # the broker has our ack of 73
        ended = asyncio.ensure_future(connection.wait_attempt_ended())
        broker.stop()  # it keeps its retained messages and ambient's session
        await asyncio.wait_for(ended, WAIT_S)
        broker.start()
        await asyncio.wait_for(connection.wait_connected(), WAIT_S)
        await connection.wait_subscribed(topic)
    async with device_client(broker, identifier="esp") as esp:  # while ambient is away
        await esp.publish(topic, b"74", qos=1, retain=True)
    connection, sensor = new_sensor()  # ambient started again
    async with running_sensor(connection, sensor, sink):
        await connection.wait_subscribed(topic)
        async with device_client(broker, identifier="esp") as esp:
            await esp.publish(topic, b"75", qos=1, retain=True)
            assert (await sink.next()).value == 75.0
    assert [r.value for r in sink.readings] == [73.0, 75.0]
    # 72 and 74 dropped (74 queued, and retained: whichever came first), 73's copy a repeat
    dropped = scope(f"mqtt:{topic}")
    assert set(dropped) <= {"retained_without_time", "backlog_without_time"}
    assert dropped["retained_without_time"] >= 1
    assert sum(dropped.values()) + counters.get("mqtt", "retained_repeat") == 4


def test_a_sample_stamped_a_little_ahead_is_not_taken_again_in_the_next_upload() -> None:
    """A phone whose clock runs 30 s fast: its upload's newest sample is taken as now (not
    from the future). The next upload repeats it, by then in the past by our clock: it is the
    same sample, not a new one (it was taken again, its heart rate twice in the minute)."""
    h = Harness(
        value="data.metrics.0.data.*.Avg",
        timestamp="data.metrics.0.data.*.date",
        stale_after=600.0,
    )
    assert [(r.time, r.value) for r in h.feed(batch((66, -30)))] == [(NOW, 66.0)]
    h.clock.advance_to(NOW + 300)
    again = h.feed(batch((70, -300), (66, -30)))
    assert [(r.time, r.value) for r in again] == [(NOW + 300, 70.0)]


def test_a_steady_heart_at_whole_seconds_gives_a_reading_each_second() -> None:
    """A 1 Hz relay stamping whole seconds, a steady 60 bpm: each message has the value of
    the one before, at its own time, and each is a reading; only one of the same time and
    value (that reading sent again) is not. Another person's, of the same time and value, is
    theirs."""
    h = Harness(topic="hr/+", person=None, person_topic_level=1, value="hr", timestamp="ts")

    def sent(at: float, who: str = "alex") -> list[Reading]:
        return h.feed(b'{"hr": 60, "ts": %d}' % at, topic=f"hr/{who}")

    taken = [r.time for at in (NOW - 3, NOW - 2, NOW - 1) for r in sent(at)]
    assert taken == [NOW - 3, NOW - 2, NOW - 1]
    assert sent(NOW - 1) == []
    assert [(r.person, r.time) for r in sent(NOW - 1, "sam")] == [("sam", NOW - 1)]


def test_a_stamped_message_sent_again_is_not_counted_again() -> None:
    """A message sent again with its own time (a retry as the phone reconnects) is that
    reading again, given once: its impossible value (a spurious RR beside real ones, or a
    heart rate alone) is dropped and counted once too, as a repeated sample of an upload is."""
    h = Harness(metric="rr", value="rr", timestamp="ts")
    beats = json.dumps({"rr": [1044, 51.8, 980], "ts": NOW - 1}).encode()
    assert [r.value for r in h.feed(beats)] == [1044.0, 980.0]
    assert h.feed(beats) == []
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"out_of_range": 1}
    h = Harness(value="hr", timestamp="ts")
    impossible = json.dumps({"hr": 300, "ts": NOW - 1}).encode()
    assert h.feed(impossible) == h.feed(impossible) == []
    assert h.counters.scope("mqtt:zigbee2mqtt/alex_watch") == {"out_of_range": 1}


async def test_a_reading_the_broker_sends_again_after_a_lost_acknowledgement_is_taken_once_quietly(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """QoS 1 is at least once: a connection that drops after the sensor took a reading, before
    its acknowledgement reached the broker, gets the message again at the reconnect, flagged
    DUP. That is MQTT working as made, and the reading was taken: it was dropped again with a
    warning (queued while away without a time). Now it is skipped, counted, said at DEBUG."""
    topic = "zigbee2mqtt/alex_watch"
    counters = Counters()
    connection = make_connection(mosquitto, instance="home", counters=counters)
    sensor = MqttSensor(sensor_config(), connection, connection._clock, counters, name="watch")
    sink = RecordingSink()
    probes = Collector()
    connection.subscribe("test/probe", probes)

    def drop_before_the_acknowledgement(message: MqttMessage) -> None:
        """After the sensor's handler, before the acknowledgement: the link goes."""
        if message.payload == b"61" and not message.backlog:
            assert connection._client is not None
            link = connection._client._client.socket()
            assert isinstance(link, socket.socket)
            link.shutdown(socket.SHUT_RDWR)

    with caplog.at_level(logging.DEBUG, logger="ambient"):
        async with running_sensor(connection, sensor, sink), device_client(mosquitto) as device:
            connection.subscribe(topic, drop_before_the_acknowledgement)
            await connection.wait_subscribed(topic)
            dropped = asyncio.ensure_future(connection.wait_attempt_ended())
            await device.publish(topic, b"61", qos=1)
            assert (await sink.next()).value == 61.0
            await asyncio.wait_for(dropped, WAIT_S)
            await asyncio.wait_for(connection.wait_connected(), WAIT_S)
            # sent after the copy the broker sent again at the reconnect: it is handled first
            await device.publish("test/probe", b"", qos=1)
            await probes.next()
    assert [r.value for r in sink.readings] == [61.0]
    # (the link going is said: that is no warning of the reading)
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in said if r.name == "ambient.sensors.mqtt"] == []
    assert counters.scope(f"mqtt:{topic}") == {}
    assert counters.get("mqtt", "redelivered") == 1
    assert any("sent again: handled already" in r.getMessage() for r in caplog.records)
