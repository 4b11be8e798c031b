"""Early warning: how soon can a sustained ln RMSSD drop of 1 SD be flagged at <= 1 false alert
per 60 days, and how close does ``hrv_trend`` come?

Part 1, the bound: daily values i.i.d. N(0, 1) with known mean and SD, a step of -1 SD. For
one-sided CUSUMs (allowance k; h from Siegmund's approximation of the in-control average run
length, ARL0 = 60 days, and checked by simulation), for the mean of the last w days against a
threshold (w = 7 is the HRV4Training band) and for the two combined: P(flagged within 4 days
of the step), the median delay and false alerts per 60 days (alerts counted as entries into
the alarm state; the textbook CUSUM restarts from 0 after an alarm). Last, the CUSUM with
the mean and SD estimated from the 60-day range as hrv_trend has to: leaving out the latest
7 days, or (what hrv_trend does) only the days of the CUSUM's current run above zero.

Part 2, the detector: ``hrv_trend`` itself (reference mean and SD estimated from the stored
days, the gates, the 7-day band) on the synthetic generator (``ambient.insights.synthetic``),
for a grid of settings: P(flagged within 4 days) and median delay for a drop on day 40 of a
60-day series, and false alerts per 60 days both in the 60-day series (the first ~20 days have
no trend yet) and for an established user (days 60-159 of a 160-day series). By default on
generator seeds from 3000, which no setting was chosen on; a row's P(<= 4 d) has a standard
error of about 0.016 with 1000 seeds.

Part 3, what a user lives with: false warnings a month over years of a steady established
user (independent days, 30 % missing, days correlated 0.3 and 0.5 with the day before), and the
days to warn after declines from day 100 (steps of 1 and 2 SD, a gradual one, with days missing
or correlated). ``--independent-days`` runs parts 2 and 3 with the carry-over never estimated:
the detector before it scored each day against the day before.

Run: python bench/bench_early_warning.py [--quick] [--first-seed N] [--part 1|2|3]
[--independent-days]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from ambient.config.insights import TrendConfig
from ambient.insights import trends
from ambient.insights.synthetic import ln_rmssd_series
from ambient.insights.trends import hrv_trend

Bool2D = NDArray[np.bool_]
Float2D = NDArray[np.float64]
DAYS_PER_ALERT = 60.0
WITHIN_DAYS = 4
MISSED = 99
START = date(2026, 1, 5)


# -- part 1: the bound ---------------------------------------------------------------------


def siegmund_arl(drift: float, h: float) -> float:
    """Siegmund's approximation of a CUSUM's average run length; ``drift``: mean of each
    day's increment (in SD) minus the allowance k."""
    b = h + 1.166
    if abs(drift) < 1e-9:
        return b * b
    return (math.exp(-2 * drift * b) + 2 * drift * b - 1) / (2 * drift * drift)


def siegmund_h(k: float, arl0: float = DAYS_PER_ALERT) -> float:
    low, high = 0.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if siegmund_arl(-k, middle) < arl0 else (low, middle)
    return high


def cusum_alarms(z: Float2D, k: float, h: float) -> Bool2D:
    """Textbook downward CUSUM on z-scores, restarting from 0 after each alarm."""
    total = np.zeros(z.shape[0])
    alarms = np.zeros(z.shape, dtype=bool)
    for day in range(z.shape[1]):
        total = np.maximum(0.0, total - z[:, day] - k)
        alarms[:, day] = fired = total > h
        total[fired] = 0.0
    return alarms


def mean_below(z: Float2D, days: int, threshold: float) -> Bool2D:
    """Entries of the mean of the last ``days`` values under ``-threshold``."""
    sums = np.cumsum(np.pad(z, ((0, 0), (1, 0))), axis=1)
    means = np.full(z.shape, np.inf)
    means[:, days - 1 :] = (sums[:, days:] - sums[:, :-days]) / days
    below = means < -threshold
    entered = below.copy()
    entered[:, 1:] &= ~below[:, :-1]
    return entered


def estimated_z(x: Float2D, range_days: int = 60, left_out: int = 7) -> Float2D:
    """z-scores against the mean and SD of days t-59 .. t-7 (what hrv_trend has to use);
    NaN before a full reference."""
    padded = np.pad(x, ((0, 0), (1, 0)))
    sums, squares = np.cumsum(padded, axis=1), np.cumsum(padded * padded, axis=1)
    n = range_days - left_out
    z = np.full(x.shape, np.nan)
    for day in range(range_days - 1, x.shape[1]):
        first, last = day - range_days + 1, day - left_out + 1
        total, sq = sums[:, last] - sums[:, first], squares[:, last] - squares[:, first]
        mean = total / n
        sd = np.sqrt(np.maximum((sq - n * mean * mean) / (n - 1), 1e-12))
        z[:, day] = (x[:, day] - mean) / sd
    return z


