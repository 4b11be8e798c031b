"""Device quirks end to end: Garmin's bogus RR, HR-only devices, lost contact, bad packets,
two straps for two people."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from bleak.backends.bluezdbus.defs import BLUEZ_ERROR_IN_PROGRESS
from sensors.ble.ble_harness import CollectingSink, air, ble_config, running
from sensors.ble.bumble_backend import EmulatedAir
from sensors.ble.strap import EmulatedStrap, polar_h10_packet
from sensors.watched_counters import WatchedCounters

from ambient.clock import RealClock, VirtualClock
from ambient.counters import Counters
from ambient.sensors.ble import BleSensor

__all__ = ["air"]


async def test_garmin_spurious_rr_is_dropped_and_counted(air: EmulatedAir) -> None:
    strap = EmulatedStrap(air, name="HRM-Dual:123", address="F2:00:00:00:00:01")
    await strap.start()
    sink, counters = CollectingSink(), Counters()
    async with running(ble_config(name="HRM-Dual:123"), air, VirtualClock(100.0), sink, counters):
        await strap.wait_subscribed()
        # the real capture: HR 56, RR 1069/1024 s and a spurious 53/1024 s (51.8 ms)
        assert await strap.notify(bytes.fromhex("10 38 2d 04 35 00"))
        await sink.wait_until(lambda: len(sink.metric("hr")) == 1)

    assert [r.value for r in sink.metric("rr")] == [pytest.approx(1069 * 1000 / 1024)]
    # The dropped 51.8 ms is still time the strap measured after that beat.
    assert sink.metric("rr")[0].time == pytest.approx(100.0 - 53 / 1024)
    assert counters.get("ble:HRM-Dual:123", "rr_out_of_range") == 1


async def test_hr_only_device_gives_heart_rate_and_no_beats(air: EmulatedAir) -> None:
    strap = EmulatedStrap(
        air, name="Mi Band", address="F2:00:00:00:00:02", battery_pct=None, body_location=None
    )
    await strap.start()
    sink = CollectingSink()
    async with running(ble_config(name="Mi Band"), air, VirtualClock(0.0), sink) as sensor:
        await strap.wait_subscribed()
        for hr in (64, 66, 65):
            assert await strap.notify(bytes([0x00, hr]))
        await sink.wait_until(lambda: len(sink.metric("hr")) == 3)
        diagnostics = sensor.diagnostics()

    assert [r.value for r in sink.metric("hr")] == [64.0, 66.0, 65.0]
    assert sink.metric("rr") == []
    assert diagnostics["battery_pct"] is None


async def test_lost_contact_is_a_contact_reading_never_hr_zero(air: EmulatedAir) -> None:
    strap = EmulatedStrap(air, name="Polar H7", address="F2:00:00:00:00:03")
    await strap.start()
    sink, counters = CollectingSink(), Counters()
    async with running(ble_config(name="Polar H7"), air, VirtualClock(0.0), sink, counters):
        await strap.wait_subscribed()
        packets = [
            bytes.fromhex("16 3c 11 04"),  # contact, HR 60, one RR
            bytes.fromhex("04 00"),  # strap slipped: contact supported, none, HR 0
            bytes.fromhex("14 00 00 04"),  # still off, a stray RR
            bytes.fromhex("16 3d 00 04"),  # back on
        ]
        for packet in packets:
            assert await strap.notify(packet)
        await sink.wait_until(lambda: len(sink.metric("contact")) == 3)
        await sink.wait_until(lambda: len(sink.metric("hr")) == 2)

    assert [r.value for r in sink.metric("contact")] == [1.0, 0.0, 1.0]
    assert [r.value for r in sink.metric("hr")] == [60.0, 61.0]
    assert all(r.value > 0 for r in sink.metric("hr"))
    assert len(sink.metric("rr")) == 2
    assert counters.get("ble:Polar H7", "rr_without_contact") == 1


async def test_bad_packets_are_counted_logged_and_survived(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    strap = EmulatedStrap(air, name="Cheap strap", address="F2:00:00:00:00:04")
    await strap.start()
    sink, counters = CollectingSink(), Counters()
    caplog.set_level(logging.WARNING, logger="ambient.sensors.ble")
    async with running(ble_config(name="Cheap strap"), air, VirtualClock(0.0), sink, counters):
        await strap.wait_subscribed()
        for packet in (b"", b"\x01\x50", b"\x08\x50\x01", b"\x10"):
            assert await strap.notify(packet)
        assert await strap.notify(polar_h10_packet(72, [850]))
        await sink.wait_until(lambda: len(sink.metric("hr")) == 1)

    scope = counters.scope("ble:Cheap strap")
    assert scope.get("packet_empty") == 1
    assert scope.get("packet_too_short") == 3
    assert len(sink.metric("rr")) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "Cheap strap" in message and "bad heart rate packet" in message for message in warnings
    )
    # throttled: one warning per reason, and no health data above DEBUG
    assert len(warnings) == 2
    assert not any("72" in message or "850" in message for message in warnings)


async def test_battery_notifications_update_diagnostics(air: EmulatedAir) -> None:
    strap = EmulatedStrap(air, name="Polar H10 B", address="F2:00:00:00:00:05", battery_pct=40)
    await strap.start()
    sink = CollectingSink()
    async with running(ble_config(name="Polar H10 B"), air, VirtualClock(0.0), sink) as sensor:
        await strap.wait_subscribed()
        assert await strap.notify(polar_h10_packet(60, [1024]))
        await sink.wait_until(lambda: len(sink.metric("hr")) == 1)
        # the sensor reads the level, then subscribes to it
        await strap.wait_until(lambda: bool(strap.battery_subscribers))
        assert sensor.diagnostics()["battery_pct"] == 40
        await strap.set_battery(39)
        # a reading marks the battery notification (sent before it) as delivered
        assert await strap.notify(polar_h10_packet(60, [1024]))
        await sink.wait_until(lambda: len(sink.metric("hr")) == 2)
        assert sensor.diagnostics()["battery_pct"] == 39


async def test_two_straps_two_people_on_one_adapter(air: EmulatedAir) -> None:
    alex = EmulatedStrap(air, name="Polar H10 ALEX", address="F3:00:00:00:00:01")
    sam = EmulatedStrap(air, name="Polar H10 SAM", address="F3:00:00:00:00:02")
    await alex.start()
    await sam.start()
    sink = CollectingSink()
    clock = RealClock()
    config_alex = ble_config(address="F3:00:00:00:00:01", person="alex", adapter="hci0")
    config_sam = ble_config(address="F3:00:00:00:00:02", person="sam", adapter="hci0")
    async with running(config_alex, air, clock, sink), running(config_sam, air, clock, sink):
        await alex.wait_subscribed()
        await sam.wait_subscribed()
        for _ in range(5):
            assert await alex.notify(polar_h10_packet(60, [1024]))
            assert await sam.notify(polar_h10_packet(80, [768]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 10)

    assert [r.value for r in sink.metric("rr", "alex")] == [1000.0] * 5
    assert [r.value for r in sink.metric("rr", "sam")] == [750.0] * 5
    assert {r.source for r in sink.metric("hr", "sam")} == {"F3:00:00:00:00:02"}


async def test_one_persons_strap_is_found_while_anothers_absent_strap_is_searched_for(
    air: EmulatedAir,
) -> None:
    """BlueZ gives a process one discovery session per adapter: the sensors of one ambient
    share their adapter's scan. Sam's strap is found while Alex's absent one is searched for
    (not refused as `InProgress` until Alex's search pauses), and found again after its link
    drops."""
    sam = EmulatedStrap(air, name="Polar H10 SAM", address="F3:00:00:00:00:02")
    await sam.start()
    sink, counters = CollectingSink(), Counters()
    clock = RealClock()
    config_alex = ble_config(id="alex", address="F3:00:00:00:00:01", scan_timeout=5.0)
    config_sam = ble_config(id="sam", address="F3:00:00:00:00:02", person="sam")
    async with running(config_alex, air, clock, sink, counters):
        await air.wait_scanning()  # Alex's search starts first
        async with running(config_sam, air, clock, sink, counters):
            await sam.wait_subscribed(timeout_s=3.0)
            await sam.drop_link()
            await sam.wait_subscribed(count=2, timeout_s=3.0)

    assert counters.scope("ble:sam").get("bluez_in_progress", 0) == 0
    assert counters.scope("ble:alex").get("bluez_in_progress", 0) == 0
    assert not air.adapters["hci0"].scanners, "the scan stops when no sensor listens"


@pytest.mark.parametrize(
    ("alex_adapter", "sam_adapter", "where"),
    [("hci0", None, "the default adapter"), (None, "hci0", "hci0")],
    ids=["named-first", "named-second"],
)
async def test_one_adapter_named_two_ways_is_said_with_its_fix_not_as_a_passing_busy(
    air: EmulatedAir,
    caplog: pytest.LogCaptureFixture,
    alex_adapter: str | None,
    sam_adapter: str | None,
    where: str,
) -> None:
    """`adapter: hci0` in one entry and none in another are two scans of one adapter: BlueZ
    refuses the second as `InProgress` for as long as the first searches (a strap off for the
    night: all night). That is not an adapter busy for a moment: the line says the fix."""
    sink, counters = CollectingSink(), WatchedCounters()
    clock = RealClock()
    config_alex = ble_config(id="alex", address="F3:00:00:00:00:01", adapter=alex_adapter)
    config_sam = ble_config(
        id="sam", address="F3:00:00:00:00:02", person="sam", adapter=sam_adapter
    )
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config_alex, air, clock, sink, counters):
            await air.wait_scanning()  # Alex's search starts first
            async with running(config_sam, air, clock, sink, counters):
                await counters.wait_for("ble:sam", "bluez_in_progress", 1)

    [said] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sam:")]
    assert f"cannot scan on {where}: alex searches it" in said
    assert "in a moment" not in said
    assert "`adapter: hci0`" in said and "alex" in said


async def test_a_dongle_busy_for_a_moment_beside_the_default_adapter_is_no_config_to_change(
    air: EmulatedAir,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dongle (`adapter: hci1`) beside entries on the default adapter is two adapters, as
    the page advises for more devices: a passing `InProgress` from the dongle is said as the
    adapter busy for a moment, not as a config to change."""
    sink, counters = CollectingSink(), WatchedCounters()
    clock = RealClock()
    config_alex = ble_config(id="alex", address="F3:00:00:00:00:01")
    config_sam = ble_config(id="sam", address="F3:00:00:00:00:02", person="sam", adapter="hci1")
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config_alex, air, clock, sink, counters):
            await air.wait_scanning()  # Alex's search of the default adapter runs
            air.fail_next_scans(1, BLUEZ_ERROR_IN_PROGRESS)
            async with running(config_sam, air, clock, sink, counters):
                await counters.wait_for("ble:sam", "bluez_in_progress", 1)

    [said] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sam:")]
    assert said.startswith("sam: cannot scan on hci1: ")
    assert "alex" not in said and "same way" not in said


