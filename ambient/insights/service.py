"""Insights, live: hears signal updates and rule traces, records each person's open day, closes
it at local midnight into a daily summary, and publishes the insight signals (``hrv_trend``,
``hrv_low``, ``stress_slope``, ``day_*``) like any other signal update.

The open day is saved every ``persist_every`` and at shutdown, so a restart continues it; a day
left open by a daemon that was off at midnight is closed at the next start. An episode near
midnight has its "after" stress span in the next day: the closed day's summary is recomputed
once that span has passed (on the clock, or at the next start). Trends are recomputed from
the stored summaries, never carried in memory; when the night window ends, a night strap's
value (final then) joins them, so the early warning comes that morning. A store that refuses
to save (a full or read-only card) is one warning until a save succeeds again: the open day's
minutes and the days it could not close stay in memory (a week of days at most), written at
the next save that succeeds; a stop that cannot save says what it did not save.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from ambient.clock import Clock, TimerHandle
from ambient.config.durations import duration_text
from ambient.config.insights import DAY_SIGNAL_NAMES, INSIGHT_SIGNAL_NAMES, InsightsConfig
from ambient.config.types import parse_time_of_day
from ambient.insights.days import day_end, day_of
from ambient.insights.learned import learned_episodes
from ambient.insights.minutes import HeldState, OpenDay
from ambient.insights.storage import OPEN, InsightStore
from ambient.insights.summaries import DaySummary, after_span_end, summarize
from ambient.insights.trends import HrvTrend, StressSlope, comparable_days, hrv_trend
from ambient.messages import SignalScalar, SignalUpdate, SignalValue, TraceRecord
from ambient.ports import SignalView
from ambient.store import Store, StoreError
from ambient.warn_once import WarnOnce

_LOGGER = logging.getLogger(__name__)
NOT_YET = "no finished day yet"
#: Why a watch that sends heart rate only has no HRV trend (as the weekly page says it).
HEART_RATE_ONLY = (
    "no HRV: it needs the intervals between beats (a chest strap, or a watch that shares "
    "them); heart rate only has none"
)
#: Per person, the finished days a refusing store leaves in memory at most: a card full for
#: longer loses the oldest (a day of minute bins is a few hundred kB).
UNCLOSED_DAYS_MAX = 7


class Insights:
    """One per config; satisfies the read side of :class:`ambient.ports.SignalView` for the
    insight signals."""

    def __init__(
        self,
        config: InsightsConfig,
        people: Iterable[str],
        zone: tzinfo,
        clock: Clock,
        store: Store,
        publish: Callable[[SignalUpdate], None],
        stale_after_s: float = 15.0,
    ) -> None:
        """``stale_after_s``: the signals' ``stale_after``; a gap between two updates that the
        clock was stepped in by more than this (or the machine suspended) counts no minutes."""
        self.config = config
        self.stale_after_s = stale_after_s
        self.zone = zone
        self.clock = clock
        self.storage = InsightStore(store)
        self.publish = publish
        self._days: dict[str, OpenDay] = {}
        self._held: dict[str, HeldState] = {}
        self._last: dict[str, float] = {}
        #: Per person: the clock's wall minus monotonic time at the last account; it changes
        #: only when the wall clock is stepped (or the machine was suspended).
        self._offsets: dict[str, float] = {}
        #: When the process last went on after a stop (SIGSTOP or SIGTSTP, then SIGCONT;
        #: -inf: never): a gap between two updates over it counts no minutes.
        self._resumed_at = -math.inf
        self._slopes: dict[str, StressSlope] = {}
        self._emitted: dict[str, dict[str, SignalValue]] = {}
        self._trends: dict[str, HrvTrend] = {}
        #: Per person: where the published ``day_ln_rmssd`` came from (``night`` or
        #: ``quietest_5min``; None: no value).
        self._day_sources: dict[str, str | None] = {}
        #: Finished days the store refused to close yet (person, day), oldest first.
        self._unclosed: list[tuple[str, OpenDay]] = []
        #: A save the store refused is said once, until one succeeds again.
        self._refusals = WarnOnce(_LOGGER)
        #: Per person: when their open day was last saved whole.
        self._saved_at: dict[str, float] = {}
        #: Per person: the timer that recomputes yesterday once its episodes' spans are over.
        self._follow_ups: dict[str, TimerHandle] = {}
        now = clock.now()
        for person in people:
            self._open(person, now)
        # Times of day: they follow the wall clock when it is stepped (a Pi without an RTC).
        self._midnight = clock.call_at_wall(self._next_midnight(now), self._on_midnight)
        self._dawn = clock.call_at_wall(self._next_night_end(now), self._on_night_end)
        self._persist: TimerHandle = clock.call_later(config.persist_every, self._on_persist)
        self._first: TimerHandle = clock.call_later(0.0, self._publish_days)
        #: Anything else to close with the insights (the scheduled report).
        self.closing: list[Callable[[], None]] = []

    # -- the view --------------------------------------------------------------------------

    def get(self, person: str, name: str) -> SignalValue:
        value = self._emitted.get(person, {}).get(name)
        return value if value is not None else SignalValue.unknown(self.clock.now(), NOT_YET)

    def open_day(self, person: str) -> OpenDay | None:
        """The day being recorded for ``person``."""
        return self._days.get(person)

    def trend(self, person: str) -> HrvTrend | None:
        return self._trends.get(person)

    def status(self) -> dict[str, Any]:
        """Per person: the HRV trend with its numbers, the open day so far, and where the last
        day's ln RMSSD came from (a night's and a quiet daytime moment's are not comparable)."""
        return {
            person: {
                "hrv_trend": trend.attributes() if (trend := self._trends.get(person)) else None,
                "day": opened.day.isoformat(),
                "day_ln_rmssd_source": self._day_sources.get(person),
            }
            for person, opened in sorted(self._days.items())
        }

    # -- input -----------------------------------------------------------------------------

    def on_signals(self, update: SignalUpdate) -> None:
        values = update.values
        if not INSIGHT_SIGNAL_NAMES.isdisjoint(values):
            return  # our own
        person, now = update.person, update.time
        opened = self._days.get(person)
        if opened is None:
            self._open(person, now)
            self._account(person, now)
        elif (
            (begin := self._last.get(person)) is not None
            and begin < now < opened.end
            and now - begin <= self.stale_after_s
            and begin >= self._resumed_at
        ):
            # `_account` of the usual update (soon after the last, within the open day; no
            # step of the clock can hide in so short a gap), written out
            self._last[person] = now
            opened.add(begin, now, self._held[person], self.config)
        else:
            self._account(person, now)
        self._held[person].update(values)
        stress = values.get("stress_score")
        if stress is not None:
            slope = self._slopes.get(person)
            if slope is None:  # not setdefault: that would build a StressSlope every update
                slope = self._slopes[person] = StressSlope(self.config.stress_slope_window)
            score = stress.value  # a float, at nearly every update: taken without a call
            if not slope.add(update.time, score if type(score) is float else _score(score)):
                return  # the slope moves only when a point is kept (every 10 s at most)
            value, why = slope.slope(update.time)
            self._emit(
                person,
                update.time,
                {"stress_slope": None if value is None else round(value, 1)},
                why,
            )

    def on_trace(self, record: TraceRecord) -> None:
        """Episodes: a rule firing for a person until it recovers."""
        person = record.person
        if person is None or person not in self._days:
            return
        self._account(person, record.time)  # the episode belongs to the day it started in
        self._days[person].dirty = True
        episodes = self._days[person].episodes
        if record.event == "fired":
            episodes.append(
                {
                    "rule": record.rule,
                    "start": record.time,
                    "end": None,
                    "actions": [a.action for a in record.actions],
                }
            )
        elif record.event == "recovered" or record.ends_episode:
            for episode in reversed(episodes):
                if episode["rule"] == record.rule and episode["end"] is None:
                    episode["end"] = record.time
                    break

    def on_sleep(self, person: str, kind: str, value: float, at: float | None = None) -> None:
        """Sleep hours or score (``kind``) reported now: it counts for today (the wake day).
        ``at``: when the source set it, if it says; a value from before today (last night's,
        seen again at a start) has counted for its own day already."""
        now = self.clock.now()
        if person not in self._days:
            self._open(person, now)
        self._account(person, now)
        opened = self._days[person]
        if at is not None and at < opened.start:
            _LOGGER.debug(
                "sleep %s of %s: set before %s, not counted again", kind, person, opened.day
            )
            return
        opened.sleep[kind] = round(value, 2)
        opened.dirty = True

    def resumed_after_pause(self) -> None:
        """The process goes on after a pause (SIGCONT): both clocks ran on meanwhile, so only
        this tells the pause from a steady value. The values held before it are not known to
        have held over it: the gap from each person's last update counts nothing. It only
        notes the time, so a signal handler may call it whatever runs."""
        self._resumed_at = self.clock.now()

    def close(self) -> None:
        """Save what is open and stop the timers; a store that refuses (a full card) is one
        warning saying what was not saved, and the rest of the stop goes on."""
        now = self.clock.now()
        for person in list(self._days):
            self._account(person, now)
        try:
            self._close_unclosed()
            self._save_open()
        except StoreError as exc:
            unsaved = [*(self._unsaved(p, d) for p, d in self._unclosed)]
            unsaved += [self._unsaved(p, d) for p, d in sorted(self._days.items()) if d.dirty]
            _LOGGER.warning(
                "Insights not saved at the stop: %s are lost: %s", ", ".join(unsaved), exc
            )
        timers = (self._midnight, self._dawn, self._persist, self._first)
        for handle in (*timers, *self._follow_ups.values()):
            handle.cancel()
        for close in self.closing:
            close()

    # -- days ------------------------------------------------------------------------------

    def _open(self, person: str, now: float) -> None:
        today = day_of(now, self.zone)
        saved = self.storage.open_since(person)
        if saved is not None and saved > today:
            today = saved  # booted behind the day left open (no real-time clock): go on with it
        elif saved is not None and saved < today:
            stale = self.storage.open_day(person, saved, self.zone)
            if stale is not None:
                self._finish(person, stale)
        opened = self.storage.open_day(person, today, self.zone) or OpenDay.of(today, self.zone)
        self._days[person] = opened
        if opened.counted_until is not None:  # stored up to there (before this run)
            self._saved_at[person] = opened.counted_until
        if opened.counted_until is not None and opened.counted_until > now:
            # Booted behind the last save (no real-time clock): nothing is added before it.
            self._last[person] = opened.counted_until
        self._held.setdefault(person, HeldState())
        self.storage.store.put(OPEN, person, today.isoformat())
        # A restart after the night: last night's value is in the trend already.
        morning = self._morning_trend(person)
        self._trends[person] = morning or self._trend(person, today - timedelta(days=1))
        self._follow_up(person)

    def _account(self, person: str, now: float) -> None:
        """Add the time since the last update (held values) to the open day, closing days
        whose midnight has passed. A gap the clock was stepped in (NTP), the machine was
        suspended in or the process paused in adds nothing: the held values are not known to
        have held over it."""
        begin = self._last.get(person)
        clock = self.clock
        offset = clock.now() - clock.monotonic()
        stepped_s = offset - self._offsets.get(person, offset)
        self._offsets[person] = offset
        if begin is not None and now <= begin:
            # Never back in time (a trace stamped before the last update; after a step back,
            # until the clock passes the last minute recorded: none is counted twice).
            return
        self._last[person] = now
        opened = self._days[person]
        if begin is None:
            return
        if begin < self._resumed_at <= now:
            _LOGGER.info(
                "Resumed after a stop (SIGCONT): the %s since the last update of %s not "
                "counted in the daily minutes",
                duration_text(now - begin),
                person,
            )
            begin = now
        elif not -self.stale_after_s <= stepped_s <= self.stale_after_s:
            _LOGGER.info(
                "Clock stepped by %s (or the machine suspended): the %s since the last update "
                "of %s not counted in the daily minutes",
                ("" if stepped_s > 0 else "-") + duration_text(abs(stepped_s)),
                duration_text(now - begin),
                person,
            )
            begin = now  # the new time is the new now
        held = self._held[person]
        while begin < now:
            if begin >= opened.end:
                opened = self._roll(person)
                continue
            until = opened.end if opened.end < now else now  # `min`, written out
            opened.add(begin, until, held, self.config)
            begin = until
        while now >= opened.end:  # (more than one only after a step of the clock)
            opened = self._roll(person)

    def _roll(self, person: str) -> OpenDay:
        finished = self._days[person]
        opened = OpenDay.of(finished.day + timedelta(days=1), self.zone)
        self._days[person] = opened
        self._unclosed.append((person, finished))
        held = [day for who, day in self._unclosed if who == person]
        if len(held) > UNCLOSED_DAYS_MAX:
            self._unclosed.remove((person, held[0]))
            _LOGGER.warning(
                "Day %s of %s dropped: the store refused it for %d days; %s are lost",
                held[0].day,
                person,
                UNCLOSED_DAYS_MAX,
                self._unsaved(person, held[0]),
            )
        try:
            self._close_unclosed()
        except StoreError as exc:  # said once, not at every update until there is room
            self._refused(f"Day {finished.day} of {person} not closed yet", exc)
        return opened

    def _close_unclosed(self) -> bool:
        """Close the finished days not stored yet, oldest first (a day's summary reads the day
        before it); a StoreError leaves the rest for the next save. True if any was closed."""
        closed = False
        while self._unclosed:
            person, finished = self._unclosed[0]
            self._finish(person, finished)
            self._unclosed.pop(0)
            closed = True
            self.storage.store.put(OPEN, person, self._days[person].day.isoformat())
            self._follow_up(person)
        return closed

    def _finish(self, person: str, finished: OpenDay) -> DaySummary:
        before = self.storage.open_day(person, finished.day - timedelta(days=1), self.zone)
        summary = self._summary(person, finished, () if before is None else (before,))
        self.storage.put_day(person, finished, summary)
        self.storage.expire(
            person, finished.day, self.config.keep_days, self.config.keep_minutes_days
        )
        self._trends[person] = self._trend(person, finished.day)
        _LOGGER.debug("closed %s of %s", finished.day, person)
        return summary

    def _follow_up(self, person: str) -> None:
        """Recompute yesterday's summary once the open day holds the "after" spans of
        yesterday's late episodes (now, or on a timer when they end)."""
        if (pending := self._follow_ups.pop(person, None)) is not None:
            pending.cancel()
        opened = self._days[person]
        yesterday = self.storage.open_day(person, opened.day - timedelta(days=1), self.zone)
        if yesterday is None or self.storage.summary(person, yesterday.day) is None:
            return
        ends = [after_span_end(e, yesterday) for e in yesterday.episodes]
        due = max((end for end in ends if end > yesterday.end), default=None)
        if due is None:
            return
        now = self.clock.now()
        if now < due:
            self._follow_ups[person] = self.clock.call_at_wall(
                due, lambda: self._on_follow_up(person)
            )
            return
        self._account(person, now)  # may close the open day too, if the clock jumped
        if self._days[person] is not opened:
            opened = self.storage.open_day(person, opened.day, self.zone) or opened
        before = self.storage.open_day(person, yesterday.day - timedelta(days=1), self.zone)
        neighbours = (opened,) if before is None else (before, opened)
        self.storage.put_day(person, yesterday, self._summary(person, yesterday, neighbours))
        _LOGGER.debug("completed %s of %s", yesterday.day, person)

    def _on_follow_up(self, person: str) -> None:
        try:
            self._follow_up(person)
        except StoreError as exc:  # yesterday stays as it was closed at midnight
            yesterday = self._days[person].day - timedelta(days=1)
            self._refused(f"Day {yesterday} of {person} not completed", exc)

    def _summary(
        self, person: str, finished: OpenDay, neighbours: tuple[OpenDay, ...]
    ) -> DaySummary:
        """The day's summary with the episodes the intervention learning measured."""
        summary = summarize(person, finished, self.config, self.zone, neighbours)
        measured = learned_episodes(self.storage.store, person, finished.start, finished.end)
        if measured:
            summary = replace(
                summary,
                measured_episodes=tuple(measured),
                checkins=tuple(
                    {
                        "start": e["start"],
                        "rule": e["rule"],
                        "option": e["option"],
                        "answer": e["check_in"],
                    }
                    for e in measured
                    if e["check_in"] is not None
                ),
            )
        return summary

    def _trend(self, person: str, day: date) -> HrvTrend:
        kept = self.storage.summaries(person)
        trend = hrv_trend(comparable_days(kept, day, self.config.trend), day, self.config.trend)
        if trend.state is None and _heart_rate_only(kept, day, self.config.trend.range_days):
            return replace(trend, why=HEART_RATE_ONLY)
        return trend

    def _morning_trend(self, person: str) -> HrvTrend | None:
        """The trend as of today with last night's value, once the night window is over and
        today's value comes from it (a chest strap worn overnight: final then, the same the
        day's summary will hold at midnight); None otherwise, or when it would be unknown."""
        opened = self._days[person]
        if self.clock.now() < self._night_end_on(opened.day):
            return None
        today = summarize(person, opened, self.config, self.zone)
        if today.ln_rmssd_source != "night":
            return None
        kept = {**self.storage.summaries(person), opened.day: today}
        daily = comparable_days(kept, opened.day, self.config.trend)
        trend = hrv_trend(daily, opened.day, self.config.trend)
        return trend if trend.state is not None else None

    # -- timers ----------------------------------------------------------------------------

    def _night_end_on(self, day: date) -> float:
        return datetime.combine(
            day, parse_time_of_day(self.config.night_end), self.zone
        ).timestamp()

    def _next_night_end(self, now: float) -> float:
        today = day_of(now, self.zone)
        due = self._night_end_on(today)
        return due if due > now else self._night_end_on(today + timedelta(days=1))

    def _on_night_end(self) -> None:
        """The early warning in the morning: last night's value joins the trend when the night
        window ends, not at midnight, 18 hours later."""
        now = self.clock.now()
        self._dawn = self.clock.call_at_wall(self._next_night_end(now), self._on_night_end)
        for person in sorted(self._days):
            self._account(person, now)
            if (trend := self._morning_trend(person)) is not None:
                self._trends[person] = trend
                self._emit_trend(person, now, trend)

    def _next_midnight(self, now: float) -> float:
        return day_end(day_of(now, self.zone), self.zone)

    def _on_midnight(self) -> None:
        now = self.clock.now()
        # The next midnight first: this one failing (a full disk) must not be the last.
        self._midnight = self.clock.call_at_wall(self._next_midnight(now), self._on_midnight)
        for person in list(self._days):
            self._account(person, now)
            while self._days[person].end <= now:  # a day without updates closes too
                self._roll(person)
        self._expire_unconfigured(day_of(now, self.zone) - timedelta(days=1))
        self._publish_days()

    def _expire_unconfigured(self, finished: date) -> None:
        """The days of people no longer configured (removed, or renamed) expire by
        ``keep_days`` / ``keep_minutes_days`` as anyone's (not only by the longer general
        retention); a store that refuses waits for the next midnight."""
        config = self.config
        try:
            for person in sorted(self.storage.people() - set(self._days)):
                self.storage.expire(person, finished, config.keep_days, config.keep_minutes_days)
        except StoreError as exc:
            _LOGGER.warning("Old days of people no longer configured not removed yet: %s", exc)

    def _on_persist(self) -> None:
        # The next save first: a save that fails (a full disk) is tried again then.
        self._persist = self.clock.call_later(self.config.persist_every, self._on_persist)
        now = self.clock.now()
        for person in list(self._days):  # the held values' minutes so far: a power cut
            self._account(person, now)  # loses at most those since this save
        try:
            if self._close_unclosed():
                self._publish_days()
            self._save_open()
        except StoreError as exc:
            self._refused("Insights not saved", exc)
            return
        self._refusals.worked("Insights saved again")

    def _save_open(self) -> None:
        now = self.clock.now()
        for person, opened in self._days.items():
            if opened.dirty:
                self.storage.put_day(person, opened, None)
                opened.dirty = False
                self._saved_at[person] = now

    def _refused(self, what: str, exc: StoreError) -> None:
        """A save the store refused (a full or read-only card): one warning until a save
        succeeds again, not one at every try."""
        self._refusals.failed(
            "%s: %s; the minutes are kept in memory and written when there is room "
            "(tried every %s)",
            what,
            exc,
            duration_text(self.config.persist_every),
        )

    def _unsaved(self, person: str, opened: OpenDay) -> str:
        """What of ``opened`` is not in the store: since its last save, or the whole day."""
        saved_at = self._saved_at.get(person)
        if saved_at is None or not opened.start <= saved_at < opened.end:
            return f"the minutes of {person} on {opened.day}"
        since = datetime.fromtimestamp(saved_at, self.zone).strftime("%H:%M")
        return f"the minutes of {person} since {since} on {opened.day}"

    def _publish_days(self) -> None:
        """The last finished day's numbers and the trend, for every person."""
        now = self.clock.now()
        for person in sorted(self._days):
            yesterday = self._days[person].day - timedelta(days=1)
            summary = self.storage.summary(person, yesterday)
            values: dict[str, float | None] = dict.fromkeys(DAY_SIGNAL_NAMES)
            if summary is not None and summary.worn:
                values.update(
                    day_resting_hr=summary.resting_hr,
                    day_ln_rmssd=summary.ln_rmssd,
                    day_stress_minutes=round(summary.stress_minutes),
                    day_recovery_minutes=round(summary.recovery_minutes),
                    day_active_minutes=round(summary.active_minutes),
                )
            if summary is not None:
                values["day_sleep_hours"] = summary.sleep_hours
            source = None if summary is None else summary.ln_rmssd_source
            self._day_sources[person] = source if values["day_ln_rmssd"] is not None else None
            self._emit(person, now, values, _day_reasons(summary, yesterday))
            self._emit_trend(
                person, now, self._trends.get(person) or self._trend(person, yesterday)
            )

    def _emit_trend(self, person: str, now: float, trend: HrvTrend) -> None:
        self._emit(person, now, {"hrv_trend": trend.state}, trend.why, keep_reason=True)
        low = None if trend.state is None else trend.state == "low"
        self._emit(person, now, {"hrv_low": low}, trend.why)

    def _emit(
        self,
        person: str,
        now: float,
        values: dict[str, Any],
        why: str | Mapping[str, str],
        keep_reason: bool = False,
    ) -> None:
        """Publish the values that changed; unknown ones carry ``why`` (or their own)."""
        mine = self._emitted.setdefault(person, {})
        changed: dict[str, SignalValue] = {}
        for name, value in values.items():
            scalar: SignalScalar | None = value
            said = why if isinstance(why, str) else why[name]
            reason = said if (scalar is None or keep_reason) else None
            last = mine.get(name)
            if last is not None and (last.value, last.reason) == (scalar, reason):
                continue
            mine[name] = changed[name] = SignalValue(scalar, now, reason)
        if changed:
            self.publish(SignalUpdate(now, person, changed))


