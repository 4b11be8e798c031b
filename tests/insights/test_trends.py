"""The HRV trend warns of a sustained drop, rarely cries wolf on stable days, and never reads a
gap or a restart as a trend; the stress slope rises before a threshold and is unknown across
gaps. Figures over many seeded synthetic 60-day series (the generator in insights.synthetic)."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

from ambient.config.insights import TrendConfig
from ambient.insights.synthetic import ln_rmssd_series
from ambient.insights.trends import StressSlope, hrv_trend

START = date(2026, 1, 5)
CONFIG = TrendConfig()
SEEDS = range(100)


def alerts(series: dict[date, float], days: int = 60) -> list[int]:
    """Days on which the trend turned low."""
    out, previous = [], None
    for k in range(days):
        state = hrv_trend(series, START + timedelta(days=k), CONFIG).state
        if state == "low" and previous != "low":
            out.append(k)
        previous = state
    return out


def test_a_sustained_1_sd_drop_is_flagged_within_days() -> None:
    delays = []
    for seed in SEEDS:
        found = [
            k for k in alerts(ln_rmssd_series(START, 60, 1000 + seed, drop_from=40)) if k >= 40
        ]
        delays.append(found[0] - 40 + 1 if found else 99)
    within_4 = sum(d <= 4 for d in delays) / len(delays)
    print(
        f"\n1 SD drop: {within_4:.0%} flagged within 4 days, "
        f"median {statistics.median(delays)} days"
    )
    assert statistics.median(delays) <= 5
    assert within_4 >= 0.4
    assert sum(d <= 10 for d in delays) / len(delays) >= 0.8


def test_stable_days_give_at_most_one_false_alert_per_60_days() -> None:
    false_alerts = [len(alerts(ln_rmssd_series(START, 60, seed))) for seed in SEEDS]
    print(f"\nstable: {statistics.fmean(false_alerts):.2f} false alerts per 60 days")
    assert statistics.fmean(false_alerts) <= 1.0


def test_a_gap_never_reads_as_a_trend() -> None:
    false_alerts = []
    for seed in SEEDS:
        series = ln_rmssd_series(START, 60, seed)
        # Ten days without data (a holiday without the strap), then ordinary days again.
        gapped = {d: v for d, v in series.items() if not 30 <= (d - START).days < 40}
        for k in range(35, 42):  # under 3 valid days in the last 7, in the gap and after
            trend = hrv_trend(gapped, START + timedelta(days=k), CONFIG)
            assert trend.state is None, (seed, k, trend)
        false_alerts.append(len(alerts(gapped)))
    print(
        f"\nstable with a 10-day gap: {statistics.fmean(false_alerts):.2f} false alerts / 60 days"
    )
    assert statistics.fmean(false_alerts) <= 1.0


def test_too_few_days_a_week_give_no_trend_but_say_why() -> None:
    series = ln_rmssd_series(START, 40, 1)
    sparse = {d: v for d, v in series.items() if (d - START).days < 30 or d.weekday() in (0, 3)}
    trend = hrv_trend(sparse, START + timedelta(days=39), CONFIG)
    assert trend.state is None
    assert trend.why == "2 days with HRV in the last 7; 3 needed"
    assert hrv_trend(series, START + timedelta(days=10), CONFIG).why.endswith("14 needed")


def test_the_trend_is_a_function_of_the_stored_days_so_a_restart_changes_nothing() -> None:
    series = ln_rmssd_series(START, 60, 7, drop_from=45)
    today = START + timedelta(days=59)
    once = hrv_trend(series, today, CONFIG)
    rebuilt = hrv_trend(dict(sorted(series.items(), reverse=True)), today, CONFIG)
    assert once == rebuilt
    assert once.state == "low"


def test_the_stress_slope_rises_before_the_threshold_and_is_unknown_across_a_gap() -> None:
    slope = StressSlope(600.0)
    for k in range(0, 601, 10):
        slope.add(float(k), 30.0 + k / 60 * 2)  # +2 points a minute, still below 50
    value, why = slope.slope(600.0)
    assert value is not None and abs(value - 2.0) < 1e-6 and why == ""
    slope.add(900.0, 60.0)  # 5 minutes without a score: a gap, not a rise
    assert slope.slope(900.0)[0] is None
    slope.add(1000.0, None)
    assert slope.slope(1000.0) == (None, "no recent stress score")