async def test_a_shared_scan_that_went_deaf_is_started_again_while_sensors_keep_listening(
    air: EmulatedAir,
) -> None:
    """bluetoothd restarted while two absent straps were looked for: Alex's search goes on, so
    the shared scan does not stop on its own; Sam's search that ends with nothing found starts
    it again, and Sam's strap coming back is found (long before Alex's search ends)."""
    sink, counters = CollectingSink(), WatchedCounters()
    clock = RealClock()
    config_alex = ble_config(id="alex", address="F3:00:00:00:00:01", scan_timeout=10.0)
    config_sam = ble_config(id="sam", address="F3:00:00:00:00:02", person="sam", scan_timeout=0.3)
    async with running(config_alex, air, clock, sink, counters):
        await air.wait_scanning()  # Alex's search goes on while Sam's starts and ends
        async with running(config_sam, air, clock, sink, counters):
            await counters.wait_for("ble:sam", "not_found", 1)
            air.lose_scans()
            sam = EmulatedStrap(air, name="Polar H10 SAM", address="F3:00:00:00:00:02")
            await sam.start()
            await sam.wait_subscribed(timeout_s=3.0)


async def test_one_strap_listed_twice_is_read_for_one_person_only(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """A strap moved to Sam by adding an entry, and Alex's left in: both entries find the one
    strap, and reading it for both would give Sam's heartbeats to Alex too. The first to
    connect reads it; the other says so and keeps looking (for a strap of its own)."""
    strap = EmulatedStrap(air, name="Polar H10 ALEX", address="F3:00:00:00:00:01")
    await strap.start()
    sink, counters = CollectingSink(), WatchedCounters()
    clock = RealClock()
    config_alex = ble_config(id="alex_strap", address="F3:00:00:00:00:01", person="alex")
    config_sam = ble_config(id="sam_strap", address="f3:00:00:00:00:01", person="sam")
    with caplog.at_level(logging.INFO, logger="ambient.sensors.ble"):
        async with running(config_alex, air, clock, sink, counters):
            await strap.wait_subscribed()
            async with running(config_sam, air, clock, sink, counters):
                await counters.wait_for("ble:sam_strap", "read_by_another", 1)
                assert await strap.notify(polar_h10_packet(60, [1024]))
                await sink.wait_until(lambda: len(sink.metric("rr")) >= 1)
                await counters.wait_for("ble:sam_strap", "read_by_another", 2)

    assert {r.person for r in sink.readings} == {"alex"}
    assert strap.subscriptions == 1
    [said] = {r.getMessage() for r in caplog.records if "sam_strap" in r.getMessage()}
    assert "alex_strap" in said and "F3:00:00:00:00:01" in said
    assert not [r for r in caplog.records if "taking the link over" in r.getMessage()]


async def test_a_sensor_stopped_while_its_scan_starts_leaves_no_search_behind(
    air: EmulatedAir,
) -> None:
    """A reload stops the sensors; one stopped while its scan was starting must still end the
    search once it has started: BlueZ keeps a program's one search, and would refuse every
    later one (`InProgress`) until bluetoothd restarts."""
    held = air.hold_next_scan_start()
    sink, counters = CollectingSink(), Counters()
    clock = RealClock()
    config = ble_config(id="alex", address="F3:00:00:00:00:01")
    sensor = BleSensor(config, clock, counters, backend=air.backend)
    task = asyncio.create_task(sensor.run(sink))
    async with asyncio.timeout(3.0):
        await held.reached.wait()
        task.cancel()  # the reload stops the sensor...
        held.released.set()  # ...and BlueZ's answer comes after
        with contextlib.suppress(asyncio.CancelledError):
            await task
    strap = EmulatedStrap(air, name="Polar H10 ALEX", address="F3:00:00:00:00:01")
    await strap.start()
    async with running(config, air, clock, sink, counters):  # the reloaded config's sensor
        await strap.wait_subscribed(timeout_s=3.0)

    assert counters.scope("ble:alex").get("bluez_in_progress", 0) == 0
