"""The personal baseline: prior until ready, HRV4Training-style norm, and it survives restarts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ambient.config.signals import BaselineConfig, StressConfig
from ambient.signals.baseline import Baseline
from ambient.signals.stress import stress_score, z_score

DAY = 86400.0


def test_the_prior_then_the_first_quiet_minutes_then_the_personal_norm() -> None:
    config = BaselineConfig(min_days=3, min_samples=11, provisional_samples=5)
    baseline = Baseline(config)
    for k in range(4):
        baseline.add(k * 60, 4.2, 60.0)
    norm = baseline.norm(300)
    assert (norm.state, norm.ready) == ("prior", False)
    assert (norm.ln_rmssd_mean, norm.hr_mean) == (3.7, 70.0)
    baseline.add(300, 4.2, 60.0)  # the fifth quiet minute
    norm = baseline.norm(301)
    assert (norm.state, norm.ready) == ("provisional", False)
    assert norm.ln_rmssd_mean == pytest.approx(4.2)
    assert norm.hr_mean == pytest.approx(60.0)
    # One sitting cannot tell the day-to-day spread: the typical within-person one stands in.
    assert (norm.ln_rmssd_sd, norm.hr_sd) == (0.3, 5.0)
    for day in range(1, 3):
        for k in range(3):
            baseline.add(day * DAY + k * 60, 4.2, 60.0)
    norm = baseline.norm(2 * DAY + 200)
    assert (norm.state, norm.ready) == ("personal", True)
    # Three alike days: half the prior's spread is still assumed (worth 2 days against 2).
    assert norm.ln_rmssd_sd == pytest.approx((0.3**2 / 2) ** 0.5)


def test_hr_only_minutes_give_a_personal_hr_but_leave_hrv_on_the_prior() -> None:
    baseline = Baseline(BaselineConfig(provisional_samples=3))
    for k in range(3):
        baseline.add(k * 60, None, 58.0)
    norm = baseline.norm(200)
    assert norm.state == "provisional"
    assert norm.hr_mean == pytest.approx(58.0)
    assert (norm.ln_rmssd_mean, norm.ln_rmssd_sd) == (3.7, 0.5)


def test_a_reset_goes_back_to_the_prior() -> None:
    baseline = Baseline(BaselineConfig(provisional_samples=1))
    baseline.add(0, 4.0, 60.0)
    assert baseline.norm(1).state == "provisional"
    baseline.clear()
    assert baseline.norm(2).state == "prior"
    assert baseline.dirty


def test_the_mean_is_the_last_7_days_and_the_spread_the_last_60() -> None:
    baseline = Baseline(BaselineConfig(min_days=1, min_samples=1))
    for day in range(60):
        value = 3.5 if day < 53 else 4.5
        for k in range(4):
            baseline.add(day * DAY + k, value + (0.1 if k % 2 else -0.1), 65.0)
    norm = baseline.norm(59 * DAY + 100)
    assert norm.ln_rmssd_mean == pytest.approx(4.5)
    assert 0.3 < norm.ln_rmssd_sd < 0.5  # the 60-day range includes the older, lower days


def test_a_configured_resting_hr_wins() -> None:
    assert Baseline(BaselineConfig(), resting_hr=52.0).norm(0).hr_mean == 52.0


def test_saved_state_that_is_not_ours_is_refused() -> None:
    baseline = Baseline(BaselineConfig())
    assert not baseline.load_json({"version": 3})
    assert not baseline.load_json({"version": 2})
    assert not baseline.load_json({"version": 1, "days": {"1": [1, 2]}})
    assert not baseline.load_json({"version": 2, "days": {"x": [1, 60, 3600, 1, 4.0, 16.0]}})
    assert baseline.load_json({"version": 2, "days": {"1": [1, 60.0, 3600.0, 1, 4.0, 16.0]}})


def test_a_baseline_saved_by_the_previous_version_is_read() -> None:
    baseline = Baseline(BaselineConfig(min_days=1, min_samples=2))
    assert baseline.load_json({"version": 1, "days": {"1": [2, 8.0, 32.0, 120.0, 7200.0]}})
    norm = baseline.norm(DAY + 10)
    assert norm.ready
    assert norm.ln_rmssd_mean == pytest.approx(4.0)
    assert norm.hr_mean == pytest.approx(60.0)
    assert baseline.to_json()["version"] == 2


_RUN = """
import json, sys
from pathlib import Path
from ambient.clock import VirtualClock
from ambient.config.people import PersonConfig
from ambient.config.signals import SignalsConfig
from ambient.readings import Reading
from ambient.signals.engine import SignalEngine
from ambient.store import Store

