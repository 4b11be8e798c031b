"""A month of uptime, on a virtual clock: what grows from day to day in the running daemon.

The real daemon wiring (``Daemon`` acting, not report-only, so retention runs and calming
episodes open) with the example config's features on: rules with holds, cooldowns, recovery
and escalation, quiet hours, a ``choose_calming`` step, insights with midnight summaries and a
weekly report written to a temporary folder, and a store file with retention limits shortened
so that a month shows them working. Beats are made on the fly for each person (resting ~70
bpm with respiratory variability, slower at night, four 15-minute stress stretches a day), one
day at a time; no recording is written.

At the end of each simulated day it prints the process's CPU seconds for that day, the
resident memory (``VmRSS``), the Python objects the cyclic collector tracks, the items held in
the daemon's containers (every dict, list, deque and set reachable from the signal engine, the
rules, insights, interventions, counters, hub and clock), the store file's size and its rows
per table. After the run it names the containers that grew from the first week to the end.

    python bench/bench_soak.py [--days N] [--people N] [--tracemalloc]

``--tracemalloc`` traces Python's allocations from the end of day ``--compare-from`` (7, or
the day before the last in a shorter run; the traced days run ten times slower) and prints the
allocation sites of what was allocated since and is still held on the last day, by
traceback. Day 7 ends just after the first weekly report (the run starts on a Monday at
09:00), whose page is drawn in a child process (matplotlib stays out of the daemon): growth is
counted from after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import random
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig, load_config
from ambient.daemon import Daemon, DaemonOptions
from ambient.pipeline import DirectSink
from ambient.ports import ReadingSink
from ambient.readings import Reading
from ambient.simulate import SIMULATION_EPOCH

DAY_S = 86_400.0
#: Hours of the day (the bench config's zone is UTC) at which a 15-minute stress stretch starts.
STRESS_HOURS = (10.5, 14.0, 18.25, 21.0)
STRESS_S = 15 * 60.0
NAMES = ["alex", "sam", "kim", "ria", "noa"]


def bench_config(folder: Path, people: list[str]) -> str:
    """The example config's features, without outside links (no HA, no broker): every action
    is a ``log``, so acting mode performs them and nothing leaves the process."""
    rules = ""
    for person in people:
        rules += f"""
  - id: calm_{person}
    person: {person}
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
        for: 2min
        hysteresis: 10
    conditions:
      - condition: signal
        signal: stress_confidence
        above: 0.3
    mode: single
    cooldown: 10min
    actions:
      - choose_calming:
          options:
            - id: breathe
              actions:
                - action: log
                  message: "breathe, {{person}}"
            - id: lights
              actions:
                - action: log
                  message: "lights down for {{person}}"
    on_recovery:
      - action: log
        message: "{{person}} has calmed down"
    escalate:
      - after: 10min
        actions:
          - action: log
            message: "{{person}} still stressed"
  - id: tell_{person}
    person: {person}
    triggers:
      - trigger: signal
        signal: stress_score
        above: 85
        for: 5min
        hysteresis: 15
    cooldown: 3h
    actions:
      - action: log
        message: "{{person}} has had a stressful stretch (score {{stress_score}})"
  - id: evening_{person}
    person: {person}
    triggers:
      - trigger: time
        at: "21:30"
    conditions:
      - condition: signal
        signal: stress_score
        above: 50
    actions:
      - action: log
        message: "evening breathing for {{person}}"
