"""How well the personal baseline's SD standardises a resting minute on the next day, after a
few days or many: the day-to-day spread with a prior (ambient's baseline) against the spread of
the pooled minutes alone (the baseline before it had a prior).

    python bench/bench_baseline.py [--people 1000] [--seed 1] [--prior-days 2]

Simulated people (no heart data): each has a resting level of ln RMSSD and HR, minute-to-minute
noise within a day (SD 0.05-0.25 and 1-3 bpm) and day-to-day shifts of the level (SD 0.05-0.4
and 1-6 bpm; a day with lower HRV tends to have a higher HR, correlation -0.5), spreads drawn
per person so that some are steadier and some less so than the prior assumes (0.3, 5 bpm).
The baseline learns 20 quiet minutes a day for K days; the next day's 20 resting minutes are
standardised against it. A right SD gives z-scores with SD 1; a too-small one, larger ones. A
"resting day scored as stress" is a next day whose resting minutes' mean combined z (the stress
score's, HRV weight 0.5) is above 1.42, the stress score's 70: a rule `above 70 for 2min` would
fire on it with nobody stressed.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from dataclasses import dataclass

from ambient.config.signals import BaselineConfig, StressConfig
from ambient.signals.baseline import Baseline, Norm
from ambient.signals.stress import combined_z

DAY_S = 86400.0
MINUTES_A_DAY = 20
SCORE_70_Z = 1.42


@dataclass(frozen=True)
class Person:
    ln_level: float
    hr_level: float
    ln_within: float
    hr_within: float
    ln_day: float
    hr_day: float


def draw_person(rng: random.Random) -> Person:
    return Person(
        rng.gauss(3.7, 0.5),
        rng.gauss(65.0, 8.0),
        rng.uniform(0.05, 0.25),
        rng.uniform(1.0, 3.0),
        rng.uniform(0.05, 0.4),
        rng.uniform(1.0, 6.0),
    )


def day_shift(person: Person, rng: random.Random) -> tuple[float, float]:
    """The day's shift of both levels: a low-HRV day tends to be a high-HR day."""
    a, b = rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)
    return person.ln_day * a, person.hr_day * (-0.5 * a + math.sqrt(0.75) * b)


def minutes_of_a_day(person: Person, rng: random.Random) -> list[tuple[float, float]]:
    ln_shift, hr_shift = day_shift(person, rng)
    return [
        (
            person.ln_level + ln_shift + rng.gauss(0.0, person.ln_within),
            person.hr_level + hr_shift + rng.gauss(0.0, person.hr_within),
        )
        for _ in range(MINUTES_A_DAY)
    ]


def pooled_minutes_norm(baseline: Baseline, norm: Norm) -> tuple[float, float]:
    """The SDs as the baseline gave them before its prior: the pooled minutes' sample SD over
    the range, at least 0.1 and 2 bpm."""
    days = list(baseline.to_json()["days"].values())

    def pooled(n_at: int, floor: float) -> float:
        n = sum(d[n_at] for d in days)
        total = sum(d[n_at + 1] for d in days)
        total_sq = sum(d[n_at + 2] for d in days)
        return max(floor, math.sqrt(max(0.0, (total_sq - total * total / n) / (n - 1))))

    assert norm.state == "personal"
    return pooled(3, 0.1), pooled(0, 2.0)


@dataclass
class Tally:
    ln_z: list[float]
    hr_z: list[float]
    days_scored_as_stress: int = 0
    days: int = 0

    def add(self, minutes: list[tuple[float, float]], norm: Norm, sds: tuple[float, float]) -> None:
        stress = StressConfig()
        combined = []
        for ln, hr in minutes:
            ln_z = (ln - norm.ln_rmssd_mean) / sds[0]
            hr_z = (hr - norm.hr_mean) / sds[1]
            self.ln_z.append(ln_z)
            self.hr_z.append(hr_z)
            combined.append(combined_z(ln_z, hr_z, stress))
        self.days += 1
        self.days_scored_as_stress += statistics.fmean(combined) > SCORE_70_Z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--prior-days", type=float, default=BaselineConfig().prior_days)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{args.people} simulated people, {MINUTES_A_DAY} quiet minutes a day; the next day's "
        f"resting minutes against the baseline of K days (prior_days {args.prior_days:g})"
    )
    print(
        f"{'K days':>6}  {'SD of ln RMSSD z':>17}  {'SD of HR z':>13}  "
        f"{'resting days scored >= 70':>26}"
    )
    print(
        f"{'':>6}  {'before':>8} {'now':>8}  {'before':>6} {'now':>6}  {'before':>12} {'now':>12}"
    )
    for days in (3, 5, 7, 14, 30, 60):
        rng = random.Random(args.seed * 1000 + days)
        before, now = Tally([], []), Tally([], [])
        for _ in range(args.people):
            person = draw_person(rng)
            baseline = Baseline(BaselineConfig(prior_days=args.prior_days))
            for day in range(days):
                for k, (ln, hr) in enumerate(minutes_of_a_day(person, rng)):
                    baseline.add(day * DAY_S + 8 * 3600 + 60 * k, ln, hr)
            norm = baseline.norm((days - 1) * DAY_S + 20 * 3600)
            next_day = minutes_of_a_day(person, rng)
            now.add(next_day, norm, (norm.ln_rmssd_sd, norm.hr_sd))
            before.add(next_day, norm, pooled_minutes_norm(baseline, norm))
        print(
            f"{days:>6}  {statistics.pstdev(before.ln_z):>8.2f} {statistics.pstdev(now.ln_z):>8.2f}"
            f"  {statistics.pstdev(before.hr_z):>6.2f} {statistics.pstdev(now.hr_z):>6.2f}"
            f"  {_share(before):>12} {_share(now):>12}"
        )


def _share(tally: Tally) -> str:
    return f"{100 * tally.days_scored_as_stress / tally.days:.1f} %"


if __name__ == "__main__":
    main()
