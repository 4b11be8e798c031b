"""A Polar H10 streaming the real 5-minute NN series through real bleak code into readings."""

from __future__ import annotations

import pytest
from sensors.ble.ble_harness import CollectingSink, air, ble_config, nn_series, running
from sensors.ble.bumble_backend import EmulatedAir
from sensors.ble.strap import EmulatedStrap, polar_h10_stream

from ambient.clock import VirtualClock

__all__ = ["air"]

START = 1_800_000_000.0


async def test_polar_h10_streams_every_beat_with_back_computed_times(air: EmulatedAir) -> None:
    strap = EmulatedStrap(air, name="Polar H10 8C4A2B1D", address="F1:00:00:00:00:01")
    await strap.start()
    clock = VirtualClock(START)
    sink = CollectingSink()
    nn = nn_series()
    config = ble_config(name="Polar H10 8C4A2B1D", person="alex", watchdog=15.0)

    async with running(config, air, clock, sink) as sensor:
        await strap.wait_subscribed()
        sent_rr: list[int] = []
        for second, (packet, rr_raw) in enumerate(polar_h10_stream(nn), start=1):
            # the strap sends once a second: emulated time moves, the link does not wait
            clock.advance_to(START + second)
            assert await strap.notify(packet)
            sent_rr.extend(rr_raw)
            # every packet carries a valid HR: its reading marks the packet as delivered
            await sink.wait_until(lambda n=second: len(sink.metric("hr")) == n)  # type: ignore[misc]
        assert len(sink.metric("rr")) == len(sent_rr)
        diagnostics = sensor.diagnostics()

    rr = sink.metric("rr", "alex")
    assert len(rr) == len(nn) == 337
    assert [r.value for r in rr] == pytest.approx([raw * 1000 / 1024 for raw in sent_rr])
    # each interval within the 1/1024 s quantisation of the real series
    assert all(abs(r.value - ms) <= 0.5 for r, ms in zip(rr, nn, strict=True))
    # beat times: strictly increasing, gaps equal to the intervals within one notification
    times = [r.time for r in rr]
    assert times == sorted(times)
    assert times[-1] == START + len(sink.metric("hr"))
    # the real series' elapsed time survives the packing into 1 s notifications
    assert times[-1] - times[0] == pytest.approx(sum(nn[1:]) / 1000, abs=1.0)
    assert all(r.source == "Polar H10 8C4A2B1D" for r in rr)
    hr = sink.metric("hr")
    assert hr and all(30 <= r.value <= 120 for r in hr)
    assert not sink.metric("contact"), "flags 0x10: contact not supported, so no contact reading"
    assert diagnostics["connected"] is True
    assert diagnostics["battery_pct"] == 87
    assert diagnostics["body_sensor_location"] == "chest"
    assert diagnostics["rssi"] is not None
    assert diagnostics["last_notification_age_s"] == 0.0
    assert diagnostics["reconnects"] == 0


async def test_beats_in_one_notification_end_one_interval_apart(air: EmulatedAir) -> None:
    strap = EmulatedStrap(air, name="Polar H10 A", address="F1:00:00:00:00:02")
    await strap.start()
    clock = VirtualClock(START)
    sink = CollectingSink()
    # a watchdog longer than the jump: the strap's answer to the subscription may still be on
    # its way when the clock jumps, and 10 s without one would end the session
    config = ble_config(address="F1:00:00:00:00:02", watchdog=60.0)
    async with running(config, air, clock, sink):
        await strap.wait_subscribed()
        clock.advance_to(START + 10.0)
        # 1024 and 512 units: 1000 ms then 500 ms, the second ending at the notification
        assert await strap.notify(bytes([0x10, 70, 0x00, 0x04, 0x00, 0x02]))
        await sink.wait_until(lambda: len(sink.metric("rr")) == 2)

    first, second = sink.metric("rr")
    assert (first.value, second.value) == (1000.0, 500.0)
    assert second.time == START + 10.0
    assert first.time == pytest.approx(START + 9.5)
    assert first.person == "default"