"""
    return (
        "instance: soak\ntimezone: UTC\npeople:\n"
        + "".join(f"  - id: {p}\n    age: 38\n" for p in people)
        + "sensors: []\n"
        + "signals:\n  windows: [60s, 5min]\n  stale_after: 15s\n"
        + 'quiet_hours:\n  start: "23:30"\n  end: "06:30"\n'
        + f"rules:{rules}"
        + f"store:\n  path: {folder / 'ambient.db'}\n  traces_per_rule: 20\n"
        # Shortened so that a month shows each limit at work (the defaults are 30-730 days).
        + "retention:\n  traces: 3d\n  episodes: 5d\n  check_ins: 5d\n"
        + "  daily_summaries: 10d\n  day_minutes: 4d\n  interval: 1h\n"
        + f"  recordings_dir: {folder / 'recordings'}\n"
        + "insights:\n"
        + f"  report:\n    folder: {folder / 'reports'}\n    weekday: mon\n"
        + '    at: "08:00"\n'
    )


def stressed_at(seconds_of_day: float) -> bool:
    return any(0 <= seconds_of_day - h * 3600 < STRESS_S for h in STRESS_HOURS)


class Wearer:
    """One person's strap: beats made an hour at a time, each where the last one ended."""

    def __init__(self, person: str, start: float, rng: random.Random) -> None:
        self.person, self.rng = person, rng
        self.t = start + rng.uniform(0, 1)
        self.phase = rng.uniform(0, 2 * math.pi)

    def beats_until(self, end: float) -> list[Reading]:
        rng, beats = self.rng, []
        while self.t < end:
            of_day = self.t % DAY_S  # the bench config's zone is UTC
            if stressed_at(of_day):
                mean, spread, breath = 600.0, 8.0, 4.0  # 100 bpm, little variability
            elif of_day < 6 * 3600:
                mean, spread, breath = 1000.0, 35.0, 45.0  # asleep
            else:
                mean, spread, breath = 857.0, 30.0, 35.0
            wave = math.sin(self.phase + self.t * 2 * math.pi / 4)
            rr = round(mean + spread * rng.gauss(0, 1) + breath * wave)
            beats.append(Reading(self.t, self.person, "rr", float(rr), "soak"))
            self.t += rr / 1000
        return beats


class SyntheticSensor:
    """Beats made a day at a time and handed over as a simulation's recording sensor does;
    ``at_day_end`` is awaited after each day (the measurements)."""

    name = "soak"

    def __init__(
        self,
        clock: VirtualClock,
        people: list[str],
        days: int,
        at_day_end: Callable[[int], None],
    ) -> None:
        self.clock, self.people, self.days, self.at_day_end = clock, people, days, at_day_end
        self.beats = 0

    def diagnostics(self) -> Mapping[str, Any]:
        return {"beats": self.beats}

    async def run(self, sink: ReadingSink) -> None:
        assert isinstance(sink, DirectSink)
        rng = random.Random(7)
        wearers = [Wearer(person, SIMULATION_EPOCH, rng) for person in self.people]
        for day in range(self.days):
            start = SIMULATION_EPOCH + day * DAY_S
            for hour in range(1, 25):  # an hour at a time: the bench's own memory stays small
                beats = [b for w in wearers for b in w.beats_until(start + hour * 3600)]
                beats.sort(key=lambda r: r.time)
                await self.hand_over(beats, sink)
                self.beats += len(beats)
            await self.clock.reach(start + DAY_S)  # the day's timers (midnight, retention) fire
            self.at_day_end(day + 1)

    async def hand_over(self, beats: list[Reading], sink: DirectSink) -> None:
        """As a simulation's recording sensor does: straight in while no loop turn is due."""
        clock, index = self.clock, 0
        while index < len(beats):
            delivered = clock.deliver_at_once(beats, index, sink.put_nowait)
            if delivered < len(beats):
                await clock.reach(beats[delivered].time)
                sink.put_nowait(beats[delivered])
                delivered += 1
            index = delivered


class SoakDaemon(Daemon):
    """The daemon, keeping a hand on its wiring so the bench can look inside."""

    wiring: Any = None

    def _wire(self, config: AmbientConfig, *args: Any) -> Any:
        self.wiring = super()._wire(config, *args)
        return self.wiring


def containers(root: object, path: str, depth: int, seen: set[int]) -> Iterator[tuple[str, int]]:
    """``(path, items)`` of every dict, list, deque and set reachable from ``root`` through
    attributes and container values, ``depth`` steps deep; each object once."""
    if id(root) in seen or depth < 0 or isinstance(root, (str, bytes, int, float, type)):
        return
    seen.add(id(root))
    values: list[tuple[str, object]] = []
    if isinstance(root, (dict, list, deque, set, frozenset, tuple)):
        if not isinstance(root, tuple):
            yield path, len(root)
        if isinstance(root, dict):
            values = [(f"{path}[]", v) for v in list(root.values())[:50]]
        else:
            values = [(f"{path}[]", v) for v in list(root)[:50]]
    else:
        values = [(f"{path}.{k}", v) for k, v in attributes(root).items()]
    for sub_path, value in values:
        yield from containers(value, sub_path, depth - 1, seen)


