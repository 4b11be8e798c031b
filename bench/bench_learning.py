"""The learning curve of the calming-option learner on a simulated household.

Three options; one works 0.5 SD better than the others (true effects 0.6, 0.1, 0.1 SD of
ln RMSSD), each episode's response has 1 SD of noise, two episodes a day for 8 weeks, a cap
of 3 a day. Prints, per week, how often the better option was picked (mean over households)
and checks the targets: >= 70 % in weeks 5-8, every option >= 10 % likely, the cap never
exceeded.

    python bench/bench_learning.py [--households 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics

from ambient.interventions.learner import OptionBelief, choose, prior_for

TRUE_EFFECT_SD = {"breathing_box": 0.6, "lights_music": 0.1, "breathing_long": 0.1}
KINDS = {
    "breathing_box": ["breathing"],
    "lights_music": ["calm_lights", "play_calming"],
    "breathing_long": ["breathing"],
}
WEEKS = 8
EPISODES_PER_DAY = 2
DAILY_CAP = 3
FLOOR = 0.1


def run_household(rng: random.Random) -> tuple[list[list[bool]], float, int]:
    """Per week, whether each episode picked the better option; the lowest probability seen;
    the most episodes on one day."""
    beliefs = {name: OptionBelief.from_prior(name, prior_for(KINDS[name])) for name in KINDS}
    weeks: list[list[bool]] = [[] for _ in range(WEEKS)]
    lowest = 1.0
    most_per_day = 0
    for day in range(WEEKS * 7):
        today = 0
        for _ in range(EPISODES_PER_DAY):
            if today >= DAILY_CAP:
                break
            choice = choose(list(beliefs.values()), floor=FLOOR, rng=rng)
            assert choice is not None
            today += 1
            lowest = min(lowest, *choice.probabilities.values())
            response = rng.gauss(TRUE_EFFECT_SD[choice.option], 1.0)
            beliefs[choice.option] = beliefs[choice.option].observe(response)
            weeks[day // 7].append(choice.option == "breathing_box")
        most_per_day = max(most_per_day, today)
    return weeks, lowest, most_per_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    per_week: list[list[float]] = [[] for _ in range(WEEKS)]
    late: list[float] = []
    lowest = 1.0
    most_per_day = 0
    for _ in range(args.households):
        weeks, low, most = run_household(rng)
        lowest = min(lowest, low)
        most_per_day = max(most_per_day, most)
        for week, picks in enumerate(weeks):
            per_week[week].append(sum(picks) / len(picks))
        late_picks = [pick for picks in weeks[4:] for pick in picks]
        late.append(sum(late_picks) / len(late_picks))
    print(f"households: {args.households}, episodes each: {WEEKS * 7 * EPISODES_PER_DAY}")
    print("week  better option picked (mean over households)")
    for week, shares in enumerate(per_week, start=1):
        print(
            f"{week:>4}  {statistics.mean(shares):6.1%}  "
            + "#" * round(40 * statistics.mean(shares))
        )
    late_sorted = sorted(late)
    print(
        f"weeks 5-8: mean {statistics.mean(late):.1%}, median {statistics.median(late):.1%}, "
        f"10th percentile {late_sorted[len(late) // 10]:.1%} (target >= 70 %)"
    )
    print(f"lowest probability of any option: {lowest:.1%} (target >= 10 %)")
    print(f"most episodes on one day: {most_per_day} (cap {DAILY_CAP})")


if __name__ == "__main__":
    main()