path, start, hours = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
config = SignalsConfig.model_validate({"baseline": {"min_days": 1, "min_samples": 30}})
clock = VirtualClock(start)
store = Store(path)
engine = SignalEngine(config, [PersonConfig(id="alex")], clock, store, lambda u: None)
t = start
while t < start + hours * 3600:
    for rr in (780.0, 820.0):
        t += rr / 1000
        clock.advance_to(t)
        engine.feed(Reading(t, "alex", "rr", rr, "test"))
engine.flush()
print(json.dumps({"ready": engine.get("alex", "baseline_ready").value,
                  "z": engine.get("alex", "ln_rmssd_z").value}))
"""


def run(path: Path, start: float, hours: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(path), str(start), str(hours)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_baseline_survives_a_restart_in_a_new_process(tmp_path: Path) -> None:
    store_path = tmp_path / "state" / "ambient.db"
    first = run(store_path, 1_000_000.0, 1.0)  # an hour at rest: 60 samples
    assert first["ready"] is True
    assert oct(store_path.stat().st_mode & 0o777) == "0o600"
    # A new process, a minute of data: too little to be ready on its own.
    second = run(store_path, 1_000_000.0 + 4000.0, 1 / 60)
    assert second["ready"] is True
    fresh = run(tmp_path / "other.db", 1_000_000.0 + 4000.0, 1 / 60)
    assert fresh["ready"] is False


def test_baseline_days_end_at_local_midnight_in_the_configured_zone() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    baseline = Baseline(BaselineConfig(min_days=2, min_samples=2), zone=berlin)
    # 23:30 and 00:30 Berlin time (summer, UTC+2) are one UTC day but two local days.
    evening = datetime(2026, 7, 1, 23, 30, tzinfo=berlin).timestamp()
    baseline.add(evening, 4.0, 60.0)
    baseline.add(evening + 3600, 4.0, 60.0)
    assert baseline.norm(evening + 3600).ready
    utc_days = Baseline(BaselineConfig(min_days=2, min_samples=2))
    utc_days.add(evening, 4.0, 60.0)
    utc_days.add(evening + 3600, 4.0, 60.0)
    assert not utc_days.norm(evening + 3600).ready


def test_the_norm_leaves_a_day_out_of_range_exactly_at_local_midnight() -> None:
    """A fixed-offset zone (UTC+2): the first quiet minutes count for 60 local days, up to the
    last instant before the 61st day's midnight, also when the norm was asked earlier that
    day (its day is kept between calls)."""
    plus_two = timezone(timedelta(hours=2))
    config = BaselineConfig(provisional_samples=5)
    baseline = Baseline(config, zone=plus_two)
    for k in range(5):
        baseline.add(8 * 3600 + k * 60, 4.2, 60.0)  # 10:00 local on local day 0
    midnight = config.range_days * DAY - 2 * 3600  # local day 60 begins (UTC+2)
    assert baseline.norm(midnight - 12 * 3600).state == "provisional"
    assert baseline.norm(midnight - 0.01).state == "provisional"
    assert baseline.norm(midnight + 0.01).state == "prior"
    assert baseline.norm(midnight - 0.01).state == "provisional"  # asked back in time too


def test_the_norm_leaves_a_day_out_of_range_at_local_midnight_after_a_23_hour_day() -> None:
    """A zone with summer time: the 60th local day is the 23-hour one (Berlin, 29 March
    2026), asked at noon first (its day kept between calls), then around its midnight."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    baseline = Baseline(BaselineConfig(provisional_samples=5), zone=berlin)
    first = datetime(2026, 1, 29, 10, 0, tzinfo=berlin).timestamp()
    for k in range(5):
        baseline.add(first + k * 60, 4.2, 60.0)
    midnight = datetime(2026, 3, 30, 0, 0, tzinfo=berlin).timestamp()  # local day 61 begins
    assert midnight - datetime(2026, 3, 29, 0, 0, tzinfo=berlin).timestamp() == 23 * 3600
    assert baseline.norm(midnight - 12 * 3600).state == "provisional"
    assert baseline.norm(midnight - 0.01).state == "provisional"
    assert baseline.norm(midnight + 0.01).state == "prior"
    assert baseline.norm(midnight - 0.01).state == "provisional"  # asked back in time too
    assert baseline.norm(midnight - 23 * 3600 + 0.01).state == "provisional"
    assert baseline.norm(midnight - 23 * 3600 - 0.01).state == "provisional"  # the day before