def attributes(root: object) -> dict[str, object]:
    """What an object holds: its instance attributes and slots, what a bound method is bound
    to, and what a closure closes over (status providers are lambdas)."""
    found: dict[str, object] = {}
    if hasattr(root, "__dict__") and not callable(root):
        found.update(vars(root))
    for klass in type(root).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if hasattr(root, slot):
                found[slot] = getattr(root, slot)
    if hasattr(root, "__self__"):
        found["__self__"] = root.__self__
    cells: tuple[Any, ...] = getattr(root, "__closure__", None) or ()
    for n, cell in enumerate(cells):
        with contextlib.suppress(ValueError):  # a cell not filled yet
            found[f"<cell{n}>"] = cell.cell_contents
    return found


@dataclass
class Day:
    day: int
    cpu_s: float
    rss_kib: int
    gc_objects: int
    held: dict[str, int]
    store_bytes: int
    wal_bytes: int
    rows: dict[str, int]
    modules: list[str]
    traced_kib: int = 0


@dataclass
class Soak:
    daemon: SoakDaemon
    clock: VirtualClock
    store_path: Path
    days: list[Day] = field(default_factory=list)
    snapshots: dict[int, tracemalloc.Snapshot] = field(default_factory=dict)
    #: With ``--tracemalloc``: the day after which allocations are traced, and the last day.
    snapshot_days: tuple[int, ...] = ()
    _cpu_mark: float = field(default_factory=time.process_time)

    def measure(self, day: int) -> None:
        cpu_s = time.process_time() - self._cpu_mark
        gc.collect()
        wiring = self.daemon.wiring
        roots = {
            "signals": wiring.signals,
            "rules": wiring.rules,
            "insights": wiring.insights,
            "calming": wiring.calming,
            "counters": self.daemon.counters,
            "status": wiring.status_providers,
            "services": wiring.services,
            "clock": self.clock,
            "sensor_status": wiring.sensor_status,
        }
        seen: set[int] = set()
        held: dict[str, int] = {}
        for name, root in roots.items():
            for path, items in containers(root, name, 7, seen):
                held[path] = held.get(path, 0) + items
        record = Day(
            day,
            cpu_s,
            rss_kib(),
            len(gc.get_objects()),
            held,
            sum(p.stat().st_size for p in self.store_path.parent.glob("ambient.db*")),
            file_size(self.store_path.with_name("ambient.db-wal")),
            rows_per_table(self.store_path),
            sorted({name.partition(".")[0] for name in sys.modules}),
            tracemalloc.get_traced_memory()[0] // 1024 if tracemalloc.is_tracing() else 0,
        )
        self.days.append(record)
        if self.snapshot_days and day == self.snapshot_days[0]:
            tracemalloc.start(8)  # from here on: only what is allocated later is traced
        if tracemalloc.is_tracing() and day in self.snapshot_days:
            self.snapshots[day] = tracemalloc.take_snapshot()
        print(day_line(record), flush=True)
        if len(self.days) > 1 and (new := set(record.modules) - set(self.days[-2].modules)):
            print(f"        packages imported that day: {', '.join(sorted(new))}")
        self._cpu_mark = time.process_time()


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rows_per_table(path: Path) -> dict[str, int]:
    """Rows of every table (of ``kv`` and ``log`` per namespace), read through a second,
    read-only connection."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows: dict[str, int] = {}
        for table in tables:
            if table == "sqlite_sequence":
                continue
            if table in ("kv", "log"):  # the store's two general tables: per namespace
                query = f'SELECT namespace, count(*) FROM "{table}" GROUP BY namespace'
                rows.update((f"{table}:{ns}", n) for ns, n in db.execute(query))
            else:
                rows[table] = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        return rows


def day_line(d: Day) -> str:
    rows = ", ".join(f"{t} {n}" for t, n in sorted(d.rows.items()) if n)
    traced = f", traced {d.traced_kib / 1024:.1f} MiB" if d.traced_kib else ""
    return (
        f"day {d.day:2d}: CPU {d.cpu_s:5.1f} s, RSS {d.rss_kib / 1024:5.1f} MiB{traced}, "
        f"gc objects {d.gc_objects:,}, held items {sum(d.held.values()):,}, "
        f"store {d.store_bytes / 1024:.0f} KiB of which WAL {d.wal_bytes / 1024:.0f} KiB ({rows})"
    )


def growth_report(days: list[Day], from_day: int) -> list[str]:
    """The containers whose items grew from ``from_day`` to the last day, most first."""
    first = next(d for d in days if d.day == from_day)
    last = days[-1]
    grown = sorted(
        ((last.held.get(p, 0) - first.held.get(p, 0), p) for p in last.held),
        reverse=True,
    )
    return [
        f"  +{n:,} items {p} ({first.held.get(p, 0):,} -> {last.held[p]:,})"
        for n, p in grown[:12]
        if n > 0
    ]


async def soak(people: list[str], days: int, trace: bool, from_day: int) -> Soak:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config_path = folder / "ambient.yaml"
        config_path.write_text(bench_config(folder, people))
        config = load_config(config_path)
        clock = VirtualClock(SIMULATION_EPOCH)
        holder: list[Soak] = []
        sensor = SyntheticSensor(clock, people, days, lambda day: holder[0].measure(day))
        options = DaemonOptions(sensors=[sensor], services=False)
        daemon = SoakDaemon(config, clock, options, config_path)
        result = Soak(daemon, clock, config.store.path or folder / "ambient.db")
        if trace:
            result.snapshot_days = (from_day, days)
        holder.append(result)
        gc.freeze()  # the config, modules and compiled validators: not the daemon's growth
        await daemon.run()
        tracemalloc.stop()
        reports = sorted(p.name for p in (folder / "reports").rglob("*") if p.is_file())
        print(f"reports written: {len(reports)}; beats: {sensor.beats:,}")
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2, help="simulated days (default 2)")
    parser.add_argument("--people", type=int, default=1, help="people wearing a strap")
    parser.add_argument("--tracemalloc", action="store_true", help="trace allocation sites")
    parser.add_argument(
        "--compare-from", type=int, default=7, help="growth is counted from this day (default 7)"
    )
    args = parser.parse_args()
    people = NAMES[: args.people]
    print(f"soak: {args.days} days x {len(people)} people")
    started = time.perf_counter()
    from_day = max(1, min(args.compare_from, args.days - 1))
    result = asyncio.run(soak(people, args.days, args.tracemalloc, from_day))
    wall_s = time.perf_counter() - started
    days = result.days
    cpu = [d.cpu_s for d in days]
    print(
        f"soak {args.days} d x {len(people)}: {wall_s:.0f} s wall, CPU per day "
        f"{min(cpu):.1f}-{max(cpu):.1f} s, RSS {days[0].rss_kib / 1024:.1f} -> "
        f"{days[-1].rss_kib / 1024:.1f} MiB, held items {sum(days[0].held.values()):,} -> "
        f"{sum(days[-1].held.values()):,}"
    )
    if len(days) >= 3:
        lines = growth_report(days, from_day)
        print(f"grew from day {from_day} to day {days[-1].day}:" if lines else "nothing grew")
        print("\n".join(lines))
    if len(result.snapshots) == 2:
        own = [tracemalloc.Filter(False, __file__)]  # the bench's hour of beats, its walk
        early, late = (result.snapshots[d].filter_traces(own) for d in sorted(result.snapshots))
        print("allocation sites that grew most (tracemalloc, by traceback):")
        for stat in late.compare_to(early, "traceback")[:8]:
            print(f"  {stat.size_diff / 1024:+.0f} KiB, {stat.count_diff:+} blocks")
            for frame in stat.traceback.format()[-6:]:
                print(f"    {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
