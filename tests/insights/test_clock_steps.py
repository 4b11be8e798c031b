"""Insights when the wall clock is stepped under them, as on a Raspberry Pi: it has no real-time
clock, starts at its last shutdown's time, and NTP steps it forward (by days, after a holiday)
or, rarely, back. Timers keep their remaining delays (they run on monotonic time), so what
happens at a time of day (midnight, the end of the night window, the weekly report) reads the
wall clock at least once a minute and follows it; the minutes of a day count only time that
passed, never the span a step jumped over."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ambient.clock import VirtualClock
from ambient.config.insights import InsightsConfig
from ambient.config.root import AmbientConfig
from ambient.connections.errors import NotConnected
from ambient.insights.delivery import NOTIFY_PATIENCE_S, WRITE_RETRY_S, ReportDelivery
from ambient.insights.minutes import HIGH_S
from ambient.insights.service import Insights
from ambient.insights.storage import InsightStore
from ambient.insights.summaries import DaySummary
from ambient.insights.synthetic import summaries
from ambient.messages import SignalScalar, SignalUpdate, SignalValue
from ambient.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
DAY_S = 86400.0


def _at(hour: int, minute: int, second: int = 0, day: int = 4) -> float:
    """Unix seconds of a local time in Berlin, in December 2026 (the 4th, a Friday, unless
    told)."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=BERLIN).timestamp()


class Stepped:
    """Insights on a clock that steps as a live one does (timers read it every minute)."""

    def __init__(
        self, start: float, store: Store | None = None, config: InsightsConfig | None = None
    ) -> None:
        self.clock = VirtualClock(start, wall_check_s=60.0)
        self.store = store or Store(None)
        self.published: list[SignalUpdate] = []
        self.insights = Insights(
            config or InsightsConfig(),
            ["alex"],
            BERLIN,
            self.clock,
            self.store,
            self.published.append,
        )

    def signals(self, **values: SignalScalar | None) -> None:
        t = self.clock.now()
        update = SignalUpdate(
            t,
            "alex",
            {k: SignalValue(v, t, None if v is not None else "stale") for k, v in values.items()},
        )
        self.insights.on_signals(update)

    def published_at(self, name: str) -> list[float]:
        return [u.time for u in self.published if name in u.values]

    def high_minutes(self, day: date) -> float:
        kept = InsightStore(self.store).open_day("alex", day, BERLIN)
        opened = self.insights.open_day("alex")
        if opened is not None and opened.day == day:
            kept = opened
        assert kept is not None, day
        return sum(row[HIGH_S] for row in kept.bins.values()) / 60


def test_after_a_forward_step_the_day_closes_at_the_wall_clocks_midnight() -> None:
    s = Stepped(_at(10, 0))
    s.clock.advance_to(_at(10, 1))
    s.clock.step(_at(23, 58, day=7) - _at(10, 1))  # NTP: the 7th, 23:58
    s.clock.advance_to(_at(0, 2, day=8))
    told = [
        (datetime.fromtimestamp(u.time, BERLIN).strftime("%d %H:%M"), u.values[name].reason)
        for u in s.published
        for name in ("day_stress_minutes",)
        if name in u.values
    ]
    assert told[-2:] == [
        ("07 23:59", "nothing worn on 2026-12-06"),  # the midnights jumped over, seen at once
        ("08 00:00", "nothing worn on 2026-12-07"),  # and this one on time
    ]
    s.insights.close()


def _stored_days(store: Store, days: dict[date, float]) -> None:
    for day, value in days.items():
        summary = DaySummary("alex", day, 600, 60, 20, 5, 200, 30, 58.0, value, "night", 35.0)
        store.put("insights.days", f"alex/{day}", summary.to_json())


def test_after_a_forward_step_the_early_warning_comes_within_a_minute_not_hours_late() -> None:
    store = Store(None)
    first = date(2026, 10, 5)
    steady = {first + timedelta(days=k): 3.9 if k % 2 else 4.1 for k in range(59)}
    _stored_days(store, {**steady, date(2026, 12, 3): 3.8})  # yesterday: low
    s = Stepped(_at(0, 0), store)
    s.clock.advance_to(_at(0, 0, 1))
    s.signals(stress_score=20.0, activity_state="rest", hr=50.0, ln_rmssd=3.8)
    s.clock.advance_to(_at(4, 59))
    s.signals(stress_score=None, activity_state=None, hr=None, ln_rmssd=None)
    s.clock.advance_to(_at(5, 0))
    s.clock.step(3 * 3600.0)  # 08:00: the night window ended while the clock was behind
    s.clock.advance_to(_at(8, 2))
    (low,) = [
        u.time
        for u in s.published
        if u.values.get("hrv_trend", None) and u.values["hrv_trend"].value == "low"
    ]
    assert _at(8, 0) <= low <= _at(8, 1)
    s.insights.close()


