"""`ambient simulate` speed: the 60-minute demo recording (aim: well under a second) and 24 hours
of beats for 3 people (aim: under 5 s). Prints wall time, beats per second and the process's
CPU time (on a shared machine the CPU time moves less with other developers' load).

    python bench/bench_simulate.py [--day-repeats N] [--hours H]

``--hours 3`` replays a slice of the day (the same synthetic beats), small enough to profile
with a sampling profiler (``python -m pyinstrument bench/bench_simulate.py --hours 3``;
pyinstrument is not a dependency): cProfile's cost per call inflates the many small ones. A
plain simulation works out at each update only the signals the rules and insights read
(docs/signals.md).

On a shared machine the figure to compare is the count of instructions, which other jobs do
not move: ``PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null python
bench/bench_simulate.py --hours 2``, less the same with ``--hours 0.01`` (start-up and the
demo hours), as docs/performance.md counts it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from ambient.config import load_config
from ambient.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent


def timed(config_path: Path, recording: Path | None, repeats: int) -> tuple[float, float, int]:
    """Best wall time and best CPU time of ``repeats`` runs, and the rule events of one."""
    config = load_config(config_path)
    best = best_cpu = float("inf")
    events = 0
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = asyncio.run(simulate(config, recording))
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
        events = len(result.traces)
    return best, best_cpu, events


def day_of_beats(path: Path, people: list[str], hours: float) -> int:
    """A synthetic day: ~70 bpm with respiratory variability, per person, interleaved by time."""
    rng = random.Random(24)
    rows: list[tuple[float, str, float]] = []
    for person in people:
        t = 0.0
        while t < hours * 3600:
            rr = 857 + 40 * rng.gauss(0, 1) + 30 * (1 if int(t / 4) % 2 else -1)
            t += rr / 1000
            rows.append((t, person, round(rr)))
    rows.sort()
    with path.open("w") as out:
        out.write("t,metric,value,person\n")
        out.writelines(f"{t:.3f},rr,{rr:.0f},{person}\n" for t, person, rr in rows)
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day-repeats", type=int, default=1, help="runs of the day (best shown)")
    parser.add_argument("--hours", type=float, default=24.0, help="length of the day replayed")
    args = parser.parse_args()
    day_repeats, hours = args.day_repeats, args.hours
    demo_s, _, demo_events = timed(ROOT / "config" / "demo.yaml", None, repeats=3)
    beats = sum(1 for line in (ROOT / "ambient/data/demo.csv").open() if ",rr," in line)
    print(
        f"simulate demo (60 min, {beats} beats): {demo_s * 1000:.0f} ms best of 3, "
        f"{beats / demo_s:,.0f} beats/s, {demo_events} rule events"
    )
    people = ["alex", "sam", "kim"]
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "day.csv"
        total = day_of_beats(recording, people, hours=hours)
        config = Path(tmp) / "day.yaml"
        rules = "".join(
            f"  - id: calm_{p}\n    person: {p}\n    triggers:\n      - trigger: signal\n"
            f"        signal: stress_score\n        above: 70\n        for: 2min\n"
            f"        hysteresis: 10\n    cooldown: 20min\n    actions:\n      - action: log\n"
            for p in people
        )
        config.write_text(
            "people:\n"
            + "".join(f"  - id: {p}\n" for p in people)
            + f"sensors:\n  - type: recording\n    path: {recording}\nrules:\n{rules}"
            + "store:\n  path: null\n"
        )
        day_s, day_cpu_s, day_events = timed(config, None, repeats=day_repeats)
    print(
        f"simulate {hours:g} h x 3 people ({total} beats): {day_s:.2f} s"
        f"{f' best of {day_repeats}' if day_repeats > 1 else ''} (CPU {day_cpu_s:.2f} s), "
        f"{total / day_s:,.0f} beats/s, {day_events} rule events"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
