"""The learning curve of the calming-option learner on a simulated household.

Three options; one works 0.5 SD better than the others (true effects 0.6, 0.1, 0.1 SD of
ln RMSSD), each episode's response has 1 SD of noise, two episodes a day for 8 weeks, a cap
of 3 a day. Prints, per week, how often the better option was picked (mean over households)
and checks the targets: >= 70 % in weeks 5-8, every option >= 10 % likely, the cap never
exceeded.

    python bench/bench_learning.py [--households 200] [--seed 1] [--habits-change]
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


#: Episodes after which the bench says how many households already lean towards the better one.
CHECKPOINTS = (5, 10, 14, 28, 56, 111)


def run_household(rng: random.Random) -> tuple[list[list[bool]], float, int, list[bool]]:
    """Per week, whether each episode picked the better option; the lowest probability seen;
    the most episodes on one day; per episode, whether the better option was the likeliest
    pick (strictly: its odds above every other's)."""
    beliefs = {name: OptionBelief.from_prior(name, prior_for(KINDS[name])) for name in KINDS}
    weeks: list[list[bool]] = [[] for _ in range(WEEKS)]
    lowest = 1.0
    most_per_day = 0
    leading: list[bool] = []
    for day in range(WEEKS * 7):
        today = 0
        for _ in range(EPISODES_PER_DAY):
            if today >= DAILY_CAP:
                break
            choice = choose(list(beliefs.values()), floor=FLOOR, rng=rng)
            assert choice is not None
            today += 1
            lowest = min(lowest, *choice.probabilities.values())
            odds = choice.probabilities
            better = odds["breathing_box"]
            leading.append(all(better > p for o, p in odds.items() if o != "breathing_box"))
            response = rng.gauss(TRUE_EFFECT_SD[choice.option], 1.0)
            beliefs[choice.option] = beliefs[choice.option].observe(response)
            weeks[day // 7].append(choice.option == "breathing_box")
        most_per_day = max(most_per_day, today)
    return weeks, lowest, most_per_day, leading


#: ``--habits-change``: after the 8 weeks, the better option calms no more than the others and
#: lights_music calms as it did: how many weeks until the learner follows.
CHANGED_EFFECT_SD = {"breathing_box": 0.1, "lights_music": 0.6, "breathing_long": 0.1}
WEEKS_AFTER_CHANGE = 26


def run_changed_habits(rng: random.Random) -> tuple[list[list[bool]], list[list[bool]]]:
    """Eight weeks as in :func:`run_household`, then ``CHANGED_EFFECT_SD`` for 26 weeks: per
    week after the change, whether each episode picked the new better option, and whether it
    was the likeliest pick (strictly)."""
    beliefs = {name: OptionBelief.from_prior(name, prior_for(KINDS[name])) for name in KINDS}
    for _ in range(WEEKS * 7 * EPISODES_PER_DAY):
        choice = choose(list(beliefs.values()), floor=FLOOR, rng=rng)
        assert choice is not None
        response = rng.gauss(TRUE_EFFECT_SD[choice.option], 1.0)
        beliefs[choice.option] = beliefs[choice.option].observe(response)
    picked: list[list[bool]] = [[] for _ in range(WEEKS_AFTER_CHANGE)]
    leading: list[list[bool]] = [[] for _ in range(WEEKS_AFTER_CHANGE)]
    for week in range(WEEKS_AFTER_CHANGE):
        for _ in range(7 * EPISODES_PER_DAY):
            choice = choose(list(beliefs.values()), floor=FLOOR, rng=rng)
            assert choice is not None
            odds = choice.probabilities
            new = odds["lights_music"]
            leading[week].append(all(new > p for o, p in odds.items() if o != "lights_music"))
            picked[week].append(choice.option == "lights_music")
            response = rng.gauss(CHANGED_EFFECT_SD[choice.option], 1.0)
            beliefs[choice.option] = beliefs[choice.option].observe(response)
    return picked, leading


def main_changed_habits(households: int, rng: random.Random) -> None:
    picked: list[list[float]] = [[] for _ in range(WEEKS_AFTER_CHANGE)]
    leading: list[list[float]] = [[] for _ in range(WEEKS_AFTER_CHANGE)]
    for _ in range(households):
        picks, leads = run_changed_habits(rng)
        for week in range(WEEKS_AFTER_CHANGE):
            picked[week].append(sum(picks[week]) / len(picks[week]))
            leading[week].append(sum(leads[week]) / len(leads[week]))
    print(f"households: {households}; after {WEEKS} weeks the better option changes")
    print("week after  new better option picked  the likeliest pick (share of episodes)")
    for week in range(WEEKS_AFTER_CHANGE):
        print(
            f"{week + 1:>10}  {statistics.mean(picked[week]):22.1%}  "
            f"{statistics.mean(leading[week]):6.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--habits-change",
        action="store_true",
        help="after the 8 weeks another option becomes the better one: how soon it follows",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.habits_change:
        main_changed_habits(args.households, rng)
        return
    per_week: list[list[float]] = [[] for _ in range(WEEKS)]
    late: list[float] = []
    lowest = 1.0
    most_per_day = 0
    leads: list[list[bool]] = []
    for _ in range(args.households):
        weeks, low, most, leading = run_household(rng)
        leads.append(leading)
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
    print("after n episodes, households whose likeliest pick is the better option:")
    for n in CHECKPOINTS:
        share = sum(leading[n] for leading in leads if n < len(leading)) / len(leads)
        print(f"{n:>5}  {share:6.1%}")
    for_good = [_leads_for_good_after(leading) for leading in leads]
    never = sum(1 for start in for_good if start is None)
    starts = sorted(start for start in for_good if start is not None)
    print(
        f"the better option the likeliest for good after episodes: median "
        f"{statistics.median(starts):.0f}, quartiles {starts[len(starts) // 4]} and "
        f"{starts[3 * len(starts) // 4]}; not by week {WEEKS}: {never} households"
    )


def _leads_for_good_after(leading: list[bool]) -> int | None:
    """How many episodes it took for the better option to become the likeliest pick and stay
    so to the end; None if it is not the likeliest at the end."""
    start = len(leading)
    while start > 0 and leading[start - 1]:
        start -= 1
    return start if start < len(leading) else None


if __name__ == "__main__":
    main()