def _delivery_config(folder: Path) -> AmbientConfig:
    return AmbientConfig.model_validate(
        {
            "people": [{"id": "alex", "name": "Alex"}],
            "insights": {"report": {"folder": str(folder), "notify": "notify.alex"}},
        }
    )


def _with_weeks(store: Store) -> Store:
    for summary in summaries("alex", date(2026, 10, 12), 56, seed=3):
        store.put("insights.days", f"alex/{summary.day}", summary.to_json())
    return store


async def test_after_a_forward_step_the_weekly_report_comes_at_the_wall_clocks_time(
    tmp_path: Path,
) -> None:
    settings = _delivery_config(tmp_path / "www")
    assert settings.insights.report is not None
    clock = VirtualClock(_at(10, 0, day=5), wall_check_s=60.0)  # Saturday
    delivery = ReportDelivery(
        settings, settings.insights.report, clock, _with_weeks(Store(None)), BERLIN, None
    )
    clock.step(_at(7, 58, day=7) - _at(10, 0, day=5))  # Monday, 07:58
    await clock.run_until(_at(7, 59, 30, day=7))
    await delivery.settled()
    assert not delivery.written
    await clock.run_until(_at(8, 1, day=7))
    await delivery.settled()
    assert [path.name[:13] for path in delivery.written] == ["alex-2026-W49"]
    delivery.close()


async def test_a_forward_step_while_ha_is_down_does_not_cut_the_notifications_wait(
    tmp_path: Path,
) -> None:
    """The wait for HA is a duration (NOTIFY_PATIENCE_S of time passing), not a time of day:
    a step of the clock neither ends it at once nor stretches it."""
    settings = _delivery_config(tmp_path / "www")
    assert settings.insights.report is not None
    clock = VirtualClock(_at(7, 59, day=7), wall_check_s=60.0)
    tried: list[float] = []
    sent: list[float] = []
    first_try = asyncio.Event()

    async def notify(service: str, data: dict[str, Any]) -> None:
        tried.append(clock.monotonic())
        first_try.set()
        if len(tried) < 4:
            raise NotConnected("Home Assistant is not connected (connecting)")
        sent.append(clock.monotonic())

    delivery = ReportDelivery(
        settings, settings.insights.report, clock, _with_weeks(Store(None)), BERLIN, notify
    )
    await clock.run_until(_at(8, 0, day=7))
    await first_try.wait()
    clock.step(DAY_S)  # NTP, while HA boots with the Pi
    await clock.run_until(_at(8, 10, day=8))
    await delivery.settled()
    assert len(sent) == 1 and sent[0] - tried[0] < NOTIFY_PATIENCE_S
    delivery.close()


async def test_the_hourly_try_of_a_page_not_written_is_an_hour_of_time_passing(
    tmp_path: Path,
) -> None:
    """The next try of a page that could not be written is a duration (WRITE_RETRY_S of time
    passing), not a time of day: NTP stepping the clock back two hours does not put it off
    by those two hours."""
    settings = _delivery_config(tmp_path / "www")
    assert settings.insights.report is not None
    (tmp_path / "www").write_text("a file where the folder should be")
    clock = VirtualClock(_at(7, 59, day=7), wall_check_s=60.0)
    delivery = ReportDelivery(
        settings, settings.insights.report, clock, _with_weeks(Store(None)), BERLIN, None
    )
    await clock.run_until(_at(8, 1, day=7))
    await delivery.settled()
    assert not delivery.written
    (tmp_path / "www").unlink()  # room again
    clock.step(-2 * 3600.0)  # 06:01 on the wall clock
    await clock.run_until(_at(8, 1, day=7) - 2 * 3600.0 + WRITE_RETRY_S + 60.0)
    await delivery.settled()
    assert [path.name[:13] for path in delivery.written] == ["alex-2026-W49"]
    delivery.close()


