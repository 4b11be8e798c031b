"""The connection that never gives up: dropped links, silent straps, a busy or absent adapter.

These run on the real clock with test-speed settings (watchdog 0.5 s, backoff 20-200 ms):
bumble's link runs in real time, and the point is that the real timers fire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from pathlib import Path

import pytest
from bleak.backends.bluezdbus.defs import BLUEZ_ERROR_IN_PROGRESS, BLUEZ_ERROR_NOT_READY
from bleak.exc import BleakDBusError
from bleak_retry_connector import BleakConnectionError
from bumble.hci import Address
from sensors.ble.ble_harness import CollectingSink, air, ble_config, nn_series, running
from sensors.ble.bumble_backend import EmulatedAir, bluez_error
from sensors.ble.strap import EmulatedStrap, polar_h10_packet, to_raw
from sensors.watched_counters import WatchedCounters

from ambient.clock import RealClock, ScaledClock
from ambient.counters import Counters
from ambient.sensors.ble import (
    CONNECT_ATTEMPTS,
    DISCONNECT_TIMEOUT_S,
    BleSensor,
    _failure_reason,
)

__all__ = ["air"]

ADDRESS = "F1:00:00:00:00:10"


async def _strap(
    air: EmulatedAir, address: str = ADDRESS, name: str = "Polar H10 R"
) -> EmulatedStrap:
    strap = EmulatedStrap(air, name=name, address=address)
    await strap.start()
    return strap


class WaitsClock(RealClock):
    """The real clock, noting every wait a caller sleeps (the sensor's backoff between attempts)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits_s: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits_s.append(seconds)
        await super().sleep(seconds)


async def test_dropped_link_reconnects_within_the_backoff_bound(air: EmulatedAir) -> None:
    strap = await _strap(air)
    sink, counters = CollectingSink(), Counters()
    config = ble_config(address=ADDRESS, backoff_initial=0.05, backoff_max=0.2)
    clock = WaitsClock()
    async with running(config, air, clock, sink, counters) as sensor:
        await strap.wait_subscribed()
        assert await strap.notify(polar_h10_packet(60, [1024]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 1)

        before_drop = len(clock.waits_s)
        await strap.drop_link()
        await strap.wait_subscribed(count=2)
        waits_s = clock.waits_s[before_drop:]
        assert await strap.notify(polar_h10_packet(61, [1000]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 2)
        diagnostics = sensor.diagnostics()

    # The first wait after a flowing session is at most backoff_initial (what scan and connect
    # take on top is the emulated link's pace on a loaded machine, not the sensor's choice).
    assert waits_s and waits_s[0] <= config.backoff_initial
    assert diagnostics["reconnects"] == 1
    assert counters.get("ble:F1:00:00:00:00:10", "link_lost") == 1


async def test_silent_strap_is_reconnected_by_the_watchdog(air: EmulatedAir) -> None:
    strap = await _strap(air)
    sink, counters = CollectingSink(), Counters()
    config = ble_config(address=ADDRESS, watchdog=0.3)
    async with running(config, air, RealClock(), sink, counters) as sensor:
        await strap.wait_subscribed()
        assert await strap.notify(polar_h10_packet(60, [1024]))
        # the strap keeps the link up but says nothing more
        await strap.wait_subscribed(count=2, timeout_s=3.0)
        assert await strap.notify(polar_h10_packet(60, [1024]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 2)
        assert sensor.diagnostics()["connected"] is True

    assert counters.get("ble:F1:00:00:00:00:10", "silent") >= 1
    assert counters.get("ble:F1:00:00:00:00:10", "link_lost") == 0
    assert len(strap.device.connections) == 0, "the sensor disconnects (no leaked adapter slot)"


async def test_twenty_forced_disconnects_lose_and_duplicate_no_beat(air: EmulatedAir) -> None:
    strap = await _strap(air)
    sink = CollectingSink()
    nn = iter(nn_series())
    config = ble_config(address=ADDRESS, backoff_initial=0.01, backoff_max=0.05)
    sent_rr_raw: list[int] = []
    async with running(config, air, RealClock(), sink) as sensor:
        for session in range(1, 22):
            await strap.wait_subscribed(count=session)
            for _ in range(3):
                rr_raw = [to_raw(next(nn)), to_raw(next(nn))]
                assert await strap.notify(polar_h10_packet(70, rr_raw))
                sent_rr_raw.extend(rr_raw)
            if session <= 20:
                # drop right after sending: the beats are in flight as the link goes
                await strap.drop_link()
        await sink.wait_until(lambda: len(sink.metric("rr")) >= len(sent_rr_raw))
        diagnostics = sensor.diagnostics()

    received = [round(r.value * 1024 / 1000) for r in sink.metric("rr")]
    assert received == sent_rr_raw
    assert diagnostics["reconnects"] == 20
    assert diagnostics["connected"] is True


async def test_an_unanswered_disconnect_is_given_up_on_ambients_clock(air: EmulatedAir) -> None:
    """A Disconnect BlueZ never answers ends after DISCONNECT_TIMEOUT_S on the sensor's clock:
    on a clock 1,000 times faster that is 10 ms, and the strap is soon connected again."""
    strap = await _strap(air)
    air.hang_next_disconnects(1)
    sink, counters = CollectingSink(), Counters()
    speed = 1000.0
    config = ble_config(  # the test-speed settings, in this clock's seconds
        address=ADDRESS,
        watchdog=0.5 * speed,
        backoff_initial=0.02 * speed,
        backoff_max=0.2 * speed,
        scan_timeout=2.0 * speed,
    )
    async with running(config, air, ScaledClock(speed), sink, counters):
        await strap.wait_subscribed()
        # the strap says nothing: the watchdog ends the session, and its Disconnect hangs
        await strap.wait_subscribed(count=2, timeout_s=DISCONNECT_TIMEOUT_S / 2)
        assert await strap.notify(polar_h10_packet(61, [1000]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 1)

    assert counters.get("ble:F1:00:00:00:00:10", "disconnect_failed") == 1


async def test_bluez_in_progress_and_not_ready_are_retried(air: EmulatedAir) -> None:
    strap = await _strap(air)
    air.fail_next_scans(2, BLUEZ_ERROR_NOT_READY)
    air.fail_next_connects(2, BLUEZ_ERROR_IN_PROGRESS)
    sink, counters = CollectingSink(), Counters()
    async with running(ble_config(address=ADDRESS), air, RealClock(), sink, counters):
        await strap.wait_subscribed(timeout_s=5.0)
        assert await strap.notify(polar_h10_packet(60, [1024]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 1)

    scope = counters.scope("ble:F1:00:00:00:00:10")
    assert scope.get("bluez_not_ready") == 2
    # bleak-retry-connector retries InProgress inside one establish_connection call
    assert air.connect_attempts >= 3


async def test_absent_device_keeps_being_looked_for(air: EmulatedAir) -> None:
    sink, counters = CollectingSink(), WatchedCounters()
    config = ble_config(address="F1:00:00:00:00:99", scan_timeout=0.1)
    async with running(config, air, RealClock(), sink, counters) as sensor:
        await counters.wait_for("ble:F1:00:00:00:00:99", "not_found", 2)
        # then it shows up, and the sensor finds it
        strap = await _strap(air, address="F1:00:00:00:00:99")
        await strap.wait_subscribed(timeout_s=5.0)
        assert sensor.diagnostics()["connected"] is True


async def test_a_name_that_is_not_the_advertised_one_says_which_straps_were_seen(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """`name: Polar H10` while the strap advertises "Polar H10 8C4A2B1D": the name must be the
    advertised one exactly, and the line looking for it says which heart-rate devices it saw."""
    await _strap(air, address="F1:00:00:00:00:98", name="Polar H10 8C4A2B1D")
    counters = WatchedCounters()
    config = ble_config(id="alex_strap", name="Polar H10", scan_timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config, air, RealClock(), CollectingSink(), counters):
            await counters.wait_for("ble:alex_strap", "not_found", 1)
    [said] = [r.getMessage() for r in caplog.records if "not seen advertising" in r.getMessage()]
    assert "'Polar H10 8C4A2B1D'" in said
    assert "exactly" in said and "ambient scan" in said


async def test_no_dbus_is_a_scan_failure_saying_what_to_check(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Real bleak, on its BlueZ backend, with no system D-Bus to talk to (a Pi without
    bluetoothd, or this machine): the sensor never got as far as connecting, so it must not
    say it failed to connect."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no_bus'}")
    counters = WatchedCounters()
    config = ble_config(id="alex_strap", address=ADDRESS)
    sensor = BleSensor(config, RealClock(), counters, rng=random.Random(5))
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        task = asyncio.create_task(sensor.run(CollectingSink()))
        try:
            await counters.wait_for("ble:alex_strap", "scan_failed", 2)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    assert counters.get("ble:alex_strap", "connect_failed") == 0
    assert [r.getMessage() for r in caplog.records] == [
        "alex_strap: cannot scan on the default adapter: D-Bus not reachable (No such file or "
        "directory); is the system D-Bus running (in a container: is the host's "
        "/run/dbus/system_bus_socket mounted)?"
    ]


def test_bluez_errors_are_recognised_by_their_dbus_name_also_when_wrapped() -> None:
    """bleak-retry-connector gives up with an error of its own whose cause is bleak's."""
    cause = bluez_error(BLUEZ_ERROR_IN_PROGRESS)
    wrapped = BleakConnectionError(f"Polar H10 - {ADDRESS}: Failed to connect: {cause}")
    wrapped.__cause__ = cause
    assert _failure_reason(wrapped) == "bluez_in_progress"
    assert _failure_reason(bluez_error(BLUEZ_ERROR_NOT_READY)) == "bluez_not_ready"
    other = BleakDBusError("org.bluez.Error.Failed", ["Software caused connection abort"])
    assert _failure_reason(other) == "connect_failed"


async def test_an_address_no_device_has_says_which_straps_were_seen_with_their_addresses(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """A strap replaced by a new one of the same model has a new address: the line looking
    for the old one names the heart-rate devices it saw, and their addresses, to paste."""
    await _strap(air, address="F1:00:00:00:00:97", name="Polar H10 NEW")
    counters = WatchedCounters()
    config = ble_config(id="alex_strap", address="F1:00:00:00:00:96", scan_timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config, air, RealClock(), CollectingSink(), counters):
            await counters.wait_for("ble:alex_strap", "not_found", 1)
    [said] = [r.getMessage() for r in caplog.records if "not seen advertising" in r.getMessage()]
    assert "'Polar H10 NEW' F1:00:00:00:00:97" in said
    assert "`address:`" in said and "ambient scan" in said


async def test_a_strap_an_earlier_run_left_connected_is_taken_over(air: EmulatedAir) -> None:
    """The daemon killed while connected (or a Disconnect that failed) leaves the adapter
    connected to the strap, which does not advertise while connected: no scan finds it, so the
    sensor takes over the link the adapter holds."""
    strap = await _strap(air)
    adapter = await air.adapter("hci0")
    await adapter.device.connect(Address(ADDRESS))  # the earlier run's link, never closed
    sink, counters = CollectingSink(), Counters()
    config = ble_config(address=ADDRESS.lower(), scan_timeout=0.2)
    async with running(config, air, RealClock(), sink, counters) as sensor:
        await strap.wait_subscribed()
        assert await strap.notify(polar_h10_packet(60, [1024]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 1)
        assert sensor.diagnostics()["connected"] is True

    assert strap.connections == 1, "the link the earlier run left, not a new one"
    assert counters.get(f"ble:{ADDRESS.lower()}", "not_found") == 0


async def test_a_strap_away_for_hours_is_warned_about_ever_more_rarely(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """A strap taken off for the night is looked for all night (a search every ~1.5 min with
    the default settings); its `not seen advertising` line is said at once, then after 1, 2,
    4 ... minutes up to hourly: two hours make 7 warnings, not a hundred. On a clock 10,000
    times faster, two hours pass in 0.7 s (a loaded machine makes fewer searches: a
    millisecond is 10 s here)."""
    speed = 10_000.0
    counters = WatchedCounters()
    config = ble_config(  # the default search and backoff times
        id="alex_strap", address=ADDRESS, scan_timeout=30.0, backoff_initial=1.0, backoff_max=60.0
    )
    clock = ScaledClock(speed)
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config, air, clock, CollectingSink(), counters):
            end = clock.now() + 2 * 3600.0
            while clock.now() < end:
                await counters.wait_for(
                    "ble:alex_strap", "not_found", counters.get("ble:alex_strap", "not_found") + 1
                )
    searches = counters.get("ble:alex_strap", "not_found")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert searches >= 3 * len(warnings)
    assert 3 <= len(warnings) <= 8  # at most at 0, 1, 3, 7, 15, 31, 63 and 123 minutes
    assert "similar suppressed" in warnings[-1].getMessage()


async def test_a_strap_that_connects_but_says_nothing_is_said_connected_once(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """A strap off the body may keep accepting the link and send nothing: the watchdog
    reconnects it every `watchdog`, all night. Its `connected` line is said at INFO the first
    time and again only after a session that brought notifications (the warning about the
    silence says the rest, ever more rarely)."""
    strap = await _strap(air)
    counters = WatchedCounters()
    config = ble_config(id="alex_strap", address=ADDRESS, watchdog=0.2)
    with caplog.at_level(logging.INFO, logger="ambient.sensors.ble"):
        async with running(config, air, RealClock(), CollectingSink(), counters):
            await strap.wait_subscribed(count=3)
            assert await strap.notify(polar_h10_packet(60, [1024]))  # it speaks once
            await strap.wait_subscribed(count=6)

    # said at the 1st session, and at the 4th (after the 3rd brought a notification)

    connected = [r for r in caplog.records if "connected to" in r.getMessage()]
    assert [r.levelno for r in connected] == [logging.INFO, logging.INFO]


async def test_a_subscription_never_answered_ends_the_session_and_is_not_shown_connected(
    air: EmulatedAir,
) -> None:
    """BlueZ leaves the subscription to Heart Rate Measurement unanswered, the link up: the
    sensor must not stay in that session for ever, shown connected and giving nothing; it
    gives up after `watchdog`, and the next session streams."""
    strap = await _strap(air)
    air.hang_next_subscribes(1)
    sink, counters = CollectingSink(), WatchedCounters()
    config = ble_config(id="alex_strap", address=ADDRESS, watchdog=0.3)
    async with running(config, air, RealClock(), sink, counters) as sensor:
        await counters.wait_for("ble:alex_strap", "subscribe_timeout", 1)
        assert sensor.diagnostics()["connected"] is False
        await strap.wait_subscribed()
        assert await strap.notify(polar_h10_packet(60, [1024]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 1)


async def test_a_strap_back_after_sessions_that_brought_nothing_says_so_at_info(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """At the edge of range a session often ends before its first notification (the link
    lost at once, the subscription unanswered); the next one's `connected` line is at DEBUG
    (a strap off the body would say it every `watchdog`). When notifications flow again,
    one INFO line says the strap is back, after the warnings about it."""
    strap = await _strap(air)
    air.hang_next_subscribes(1)
    sink, counters = CollectingSink(), WatchedCounters()
    config = ble_config(id="alex_strap", address=ADDRESS, watchdog=0.3)
    with caplog.at_level(logging.INFO, logger="ambient.sensors.ble"):
        async with running(config, air, RealClock(), sink, counters):
            await counters.wait_for("ble:alex_strap", "subscribe_timeout", 1)
            await strap.wait_subscribed()
            assert await strap.notify(polar_h10_packet(60, [1024]))
            await sink.wait_until(lambda: len(sink.metric("rr")) == 1)
            assert await strap.notify(polar_h10_packet(60, [1024]))
            await sink.wait_until(lambda: len(sink.metric("rr")) == 2)

    said = [
        r for r in caplog.records if r.name == "ambient.sensors.ble" and r.levelno >= logging.INFO
    ]
    warned = max(i for i, r in enumerate(said) if r.levelno == logging.WARNING)
    [back] = said[warned + 1 :]
    assert back.levelno == logging.INFO
    assert "alex_strap" in back.getMessage() and ADDRESS in back.getMessage()
    assert "60" not in back.getMessage()  # no heart data above DEBUG


async def test_a_watch_given_by_its_private_address_is_read_and_told_to_be_found_by_name(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """A watch broadcasting heart rate from a private address (one it changes every few
    minutes) is found by that address only until it changes it: the sensor reads it meanwhile,
    and says once, on finding it, to give its `name:` instead."""
    watch = await _strap(air, address="5A:11:22:33:44:55", name="Forerunner 255")
    sink = CollectingSink()
    config = ble_config(id="alex_watch", address="5a:11:22:33:44:55")
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config, air, RealClock(), sink):
            await watch.wait_subscribed()
            assert await watch.notify(bytes([0x00, 64]))
            await sink.wait_until(lambda: len(sink.metric("hr")) == 1)
            await watch.drop_link()
            await watch.wait_subscribed(count=2)

    [said] = [r.getMessage() for r in caplog.records if "private" in r.getMessage()]
    assert said.startswith("alex_watch: 5A:11:22:33:44:55 is a private address")
    assert 'name: "Forerunner 255"' in said


async def test_the_devices_seen_say_which_address_is_private(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """The address of a watch that changed its private address is not the one to put in
    `address:` instead: the line looking for the old one says it is private."""
    await _strap(air, address="4B:11:22:33:44:66", name="Forerunner 255")
    counters = WatchedCounters()
    config = ble_config(id="alex_watch", address="5A:11:22:33:44:55", scan_timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config, air, RealClock(), CollectingSink(), counters):
            await counters.wait_for("ble:alex_watch", "not_found", 1)
    [said] = [r.getMessage() for r in caplog.records if "not seen advertising" in r.getMessage()]
    assert "'Forerunner 255' 4B:11:22:33:44:66 (private: find it by `name:`)" in said


async def test_a_connection_the_adapter_refuses_as_not_ready_says_in_words_what_to_check(
    air: EmulatedAir, caplog: pytest.LogCaptureFixture
) -> None:
    """The adapter powered off between finding the strap and connecting to it: BlueZ answers
    every Connect `NotReady`. The line says so in words, with the fix, not as a counter's key."""
    await _strap(air)
    air.fail_next_connects(CONNECT_ATTEMPTS, BLUEZ_ERROR_NOT_READY)
    counters = WatchedCounters()
    config = ble_config(id="alex_strap", address=ADDRESS)
    with caplog.at_level(logging.WARNING, logger="ambient.sensors.ble"):
        async with running(config, air, RealClock(), CollectingSink(), counters):
            await counters.wait_for("ble:alex_strap", "bluez_not_ready", 1)

    [said] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("alex_strap")]
    assert said.startswith("alex_strap: cannot connect: the adapter is not ready (")
    assert "bluetoothctl power on" in said