def test_the_norm_kept_for_a_23_hour_day_is_not_given_for_the_hour_before_it() -> None:
    """The day kept between calls is the local day, not 24 hours back from its end: asked on
    the 23-hour day (Berlin, 29 March 2026, when its minutes moved the mean), the instant
    before its midnight is the day before, with the day before's mean."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    baseline = Baseline(BaselineConfig(provisional_samples=5), zone=berlin)
    before = datetime(2026, 3, 28, 10, 0, tzinfo=berlin).timestamp()
    short_day = datetime(2026, 3, 29, 10, 0, tzinfo=berlin).timestamp()
    for k in range(5):
        baseline.add(before + k * 60, 4.2, 60.0)
        baseline.add(short_day + k * 60, 4.2, 70.0)
    midnight = datetime(2026, 3, 29, 0, 0, tzinfo=berlin).timestamp()  # the 23-hour day begins
    assert baseline.norm(short_day).hr_mean == pytest.approx(65.0)
    assert baseline.norm(midnight + 0.01).hr_mean == pytest.approx(65.0)
    assert baseline.norm(midnight - 0.01).hr_mean == pytest.approx(60.0)


def alike_days(baseline: Baseline, days: int, minutes: int, spread: float) -> None:
    """Quiet minutes whose ln(RMSSD) alternates ±``spread`` around 4.0 and HR ±``spread`` x 10
    around 60 bpm, every day the same level: days that look alike."""
    for day in range(days):
        for k in range(minutes):
            sign = 1.0 if k % 2 else -1.0
            baseline.add(
                day * DAY + 8 * 3600 + k * 60, 4.0 + sign * spread, 60.0 + sign * spread * 10
            )


def test_a_few_alike_days_do_not_shrink_the_spread_to_theirs() -> None:
    # Three quiet days that look alike show a spread of 0.11 within each day and none between
    # them; three days cannot show that the next one will be as alike, so the spread is still
    # half the prior's (worth 2 days against 2 days' worth of day-to-day evidence).
    baseline = Baseline(BaselineConfig())
    alike_days(baseline, 3, 20, 0.11)
    norm = baseline.norm(2 * DAY + 12 * 3600)
    assert (norm.state, norm.ready) == ("personal", True)
    assert norm.ln_rmssd_sd > 0.2  # not 0.11: a z against it is at most 1.0 / 0.2 too large
    assert norm.hr_sd > 3.0  # the HR spread likewise (1.1 bpm within a day)
    within = 0.11 * (60 / 57) ** 0.5  # ±0.11 about each day's mean: 60 minutes, 57 d.f.
    assert norm.ln_rmssd_within_sd == pytest.approx(within)
    day_to_day = ((0.3**2 - within**2) / 2) ** 0.5  # the prior's share, halved
    assert norm.ln_rmssd_day_sd == pytest.approx(day_to_day)
    assert norm.ln_rmssd_sd == pytest.approx((within**2 + day_to_day**2) ** 0.5)
    assert norm.ln_rmssd_days == norm.hr_days == 3


def test_the_spread_becomes_the_persons_own_as_days_accumulate() -> None:
    sds = []
    for days in (3, 7, 30, 60):
        baseline = Baseline(BaselineConfig())
        alike_days(baseline, days, 20, 0.11)
        sds.append(baseline.norm((days - 1) * DAY + 12 * 3600).ln_rmssd_sd)
    assert sds == sorted(sds, reverse=True)
    assert sds[-1] == pytest.approx(0.11, abs=0.015)  # 60 alike days: the person's own


def test_days_that_differ_show_their_day_to_day_spread() -> None:
    # Each day's level differs (3.6, 4.4, 3.6, ...): the day-to-day spread is the person's own
    # once days show it, above the prior's.
    baseline = Baseline(BaselineConfig(min_days=1))
    levels = [3.6, 4.4] * 15
    for day, level in enumerate(levels):
        for k in range(10):
            baseline.add(day * DAY + k * 60, level + (0.05 if k % 2 else -0.05), 60.0)
    norm = baseline.norm(29 * DAY + 3600)
    assert norm.ln_rmssd_day_sd == pytest.approx(0.4, abs=0.02)
    assert norm.ln_rmssd_within_sd == pytest.approx(0.05, abs=0.005)


def test_the_first_quiet_minutes_keep_the_assumed_spread_or_their_own_when_larger() -> None:
    config = BaselineConfig(provisional_samples=5)
    quiet = Baseline(config)
    wide = Baseline(config)
    for k in range(6):
        sign = 1.0 if k % 2 else -1.0
        quiet.add(k * 60, 4.0 + sign * 0.05, 60.0 + sign)
        wide.add(k * 60, 4.0 + sign * 0.45, 60.0 + sign * 7)
    assert quiet.norm(400).state == wide.norm(400).state == "provisional"
    assert (quiet.norm(400).ln_rmssd_sd, quiet.norm(400).hr_sd) == pytest.approx((0.3, 5.0))
    assert wide.norm(400).ln_rmssd_sd == pytest.approx(0.45 * (6 / 5) ** 0.5)
    assert wide.norm(400).hr_sd == pytest.approx(7 * (6 / 5) ** 0.5)


def test_a_version_2_baseline_of_alike_days_loads_with_the_prior_in_its_spread() -> None:
    # As an older ambient saved it: per-day sums [n_hr, Σhr, Σhr², n_ln, Σln, Σln²].
    days = {}
    for day in range(3):
        n, ln_values = 20, [4.0 + (0.11 if k % 2 else -0.11) for k in range(20)]
        hr_values = [60.0 + (1.1 if k % 2 else -1.1) for k in range(20)]
        days[str(day)] = [
            n, sum(hr_values), sum(h * h for h in hr_values),
            n, sum(ln_values), sum(x * x for x in ln_values),
        ]  # fmt: skip
    saved = json.loads(json.dumps({"version": 2, "days": days}))
    baseline = Baseline(BaselineConfig())
    assert baseline.load_json(saved)
    norm = baseline.norm(2 * DAY + 100)
    assert norm.ready and norm.ln_rmssd_mean == pytest.approx(4.0)
    assert norm.ln_rmssd_sd > 0.2
    assert baseline.to_json() == saved  # the stored form is unchanged


def test_a_low_resting_morning_after_three_alike_days_is_not_scored_as_stress() -> None:
    # The day after three alike days, a quiet morning a little low in HRV (−0.25) and a little
    # high in HR (+3 bpm) — the size of an ordinary day-to-day shift — stays below 70.
    baseline = Baseline(BaselineConfig())
    alike_days(baseline, 3, 20, 0.11)
    norm = baseline.norm(3 * DAY + 8 * 3600)
    ln_z = z_score(4.0 - 0.25, norm.ln_rmssd_mean, norm.ln_rmssd_sd)
    hr_z = z_score(60.0 + 3.0, norm.hr_mean, norm.hr_sd)
    assert stress_score(ln_z, hr_z, StressConfig()) < 70  # 67; it was 96 against the pooled SD


def test_after_weeks_without_the_strap_the_mean_is_still_the_last_7_days_worn() -> None:
    # Four weeks of rest at 60 bpm (ln RMSSD 4.0), two weeks of holiday, then the first two
    # minutes back: they are two minutes among a week of rest, not the whole mean.
    baseline = Baseline(BaselineConfig())
    for day in range(28):
        for k in range(30):
            baseline.add(day * DAY + 3600 + 60 * k, 4.0 + (0.1 if k % 2 else -0.1), 60.0)
    back = 42 * DAY + 3600
    baseline.add(back, 3.0, 70.0)
    baseline.add(back + 60, 3.0, 70.0)
    norm = baseline.norm(back + 120)
    assert norm.state == "personal"
    assert norm.hr_mean == pytest.approx((6 * 30 * 60.0 + 2 * 70.0) / (6 * 30 + 2))
    assert norm.ln_rmssd_mean == pytest.approx((6 * 30 * 4.0 + 2 * 3.0) / (6 * 30 + 2))
