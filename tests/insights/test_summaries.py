"""Daily summaries: recorded from signal updates, closed at local midnight (Europe/Berlin, across
DST), kept in the store, continued after a restart and recomputable from the stored minutes."""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ambient.clock import VirtualClock
from ambient.config.insights import InsightsConfig
from ambient.insights.days import day_end, day_start
from ambient.insights.minutes import LOW_S, HeldState, OpenDay
from ambient.insights.service import Insights
from ambient.insights.storage import InsightStore
from ambient.insights.summaries import DaySummary, summarize
from ambient.messages import SignalScalar, SignalUpdate, SignalValue, TraceRecord
from ambient.store import Store

BERLIN = ZoneInfo("Europe/Berlin")


class Day:
    """Insights on a virtual clock, fed signal updates as the signal engine would."""

    def __init__(self, start: float, store: Store, config: InsightsConfig | None = None) -> None:
        self.clock = VirtualClock(start)
        self.published: list[SignalUpdate] = []
        self.insights = Insights(
            config or InsightsConfig(),
            ["alex"],
            BERLIN,
            self.clock,
            store,
            self.published.append,
        )

    def signals(self, t: float, **values: SignalScalar | None) -> None:
        self.clock.advance_to(t)
        update = SignalUpdate(
            t,
            "alex",
            {k: SignalValue(v, t, None if v is not None else "stale") for k, v in values.items()},
        )
        self.insights.on_signals(update)

    def last(self, name: str) -> SignalScalar | None:
        for update in reversed(self.published):
            if name in update.values:
                return update.values[name].value
        raise AssertionError(f"{name} never published")


def local(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN).timestamp()


def test_a_day_is_closed_at_local_midnight_with_minutes_by_level() -> None:
    store = Store(None)
    day = Day(local(2026, 7, 1, 8, 0), store)
    day.signals(local(2026, 7, 1, 8, 0), stress_score=30.0, activity_state="rest", hr=60.0)
    day.signals(local(2026, 7, 1, 8, 20), stress_score=60.0)  # 20 min low
    day.signals(local(2026, 7, 1, 8, 30), stress_score=80.0)  # 10 min medium
    day.signals(local(2026, 7, 1, 8, 35), stress_score=10.0)  # 5 min high
    day.signals(local(2026, 7, 1, 9, 35), activity_state="active")  # 60 min recovery
    day.signals(local(2026, 7, 1, 10, 5), stress_score=None, activity_state="rest")  # 30 active
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    summary = InsightStore(store).summaries("alex")[date(2026, 7, 1)]
    assert (summary.low_minutes, summary.medium_minutes, summary.high_minutes) == (20, 10, 5)
    assert summary.recovery_minutes == 60
    assert summary.active_minutes == 30
    assert summary.measured_minutes == 125
    assert day.last("day_stress_minutes") == 35
    assert day.last("day_recovery_minutes") == 60


def test_days_across_dst_are_23_and_25_hours_and_count_every_minute() -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert day_end(spring, BERLIN) - day_start(spring, BERLIN) == 23 * 3600
    assert day_end(autumn, BERLIN) - day_start(autumn, BERLIN) == 25 * 3600
    store = Store(None)
    day = Day(day_start(autumn, BERLIN), store)
    day.signals(day_start(autumn, BERLIN), stress_score=30.0, activity_state="rest")
    day.clock.advance_to(day_end(autumn, BERLIN) + 1)
    day.signals(day_end(autumn, BERLIN) + 60, stress_score=30.0)
    summaries = InsightStore(store).summaries("alex")
    assert summaries[autumn].low_minutes == 25 * 60
    assert date(2026, 10, 26) not in summaries  # still open