def test_a_forward_step_of_three_days_invents_no_minutes() -> None:
    """Stress held at 80 when NTP steps the clock three days on: the days jumped over are
    closed with nothing worn, not with 960 + 1440 + 1440 made-up minutes of high stress (the
    same for a machine suspended meanwhile: its monotonic clock stands still as well)."""
    s = Stepped(_at(8, 0))
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(8, 10))
    s.clock.step(3 * DAY_S)
    s.clock.advance_to(_at(8, 10, 30, day=7))
    s.signals(stress_score=80.5)  # the first update after the step
    s.clock.advance_to(_at(8, 20, 30, day=7))
    s.signals(stress_score=None)
    assert [s.high_minutes(date(2026, 12, d)) for d in (4, 5, 6, 7)] == [10, 0, 0, 10]
    s.insights.close()


def test_a_steady_stretch_without_a_step_still_counts() -> None:
    s = Stepped(_at(8, 0))
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(9, 0))  # no update for an hour: the value held
    s.signals(stress_score=None)
    assert s.high_minutes(date(2026, 12, 4)) == 60
    s.insights.close()


def test_after_a_step_back_no_minute_is_counted_twice() -> None:
    """The minutes the clock shows a second time hold what was recorded the first time: the
    held values count again once the clock passes the last minute recorded."""
    s = Stepped(_at(10, 0))
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(10, 30))
    s.clock.step(-3600.0)  # 09:30 again
    for minute in range(30, 60):
        s.clock.advance_to(_at(9, minute))
        s.signals(stress_score=80.0 + minute / 100)
    for minute in range(60):
        s.clock.advance_to(_at(10, minute))
        s.signals(stress_score=80.0 + minute / 100)
    s.clock.advance_to(_at(11, 0))
    s.signals(stress_score=None)
    opened = s.insights.open_day("alex")
    assert opened is not None
    assert all(row[HIGH_S] <= 60 for row in opened.bins.values())
    assert s.high_minutes(date(2026, 12, 4)) == 60  # 10:00 to 11:00, each minute once
    s.insights.close()


def test_a_gap_not_counted_is_one_line_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    s = Stepped(_at(8, 0))
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(8, 5))
    s.clock.step(2 * 3600.0)
    with caplog.at_level(logging.INFO, logger="ambient.insights"):
        s.signals(stress_score=None)
    assert [r.getMessage() for r in caplog.records] == [
        "Clock stepped by 2h (or the machine suspended): the 2h5min since the last update "
        "of alex not counted in the daily minutes"
    ]
    s.insights.close()


def test_a_boot_behind_the_last_save_counts_no_minute_twice(tmp_path: Path) -> None:
    """A power cut at 10:55; the Pi boots at 10:00 (fake-hwclock saves the time hourly) and
    NTP steps the clock to 11:30 only half an hour later: the minutes 10:00 to 10:30 already
    hold what was recorded before the power cut and get nothing more."""
    path = tmp_path / "ambient.db"
    store = Store(path)
    before = Stepped(_at(9, 0), store)
    before.signals(stress_score=80.0)
    before.clock.advance_to(_at(10, 55))  # saved every 10 minutes, the last at 10:50
    store.close()  # the power cut: no last save
    store = Store(path)
    after = Stepped(_at(10, 0), store)
    for minute in range(0, 31):
        after.clock.advance_to(_at(10, minute))
        after.signals(stress_score=80.0 + minute / 100)
    after.clock.step(_at(11, 30) - _at(10, 30))
    for minute in range(30, 41):
        after.clock.advance_to(_at(11, minute, 30))
        after.signals(stress_score=81.0 + minute / 100)
    after.signals(stress_score=None)
    opened = after.insights.open_day("alex")
    assert opened is not None
    assert max(row[HIGH_S] for row in opened.bins.values()) <= 60
    assert after.high_minutes(date(2026, 12, 4)) == 110 + 10  # 09:00-10:50, 11:30:30-11:40:30
    after.insights.close()


def test_a_boot_behind_midnight_goes_on_with_the_day_it_left_open(tmp_path: Path) -> None:
    """A power cut at 00:35; fake-hwclock saved 23:45 the day before: the day closed at
    midnight is not opened again, and the open day keeps its first half hour once NTP steps
    the clock forward."""
    path = tmp_path / "ambient.db"
    store = Store(path)
    before = Stepped(_at(23, 0), store)
    before.signals(stress_score=80.0)
    before.clock.advance_to(_at(0, 35, day=5))  # saved at 00:30 on the 5th
    store.close()
    store = Store(path)
    closed = InsightStore(store).summary("alex", date(2026, 12, 4))
    after = Stepped(_at(23, 45), store)
    after.signals(stress_score=80.0)
    after.clock.advance_to(_at(23, 50))
    after.clock.step(_at(0, 40, day=5) - _at(23, 50))
    after.clock.advance_to(_at(0, 40, 30, day=5))
    after.signals(stress_score=81.0)
    after.clock.advance_to(_at(0, 50, 30, day=5))
    after.signals(stress_score=None)
    opened = after.insights.open_day("alex")
    assert opened is not None and opened.day == date(2026, 12, 5)
    assert after.high_minutes(date(2026, 12, 5)) == 30 + 10  # to the save, after the step
    assert InsightStore(store).summary("alex", date(2026, 12, 4)) == closed
    after.insights.close()


