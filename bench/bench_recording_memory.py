"""Peak memory of `ambient simulate`, `analyze` and `evaluate` on long recordings.

Writes a time-ordered recording of N beats for one person (unix-second times, as `ambient
record` writes them; 3 million beats is about a month of a strap, ~80 MB) and a labels file
for its stressed stretches into a temporary folder, runs the three commands on it as real
subprocesses and prints each one's peak resident set size (the child's ``ru_maxrss``, from
``os.wait4``), its wall and CPU time, and the floor: the peak of ``ambient --version`` (the
interpreter and the imports alone). Then ``ambient run`` plays the recording live with a
``recording`` sensor at 60 times its pace, stopped after ``--live-s`` seconds.

    python bench/bench_recording_memory.py [--beats 300000 --beats 3000000] [--keep DIR]
        [--command evaluate --command run] [--live-s 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Where the recording starts: 2026-11-02 00:00 UTC.
START_UNIX_S = 1_793_577_600.0
#: A stretch of fast, even beats starts every STRESS_EVERY_S and lasts STRESS_S.
STRESS_EVERY_S = 21_600
STRESS_S = 600
CONFIG = """\
people:
  - id: alex
rules:
  - id: calm_alex
    person: alex
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
        for: 2min
        hysteresis: 10
    cooldown: 20min
    actions:
      - action: log
store:
  path: null
"""


def write_recording(path: Path, beats: int) -> None:
    """``beats`` RR rows for alex at ~70 bpm with respiratory variability, in time order, and
    a stretch of fast, even beats (~100 bpm) for ten minutes of every six hours."""
    rng = random.Random(3)
    t = START_UNIX_S
    with path.open("w") as out:
        out.write("t,metric,value,person\n")
        rows: list[str] = []
        for _ in range(beats):
            stressed = (t - START_UNIX_S) % STRESS_EVERY_S < STRESS_S
            if stressed:
                rr = 600 + 10 * rng.gauss(0, 1)
            else:
                rr = 857 + 40 * rng.gauss(0, 1) + 30 * (1 if int(t / 4) % 2 else -1)
            t += rr / 1000
            rows.append(f"{t:.3f},rr,{rr:.0f},alex\n")
            if len(rows) >= 10_000:
                out.writelines(rows)
                rows.clear()
        out.writelines(rows)


def live_config(recording: Path) -> str:
    """The config with ``recording`` played live by a ``recording`` sensor (``ambient run``)."""
    sensor = f"sensors:\n  - {{type: recording, id: month, path: {recording}, person: alex}}\n"
    return CONFIG + sensor


def write_labels(path: Path, recording: Path, beats: int) -> None:
    """Labels for ``recording``: its stressed stretches as episodes, its second hour as the
    baseline (seconds from its first reading; no ``end``: the recording's last reading)."""
    duration_s = beats * 0.857  # about: the last episode may start after the end (unscored)
    starts = range(STRESS_EVERY_S, int(duration_s) - STRESS_S, STRESS_EVERY_S)
    tasks = [[start, start + STRESS_S] for start in starts]
    labels = {"subject": recording.stem, "tasks": tasks, "baseline": [3600, 7200]}
    path.write_text(json.dumps(labels) + "\n")


def peak_of(
    command: list[str], stop_after_s: float | None = None
) -> tuple[float, float, float, int]:
    """Peak RSS (MiB), wall and CPU time (s) and exit status of ``command`` (output
    discarded); with ``stop_after_s``, stopped (SIGTERM) that long after it started."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    if stop_after_s is not None:
        stopper = threading.Timer(stop_after_s, process.send_signal, (signal.SIGTERM,))
        stopper.start()
    errors = process.stderr.read()  # the bad rows' warnings, if any; read so it never blocks
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode != 0:
        sys.stderr.write(errors.decode(errors="replace"))
    wall_s, cpu_s = time.perf_counter() - started, usage.ru_utime + usage.ru_stime
    return usage.ru_maxrss / 1024, wall_s, cpu_s, process.returncode  # ru_maxrss: KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, action="append", help="beats (repeatable)")
    parser.add_argument("--keep", type=Path, help="write the recordings here and keep them")
    parser.add_argument(
        "--command",
        action="append",
        choices=["simulate", "analyze", "evaluate", "run"],
        help="measure only this command (repeatable; default: all)",
    )
    parser.add_argument(
        "--live-s",
        type=float,
        default=40.0,
        help="how long `ambient run` plays the recording live (--speed 60) before it is stopped",
    )
    args = parser.parse_args()
    sizes = args.beats or [300_000, 3_000_000]
    ambient = [sys.executable, "-m", "ambient"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "memory.yaml"
        config.write_text(CONFIG)
        floor, _, _, _ = peak_of([*ambient, "--version"])
        print(f"floor (ambient --version): {floor:.0f} MiB, Python {sys.version.split()[0]}")
        for beats in sizes:
            recording = folder / f"beats-{beats}.csv"
            if not recording.exists():
                write_recording(recording, beats)
            size_mb = recording.stat().st_size / 1e6
            labels = folder / f"labels-{beats}.jsonl"
            write_labels(labels, recording, beats)
            evaluate = [*ambient, "evaluate", "--json", "--config", str(config)]
            runs = {
                "simulate": [*ambient, "simulate", "--json", str(config), "-r", str(recording)],
                "analyze": [*ambient, "analyze", "--json", "--recording", str(recording)],
                "evaluate": [*evaluate, "--recordings", str(recording), "--labels", str(labels)],
            }
            live = folder / f"live-{beats}.yaml"
            live.write_text(live_config(recording))
            runs["run"] = [*ambient, "run", "--config", str(live), "--speed", "60"]
            for name, command in runs.items():
                if args.command and name not in args.command:
                    continue
                stop_after_s = args.live_s if name == "run" else None
                peak_mib, wall_s, cpu_s, status = peak_of(command, stop_after_s)
                failed = f" (exit {status})" if status else ""
                print(
                    f"{name:8} {beats:>9,} beats ({size_mb:.0f} MB): peak RSS {peak_mib:6.0f} MiB,"
                    f" {wall_s:6.1f} s (CPU {cpu_s:.1f} s){failed}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
