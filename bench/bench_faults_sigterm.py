"""Fault bench: SIGTERM under a QoS-1 flood loses nothing the broker handed over.

A real Mosquitto on loopback (queueing without limit), a publisher flooding timestamped heart
rates at QoS 1, and real ``ambient record`` processes: the first is stopped with SIGTERM
half-way through the flood while the publisher keeps going; a second one (same client id, same
persistent session) takes over. Every reading must be in one of the two outputs.

With ``--restart-after-flood`` the second recorder starts only once the flood is over, so
everything it takes was queued by the broker: its rate is how fast a session's backlog drains.

Run: ``python bench/bench_faults_sigterm.py [--readings 80000] [--restart-after-flood]`` (needs
mosquitto). Stops by itself; prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from connections.mqtt_processes import (
    Recorder,
    create_session,
    flood,
    reading_time,
    unlimited_queue_broker,
    write_config,
)

WAIT_S = 600.0


async def run(readings: int, restart_after_flood: bool) -> int:
    with tempfile.TemporaryDirectory() as directory:
        broker = unlimited_queue_broker(Path(directory) / "mosquitto")
        broker.start()
        try:
            config = write_config(Path(directory) / "ambient", broker)
            start_s = time.time() - readings / 1000.0 - 60.0
            await create_session(broker)
            publishing = asyncio.ensure_future(flood(broker, readings, start_s))
            first = Recorder(config)
            reached = await asyncio.to_thread(
                first.wait_rows, readings // 3, time.monotonic() + WAIT_S
            )
            stop_started = time.monotonic()
            first_code = await asyncio.to_thread(first.stop)
            stop_s = time.monotonic() - stop_started
            if restart_after_flood:
                await publishing  # the second recorder then drains a pure backlog
            second = Recorder(config)
            await publishing
            published_at = time.monotonic()
            await asyncio.to_thread(
                second.wait_rows, readings, time.monotonic() + WAIT_S, first.times
            )
            caught_up_at = time.monotonic()
            caught_up_s = caught_up_at - published_at
            assert second.first_row_at is not None
            second_rate = len(second.times) / (caught_up_at - second.first_row_at)
            second_code = await asyncio.to_thread(second.stop)
        finally:
            broker.kill()
    expected = {reading_time(index, start_s) for index in range(readings)}
    lost = expected - first.times - second.times
    both = first.times & second.times
    tracebacks = sum("Traceback" in line for line in first.stderr + second.stderr)
    print(f"published (QoS 1, acknowledged by the broker): {readings}")
    print(f"first recorder before SIGTERM reached 1/3: {reached}; exit code {first_code}")
    print(f"  took {len(first.times)} readings; SIGTERM to exit {stop_s:.2f} s")
    print(f"second recorder: {len(second.times)} readings, exit code {second_code}")
    print(f"  caught up {caught_up_s:.2f} s after the last publish")
    print(f"  {second_rate:.0f} readings/s from its first reading to caught up")
    print(f"in both (delivered again, at least once): {len(both)}")
    print(f"lost: {len(lost)}")
    print(f"tracebacks: {tracebacks}")
    return 0 if not lost and not tracebacks and first_code == second_code == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=80_000)
    parser.add_argument(
        "--restart-after-flood",
        action="store_true",
        help="start the second recorder after the last publish: it drains a pure backlog",
    )
    args = parser.parse_args()
    return asyncio.run(run(args.readings, args.restart_after_flood))


if __name__ == "__main__":
    sys.exit(main())