# -- a process stopped (SIGSTOP, then SIGCONT): no step, no suspend -------------------------


def paused() -> Stepped:
    """Insights at 8:00 whose open day is saved only daily: no timer counts the held values
    while the clock moves over a pause, as none runs in a stopped process (the SIGCONT hook
    runs before the timers that came due)."""
    return Stepped(_at(8, 0), config=InsightsConfig(persist_every=DAY_S))


def test_a_pause_of_the_process_counts_nothing_since_the_last_update(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both clocks run on while the process is stopped, so only the daemon's SIGCONT hook can
    tell the pause from a steady value: the stress held at 80 before it counts no minute of it."""
    s = paused()
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(8, 1))
    s.signals(stress_score=80.5)
    s.clock.advance_to(_at(8, 41))  # stopped for 40 minutes
    s.insights.resumed_after_pause()
    with caplog.at_level(logging.INFO, logger="ambient.insights"):
        s.signals(stress_score=None)  # its signals gone stale meanwhile
    assert s.high_minutes(date(2026, 12, 4)) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "Resumed after a stop (SIGCONT): the 40min since the last update of alex not counted "
        "in the daily minutes"
    ]
    s.insights.close()


def test_a_pause_shorter_than_stale_after_counts_nothing_either() -> None:
    s = paused()
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(8, 1))
    s.signals(stress_score=80.5)
    s.clock.advance_to(_at(8, 1, 10))
    s.insights.resumed_after_pause()
    s.signals(stress_score=81.0)
    s.clock.advance_to(_at(8, 2, 10))
    s.signals(stress_score=None)
    assert s.high_minutes(date(2026, 12, 4)) == 2  # 8:00-8:01 and 8:01:10-8:02:10
    s.insights.close()


def test_after_a_pause_the_minutes_count_again_from_the_first_update() -> None:
    s = paused()
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(8, 30))
    s.insights.resumed_after_pause()
    s.signals(stress_score=80.0)
    s.clock.advance_to(_at(9, 0))  # a steady value after the pause holds, as before
    s.signals(stress_score=None)
    assert s.high_minutes(date(2026, 12, 4)) == 30
    s.insights.close()


async def test_a_week_delivered_before_a_power_cut_is_not_sent_again_when_ntp_steps_over_its_time(
    tmp_path: Path,
) -> None:
    """Monday's page went out at 08:00; the power was cut at 08:30 and the Pi boots at the
    time fake-hwclock last saved, 07:45, before the delivery time. NTP then steps the clock
    to 09:00, over 08:00 again: that week was delivered already, so no second page and no
    second notification on the phone."""
    settings = _delivery_config(tmp_path / "www")
    assert settings.insights.report is not None
    store = _with_weeks(Store(None))
    sent: list[str] = []

    async def notify(service: str, data: dict[str, Any]) -> None:
        sent.append(data["data"]["url"])

    clock = VirtualClock(_at(7, 59, day=7), wall_check_s=60.0)
    delivery = ReportDelivery(settings, settings.insights.report, clock, store, BERLIN, notify)
    await clock.run_until(_at(8, 1, day=7))
    await delivery.settled()
    assert len(sent) == 1
    delivery.close()
    booted = VirtualClock(_at(7, 45, day=7), wall_check_s=60.0)  # fake-hwclock's saved time
    again = ReportDelivery(settings, settings.insights.report, booted, store, BERLIN, notify)
    booted.step(_at(9, 0, day=7) - _at(7, 45, day=7))  # NTP
    await booted.run_until(_at(9, 2, day=7))
    await again.settled()
    assert len(sent) == 1 and not again.written
    # the next week comes as usual
    await booted.run_until(_at(8, 1, day=14))
    await again.settled()
    assert len(sent) == 2 and [path.name[:13] for path in again.written] == ["alex-2026-W50"]
    again.close()
