"""Where insights live in the store: the finished days' summaries, the minute bins of every
kept day (to recompute a summary) and the open day, all per person."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from ambient.insights.minutes import OpenDay
from ambient.insights.summaries import DaySummary
from ambient.store import Store

SUMMARIES = "insights.days"
MINUTES = "insights.minutes"
INDEX = "insights.index"


class InsightStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def put_day(self, person: str, opened: OpenDay, summary: DaySummary | None) -> None:
        """Keep the day's bins (open or finished), and its summary once finished."""
        key = f"{person}/{opened.day.isoformat()}"
        self.store.put(MINUTES, key, opened.to_json())
        days = set(self._index(person))
        if opened.day.isoformat() not in days:
            self.store.put(INDEX, person, sorted(days | {opened.day.isoformat()}))
        if summary is not None:
            self.store.put(SUMMARIES, key, summary.to_json())

    def open_day(self, person: str, day: date, zone: tzinfo) -> OpenDay | None:
        return OpenDay.from_json(self.store.get(MINUTES, f"{person}/{day.isoformat()}"), zone)

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

    def days_without_summary(self, person: str) -> list[date]:
        """Days whose minutes are kept but not yet summarised (today's, or a day left open)."""
        summarised = {d.isoformat() for d in self.summaries(person)}
        return [date.fromisoformat(d) for d in self._index(person) if d not in summarised]

    def expire(self, person: str, today: date, keep_days: int, keep_minutes_days: int) -> None:
        """Forget summaries older than ``keep_days`` and bins older than ``keep_minutes_days``."""
        kept = []
        for text in self._index(person):
            age = (today - date.fromisoformat(text)).days
            if age >= keep_minutes_days:
                self.store.delete(MINUTES, f"{person}/{text}")
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
