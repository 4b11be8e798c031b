"""Pictures of long recordings: peak memory and CPU of `ambient evaluate --plot` and
`ambient simulate --plot`.

Writes a time-ordered recording of N beats for one person and a labels file for its stressed
stretches (the generator of ``bench_recording_memory.py``: 705,000 beats is about a week),
then draws its timeline with each command as a real subprocess and prints its peak resident
set size (the child's ``ru_maxrss``), wall and CPU time, and `evaluate --json` without a
picture for comparison: what the picture itself costs. Since the replay keeps only what the
picture draws, a month (``--beats 3000000``) should peak near a week's figure, not above it.

    python bench/bench_plot.py [--beats 705000 --beats 3000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

#: About a week of a strap's beats.
WEEK_BEATS = 705_000


def memory_bench() -> Any:
    """``bench_recording_memory.py`` beside this file: its recording, labels and ``peak_of``."""
    path = Path(__file__).with_name("bench_recording_memory.py")
    spec = importlib.util.spec_from_file_location("bench_recording_memory", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    memory = memory_bench()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, action="append", help="beats (repeatable)")
    parser.add_argument("--keep", type=Path, help="write the recordings and pictures here")
    args = parser.parse_args()
    ambient = [sys.executable, "-m", "ambient"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "plot.yaml"
        config.write_text(memory.CONFIG)
        for beats in args.beats or [WEEK_BEATS]:
            recording = folder / f"beats-{beats}.csv"
            labels = folder / f"beats-{beats}.labels.json"
            memory.write_recording(recording, beats)
            memory.write_labels(labels, recording, beats)
            evaluate = [*ambient, "evaluate", str(config), "--recordings", str(recording)]
            evaluate += ["--labels", str(labels), "--json"]
            runs = {
                "evaluate --json (no picture)": evaluate,
                "evaluate --json --plot": [*evaluate, "--plot", str(folder / "plots")],
                "simulate --plot": [
                    *ambient,
                    "simulate",
                    str(config),
                    "--recording",
                    str(recording),
                    "--plot",
                    str(folder / f"simulated-{beats}.png"),
                ],
            }
            for name, command in runs.items():
                peak_mib, wall_s, cpu_s, code = memory.peak_of(command)
                if code != 0:
                    print(f"{name}, {beats} beats: failed (exit {code})")
                    return 1
                print(f"{name}, {beats} beats: peak {peak_mib:.0f} MiB, ", end="")
                print(f"{wall_s:.1f} s wall, CPU {cpu_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
