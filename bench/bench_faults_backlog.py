"""Fault bench: how fast a persistent session's backlog drains after ambient was away.

A real Mosquitto on loopback (queueing without limit) holds N timestamped QoS-1 heart rates
published while ambient's client was away. Then, each from a fresh backlog:

1. ``mosquitto_sub`` takes them (the broker's own pace, the floor),
2. ambient's ``MqttConnection`` with a handler that only counts (the connection's pace),
3. a real ``ambient record`` whose CSV rows are read as they come (the whole path).

Times run from the first message (row) to the last, so start-up is left out.

Run: ``python bench/bench_faults_backlog.py [--readings 50000]`` (needs mosquitto and
mosquitto_sub). Stops by itself; prints readings/s for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from connections.mqtt_processes import (
    CLIENT_ID,
    INSTANCE,
    RECORDER_CLIENT_ID,
    TOPIC,
    create_session,
    flood,
    unlimited_queue_broker,
    write_config,
)
from fixtures.mosquitto import MosquittoBroker

from ambient.clock import RealClock
from ambient.config.mqtt import MqttConfig
from ambient.connections.mqtt import MqttConnection, MqttMessage
from ambient.counters import Counters

WAIT_S = 600.0


async def queued(broker: MosquittoBroker, readings: int) -> None:
    """A fresh backlog of ``readings`` messages for the recorder's session."""
    await create_session(broker)
    await flood(broker, readings, time.time() - readings / 1000.0 - 60.0)


async def with_mosquitto_sub(broker: MosquittoBroker, readings: int) -> float:
    command = ["mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-V", "5", "-c"]
    command += ["-x", "3600", "-i", RECORDER_CLIENT_ID, "-q", "1", "-t", TOPIC]
    process = await asyncio.create_subprocess_exec(
        *command, "-C", str(readings), stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    await process.stdout.readline()
    first_at = time.monotonic()
    await process.communicate()
    return (readings - 1) / (time.monotonic() - first_at)


async def with_connection(broker: MosquittoBroker, readings: int) -> float:
    config = MqttConfig(host=broker.host, port=broker.port, client_id=CLIENT_ID, discovery=False)
    connection = MqttConnection(config, INSTANCE, RealClock(), Counters(), role="record")
    taken: list[float] = []
    done = asyncio.Event()

    def count(_message: MqttMessage) -> None:
        taken.append(time.monotonic())
        if len(taken) >= readings:
            done.set()

    connection.subscribe(TOPIC, count, qos=1)
    task = asyncio.ensure_future(connection.run())
    try:
        await asyncio.wait_for(done.wait(), WAIT_S)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return (readings - 1) / (taken[-1] - taken[0])


def with_recorder(config: Path, readings: int) -> float:
    command = [sys.executable, "-m", "ambient", "record", "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--out", "/dev/stdout"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout is not None
    rows, first_at, partial = 0, 0.0, b""
    while rows < readings and (chunk := os.read(process.stdout.fileno(), 1 << 16)):
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        new_rows = sum(1 for line in lines if line[:1].isdigit())
        if new_rows and not rows:
            first_at = time.monotonic()
        rows += new_rows
    last_at = time.monotonic()
    process.terminate()
    process.wait()
    return (rows - 1) / (last_at - first_at)


async def run(readings: int) -> int:
    with tempfile.TemporaryDirectory() as directory:
        broker = unlimited_queue_broker(Path(directory) / "mosquitto")
        broker.start()
        try:
            config = write_config(Path(directory) / "ambient", broker)
            print(f"backlog of {readings:,} QoS-1 readings, first to last:")
            await queued(broker, readings)
            rate = await with_mosquitto_sub(broker, readings)
            print(f"  mosquitto_sub (the broker's pace): {rate:>8,.0f}/s")
            await queued(broker, readings)
            rate = await with_connection(broker, readings)
            print(f"  MqttConnection, counting handler:  {rate:>8,.0f}/s")
            await queued(broker, readings)
            rate = await asyncio.to_thread(with_recorder, config, readings)
            print(f"  ambient record, rows read:         {rate:>8,.0f}/s")
        finally:
            broker.kill()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=50_000)
    return asyncio.run(run(parser.parse_args().readings))


if __name__ == "__main__":
    sys.exit(main())
