"""The personal baseline: prior until ready, HRV4Training-style norm, and it survives restarts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ambient.config.signals import BaselineConfig
from ambient.signals.baseline import Baseline

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
    assert norm.ln_rmssd_sd == pytest.approx(0.1)  # the floor: no spread yet


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
    from datetime import datetime
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
