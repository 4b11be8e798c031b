"""The whole learning loop on a simulated household, through the real daemon on a virtual clock.

Unlike bench_learning.py (the learner alone), here every step is ambient's own: synthetic beats
go through the signal engine, a stress rule fires, `choose_calming` picks an option, the log
action is performed, the episode is measured from the signals 20 minutes on, and the learner
updates (the household: tests/fixtures/household.py). Three options, one 0.5 SD better, two
episodes a day. Each household has its own body and its own stream of draws, so the mean over
households has a standard error, printed with it.

    python bench/bench_household.py [--households 12] [--weeks 8] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fixtures.household import MeasuredEpisodes, run_household


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=12)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started, started_cpu = time.perf_counter(), time.process_time()
    measured = MeasuredEpisodes()
    recorder_log = logging.getLogger("ambient.interventions.recorder")
    recorder_log.addHandler(measured)
    recorder_log.setLevel(logging.INFO)
    per_week: list[list[float]] = [[] for _ in range(args.weeks)]
    late: list[float] = []
    episodes: list[int] = []
    beats = 0
    for household in range(args.households):
        picks, replayed = asyncio.run(run_household(args.weeks, args.seed * 1000 + household))
        beats += replayed
        episodes.append(sum(len(week) for week in picks))
        for week, chosen in enumerate(picks):
            if chosen:
                per_week[week].append(chosen.count("breathe") / len(chosen))
        late_picks = [option for week in picks[4:] for option in week]
        if late_picks:
            late.append(late_picks.count("breathe") / len(late_picks))
    print(
        f"households: {args.households}, weeks: {args.weeks}, episodes per household: "
        f"{min(episodes)}-{max(episodes)} (2 a day offered), beats: {beats:,}"
    )
    print("week  better option picked (mean over households)")
    for week, shares in enumerate(per_week, start=1):
        share = statistics.mean(shares) if shares else float("nan")
        print(f"{week:>4}  {share:6.1%}  " + "#" * round(40 * (share if shares else 0)))
    print("episodes measured: " + ", ".join(f"{n} {why}" for why, n in measured.reasons.items()))
    if late:
        spread = statistics.stdev(late) / len(late) ** 0.5 if len(late) > 1 else float("nan")
        ordered = sorted(late)
        print(
            f"weeks 5-{args.weeks}: mean {statistics.mean(late):.1%} ± {spread:.1%} (standard "
            f"error), median {statistics.median(late):.1%}, lowest household {ordered[0]:.1%} "
            "(target >= 70 %)"
        )
    print(
        f"time: {time.perf_counter() - started:.1f} s wall, "
        f"{time.process_time() - started_cpu:.1f} s CPU"
    )


if __name__ == "__main__":
    main()