def test_a_restart_continues_the_open_day_and_closes_one_left_open(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    store = Store(path)
    first = Day(local(2026, 7, 1, 22, 0), store)
    first.signals(local(2026, 7, 1, 22, 0), stress_score=30.0, activity_state="rest")
    first.signals(local(2026, 7, 1, 22, 30), stress_score=None)
    first.insights.close()
    store.close()
    # The daemon was off at midnight: the next start closes 1 July with what it had.
    store = Store(path)
    second = Day(local(2026, 7, 2, 7, 0), store)
    summaries = InsightStore(store).summaries("alex")
    assert summaries[date(2026, 7, 1)].low_minutes == 30
    second.signals(local(2026, 7, 2, 7, 0), stress_score=55.0, activity_state="rest")
    second.signals(local(2026, 7, 2, 7, 10), stress_score=None)
    second.insights.close()
    store.close()
    store = Store(path)
    third = Day(local(2026, 7, 2, 9, 0), store)
    third.signals(local(2026, 7, 2, 9, 0), stress_score=55.0)
    third.signals(local(2026, 7, 2, 9, 5), stress_score=None)
    third.clock.advance_to(local(2026, 7, 3, 0, 0, 1))
    assert InsightStore(store).summaries("alex")[date(2026, 7, 2)].medium_minutes == 15
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_summary_is_recomputed_from_the_stored_minutes() -> None:
    store = Store(None)
    day = Day(local(2026, 7, 1, 1, 0), store)
    t = local(2026, 7, 1, 1, 0)
    for k in range(60):  # an hour at night, at rest, HRV and HR known
        day.signals(
            t + k * 60,
            stress_score=20.0,
            activity_state="rest",
            hr=55.0 + k % 3,
            ln_rmssd=4.0 + (k % 2) * 0.1,
        )
    day.signals(t + 3600, stress_score=None, hr=None, ln_rmssd=None)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    storage = InsightStore(store)
    kept = storage.summaries("alex")[date(2026, 7, 1)]
    opened = storage.open_day("alex", date(2026, 7, 1), BERLIN)
    assert opened is not None
    assert summarize("alex", opened, InsightsConfig(), BERLIN) == kept
    assert kept.ln_rmssd_source == "night"
    assert kept.ln_rmssd == pytest.approx(4.05, abs=0.01)
    assert kept.resting_hr == pytest.approx(56.0, abs=0.5)


def test_without_a_night_the_quietest_5_minutes_give_the_hrv() -> None:
    store = Store(None)
    day = Day(local(2026, 7, 1, 12, 0), store)
    t = local(2026, 7, 1, 12, 0)
    for k in range(20):
        quiet = 10 <= k < 15
        day.signals(
            t + k * 60,
            activity_state="rest",
            hr=50.0 if quiet else 70.0,
            ln_rmssd=4.5 if quiet else 3.5,
        )
    day.signals(t + 20 * 60, hr=None, ln_rmssd=None)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    kept = InsightStore(store).summaries("alex")[date(2026, 7, 1)]
    assert kept.ln_rmssd_source == "quietest_5min"
    assert kept.ln_rmssd == pytest.approx(4.5)
    assert kept.resting_hr == pytest.approx(50.0)


def test_episodes_and_sleep_are_kept_with_the_day() -> None:
    store = Store(None)
    day = Day(local(2026, 7, 1, 7, 0), store)
    day.insights.on_sleep("alex", "hours", 6.5)
    t = local(2026, 7, 1, 9, 0)
    day.signals(t - 600, stress_score=80.0, activity_state="rest")
    day.insights.on_trace(TraceRecord(t, "calm", "fired", "stress high", person="alex"))
    day.signals(t + 600, stress_score=40.0)
    day.insights.on_trace(TraceRecord(t + 900, "calm", "recovered", "calm", person="alex"))
    day.signals(t + 1500, stress_score=None)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    kept = InsightStore(store).summaries("alex")[date(2026, 7, 1)]
    assert kept.sleep_hours == 6.5
    (episode,) = kept.episodes
    assert (episode["rule"], episode["end"]) == ("calm", t + 900)
    assert (episode["stress_before"], episode["stress_after"]) == (80.0, 40.0)


def test_an_episode_ended_as_signal_lost_closes_as_a_recovery_does() -> None:
    """A watch taken off ends the episode ("signal lost"); the weekly page matches learning to
    episodes by their end, so it must not stay open-ended. A run's `wait_for` timing out is
    traced `ended` too, but the episode goes on."""
    store = Store(None)
    day = Day(local(2026, 7, 1, 7, 0), store)
    t = local(2026, 7, 1, 9, 0)
    day.insights.on_trace(TraceRecord(t, "calm", "fired", "stress high", person="alex"))
    timed_out = TraceRecord(t + 600, "calm", "ended", "wait_for timed out", person="alex")
    day.insights.on_trace(timed_out)
    lost = TraceRecord(t + 1800, "calm", "ended", "signal lost", person="alex", ends_episode=True)
    day.insights.on_trace(lost)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    (episode,) = InsightStore(store).summaries("alex")[date(2026, 7, 1)].episodes
    assert episode["end"] == t + 1800


def test_a_day_without_signals_is_closed_too_with_its_sleep() -> None:
    store = Store(None)
    day = Day(local(2026, 7, 1, 7, 0), store)
    day.insights.on_sleep("alex", "hours", 8.0)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    kept = InsightStore(store).summaries("alex")[date(2026, 7, 1)]
    assert (kept.measured_minutes, kept.sleep_hours) == (0, 8.0)
    assert day.last("day_sleep_hours") == 8.0
    assert day.last("day_stress_minutes") is None  # unknown, not 0
    update = next(u for u in reversed(day.published) if "day_stress_minutes" in u.values)
    assert update.values["day_stress_minutes"].reason == "nothing worn on 2026-07-01"


def test_a_day_of_exercise_only_publishes_its_active_minutes() -> None:
    # The stress score is unknown during exercise: a day of only a run has no measured
    # minutes, yet the sensor was worn and the minutes are known.
    store = Store(None)
    day = Day(local(2026, 7, 1, 7, 0), store)
    day.signals(local(2026, 7, 1, 7, 0), stress_score=None, activity_state="active", hr=150.0)
    day.signals(local(2026, 7, 1, 7, 45), activity_state=None, hr=None)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    kept = InsightStore(store).summaries("alex")[date(2026, 7, 1)]
    assert (kept.measured_minutes, kept.active_minutes, kept.worn) == (0, 45, True)
    assert day.last("day_active_minutes") == 45
    update = next(u for u in reversed(day.published) if "day_sleep_hours" in u.values)
    assert update.values["day_sleep_hours"].reason == "no sleep value for 2026-07-01"
    assert update.values["day_resting_hr"].reason == "not measured on 2026-07-01"  # no rest


class CountingStore(Store):
    """A real in-memory store that counts the saves of a day's minutes and the minute bins
    each write encodes."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self.day_writes = 0
        self.bins_per_write: list[int] = []

    def put(self, namespace: str, key: str, value: Any) -> None:
        if namespace == "insights.minutes":
            if isinstance(value, dict) and "bins" in value:
                self.bins_per_write.append(len(value["bins"]))
            if isinstance(value, dict) and "day" in value:
                self.day_writes += 1
        super().put(namespace, key, value)


def test_an_idle_open_day_is_not_rewritten_every_save() -> None:
    store = CountingStore(None)
    day = Day(local(2026, 7, 1, 8, 0), store)
    day.signals(local(2026, 7, 1, 8, 0), stress_score=30.0)
    day.signals(local(2026, 7, 1, 8, 5), stress_score=None)
    day.clock.advance_to(local(2026, 7, 1, 12, 0))  # 4 hours: 24 saves due, one has news
    assert store.day_writes == 1
    assert store.bins_per_write == [5]


def test_saving_the_open_day_encodes_only_the_hours_that_changed() -> None:
    """A save every 10 minutes writes the hour being recorded, not the whole day so far: the
    saves of a day cost in proportion to its length, not to its square."""

    def bins_per_write(hours: int) -> list[int]:
        store = CountingStore(None)
        start = local(2026, 7, 1, 0, 0)
        day = Day(start, store)
        for k in range(hours * 60):
            day.signals(start + 60 * k, stress_score=30.0 + k % 7)
        day.clock.advance_to(start + hours * 3600 - 1)
        day.insights.close()
        return store.bins_per_write

    half, whole = bins_per_write(12), bins_per_write(24)
    assert max(whole) <= 60  # an hour of bins at most, at any save
    assert sum(whole) <= 2.1 * sum(half)  # twice the day, twice the bins encoded


class FailingStore(Store):
    """A real in-memory store whose first write of an hour of bins fails, as on a full disk."""

    failed = False

    def put(self, namespace: str, key: str, value: Any) -> None:
        if namespace == "insights.minutes" and key.count("/") == 2 and not self.failed:
            self.failed = True
            raise sqlite3.OperationalError("database or disk is full")
        super().put(namespace, key, value)


def test_a_save_that_fails_is_written_whole_at_the_next_save() -> None:
    store = FailingStore(None)
    day = Day(local(2026, 7, 1, 8, 0), store)
    day.signals(local(2026, 7, 1, 8, 0), stress_score=30.0)
    day.signals(local(2026, 7, 1, 8, 5), stress_score=None)
    day.clock.advance_to(local(2026, 7, 1, 8, 10))  # the first save fails
    assert store.failed and day.clock.failed_callbacks == 0  # a refusal, said not raised
    assert InsightStore(store).open_day("alex", date(2026, 7, 1), BERLIN) is None
    day.clock.advance_to(local(2026, 7, 1, 8, 20))  # the next one writes what it missed
    stored = InsightStore(store).open_day("alex", date(2026, 7, 1), BERLIN)
    assert stored is not None and sorted(stored.bins) == [480, 481, 482, 483, 484]


def test_a_day_the_full_store_cannot_close_is_closed_at_the_next_save_with_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk at midnight: one line, the updates after it go on (each one used to retry
    the close and raise), the day is kept in memory and stored once there is room, and the
    next midnight still comes (its timer used to be set only after a close that worked)."""
    store = Store(tmp_path / "ambient.db")
    day = Day(local(2026, 7, 1, 8, 0), store)
    day.signals(local(2026, 7, 1, 8, 0), stress_score=30.0, activity_state="rest", hr=60.0)
    day.signals(local(2026, 7, 1, 23, 50), stress_score=30.0)
    pages = store.query("PRAGMA page_count")[0][0]
    store.query(f"PRAGMA max_page_count = {pages}")  # SQLite fails writes as a full disk does
    with caplog.at_level(logging.WARNING):
        day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
        for minute in range(1, 4):
            day.signals(local(2026, 7, 2, 0, minute), stress_score=30.0)
    assert [r.getMessage() for r in caplog.records if r.name == "ambient.insights.service"] == [
        f"Day 2026-07-01 of alex not closed yet: store {tmp_path / 'ambient.db'} cannot be "
        "used (database or disk is full); the minutes are kept in memory and written when "
        "there is room (tried every 10min)"
    ]
    store.query("PRAGMA max_page_count = 1000000")  # room again
    day.clock.advance_to(local(2026, 7, 3, 0, 0, 1))
    summaries = InsightStore(store).summaries("alex")
    assert sorted(summaries) == [date(2026, 7, 1), date(2026, 7, 2)]
    assert summaries[date(2026, 7, 1)].measured_minutes == 960  # 08:00 to midnight
    assert summaries[date(2026, 7, 2)].measured_minutes == 1440


def test_a_store_full_for_over_a_week_keeps_the_last_week_of_days_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The days the store could not close were all held in memory, however long it stayed
    full (a few hundred kB a day each)."""
    store = Store(tmp_path / "ambient.db")
    day = Day(local(2026, 7, 1, 8, 0), store)
    day.signals(local(2026, 7, 1, 8, 0), stress_score=30.0)
    day.clock.advance_to(local(2026, 7, 1, 8, 10, 1))
    pages = store.query("PRAGMA page_count")[0][0]
    store.query(f"PRAGMA max_page_count = {pages}")  # room for rewriting 8 h, not for 9 h
    with caplog.at_level(logging.WARNING):
        day.clock.advance_to(local(2026, 7, 9, 12, 0))
    assert [r.getMessage() for r in caplog.records][1:] == [
        "Day 2026-07-01 of alex dropped: the store refused it for 7 days; the minutes of alex "
        "since 09:00 on 2026-07-01 are lost"
    ]
    store.query("PRAGMA max_page_count = 1000000")
    day.clock.advance_to(local(2026, 7, 9, 12, 10))
    assert sorted(InsightStore(store).summaries("alex")) == [date(2026, 7, d) for d in range(2, 9)]


def test_a_day_stored_in_one_record_by_an_older_version_is_still_read() -> None:
    store = Store(None)
    row = [60.0, 60.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1800.0]
    store.put(
        "insights.minutes",
        "alex/2026-07-01",
        {"version": 1, "day": "2026-07-01", "bins": {"480": row}, "episodes": [], "sleep": {}},
    )
    opened = InsightStore(store).open_day("alex", date(2026, 7, 1), BERLIN)
    assert opened is not None
    assert opened.bins == {480: row}
    InsightStore(store).put_day("alex", opened, None)  # rewritten by the hour at its next save
    again = InsightStore(store).open_day("alex", date(2026, 7, 1), BERLIN)
    assert again is not None and again.bins == {480: row}
    assert store.get("insights.minutes", "alex/2026-07-01/08") == {"bins": {"480": row}}


def hr_only_day_at_rest() -> tuple[Day, DaySummary]:
    """1 July closed after 20 minutes at rest of a watch that sends heart rate only: 66 bpm,
    52 for five of them; its day and the summary kept of it."""
    store = Store(None)
    day = Day(local(2026, 7, 1, 12, 0), store)
    t = local(2026, 7, 1, 12, 0)
    for k in range(20):
        day.signals(t + k * 60, activity_state="rest", hr=52.0 if 5 <= k < 10 else 66.0)
    day.signals(t + 20 * 60, hr=None)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    return day, InsightStore(store).summaries("alex")[date(2026, 7, 1)]


def test_an_hr_only_watch_still_gives_a_resting_hr_but_no_hrv() -> None:
    _, kept = hr_only_day_at_rest()
    assert kept.resting_hr == pytest.approx(52.0)
    assert (kept.ln_rmssd, kept.ln_rmssd_source) == (None, None)


def test_an_hr_only_watch_at_rest_all_day_publishes_its_resting_hr_as_a_day_worn() -> None:
    """A watch that sends heart rate only has no stress score, and at rest no active minute:
    its day is still a day worn, whose resting HR reaches HA (not "nothing worn")."""
    day, kept = hr_only_day_at_rest()
    assert kept.worn and not kept.scored
    assert day.last("day_resting_hr") == pytest.approx(52.0)


def test_an_hr_only_watch_is_told_why_it_has_no_hrv_trend_not_to_wait_for_days() -> None:
    """HA's HRV trend of someone whose watch sends heart rate only says why there is none (as
    the weekly page does), not "0 days with HRV ...; 14 needed", which no wait changes."""
    store = Store(None)
    day = Day(local(2026, 7, 1, 12, 0), store)
    t = local(2026, 7, 1, 12, 0)
    for k in range(20):
        day.signals(t + k * 60, activity_state="rest", hr=60.0)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    for update in reversed(day.published):
        if "hrv_trend" in update.values:
            trend = update.values["hrv_trend"]
            break
    assert trend.value is None
    assert trend.reason is not None and "heart rate only" in trend.reason
    assert "intervals between beats" in trend.reason


def late_episode(day: Day, start: float) -> None:
    """Stress 80 for the 10 minutes before ``start``, a rule firing at ``start``, then 40."""
    day.signals(start - 600, stress_score=80.0, activity_state="rest")
    day.insights.on_trace(TraceRecord(start, "calm", "fired", "stress high", person="alex"))
    day.signals(start + 60, stress_score=40.0)


def test_an_episode_near_midnight_gets_its_after_value_once_it_is_known() -> None:
    store = Store(None)
    start = local(2026, 7, 1, 23, 55)
    day = Day(local(2026, 7, 1, 23, 0), store)
    late_episode(day, start)
    day.clock.advance_to(local(2026, 7, 2, 0, 1))  # 1 July is closed; its "after" is to come
    (closed,) = InsightStore(store).summaries("alex")[date(2026, 7, 1)].episodes
    assert (closed["stress_before"], closed["stress_after"]) == (80.0, None)
    day.clock.advance_to(start + 20 * 60)  # the span 10 to 20 minutes after has passed
    (completed,) = InsightStore(store).summaries("alex")[date(2026, 7, 1)].episodes
    assert (completed["stress_before"], completed["stress_after"]) == (80.0, 40.0)


class FullStore(Store):
    """A real in-memory store that refuses every write once ``full``, as a full card does."""

    full = False

    def put(self, namespace: str, key: str, value: Any) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        super().put(namespace, key, value)


def test_an_episode_near_midnight_completed_on_a_full_store_is_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its timer raised (`Timer callback ... failed`), as the save every 10 minutes did."""
    store = FullStore(None)
    start = local(2026, 7, 1, 23, 55)
    day = Day(local(2026, 7, 1, 23, 0), store)
    late_episode(day, start)
    day.clock.advance_to(local(2026, 7, 2, 0, 12))  # after the save of 00:10
    store.full = True
    with caplog.at_level(logging.WARNING):
        day.clock.advance_to(start + 20 * 60)
    assert day.clock.failed_callbacks == 0
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "Day 2026-07-01 of alex not completed"
    ]


