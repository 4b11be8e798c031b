"""Signals benchmarks: cost per beat with a 60 s and a 1 h window (must be flat), beats/s
for 5 people (every signal worked out, and only what a stress rule and the insights read), and
memory after a simulated 24 h at 70 bpm; with --smoothing, the measurement
behind the stress score's 60 s average (docs/signals.md): on the real resting hour, its highest
score, and with a moderate and a mild synthetic episode, how soon the score and a rule
(`above 70 for 2min`) respond and how steady the score stays.

    python bench/bench_signals.py [--smoothing]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from ambient.clock import VirtualClock
from ambient.config.people import PersonConfig
from ambient.config.signals import SignalsConfig
from ambient.readings import Reading
from ambient.signal_readers import INSIGHTS_READ
from ambient.signals.engine import SignalEngine
from ambient.signals.person import PersonSignals
from ambient.store import Store

RESTING_HOUR = Path(__file__).resolve().parent.parent / "ambient" / "data" / "resting-hour.csv"
ONSET_S, EPISODE_S = 1800.0, 600.0


def beats(count: int, seed: int, mean_rr_ms: float = 857.0) -> Iterator[float]:
    rng = random.Random(seed)
    for _ in range(count):
        yield mean_rr_ms + rng.gauss(0, 40)


def engine(
    windows: list[float], people: int, read: frozenset[str] | None = None
) -> tuple[SignalEngine, VirtualClock]:
    clock = VirtualClock(1_700_000_000.0)
    config = SignalsConfig.model_validate({"windows": windows})
    ids = [PersonConfig(id=f"p{i}") for i in range(people)]
    return SignalEngine(config, ids, clock, Store(None), lambda update: None, read=read), clock


def run(windows: list[float], people: int, count: int, read: frozenset[str] | None = None) -> float:
    """Seconds per beat over ``count`` beats per person (after a warm-up of one window);
    ``read``: the signals worked out at each update (None: all)."""
    eng, clock = engine(windows, people, read)
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


def resting_beats() -> list[float]:
    lines = RESTING_HOUR.read_text().splitlines()
    return [float(line.split(",")[2]) for line in lines if ",rr," in line]


def with_episode(rr_ms: list[float], shorter: float, variability: float) -> list[float]:
    """From ONSET_S for EPISODE_S: intervals ``shorter`` times as long, their deviation from
    the mean of the last 60 beats scaled by ``variability``."""
    out: list[float] = []
    t = 0.0
    for rr in rr_ms:
        recent = (out or [rr])[-60:]
        mean = sum(recent) / len(recent)
        if ONSET_S <= t < ONSET_S + EPISODE_S:
            rr = shorter * (mean + variability * (rr - mean))
        t += rr / 1000
        out.append(rr)
    return out


def scores(rr_ms: list[float], smoothing_s: float) -> list[tuple[float, float | None]]:
    """The stress score every 2 s (as the engine's update interval) with this average."""
    config = SignalsConfig.model_validate({"stress": {"smoothing": smoothing_s}})
    person = PersonSignals("alex", config, PersonConfig(id="alex", age=38))
    out: list[tuple[float, float | None]] = []
    t, next_update = 0.0, 2.0
    for rr in rr_ms:
        t += rr / 1000
        while next_update <= t:
            person.update(next_update)
            value = person.outcomes["stress_score"][0]
            out.append((next_update, value if isinstance(value, float) else None))
            next_update += 2.0
        person.feed(t, "rr", rr)
    return out


def first_held(series: list[tuple[float, float | None]], above: float, hold_s: float) -> float:
    """Seconds after onset at which the score has been above ``above`` for ``hold_s``."""
    since: float | None = None
    for t, value in series:
        if t < ONSET_S:
            continue
        if value is not None and value > above:
            since = t if since is None else since
            if t - since >= hold_s:
                return t - ONSET_S
        else:
            since = None
    return float("nan")


def smoothing_table() -> None:
    rest = resting_beats()
    moderate = with_episode(rest, 0.85, 0.5)
    mild = with_episode(rest, 0.94, 0.75)
    print("time constant | rest max | moderate >70 | rule fires | mild SD | mild range")
    for smoothing_s in (0.0, 15.0, 30.0, 60.0, 120.0):
        resting = [v for t, v in scores(rest, smoothing_s) if t > 300 and v is not None]
        episode = scores(moderate, smoothing_s)
        steady = [
            v
            for t, v in scores(mild, smoothing_s)
            if ONSET_S + 180 <= t < ONSET_S + EPISODE_S and v is not None
        ]
        print(
            f"{smoothing_s:>11.0f} s | {max(resting):8.0f} | "
            f"{first_held(episode, 70, 0):10.0f} s | {first_held(episode, 70, 120):8.0f} s | "
            f"{statistics.pstdev(steady):7.1f} | {min(steady):.0f}-{max(steady):.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoothing", action="store_true", help="the smoothing measurement")
    if parser.parse_args().smoothing:
        smoothing_table()
        return
    short = run([60.0], 1, 8000)
    long = run([3600.0], 1, 8000)
    print(f"cost per beat, 60 s window:  {short * 1e6:7.1f} us")
    print(f"cost per beat, 1 h window:   {long * 1e6:7.1f} us  (ratio {long / short:.2f})")
    five = run([60.0, 300.0], 5, 4000)
    print(f"5 people, 60 s + 5 min windows: {1 / five:,.0f} beats/s ({five * 1e6:.1f} us/beat)")
    lean = run([60.0, 300.0], 5, 4000, INSIGHTS_READ)
    print(
        f"  the same, only what a stress rule and the insights read: {1 / lean:,.0f} beats/s "
        f"({lean * 1e6:.1f} us/beat)"
    )
    mb, count = memory_24h()
    print(f"memory after 24 h at 70 bpm ({count:,} beats): {mb:.2f} MB traced")


if __name__ == "__main__":
    main()