def cusum_alarms_before_run(
    x: Float2D, k: float, h: float, range_days: int = 60, left_out: int = 7
) -> Bool2D:
    """Textbook downward CUSUM (restarting after each alarm) on z-scores against the range's
    days before the current run above zero, leaving out at most ``left_out`` days (what
    hrv_trend does now); no alarms before a full range."""
    runs, days = x.shape
    padded = np.pad(x, ((0, 0), (1, 0)))
    sums, squares = np.cumsum(padded, axis=1), np.cumsum(padded * padded, axis=1)
    rows = np.arange(runs)
    total, run_start = np.zeros(runs), np.full(runs, -1)
    alarms = np.zeros(x.shape, dtype=bool)
    for day in range(range_days - 1, days):
        first = day - range_days + 1
        last = np.where(total > 0, np.maximum(run_start - 1, day - left_out), day - 1)
        n = last - first + 1
        mean = (sums[rows, last + 1] - sums[:, first]) / n
        sq = squares[rows, last + 1] - squares[:, first]
        sd = np.sqrt(np.maximum((sq - n * mean * mean) / (n - 1), 1e-12))
        starting = total <= 0
        total = np.maximum(0.0, total - (x[:, day] - mean) / sd - k)
        run_start = np.where(total <= 0, -1, np.where(starting, day, run_start))
        alarms[:, day] = fired = total > h
        total[fired], run_start[fired] = 0.0, -1
    return alarms


def rate_per_60(alerts: Bool2D) -> float:
    return float(alerts.sum() / alerts.size * DAYS_PER_ALERT)


def delays(alerts: Bool2D, change_day: int) -> NDArray[np.int64]:
    """Days from the step to the first alert on or after it (1: on the step's day)."""
    after = alerts[:, change_day:]
    return np.where(after.any(axis=1), after.argmax(axis=1) + 1, MISSED)


def calibrate(rate_at: Callable[[float], float], low: float, high: float) -> float:
    """The smallest threshold in [low, high] with at most 1 false alert per 60 days."""
    for _ in range(22):
        middle = (low + high) / 2
        low, high = (middle, high) if rate_at(middle) > 1.0 else (low, middle)
    return high


