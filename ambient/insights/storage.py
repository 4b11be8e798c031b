"""Where insights live in the store: the finished days' summaries, the minute bins of every
kept day (to recompute a summary) and the open day, all per person.

A day's minutes are a record ``person/day`` (episodes, sleep, which hours have bins) and one
record per hour of bins, ``person/day/HH``: saving the open day every few minutes rewrites the
hours that changed, not the whole day so far."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from ambient.insights.minutes import OpenDay
from ambient.insights.summaries import DaySummary
from ambient.store import Store

SUMMARIES = "insights.days"
MINUTES = "insights.minutes"
INDEX = "insights.index"
#: Per person: the day being recorded (days from it on have no summary yet).
OPEN = "insights.open"
#: A local day has 23 to 25 hours (daylight saving time).
HOURS_IN_A_DAY_MAX = 25


class InsightStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def put_day(self, person: str, opened: OpenDay, summary: DaySummary | None) -> None:
        """Keep the day's bins (open or finished; only the hours changed since its last save),
        and its summary once finished."""
        key = f"{person}/{opened.day.isoformat()}"
        with self.store.batch():  # all or nothing: a failed save is written again next time
            for hour in opened.hours_to_save():
                self.store.put(MINUTES, _hour_key(key, hour), opened.hour_to_json(hour))
            self.store.put(MINUTES, key, opened.to_json())
            days = set(self._index(person))
            if opened.day.isoformat() not in days:
                self.store.put(INDEX, person, sorted(days | {opened.day.isoformat()}))
            if summary is not None:
                self.store.put(SUMMARIES, key, summary.to_json())
        opened.saved()

    def open_day(self, person: str, day: date, zone: tzinfo) -> OpenDay | None:
        key = f"{person}/{day.isoformat()}"
        return OpenDay.from_json(
            self.store.get(MINUTES, key),
            zone,
            lambda hour: self.store.get(MINUTES, _hour_key(key, hour)),
        )

    def summary(self, person: str, day: date) -> DaySummary | None:
        return DaySummary.from_json(self.store.get(SUMMARIES, f"{person}/{day.isoformat()}"))

    def summaries(self, person: str) -> dict[date, DaySummary]:
        """Every kept summary of ``person`` by day."""
        out: dict[date, DaySummary] = {}
        prefix = f"{person}/"
        for key, value in self.store.items(SUMMARIES).items():
            if key.startswith(prefix) and (summary := DaySummary.from_json(value)) is not None:
                out[summary.day] = summary
        return out

    def open_since(self, person: str) -> date | None:
        """The day being recorded for ``person`` (or the oldest one a full store could not
        close yet); None when none ever was. A day before it without a summary is gone (its
        summary expired): it is not a day to summarise again."""
        text = self.store.get(OPEN, person)
        try:
            return date.fromisoformat(text) if isinstance(text, str) else None
        except ValueError:
            return None

    def kept_days(self, person: str) -> list[date]:
        """The days whose minutes are kept (summarised or not: today's, a day left open)."""
        return [date.fromisoformat(d) for d in self._index(person)]

    def people(self) -> set[str]:
        """Everyone with days in the store (also people no longer configured)."""
        return set(self.store.items(INDEX))

    def expire(self, person: str, today: date, keep_days: int, keep_minutes_days: int) -> None:
        """Forget summaries older than ``keep_days`` and bins older than ``keep_minutes_days``."""
        with self.store.batch():
            kept = []
            for text in self._index(person):
                age = (today - date.fromisoformat(text)).days
                if age >= keep_minutes_days:
                    key = f"{person}/{text}"
                    self.store.delete(MINUTES, key)
                    for hour in range(HOURS_IN_A_DAY_MAX):
                        self.store.delete(MINUTES, _hour_key(key, hour))
                else:
                    kept.append(text)
            self.store.put(INDEX, person, kept)
            oldest = today - timedelta(days=keep_days)
            prefix = f"{person}/"
            for key in list(self.store.items(SUMMARIES)):
                if key.startswith(prefix) and key[len(prefix) :] < oldest.isoformat():
                    self.store.delete(SUMMARIES, key)

    def _index(self, person: str) -> list[str]:
        value = self.store.get(INDEX, person)
        return [str(v) for v in value] if isinstance(value, list) else []


def _hour_key(day_key: str, hour: int) -> str:
    return f"{day_key}/{hour:02d}"
