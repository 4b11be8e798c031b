"""Synthetic days for tests and benchmarks: daily ln RMSSD series with a chosen drop and gaps,
whole daily summaries shaped like a real person's weeks, and a steady person's weeks with no
pattern but day-to-day noise (seeded, so reproducible)."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from ambient.insights.summaries import DaySummary


def ln_rmssd_series(
    start: date,
    days: int,
    seed: int,
    mean: float = 4.0,
    sd: float = 0.2,
    drop_from: int | None = None,
    drop_sd: float = 1.0,
    missing: float = 0.0,
    drop_over: int = 1,
    carry_over: float = 0.0,
) -> dict[date, float]:
    """Daily ln RMSSD: normal noise of ``sd`` around ``mean``; from day ``drop_from`` on the
    mean falls by ``drop_sd`` SDs, at once or evenly over ``drop_over`` days (a decline);
    each day is missing with probability ``missing``. ``carry_over``: the correlation of one
    day's variation with the day before's (a good or bad spell lasting a few days); 0, the
    default, gives the same days as before it existed."""
    rng = random.Random(seed)
    series: dict[date, float] = {}
    spell = 0.0
    for k in range(days):
        spell = carry_over * spell + math.sqrt(1 - carry_over**2) * rng.gauss(0.0, 1.0)
        value = mean + sd * spell
        if drop_from is not None and k >= drop_from:
            value -= drop_sd * sd * min(1.0, (k - drop_from + 1) / drop_over)
        if rng.random() >= missing:
            series[start + timedelta(days=k)] = value
    return series


def summaries(person: str, start: date, days: int, seed: int) -> list[DaySummary]:
    """Plausible daily summaries: busier weekdays, shorter sleep before stressful days."""
    rng = random.Random(seed)
    out: list[DaySummary] = []
    for k in range(days):
        day = start + timedelta(days=k)
        weekday = day.weekday() < 5
        sleep = max(4.0, rng.gauss(7.4 if not weekday else 6.8, 0.6))
        strain = max(0.0, rng.gauss(1.0 if weekday else 0.5, 0.4) + (7.0 - sleep) * 0.3)
        high = round(max(0.0, rng.gauss(20 * strain, 8)), 1)
        episodes = tuple(
            {
                "rule": "calm_when_stressed",
                "start": 0.0,
                "end": 0.0,
                "actions": ["calm_lights"],
                "stress_before": round(rng.uniform(60, 85), 1),
                "stress_after": round(rng.uniform(30, 60), 1),
            }
            for _ in range(1 if high > 25 else 0)
        )
        out.append(
            DaySummary(
                person=person,
                day=day,
                measured_minutes=round(rng.uniform(600, 900), 1),
                low_minutes=round(max(0.0, rng.gauss(120 * strain, 20)), 1),
                medium_minutes=round(max(0.0, rng.gauss(50 * strain, 10)), 1),
                high_minutes=high,
                recovery_minutes=round(max(0.0, rng.gauss(300 - 60 * strain, 30)), 1),
                active_minutes=round(max(0.0, rng.gauss(45 if not weekday else 30, 15)), 1),
                resting_hr=round(rng.gauss(58 + 2 * strain, 1.5), 1),
                ln_rmssd=round(rng.gauss(4.0 - 0.08 * strain, 0.12), 3),
                ln_rmssd_source="night",
                mean_stress=round(rng.uniform(25, 45) + 5 * strain, 1),
                sleep_hours=round(sleep, 2),
                sleep_score=round(min(100.0, sleep * 11 + rng.gauss(0, 4)), 0),
                episodes=episodes,
            )
        )
    return out


def steady_weeks(
    person: str, start: date, seed: int, busy_tuesdays: float = 1.0, cv: float = 0.4
) -> list[DaySummary]:
    """Four weeks of a steady person whose days vary by ``cv`` (stress and recovery minutes,
    activity, sleep: all independent of each other), Tuesdays' stress ``busy_tuesdays`` times
    the rest's."""
    rng = random.Random(seed)
    out: list[DaySummary] = []
    for k in range(28):
        day = start + timedelta(days=k)
        stress = 150.0 * (busy_tuesdays if day.weekday() == 1 else 1.0)
        out.append(
            DaySummary(
                person=person,
                day=day,
                measured_minutes=700.0,
                low_minutes=max(0.0, rng.gauss(stress, 150 * cv)),
                medium_minutes=0,
                high_minutes=0,
                recovery_minutes=max(0.0, rng.gauss(250, 250 * cv)),
                active_minutes=max(0.0, rng.gauss(35, 20)),
                resting_hr=60.0,
                ln_rmssd=None,
                ln_rmssd_source=None,
                mean_stress=30.0,
                sleep_hours=rng.gauss(7.0, 0.7),
            )
        )
    return out
