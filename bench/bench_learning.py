"""The learning curve of the calming-option learner on a simulated household.

Three options; one works 0.5 SD better than the others (true effects 0.6, 0.1, 0.1 SD of
ln RMSSD), each episode's response has 1 SD of noise, two episodes a day for 8 weeks, a cap
of 3 a day. Prints, per week, how often the better option was picked (mean over households)
and checks the targets: >= 70 % in weeks 5-8, every option >= 10 % likely, the cap never
exceeded.

Episodes are 12 hours apart, and the learner ages what it learnt as the daemon does (each
belief aged to the episode's start, then the response observed), with the default half-life
unless ``--half-life`` says otherwise (0: never forgotten).

``--habits-change``: after the 8 weeks the better option changes; per week, how soon the learner
follows. ``--forgetting``: the half-lives side by side: how many episodes until the learner
picks a new better option most of the time after a change at episode 60 (and at episode 360,
half a year), and what forgetting costs when nothing changes (share of the better option in
weeks 5-8 and in weeks 19-26, when the learner has long settled).

    python bench/bench_learning.py [--households 200] [--seed 1] [--half-life DAYS]
                                   [--habits-change | --forgetting]
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Mapping, Sequence

from ambient.config.actions import CALMING_HALF_LIFE_S
from ambient.interventions.learner import OptionBelief, Prior, choose, prior_for

TRUE_EFFECT_SD = {"breathing_box": 0.6, "lights_music": 0.1, "breathing_long": 0.1}
KINDS = {
    "breathing_box": ["breathing"],
    "lights_music": ["calm_lights", "play_calming"],
    "breathing_long": ["breathing"],
}
PRIORS: Mapping[str, Prior] = {name: prior_for(kinds) for name, kinds in KINDS.items()}
WEEKS = 8
EPISODES_PER_DAY = 2
DAILY_CAP = 3
FLOOR = 0.1
DAY_S = 86_400.0
#: Time between two episodes of the simulated person.
EPISODE_GAP_S = DAY_S / EPISODES_PER_DAY


#: Episodes after which the bench says how many households already lean towards the better one.
CHECKPOINTS = (5, 10, 14, 28, 56, 111)


class Person:
    """One simulated person's learner: beliefs aged to each episode's start, as the chooser
    ages them, then the response observed."""

    def __init__(self, rng: random.Random, half_life_s: float | None) -> None:
        self.rng = rng
        self.half_life_s = half_life_s
        self.beliefs = {name: OptionBelief.from_prior(name, PRIORS[name]) for name in KINDS}

    def episode(self, now: float, effects: Mapping[str, float]) -> tuple[str, Mapping[str, float]]:
        """The option chosen at ``now`` and the odds it was drawn with; its response (true
        effect plus 1 SD of noise) is learnt."""
        self.beliefs = {
            name: belief.aged(now, self.half_life_s, PRIORS[name])
            for name, belief in self.beliefs.items()
        }
        choice = choose(list(self.beliefs.values()), floor=FLOOR, rng=self.rng)
        assert choice is not None
        response = self.rng.gauss(effects[choice.option], 1.0)
        self.beliefs[choice.option] = self.beliefs[choice.option].observe(response)
        return choice.option, choice.probabilities


def run_household(
    rng: random.Random, half_life_s: float | None
) -> tuple[list[list[bool]], float, int, list[bool]]:
    """Per week, whether each episode picked the better option; the lowest probability seen;
    the most episodes on one day; per episode, whether the better option was the likeliest
    pick (strictly: its odds above every other's)."""
    person = Person(rng, half_life_s)
    weeks: list[list[bool]] = [[] for _ in range(WEEKS)]
    lowest = 1.0
    most_per_day = 0
    leading: list[bool] = []
    for day in range(WEEKS * 7):
        today = 0
        for n in range(EPISODES_PER_DAY):
            if today >= DAILY_CAP:
                break
            option, odds = person.episode(day * DAY_S + n * EPISODE_GAP_S, TRUE_EFFECT_SD)
            today += 1
            lowest = min(lowest, *odds.values())
            better = odds["breathing_box"]
            leading.append(all(better > p for o, p in odds.items() if o != "breathing_box"))
            weeks[day // 7].append(option == "breathing_box")
        most_per_day = max(most_per_day, today)
    return weeks, lowest, most_per_day, leading


#: ``--habits-change``: after the 8 weeks, the better option calms no more than the others and
#: lights_music calms as it did: how many weeks until the learner follows.
CHANGED_EFFECT_SD = {"breathing_box": 0.1, "lights_music": 0.6, "breathing_long": 0.1}
WEEKS_AFTER_CHANGE = 26


def run_changed(
    rng: random.Random,
    half_life_s: float | None,
    before: int,
    after: int,
    effects_after: Mapping[str, float] = CHANGED_EFFECT_SD,
) -> list[tuple[bool, bool]]:
    """``before`` episodes with ``TRUE_EFFECT_SD``, then ``after`` with ``effects_after``: per
    episode after the change, whether it picked the better option of ``effects_after``, and
    whether that was the likeliest pick (strictly)."""
    person = Person(rng, half_life_s)
    for n in range(before):
        person.episode(n * EPISODE_GAP_S, TRUE_EFFECT_SD)
    best = max(effects_after, key=lambda name: effects_after[name])
    found: list[tuple[bool, bool]] = []
    for n in range(before, before + after):
        option, odds = person.episode(n * EPISODE_GAP_S, effects_after)
        leads = all(odds[best] > p for o, p in odds.items() if o != best)
        found.append((option == best, leads))
    return found


def main_changed_habits(households: int, rng: random.Random, half_life_s: float | None) -> None:
    per_week = 7 * EPISODES_PER_DAY
    picked: list[list[float]] = [[] for _ in range(WEEKS_AFTER_CHANGE)]
    leading: list[list[float]] = [[] for _ in range(WEEKS_AFTER_CHANGE)]
    for _ in range(households):
        found = run_changed(
            rng, half_life_s, WEEKS * 7 * EPISODES_PER_DAY, WEEKS_AFTER_CHANGE * per_week
        )
        for week in range(WEEKS_AFTER_CHANGE):
            episodes = found[week * per_week : (week + 1) * per_week]
            picked[week].append(sum(pick for pick, _ in episodes) / per_week)
            leading[week].append(sum(lead for _, lead in episodes) / per_week)
    print(
        f"households: {households}; after {WEEKS} weeks the better option changes; "
        f"half-life: {_days(half_life_s)}"
    )
    print("week after  new better option picked  the likeliest pick (share of episodes)")
    for week in range(WEEKS_AFTER_CHANGE):
        print(
            f"{week + 1:>10}  {statistics.mean(picked[week]):22.1%}  "
            f"{statistics.mean(leading[week]):6.1%}"
        )


#: ``--forgetting``: the half-lives compared (days; None: never forgotten), the episodes before
#: a change, how long it is followed, and the half year in which nothing changes.
HALF_LIVES_DAYS: Sequence[float | None] = (None, 180.0, 90.0, 60.0, 30.0)
CHANGES_AT = (60, 360)
FOLLOWED = 240
STATIONARY = 365
#: The window over which "most of the time" is judged: a week of episodes.
WINDOW = 7 * EPISODES_PER_DAY


def episodes_until_most(picks: Sequence[float]) -> int | None:
    """The first episode after the change (counting from 1) that starts a week in which the new
    better option is picked in more than half of the episodes, households pooled; None: never
    within the episodes followed."""
    for start in range(len(picks) - WINDOW + 1):
        if statistics.mean(picks[start : start + WINDOW]) > 0.5:
            return start + 1
    return None


def main_forgetting(households: int, seed: int) -> None:
    print(
        f"households: {households} per row, seed {seed}; two episodes a day; "
        f"'most of the time': over half of a week's {WINDOW} episodes, households pooled"
    )
    header = "half-life   "
    for at in CHANGES_AT:
        header += f"| change at {at}: until most, picked in 1-28, 29-112 "
    header += "| no change: better picked in weeks 5-8, 19-26"
    print(header)
    for days in HALF_LIVES_DAYS:
        half_life_s = None if days is None else days * DAY_S
        line = f"{_days(half_life_s):<11} "
        for at in CHANGES_AT:
            rng = random.Random(seed)
            runs = [run_changed(rng, half_life_s, at, FOLLOWED) for _ in range(households)]
            per_episode = [statistics.mean(run[n][0] for run in runs) for n in range(FOLLOWED)]
            until = episodes_until_most(per_episode)
            line += (
                f"| {'>' + str(FOLLOWED) if until is None else until:>22} "
                f"{statistics.mean(per_episode[:28]):>10.1%} "
                f"{statistics.mean(per_episode[28:112]):>6.1%} "
            )
        rng = random.Random(seed)
        stationary = [
            run_changed(rng, half_life_s, 0, STATIONARY, TRUE_EFFECT_SD) for _ in range(households)
        ]
        early = statistics.mean(
            statistics.mean(pick for pick, _ in run[56:112]) for run in stationary
        )
        settled = statistics.mean(
            statistics.mean(pick for pick, _ in run[252:364]) for run in stationary
        )
        line += f"| {early:>10.1%} {settled:>6.1%}"
        print(line)


def _days(half_life_s: float | None) -> str:
    return "never" if half_life_s is None else f"{half_life_s / DAY_S:g} days"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--half-life",
        type=float,
        default=None,
        help="days until what an episode taught counts half (0: never less; default: ambient's)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--habits-change",
        action="store_true",
        help="after the 8 weeks another option becomes the better one: how soon it follows",
    )
    mode.add_argument(
        "--forgetting",
        action="store_true",
        help="half-lives side by side: following a change, and the cost when nothing changes",
    )
    args = parser.parse_args()
    if args.forgetting and args.half_life is not None:
        parser.error("--forgetting compares its own half-lives; --half-life is for the others")
    days = CALMING_HALF_LIFE_S / DAY_S if args.half_life is None else args.half_life
    half_life_s = days * DAY_S if days > 0 else None
    if args.forgetting:
        main_forgetting(args.households, args.seed)
        return
    rng = random.Random(args.seed)
    if args.habits_change:
        main_changed_habits(args.households, rng, half_life_s)
        return
    per_week: list[list[float]] = [[] for _ in range(WEEKS)]
    late: list[float] = []
    lowest = 1.0
    most_per_day = 0
    leads: list[list[bool]] = []
    for _ in range(args.households):
        weeks, low, most, leading = run_household(rng, half_life_s)
        leads.append(leading)
        lowest = min(lowest, low)
        most_per_day = max(most_per_day, most)
        for week, picks in enumerate(weeks):
            per_week[week].append(sum(picks) / len(picks))
        late_picks = [pick for picks in weeks[4:] for pick in picks]
        late.append(sum(late_picks) / len(late_picks))
    print(
        f"households: {args.households}, episodes each: {WEEKS * 7 * EPISODES_PER_DAY}, "
        f"half-life: {_days(half_life_s)}"
    )
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