def test_a_restart_before_the_after_span_ends_still_completes_the_day(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    store = Store(path)
    start = local(2026, 7, 1, 23, 55)
    first = Day(local(2026, 7, 1, 23, 0), store)
    late_episode(first, start)
    first.signals(local(2026, 7, 2, 0, 7), stress_score=None)  # stopped at 00:07
    first.insights.close()
    store.close()
    store = Store(path)
    second = Day(local(2026, 7, 2, 0, 9), store)
    second.signals(local(2026, 7, 2, 0, 9), stress_score=40.0, activity_state="rest")
    second.clock.advance_to(start + 20 * 60)
    (completed,) = InsightStore(store).summaries("alex")[date(2026, 7, 1)].episodes
    assert completed["stress_after"] == 40.0


def test_an_episode_just_after_midnight_reads_its_before_value_from_the_day_before() -> None:
    store = Store(None)
    start = local(2026, 7, 2, 0, 3)
    day = Day(local(2026, 7, 1, 23, 0), store)
    late_episode(day, start)
    day.clock.advance_to(local(2026, 7, 3, 0, 0, 1))
    (episode,) = InsightStore(store).summaries("alex")[date(2026, 7, 2)].episodes
    assert (episode["stress_before"], episode["stress_after"]) == (80.0, 40.0)


def test_a_trace_stamped_before_the_last_update_counts_no_minute_twice() -> None:
    store = Store(None)
    day = Day(local(2026, 7, 1, 8, 0), store)
    day.signals(local(2026, 7, 1, 8, 0), stress_score=30.0)
    day.signals(local(2026, 7, 1, 8, 10), stress_score=30.0)
    late = TraceRecord(local(2026, 7, 1, 8, 5), "calm", "recovered", "calm", person="alex")
    day.insights.on_trace(late)
    day.signals(local(2026, 7, 1, 8, 20), stress_score=None)
    day.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    assert InsightStore(store).summaries("alex")[date(2026, 7, 1)].low_minutes == 20


def test_the_days_of_a_person_no_longer_configured_expire_as_everyone_elses() -> None:
    # kim was removed from the config (or renamed): her days stay no longer than anyone's.
    store = Store(None)
    storage = InsightStore(store)
    held = HeldState(stress=30.0)
    for day in (date(2025, 5, 1), date(2026, 4, 1), date(2026, 6, 30)):
        opened = OpenDay.of(day, BERLIN)
        opened.add(opened.start + 8 * 3600, opened.start + 9 * 3600, held, InsightsConfig())
        storage.put_day("kim", opened, summarize("kim", opened, InsightsConfig(), BERLIN))
    alex = Day(local(2026, 7, 1, 8, 0), store)  # alex only
    alex.clock.advance_to(local(2026, 7, 2, 0, 0, 1))
    assert sorted(storage.summaries("kim")) == [date(2026, 4, 1), date(2026, 6, 30)]
    assert storage.kept_days("kim") == [date(2026, 6, 30)]
    assert storage.open_day("kim", date(2026, 4, 1), BERLIN) is None
    assert date(2026, 7, 1) in storage.summaries("alex")


def test_minutes_older_than_keep_minutes_days_are_forgotten_with_all_their_hours() -> None:
    store = Store(None)
    storage = InsightStore(store)
    held = HeldState(stress=30.0)
    for day in (date(2026, 7, 1), date(2026, 7, 2)):
        opened = OpenDay.of(day, BERLIN)
        opened.add(opened.start + 8 * 3600, opened.start + 10.5 * 3600, held, InsightsConfig())
        storage.put_day("alex", opened, None)
    assert len(store.items("insights.minutes")) == 8  # per day: the day and three hours
    storage.expire("alex", date(2026, 7, 2), keep_days=400, keep_minutes_days=1)
    kept = sorted(store.items("insights.minutes"))
    assert kept == [
        "alex/2026-07-02",
        "alex/2026-07-02/08",
        "alex/2026-07-02/09",
        "alex/2026-07-02/10",
    ]


def test_a_save_stores_every_bin_rounded_as_it_is_now_between_saves_too() -> None:
    """The rounding of bins is kept from save to save; a minute that changed since (the one a
    save cut in two, or a stretch that resumes it) is stored as it is now."""
    opened = OpenDay.of(date(2026, 7, 1), BERLIN)
    config = InsightsConfig()
    t = opened.start + 8 * 3600
    for k in range(200):
        held = HeldState(stress=30.0 + (k * 7.3) % 60, activity="rest", hr=60.0 + k % 9)
        step = 1.7 + (k % 5) * 13.1  # stretches that end inside minutes
        opened.add(t, t + step, held, config)
        t += step
        if k % 17 == 0 or k % 23 == 0:
            for hour in opened.hours_to_save():
                assert opened.hour_to_json(hour) == _rounded(opened, hour)
            opened.saved()
    for hour in sorted(opened.hours):
        assert opened.hour_to_json(hour) == _rounded(opened, hour)


def _rounded(opened: OpenDay, hour: int) -> dict[str, Any]:
    minutes = [m for m in sorted(opened.bins) if m // 60 == hour]
    return {"bins": {str(m): [round(v, 2) for v in opened.bins[m]] for m in minutes}}


def test_a_power_cut_loses_at_most_the_minutes_since_the_last_save(tmp_path: Path) -> None:
    # A steady score sends no update for a while: the save still holds the minutes so far.
    path = tmp_path / "ambient.db"
    store = Store(path)
    before = Day(local(2026, 7, 1, 8, 0), store)
    before.signals(local(2026, 7, 1, 8, 0), stress_score=30.0)
    before.clock.advance_to(local(2026, 7, 1, 8, 25))  # saved at 08:10 and 08:20
    store.close()  # the power goes: no close, no last save
    store = Store(path)
    after = Day(local(2026, 7, 1, 8, 30), store)
    after.signals(local(2026, 7, 1, 8, 30), stress_score=30.0)
    after.signals(local(2026, 7, 1, 9, 0), stress_score=None)
    after.insights.close()
    kept = InsightStore(store).open_day("alex", date(2026, 7, 1), BERLIN)
    assert kept is not None
    assert sum(row[LOW_S] for row in kept.bins.values()) / 60 == 20 + 30


def test_a_time_zone_changed_between_runs_keeps_every_minute_at_its_own_time() -> None:
    """Set `timezone` from Europe/Berlin to America/New_York (a move, or a zone set right) at
    02:00 in Berlin, 20:00 the evening before in New York. The day left open, 7 December, was
    Berlin's: its two hours after midnight were kept at minutes 0-120 of New York's 7
    December, where that day's own first two hours were added again: 26 hours worn in a day
    of 24. The stored minutes keep their moment: those of a day already closed are dropped."""
    new_york = ZoneInfo("America/New_York")
    store = Store(None)
    t = local(2026, 12, 6, 8, 0)
    berlin = Day(t, store)
    while t < local(2026, 12, 7, 2, 0):
        berlin.signals(t, stress_score=30.0, activity_state="rest")
        t += 60
    berlin.insights.close()
    clock = VirtualClock(t)
    moved = Insights(InsightsConfig(), ["alex"], new_york, clock, store, lambda update: None)
    end = datetime(2026, 12, 8, 0, 0, 30, tzinfo=new_york).timestamp()
    while t < end:
        clock.advance_to(t)
        values = {"stress_score": SignalValue(30.0, t, None)}
        moved.on_signals(SignalUpdate(t, "alex", values))
        t += 60
    moved.close()
    day = InsightStore(store).summaries("alex")[date(2026, 12, 7)]
    assert day.measured_minutes == 1440
    kept = InsightStore(store).open_day("alex", date(2026, 12, 7), new_york)
    assert kept is not None and max(row[0] for row in kept.bins.values()) <= 60
