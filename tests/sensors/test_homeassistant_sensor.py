"""HA entities as readings, against a real HA: numbers, booleans, attributes, units; bad values
named and counted; unknown gives no reading."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from pydantic import SecretStr
from sensors.watched_counters import WatchedCounters

from ambient.clock import Clock, RealClock, VirtualClock
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.config.sensors import HomeAssistantSensorConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.readings import Reading
from ambient.sensors.homeassistant import BadHaValue, HomeAssistantSensor, parse_value


class OutsideInRealTime(VirtualClock):
    """A virtual clock whose links to the outside (HA's times) run in real time, as a scaled
    one's do: moved on by the test, it makes HA's updates minutes apart on its own time."""

    def for_outside_links(self) -> Clock:
        return RealClock()


class QueueSink:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Reading] = asyncio.Queue()

    def put_nowait(self, reading: Reading) -> None:
        self.queue.put_nowait(reading)

    async def put(self, reading: Reading) -> None:
        await self.queue.put(reading)

    async def next(self) -> Reading:
        return await asyncio.wait_for(self.queue.get(), 10)


def sensor_config(**fields: Any) -> HomeAssistantSensorConfig:
    base: dict[str, Any] = {"type": "homeassistant", "person": "alex"}
    base.update(fields)
    return HomeAssistantSensorConfig(**base)


def state(value: Any, **attributes: Any) -> dict[str, Any]:
    return {"state": value, "attributes": attributes}


async def set_ha_state(ha: HomeAssistantInstance, entity_id: str, value: str) -> None:
    """Set an entity's state through HA's REST API, as a client (or integration) would."""
    async with HaProbe(ha.url, ha.token) as probe:
        await probe.set_state(entity_id, value)


class TestParseValue:
    def test_numbers_booleans_and_units(self) -> None:
        hr = sensor_config(entity_id="sensor.watch_heart_rate", metric="hr")
        assert parse_value(hr, state("72")) == 72.0
        presence = sensor_config(entity_id="binary_sensor.bed", metric="in_bed")
        assert parse_value(presence, state("on")) == 1.0
        assert parse_value(presence, state("off")) == 0.0
        rr = sensor_config(entity_id="sensor.rr", metric="rr", unit="s")
        assert parse_value(rr, state("0.85")) == pytest.approx(850.0)

    def test_unknown_and_unavailable_are_no_value(self) -> None:
        hr = sensor_config(entity_id="sensor.watch_heart_rate", metric="hr")
        assert parse_value(hr, state("unknown")) is None
        assert parse_value(hr, state("unavailable")) is None

    def test_unparseable_state_names_the_entity_but_never_the_state(self) -> None:
        """The message is a warning line and the sensor's status: a state such as `72 bpm` or
        `72,5` is a heart rate all the same, so it stays out of them."""
        hr = sensor_config(entity_id="sensor.watch_heart_rate", metric="hr")
        for text in ("fast", "72 bpm", "72,5"):
            with pytest.raises(BadHaValue) as raised:
                parse_value(hr, state(text))
            assert str(raised.value) == "sensor.watch_heart_rate: the state is not a number"

    def test_an_attribute_beyond_the_float_range_is_no_number_not_a_crash(self) -> None:
        """An integer attribute too large for a float raised OverflowError out of the state
        callback: it is refused as any value that is not a finite number."""
        steps = sensor_config(entity_id="sensor.phone", attribute="steps", metric="steps")
        with pytest.raises(BadHaValue) as raised:
            parse_value(steps, state("on", steps=10**400))
        assert raised.value.reason == "unparseable"
        assert str(raised.value) == "sensor.phone attribute steps: inf is not a finite number"

    def test_out_of_range_uses_configured_then_physiological_bounds(self) -> None:
        hr = sensor_config(entity_id="sensor.watch_heart_rate", metric="hr")
        with pytest.raises(
            BadHaValue, match=r"^sensor\.watch_heart_rate: hr outside 20\.\.250 bpm$"
        ):
            parse_value(hr, state("400"))  # the line is logged: never the value (heart data)
        steps = sensor_config(entity_id="sensor.steps", metric="steps_today", maximum=100000)
        with pytest.raises(BadHaValue, match="outside"):
            parse_value(steps, state("250000"))

    def test_heart_rate_zero_is_the_device_having_no_reading(self) -> None:
        hr = sensor_config(entity_id="sensor.watch_heart_rate", metric="hr")
        with pytest.raises(BadHaValue) as raised:
            parse_value(hr, state("0"))
        assert raised.value.reason == "hr_zero"
        with pytest.raises(BadHaValue) as raised:
            parse_value(hr, state("400"))
        assert raised.value.reason == "out_of_range"
        with pytest.raises(BadHaValue) as raised:
            parse_value(hr, state("fast"))
        assert raised.value.reason == "unparseable"
        anything = sensor_config(entity_id="sensor.watch_heart_rate", metric="hr", minimum=0)
        assert parse_value(anything, state("0")) == 0.0  # a range that says 0 is fine

    def test_rr_in_the_wrong_unit_says_the_likely_slip(self) -> None:
        rr = sensor_config(entity_id="sensor.watch", attribute="rr_interval", metric="rr")
        with pytest.raises(
            BadHaValue, match=r"rr outside 200\.\.3000 ms \(in seconds\? set `unit: s`\)$"
        ):
            parse_value(rr, state("ok", rr_interval=0.81))
        in_s = sensor_config(
            entity_id="sensor.watch", attribute="rr_interval", metric="rr", unit="s"
        )
        with pytest.raises(BadHaValue, match=r"\(in milliseconds\? leave out `unit: s`\)$"):
            parse_value(in_s, state("ok", rr_interval=810))
        slow = sensor_config(
            entity_id="sensor.watch", attribute="rr", metric="rr", unit="s", maximum=2000
        )
        with pytest.raises(BadHaValue, match=r"rr outside 200\.\.2000 ms$"):
            parse_value(slow, state("ok", rr=2.1))  # no slip: just slower than allowed

    def test_attribute(self) -> None:
        hr = sensor_config(entity_id="sensor.watch", attribute="heart_rate", metric="hr")
        assert parse_value(hr, state("ok", heart_rate=64)) == 64.0
        assert parse_value(hr, state("ok")) is None


@contextlib.asynccontextmanager
async def running_sensor(
    ha: HomeAssistantInstance, config: HomeAssistantSensorConfig, clock: Clock | None = None
) -> AsyncIterator[tuple[HomeAssistantSensor, QueueSink, WatchedCounters]]:
    """The sensor on ``clock`` (the real one by default), its client on the real one."""
    counters = WatchedCounters()
    client = HomeAssistantClient(
        HomeAssistantConfig(url=ha.url, token=SecretStr(ha.token)), RealClock(), counters
    )
    sensor = HomeAssistantSensor(
        config, client, clock or RealClock(), counters, name="ha_threshold"
    )
    sink = QueueSink()
    tasks = [asyncio.create_task(client.run()), asyncio.create_task(sensor.run(sink))]
    try:
        yield sensor, sink, counters
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.ha
async def test_entity_state_becomes_readings(ha: HomeAssistantInstance) -> None:
    config = sensor_config(
        entity_id="input_number.stress_threshold", metric="hr", minimum=40, maximum=180
    )
    async with HaProbe(ha.url, ha.token) as probe:
        for value in (99, 100):  # a change: a heart rate HA last updated long ago is stale
            await probe.call_service(
                "input_number", "set_value", {"entity_id": config.entity_id, "value": value}
            )
        async with running_sensor(ha, config) as (sensor, sink, counters):
            first = await sink.next()  # the current state on subscribe
            assert (first.person, first.metric, first.value, first.source) == (
                "alex",
                "hr",
                100.0,
                "ha_threshold",
            )
            await probe.call_service(
                "input_number", "set_value", {"entity_id": config.entity_id, "value": 120}
            )
            assert (await sink.next()).value == 120.0

            # 190 is a valid input_number but outside this sensor's range: error, no reading.
            await probe.call_service(
                "input_number", "set_value", {"entity_id": config.entity_id, "value": 190}
            )
            await probe.call_service(
                "input_number", "set_value", {"entity_id": config.entity_id, "value": 90}
            )
            assert (await sink.next()).value == 90.0  # 190 never arrived as a reading
            assert counters.get("ha:input_number.stress_threshold", "out_of_range") == 1
            assert sensor.last_error is not None
            assert "input_number.stress_threshold" in sensor.last_error
            assert "190" not in sensor.last_error  # heart data stays out of the warning


@pytest.mark.ha
async def test_unparseable_ha_state_is_counted(ha: HomeAssistantInstance) -> None:
    # HA's REST API lets a client set any state: the way a broken integration would look.
    config = sensor_config(entity_id="sensor.ambient_test_hr", metric="hr")
    async with HaProbe(ha.url, ha.token) as probe:
        assert probe._session is not None
        headers = {"Authorization": f"Bearer {ha.token}"}

        async def post(value: str) -> None:
            assert probe._session is not None
            async with probe._session.post(
                f"{ha.url}/api/states/{config.entity_id}", json={"state": value}, headers=headers
            ) as reply:
                assert reply.status in (200, 201)

        await post("70")
        async with running_sensor(ha, config) as (_sensor, sink, counters):
            assert (await sink.next()).value == 70.0
            await post("garbage")
            await post("unknown")
            await post("0")  # a watch off the wrist: no reading, counted, no warning
            await post("71")
            assert (await sink.next()).value == 71.0
            assert counters.get("ha:sensor.ambient_test_hr", "unparseable") == 1
            assert counters.get("ha:sensor.ambient_test_hr", "hr_zero") == 1
            assert _sensor.last_error is not None and "is not a number" in _sensor.last_error


@pytest.mark.ha
async def test_a_heart_rate_ha_last_updated_long_ago_is_no_reading_now(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """HA keeps a watch's last heart rate for hours after it went quiet: that is not the heart
    rate now. HA cannot backdate a state, so the sensor's clock is moved on instead: the same
    state, seen 10 minutes after HA last updated it."""
    config = sensor_config(entity_id="sensor.ambient_test_hr_held", metric="hr")
    async with HaProbe(ha.url, ha.token) as probe:
        assert probe._session is not None
        for value in ("unknown", "70"):  # updated now, whatever it held before
            async with probe._session.post(
                f"{ha.url}/api/states/{config.entity_id}",
                json={"state": value},
                headers={"Authorization": f"Bearer {ha.token}"},
            ) as reply:
                assert reply.status in (200, 201)

    async with running_sensor(ha, config) as (_sensor, sink, counters):
        assert (await sink.next()).value == 70.0  # just updated: a reading
    later = VirtualClock(time.time() + 600)
    async with running_sensor(ha, config, later) as (sensor, sink, counters):
        await counters.wait_for("ha:sensor.ambient_test_hr_held", "stale", 1)
        assert sink.queue.empty()
        assert sensor.readings == 0
    # Said, so that a clock gap between HA and this machine is not a silent absence of readings.
    [said] = [r for r in caplog.records if "last updated more than" in r.getMessage()]
    assert said.levelno == logging.WARNING
    assert "sensor.ambient_test_hr_held" in said.getMessage()
    assert "70" not in said.getMessage()


@pytest.mark.ha
async def test_a_heart_rate_ha_updated_a_minute_ago_keeps_its_time_counted_and_said(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """Seen a minute after HA updated it (at start, or after HA was unreachable): a reading
    of a minute ago, not of now, so the heart rate does not read current for 15 s; counted
    and said, naming the sensor and how far behind (the sensor's clock is moved on, as HA
    cannot backdate a state)."""
    config = sensor_config(entity_id="sensor.ambient_test_hr_behind", metric="hr")
    await set_ha_state(ha, config.entity_id, "70")
    later = VirtualClock(time.time() + 60)
    async with running_sensor(ha, config, later) as (_sensor, sink, counters):
        reading = await sink.next()
    assert reading.value == 70.0
    assert later.now() - 70 < reading.time < later.now() - 55
    assert counters.get("ha:sensor.ambient_test_hr_behind", "behind_clock") == 1
    [said] = [r for r in caplog.records if "behind" in r.getMessage()]
    assert said.levelno == logging.WARNING
    assert "ha_threshold" in said.getMessage() and "70" not in said.getMessage()


@pytest.mark.ha
@pytest.mark.parametrize(("behind_s", "counted"), [(90, "behind_clock"), (600, "stale")])
async def test_a_heart_rate_seen_minutes_late_without_a_stale_after_says_a_watch_needs_one(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture, behind_s: int, counted: str
) -> None:
    """A watch sampling every few minutes, read without a `stale_after` of its own: at every
    start its last sample is minutes old, read stale or not at all. Besides the clocks, the
    warning names the way out for such a watch (the line a watch owner meets first)."""
    config = sensor_config(entity_id=f"sensor.ambient_test_hr_watch_{behind_s}", metric="hr")
    await set_ha_state(ha, config.entity_id, "70")
    async with running_sensor(ha, config, VirtualClock(time.time() + behind_s)) as (
        _sensor,
        _sink,
        counters,
    ):
        await counters.wait_for(f"ha:{config.entity_id}", counted, 1)
    [said] = [r for r in caplog.records if config.entity_id in r.getMessage()]
    assert said.levelno == logging.WARNING
    assert "a watch that measures every few minutes" in said.getMessage()
    assert "give the sensor `stale_after:`" in said.getMessage()
    assert "docs/signals.md#every-kind-of-source" in said.getMessage()


@pytest.mark.ha
async def test_a_watch_with_its_own_stale_after_gives_its_last_sample_at_its_time_quietly(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """A watch whose heart rate comes every 15 minutes (`stale_after: 20min`), seen at start
    10 minutes after HA updated it: its last sample, of then (current for 10 more minutes),
    neither old news nor a clock behind: nothing counted, nothing said."""
    config = sensor_config(entity_id="sensor.ambient_test_hr_sparse", metric="hr")
    config = config.model_copy(update={"stale_after": 1200.0})
    await set_ha_state(ha, config.entity_id, "70")
    later = VirtualClock(time.time() + 600)
    async with running_sensor(ha, config, later) as (_sensor, sink, counters):
        reading = await sink.next()
    assert reading.value == 70.0
    assert later.now() - 610 < reading.time < later.now() - 595
    assert counters.get("ha:sensor.ambient_test_hr_sparse", "behind_clock") == 0
    assert counters.get("ha:sensor.ambient_test_hr_sparse", "stale") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.ha
async def test_an_entity_removed_while_running_is_said_and_read_again_when_back(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """An entity renamed in HA is, to its old id, removed: the readings stop, and a line says
    why (as one missing at start is said), naming the entity but no value."""
    config = sensor_config(entity_id="sensor.ambient_test_hr_renamed", metric="hr")
    url = f"{ha.url}/api/states/{config.entity_id}"
    async with HaProbe(ha.url, ha.token) as probe:
        assert probe._session is not None
        headers = {"Authorization": f"Bearer {ha.token}"}
        async with probe._session.post(url, json={"state": "70"}, headers=headers) as reply:
            assert reply.status in (200, 201)
        async with running_sensor(ha, config) as (_sensor, sink, counters):
            assert (await sink.next()).value == 70.0
            async with probe._session.delete(url, headers=headers) as reply:
                assert reply.status == 200
            await counters.wait_for("ha:sensor.ambient_test_hr_renamed", "removed_entity", 1)
            async with probe._session.post(url, json={"state": "72"}, headers=headers) as reply:
                assert reply.status in (200, 201)
            assert (await sink.next()).value == 72.0
    [said] = [r for r in caplog.records if "removed" in r.getMessage()]
    assert said.levelno == logging.WARNING
    assert "sensor.ambient_test_hr_renamed" in said.getMessage()
    assert "70" not in said.getMessage()


@pytest.mark.ha
async def test_a_watch_measuring_minutes_apart_without_a_stale_after_says_what_to_give(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """The companion app's heart rate every 5 minutes, configured without `stale_after`: it is
    current 15 s after each sample, so rules on it never fire; said once, with the span to
    give. The sensor's clock is moved on 5 minutes between HA's updates, while HA's times are
    read against the real one (as under `--speed`): each state is a reading of now."""
    config = sensor_config(entity_id="sensor.ambient_test_hr_every_5min", metric="hr")
    clock = OutsideInRealTime(time.time())
    async with running_sensor(ha, config, clock) as (_sensor, sink, _counters):
        for value in ("61", "63", "60", "64"):
            await set_ha_state(ha, config.entity_id, value)
            assert (await sink.next()).value == float(value)
            clock.advance_to(clock.now() + 300.0)
    [said] = [r for r in caplog.records if "apart" in r.getMessage()]
    assert said.levelno == logging.WARNING
    assert said.getMessage().startswith("Sensor ha_threshold: its heart rate came up to 5min")
    assert "`stale_after: 6min`" in said.getMessage() and "63" not in said.getMessage()