def _day_reasons(summary: DaySummary | None, day: date) -> dict[str, str]:
    """Why each of a day's numbers is unknown, if it is: no summary, nothing worn, or not
    measured (no rest, no HRV, no sleep value)."""
    if summary is None:
        return dict.fromkeys(DAY_SIGNAL_NAMES, f"no summary of {day}")
    heart = f"not measured on {day}" if summary.worn else f"nothing worn on {day}"
    return {
        **dict.fromkeys(DAY_SIGNAL_NAMES, heart),
        "day_sleep_hours": f"no sleep value for {day}",
    }


def _heart_rate_only(kept: Mapping[date, DaySummary], day: date, range_days: int) -> bool:
    """Whether the days of the trend's range up to ``day`` were worn without any HRV: a
    watch that sends heart rate only, for which no number of days gives a trend."""
    first = day - timedelta(days=range_days - 1)
    days = [s for d, s in kept.items() if first <= d <= day]
    return any(s.worn for s in days) and all(s.ln_rmssd is None for s in days)


def _score(value: SignalScalar | None) -> float | None:
    """A stress score as a float (None: unknown); checked at every update, a float first."""
    if type(value) is float:
        return value
    return float(value) if isinstance(value, int | float) else None


class SignalsWithInsights:
    """The signal view the rules read: the signal engine's, plus the insight signals."""

    def __init__(self, signals: SignalView, insights: Insights) -> None:
        self.signals = signals
        self.insights = insights

    def get(self, person: str, name: str) -> SignalValue:
        if name in INSIGHT_SIGNAL_NAMES:
            return self.insights.get(person, name)
        return self.signals.get(person, name)

    def people(self) -> list[str]:
        return self.signals.people()
