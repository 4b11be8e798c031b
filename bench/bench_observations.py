"""The weekly page's observations: how often a steady person's page tells chance, how often a
real pattern is told, and the CPU each page's tests cost, with the kinds corrected together
(Holm) and each kind at 1 in 100 on its own (as before).

A steady person: four weeks whose stress and recovery minutes vary by 40 % from day to day,
activity and sleep independent of them (the page tests three kinds: sleep then stress, the
busiest weekday, activity then recovery); with the intervention learning, also three calming
options answered alike, 6 times each, by a response that varies by 0.8 SD (a fourth kind).
A real pattern: the same person's Tuesdays twice as busy. Seeded: the same figures each run.

Run: python bench/bench_observations.py [--seeds 500]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from datetime import date

from ambient.insights import observations as rule
from ambient.insights import synthetic
from ambient.insights.summaries import DaySummary

FIRST = date(2026, 11, 9)
Learned = list[dict[str, object]]


def steady_weeks(seed: int, busy_tuesdays: float = 1.0) -> list[DaySummary]:
    return synthetic.steady_weeks("alex", FIRST, seed, busy_tuesdays=busy_tuesdays)


def options_alike(seed: int) -> Learned:
    rng = random.Random(10_000 + seed)
    return [
        {"usable": True, "option": option, "response_sd": rng.gauss(0.0, 0.8)}
        for option in ("breathing", "music", "lights")
        for _ in range(6)
    ]


def each_on_its_own(tested: Sequence[rule.Tested]) -> list[rule.Observation]:
    """Before: every kind told at MAX_CHANCE on its own."""
    return [t.observation for t in tested if t.observation and t.chance <= rule.MAX_CHANCE]


def run(
    pages: Sequence[tuple[list[DaySummary], Learned]],
    told: Callable[[list[rule.Observation]], bool],
) -> tuple[float, float, float]:
    """Share of pages told (by ``told``), kinds tested per page, CPU ms per page."""
    kinds = 0
    real_holm = rule.holm

    def counting(tested: Sequence[rule.Tested]) -> list[rule.Observation]:
        nonlocal kinds
        kinds += len(tested)
        return real_holm(tested)

    rule.holm = counting
    try:
        start = time.process_time()
        hits = sum(told(rule.observations(history, [], learned)) for history, learned in pages)
        cpu = time.process_time() - start
    finally:
        rule.holm = real_holm
    return hits / len(pages), kinds / len(pages), 1000 * cpu / len(pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500, help="four-week histories per case")
    args = parser.parse_args()
    seeds = range(args.seeds)
    cases: list[tuple[str, list[tuple[list[DaySummary], Learned]], str]] = [
        ("steady, 3 kinds: any observation", [(steady_weeks(s), []) for s in seeds], ""),
        (
            "steady + options alike, 4 kinds: any observation",
            [(steady_weeks(s), options_alike(s)) for s in seeds],
            "",
        ),
        (
            "Tuesdays twice as busy: Tuesdays told",
            [(steady_weeks(s, busy_tuesdays=2.0), []) for s in seeds],
            "Tuesdays",
        ),
    ]
    print(f"{args.seeds} four-week histories per case\n")
    print("| case | each kind at 1 in 100 | Holm across kinds | kinds tested | CPU ms/page |")
    print("|---|---|---|---|---|")
    real_holm = rule.holm
    for name, pages, prefix in cases:

        def told(found: list[rule.Observation], prefix: str = prefix) -> bool:
            return any(o.text.startswith(prefix) for o in found)

        rule.holm = each_on_its_own
        before, kinds, cpu_before = run(pages, told)
        rule.holm = real_holm
        after, _, cpu_after = run(pages, told)
        print(
            f"| {name} | {before:.1%} | {after:.1%} | {kinds:.1f} | "
            f"{cpu_before:.1f} / {cpu_after:.1f} |"
        )


if __name__ == "__main__":
    main()
