"""What privacy costs: opening the store plain, with a raw SQLCipher key and with a passphrase;
writes (a put and a trace append) plain and encrypted; and the retention purge, reporting the
longest stretch it holds the event loop (one batch) next to its total time.

    python bench/bench_privacy.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ambient.clock import VirtualClock
from ambient.config.retention import DAY_S, RetentionConfig
from ambient.privacy.retention import Retention
from ambient.store import Store, StoreKey

NOW = 1_780_000_000.0
RAW = StoreKey("4b" * 32, "bench")
PASSPHRASE = StoreKey("a passphrase a person can type", "bench")
WRITES = 500


def best_ms(action: Callable[[], None], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def bench_open(directory: Path) -> None:
    for name, key in (("plain", None), ("raw key", RAW), ("passphrase", PASSPHRASE)):
        path = directory / f"open-{name.replace(' ', '_')}.db"
        Store(path, key).close()

        def reopen(p: Path = path, k: StoreKey | None = key) -> None:
            Store(p, k).close()

        print(f"open {name:<11} {best_ms(reopen):8.2f} ms")


def bench_writes(directory: Path) -> None:
    for name, key in (("plain", None), ("raw key", RAW)):
        store = Store(directory / f"writes-{name.replace(' ', '_')}.db", key)

        def puts(s: Store = store) -> None:
            for i in range(WRITES):
                s.put("signals.baseline", f"p{i % 3}", {"i": i, "ln_rmssd": [3.9, 0.2]})

        def appends(s: Store = store) -> None:
            for i in range(WRITES):
                s.append("traces", "calm", {"t": float(i), "person": "alex"}, keep=20)

        print(
            f"write {name:<10} put {best_ms(puts, 3) * 1000 / WRITES:7.1f} µs, "
            f"trace append {best_ms(appends, 3) * 1000 / WRITES:7.1f} µs"
        )
        store.close()


async def longest_hold_s(done: asyncio.Event) -> float:
    """The longest time between two turns this task gets, until ``done``."""
    longest_s, last = 0.0, time.perf_counter()
    while not done.is_set():
        now = time.perf_counter()
        longest_s, last = max(longest_s, now - last), now
        await asyncio.sleep(0)
    return longest_s


async def bench_purge(directory: Path, rows: int) -> None:
    for name, key in (("plain", None), ("raw key", RAW)):
        store = Store(directory / f"purge-{name.replace(' ', '_')}.db", key)
        with store.batch():
            for i in range(rows):
                when = NOW - 40 * DAY_S + i * (20 * DAY_S / rows)  # all older than 30 days
                store.execute(
                    "INSERT INTO log (namespace, key, value) VALUES ('traces', ?, ?)",
                    (f"r{i % 10}", json.dumps({"t": when, "person": "alex"})),
                )
        done = asyncio.Event()
        watcher = asyncio.create_task(longest_hold_s(done))
        await asyncio.sleep(0)
        started = time.perf_counter()
        retention = Retention(RetentionConfig(traces=30 * DAY_S), store, VirtualClock(NOW))
        report = await retention.purge()
        total_s = time.perf_counter() - started
        done.set()
        longest_s = await watcher
        print(
            f"purge {name:<10} {report.rows['traces']} rows in {total_s * 1000:7.0f} ms, "
            f"longest hold of the loop {longest_s * 1000:6.1f} ms"
        )
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        bench_open(directory)
        bench_writes(directory)
        asyncio.run(bench_purge(directory, args.rows))


if __name__ == "__main__":
    main()
