"""Signals benchmarks: cost per beat with a 60 s and a 1 h window (must be flat), beats/s
for 5 people, and memory after a simulated 24 h at 70 bpm. Run: python bench/bench_signals.py"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Iterator

from ambient.clock import VirtualClock
from ambient.config.people import PersonConfig
from ambient.config.signals import SignalsConfig
from ambient.readings import Reading
from ambient.signals.engine import SignalEngine
from ambient.store import Store


def beats(count: int, seed: int, mean_rr_ms: float = 857.0) -> Iterator[float]:
    rng = random.Random(seed)
    for _ in range(count):
        yield mean_rr_ms + rng.gauss(0, 40)


def engine(windows: list[float], people: int) -> tuple[SignalEngine, VirtualClock]:
    clock = VirtualClock(1_700_000_000.0)
    config = SignalsConfig.model_validate({"windows": windows})
    ids = [PersonConfig(id=f"p{i}") for i in range(people)]
    return SignalEngine(config, ids, clock, Store(None), lambda update: None), clock


def run(windows: list[float], people: int, count: int) -> float:
    """Seconds per beat over ``count`` beats per person (after a warm-up of one window)."""
    eng, clock = engine(windows, people)
    t = clock.now()
    streams = [list(beats(count, seed=i)) for i in range(people)]
    start = time.perf_counter()
    for k in range(count):
        t += 0.857
        clock.advance_to(t)
        for p in range(people):
            eng.feed(Reading(t, f"p{p}", "rr", streams[p][k], "bench"))
    return (time.perf_counter() - start) / (count * people)


def memory_24h() -> tuple[float, int]:
    tracemalloc.start()
    eng, clock = engine([60.0, 300.0], 1)
    t = clock.now()
    for rr in beats(70 * 60 * 24, seed=7):
        t += rr / 1000
        clock.advance_to(t)
        eng.feed(Reading(t, "p0", "rr", rr, "bench"))
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / 1e6, 70 * 60 * 24


def main() -> None:
    short = run([60.0], 1, 8000)
    long = run([3600.0], 1, 8000)
    print(f"cost per beat, 60 s window:  {short * 1e6:7.1f} us")
    print(f"cost per beat, 1 h window:   {long * 1e6:7.1f} us  (ratio {long / short:.2f})")
    five = run([60.0, 300.0], 5, 4000)
    print(f"5 people, 60 s + 5 min windows: {1 / five:,.0f} beats/s ({five * 1e6:.1f} us/beat)")
    mb, count = memory_24h()
    print(f"memory after 24 h at 70 bpm ({count:,} beats): {mb:.2f} MB traced")


if __name__ == "__main__":
    main()
