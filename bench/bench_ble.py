"""BLE benchmarks: parser throughput, and CPU per connected strap over a 10-minute session.

Run: ``python bench/bench_ble.py``. The session streams 10 emulated minutes of Polar H10
notifications (one a second, the real NN series looped) from a bumble strap through real bleak
code into a ``BleSensor``, as fast as the in-process link carries them. It is run twice: once with
the sensor, once with a bare bumble subscriber; the difference is the sensor's (bleak + parsing +
readings) share of the CPU, reported per emulated minute.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bumble import gatt  # noqa: E402
from bumble.device import Peer  # noqa: E402
from sensors.ble.ble_harness import CollectingSink, ble_config, nn_series, running  # noqa: E402
from sensors.ble.bumble_backend import EmulatedAir  # noqa: E402
from sensors.ble.strap import EmulatedStrap, polar_h10_stream  # noqa: E402

from ambient.clock import VirtualClock  # noqa: E402
from ambient.sensors.heart_rate import parse_measurement  # noqa: E402

SESSION_MINUTES = 10
START = 1_800_000_000.0


def _session_packets() -> list[bytes]:
    nn = itertools.cycle(nn_series())
    packets: list[bytes] = []
    for packet, _ in polar_h10_stream(nn):
        packets.append(packet)
        if len(packets) == SESSION_MINUTES * 60:
            return packets
    return packets


def bench_parser() -> float:
    vectors = [
        bytes.fromhex(line.split("\t")[1])
        for line in (ROOT / "tests/data/hrm-vectors.tsv").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    packets = (_session_packets() + vectors) * 50
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for packet in packets:
            parse_measurement(packet)
        best = min(best, time.perf_counter() - started)
    return len(packets) / best


async def _stream(with_sensor: bool, packets: list[bytes]) -> tuple[float, int]:
    air = EmulatedAir()
    strap = EmulatedStrap(air, name="Polar H10 BENCH", address="F9:00:00:00:00:01")
    await strap.start()
    clock = VirtualClock(START)
    sink = CollectingSink()
    if with_sensor:
        config = ble_config(address="F9:00:00:00:00:01", watchdog=15.0)
        async with running(config, air, clock, sink):
            await strap.wait_subscribed()
            cpu = time.process_time()
            for second, packet in enumerate(packets, start=1):
                clock.advance_to(START + second)
                await strap.notify(packet)
                await sink.wait_until(lambda n=second: len(sink.metric("hr")) >= n)  # type: ignore[misc]
            return time.process_time() - cpu, len(sink.readings)
    # baseline: the same strap and link, a bare bumble subscriber instead of bleak + sensor
    adapter = await air.adapter("hci0")
    connection = await adapter.device.connect(strap.device.random_address)
    peer = Peer(connection)
    await peer.discover_services()
    for service in peer.services:
        await service.discover_characteristics()
    hrm = peer.get_characteristics_by_uuid(gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC)[0]
    received = asyncio.Event()
    count = 0

    def on_value(_value: bytes) -> None:
        nonlocal count
        count += 1
        received.set()

    await hrm.subscribe(on_value)
    await strap.wait_subscribed()
    cpu = time.process_time()
    for second, packet in enumerate(packets, start=1):
        clock.advance_to(START + second)
        await strap.notify(packet)
        while count < second:
            received.clear()
            await received.wait()
    return time.process_time() - cpu, count


def main() -> None:
    rate = bench_parser()
    print(f"parser: {rate:,.0f} notifications/s (parse_measurement, one core)")
    packets = _session_packets()
    sensor_cpu, readings = asyncio.run(_stream(True, packets))
    base_cpu, _ = asyncio.run(_stream(False, packets))
    minutes = len(packets) / 60
    print(
        f"session: {len(packets)} notifications = {minutes:.0f} emulated minutes, "
        f"{readings} readings"
    )
    print(
        f"  total CPU with sensor:  {sensor_cpu:.3f} s ({sensor_cpu / minutes * 1000:.1f} ms/min)"
    )
    print(f"  bare bumble baseline:   {base_cpu:.3f} s ({base_cpu / minutes * 1000:.1f} ms/min)")
    share = max(0.0, sensor_cpu - base_cpu)
    print(
        f"  sensor share (bleak + parse + readings): {share:.3f} s = "
        f"{share / minutes * 1000:.1f} ms CPU per emulated minute per strap"
    )


if __name__ == "__main__":
    main()