def bound(runs: int) -> None:
    rng = np.random.default_rng(2026)
    stable = rng.standard_normal((runs, 400))
    change_day = 100
    stepped = rng.standard_normal((runs, change_day + 40))
    stepped[:, change_day:] -= 1.0
    tune = stable[: max(runs // 4, 2000)]

    print("## The bound: i.i.d. N(0,1) days, known mean and SD, a step of -1 SD\n")
    print("| detector | threshold | P(<= 4 days) | median delay | false alerts / 60 d |")
    print("| --- | --- | --- | --- | --- |")

    def row(name: str, threshold: str, alerts: Bool2D, rate: float) -> None:
        found = delays(alerts, change_day)
        p = float(np.mean(found <= WITHIN_DAYS))
        print(f"| {name} | {threshold} | {p:.2f} | {np.median(found):g} | {rate:.2f} |")

    for k in (0.25, 0.5, 0.75, 1.0, 1.25):
        h = siegmund_h(k)
        arl1 = siegmund_arl(1.0 - k, h)
        rate = rate_per_60(cusum_alarms(stable, k, h))
        label = f"h = {h:.2f} (Siegmund ARL0 60, ARL1 {arl1:.1f})"
        row(f"CUSUM k = {k:g}", label, cusum_alarms(stepped, k, h), rate)
    for days in (1, 2, 3, 4, 5, 7):

        def band_rate(c: float, days: int = days) -> float:
            return rate_per_60(mean_below(tune, days, c))

        c = calibrate(band_rate, 0.0, 4.0)
        rate = rate_per_60(mean_below(stable, days, c))
        name = f"{days}-day mean" + (" (the band)" if days == 7 else "")
        row(name, f"below -{c:.2f} SD", mean_below(stepped, days, c), rate)
    for c in (0.9, 1.0, 1.2):
        band = mean_below(tune, 7, c)

        def combined_rate(h: float, band: Bool2D = band) -> float:
            return rate_per_60(cusum_alarms(tune, 0.5, h) | band)

        h = calibrate(combined_rate, 0.0, 8.0)
        rate = rate_per_60(cusum_alarms(stable, 0.5, h) | mean_below(stable, 7, c))
        alerts = cusum_alarms(stepped, 0.5, h) | mean_below(stepped, 7, c)
        row("CUSUM k = 0.5 or 7-day mean", f"h = {h:.2f}, band -{c:g} SD", alerts, rate)
    # The same, but with the mean and SD estimated from the 60-day range (as hrv_trend must):
    # leaving out the latest 7 days (hrv_trend before), or the days of the CUSUM's current
    # run, at most 7 (hrv_trend now).
    live_stable = np.nan_to_num(estimated_z(stable)[:, 59:], nan=0.0)
    live_stepped = np.nan_to_num(estimated_z(stepped), nan=0.0)
    live_tune = live_stable[: tune.shape[0]]
    for k in (0.5, 0.75):

        def live_rate(h: float, k: float = k) -> float:
            return rate_per_60(cusum_alarms(live_tune, k, h))

        h = calibrate(live_rate, 0.0, 8.0)
        rate = rate_per_60(cusum_alarms(live_stable, k, h))
        name = f"CUSUM k = {k:g}, reference estimated (days t-59 .. t-7)"
        row(name, f"h = {h:.2f}", cusum_alarms(live_stepped, k, h), rate)
    tune_raw = stable[: tune.shape[0]]

    def run_rate(h: float) -> float:
        return rate_per_60(cusum_alarms_before_run(tune_raw, 0.5, h)[:, 59:])

    h = calibrate(run_rate, 0.0, 8.0)
    rate = rate_per_60(cusum_alarms_before_run(stable, 0.5, h)[:, 59:])
    name = "CUSUM k = 0.5, reference estimated (days t-59 .. before the current run)"
    row(name, f"h = {h:.2f}", cusum_alarms_before_run(stepped, 0.5, h), rate)
    print()


# -- part 2: the detector ------------------------------------------------------------------


def trend_alerts(series: dict[date, float], config: TrendConfig, first: int, last: int) -> int:
    """Entries into ``low`` on days [first, last)."""
    count, previous = 0, None
    for day in range(first, last):
        state = hrv_trend(series, START + timedelta(days=day), config).state
        count += state == "low" and previous != "low"
        previous = state
    return count


def first_alert_from(
    series: dict[date, float], config: TrendConfig, drop: int, days: int | None = None
) -> int | None:
    """Days from the drop to the first entry into ``low`` on or after it, over ``days``
    (by default as many as the series holds, none missing); None when the trend was already
    low the day before the drop (a false alert still on: no delay to measure, the
    steady-state convention)."""
    previous = None
    for day in range(len(series) if days is None else days):
        state = hrv_trend(series, START + timedelta(days=day), config).state
        if day == drop and previous == "low":
            return None
        if state == "low" and previous != "low" and day >= drop:
            return day - drop + 1
        previous = state
    return MISSED


def drop_delays(config: TrendConfig, seeds: range, days: int, drop: int) -> tuple[list[int], int]:
    """Delays over ``seeds`` series with a 1 SD drop on day ``drop``, and how many runs were
    already low when it came."""
    found = [
        first_alert_from(
            ln_rmssd_series(START, days, 1000 * days + s, drop_from=drop), config, drop
        )
        for s in seeds
    ]
    measured = [d for d in found if d is not None]
    return measured, len(found) - len(measured)


def detector_row(name: str, config: TrendConfig, seeds: range) -> None:
    young, _ = drop_delays(config, seeds, 60, 40)
    later, already = drop_delays(config, seeds, 110, 100)
    in_60 = statistics.fmean(
        trend_alerts(ln_rmssd_series(START, 60, s), config, 0, 60) for s in seeds
    )
    established = statistics.fmean(
        trend_alerts(ln_rmssd_series(START, 160, 5000 + s), config, 60, 160) for s in seeds
    ) * (DAYS_PER_ALERT / 100)

    def within(delays: list[int]) -> float:
        return sum(d <= WITHIN_DAYS for d in delays) / len(delays)

    print(
        f"| {name} | {config.cusum_k:g} | {config.cusum_h:g} | {config.cusum_release:g} | "
        f"{within(young):.2f} | {statistics.median(young):g} | {in_60:.2f} | "
        f"{within(later):.2f} | {statistics.median(later):g} | {established:.2f} | "
        f"{already / len(seeds):.0%} |"
    )


def detector(seeds: range) -> None:
    print(
        f"## hrv_trend on the synthetic generator ({len(seeds)} seeds per row, "
        f"{seeds.start} .. {seeds.stop - 1})\n"
    )
    print(
        "| low when | k | h | release | P(<= 4 d), day 40 of 60 | median | false / 60-day "
        "series | P(<= 4 d), day 100 | median | false / 60 d, established | already low |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    entered = "CUSUM enters, band holds"
    grid: list[tuple[str, dict[str, float]]] = [
        (entered + " (default)", {}),
        (entered, {"cusum_h": 2.3}),
        (entered, {"cusum_h": 2.5}),
        (entered, {"cusum_h": 2.8}),
        ("CUSUM only, no band", {"band_sd": 10.0}),
    ]
    for name, fields in grid:
        detector_row(name, TrendConfig.model_validate(fields), seeds)
    print()


# -- part 3: what a user lives with ---------------------------------------------------------

DAYS_PER_MONTH = 365.25 / 12


def year_warnings(seed: int, missing: float, carry_over: float) -> int:
    """Entries into ``low`` over a year of a steady established user (60 days behind them)."""
    series = ln_rmssd_series(START, 425, seed, missing=missing, carry_over=carry_over)
    return trend_alerts(series, TrendConfig(), 60, 425)


def decline_delay(
    seed: int, drop_sd: float, drop_over: int, missing: float, carry_over: float
) -> int | None:
    """Days from a decline starting on day 100 to the first entry into ``low`` (None: low
    already the day before)."""
    series = ln_rmssd_series(
        START,
        160,
        seed,
        drop_from=100,
        drop_sd=drop_sd,
        drop_over=drop_over,
        missing=missing,
        carry_over=carry_over,
    )
    return first_alert_from(series, TrendConfig(), 100, 160)


def lived_with(years: int, declines: int) -> None:
    print(f"## A steady person, months on end ({years} years a row, seeds 5000 on)\n")
    print("| steady days | false warnings per month |")
    print("| --- | --- |")
    steady = [
        ("independent from day to day", 0.0, 0.0),
        ("30 % of days missing", 0.3, 0.0),
        ("carry-over 0.3 (AR(1))", 0.0, 0.3),
        ("carry-over 0.5 (AR(1))", 0.0, 0.5),
    ]
    for name, missing, carry_over in steady:
        count = sum(year_warnings(5000 + s, missing, carry_over) for s in range(years))
        print(f"| {name} | {count / (years * 365 / DAYS_PER_MONTH):.2f} |")
    print(f"\n## Days to warn after a decline from day 100 ({declines} series a row)\n")
    print("| decline | median | 90 % within | <= 4 d | <= 7 d | <= 14 d | already low |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [
        ("step of 1 SD", 1.0, 1, 0.0, 0.0),
        ("step of 1 SD, 30 % missing", 1.0, 1, 0.3, 0.0),
        ("step of 2 SD", 2.0, 1, 0.0, 0.0),
        ("gradual: 1 SD over 14 days", 1.0, 14, 0.0, 0.0),
        ("step of 1 SD, carry-over 0.5", 1.0, 1, 0.0, 0.5),
        ("step of 2 SD, carry-over 0.5", 2.0, 1, 0.0, 0.5),
    ]
    for name, drop_sd, drop_over, missing, carry_over in rows:
        found = [
            decline_delay(2000 + s, drop_sd, drop_over, missing, carry_over)
            for s in range(declines)
        ]
        measured = sorted(d for d in found if d is not None)
        ninety = measured[math.ceil(0.9 * len(measured)) - 1]

        def share(days: int, measured: list[int] = measured) -> str:
            return f"{sum(d <= days for d in measured) / len(measured):.0%}"

        print(
            f"| {name} | {statistics.median(measured):g} | {ninety} | {share(4)} | "
            f"{share(7)} | {share(14)} | {(len(found) - len(measured)) / len(found):.0%} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a rough table)")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=3000,
        help="first generator seed of part 2 (3000: seeds the settings were not chosen on)",
    )
    parser.add_argument(
        "--part", type=int, choices=(1, 2, 3), help="only this part (default: all three)"
    )
    parser.add_argument(
        "--independent-days",
        action="store_true",
        help="parts 2 and 3 with every day scored as independent of the day before (no "
        "carry-over estimated: hrv_trend before it was)",
    )
    arguments = parser.parse_args()
    if arguments.independent_days:
        trends.MIN_PAIRS = sys.maxsize  # never enough consecutive days: no carry-over
    if arguments.part in (None, 1):
        bound(4000 if arguments.quick else 20000)
    first = arguments.first_seed
    if arguments.part in (None, 2):
        detector(range(first, first + (200 if arguments.quick else 1000)))
    if arguments.part in (None, 3):
        lived_with(*((30, 200) if arguments.quick else (200, 1000)))


if __name__ == "__main__":
    main()
