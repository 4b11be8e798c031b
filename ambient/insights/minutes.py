"""One person's open day as per-minute bins of time-weighted signal seconds.

Signals are updates (a value holds until it changes), so each stretch between two updates is
added, second by second, to the minutes it covers. The bins are what the store keeps of a
day: the daily summary is computed from them and can be recomputed from them at any time.
They are stored an hour to a record, so saving the open day writes only the hours that changed
since the last save, however long the day so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import TYPE_CHECKING, Any

from ambient.insights.days import day_end, day_start
from ambient.messages import SignalScalar, SignalValue

if TYPE_CHECKING:  # a type only: the weekly page's drawing process loads no config models
    from ambient.config.insights import InsightsConfig

# Fields of a minute bin (seconds, or sums of value x seconds).
MEASURED_S = 0  # a stress score was known
LOW_S = 1
MEDIUM_S = 2
HIGH_S = 3
RECOVERY_S = 4  # at rest with a score below `recovery_below`
ACTIVE_S = 5
REST_HR_S = 6  # at rest with an HR
REST_HR_SUM = 7
REST_LN_S = 8  # at rest with an ln RMSSD
REST_LN_SUM = 9
STRESS_SUM = 10  # score x seconds, for the mean score of a minute
FIELDS = 11

Bins = dict[int, list[float]]


@dataclass
class HeldState:
    """The last known value of each signal the summaries read (None: unknown)."""

    stress: float | None = None
    activity: str | None = None
    hr: float | None = None
    ln_rmssd: float | None = None

    def update(self, values: Mapping[str, SignalValue]) -> None:
        # At every signal update: a float (the usual value) is taken without a call.
        if "stress_score" in values:
            value = values["stress_score"].value
            self.stress = value if type(value) is float else _number(value)
        if "hr" in values:
            value = values["hr"].value
            self.hr = value if type(value) is float else _number(value)
        if "ln_rmssd" in values:
            value = values["ln_rmssd"].value
            self.ln_rmssd = value if type(value) is float else _number(value)
        if "activity_state" in values:
            state = values["activity_state"].value
            self.activity = state if isinstance(state, str) else None


def _number(value: SignalScalar | None) -> float | None:
    if type(value) is float:  # the usual case, at every update: one check
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass
class OpenDay:
    """A day being recorded: its minute bins, episodes and sleep."""

    day: date
    start: float
    end: float
    bins: Bins = field(default_factory=dict)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    sleep: dict[str, float] = field(default_factory=dict)
    #: Changed since it was last saved (skip the save when idle).
    dirty: bool = True
    #: The hours whose bins changed since they were last saved; None: every hour (a day never
    #: saved by the hour).
    unsaved_hours: set[int] | None = None
    #: The end of the last stretch added (None: none yet). A clock behind it (a Pi booted
    #: at an older time, before NTP steps it) adds nothing before it: no minute twice.
    counted_until: float | None = None
    #: Bins rounded as stored, kept between saves: a save rounds again only the minutes from
    #: ``_changed_from`` on (bins change only at the latest minutes: time moves forward).
    _rounded: Bins = field(default_factory=dict, init=False, repr=False, compare=False)
    _changed_from: float = field(default=math.inf, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, day: date, zone: tzinfo) -> OpenDay:
        return cls(day, day_start(day, zone), day_end(day, zone))

    @property
    def hours(self) -> set[int]:
        """The hours (``minute // 60``) that have bins."""
        return {minute // 60 for minute in self.bins}

    def to_json(self) -> dict[str, Any]:
        """The day without its bins, which are kept an hour to a record (``hour_to_json``)."""
        return {
            "version": 2,
            "day": self.day.isoformat(),
            "start": self.start,
            "hours": sorted(self.hours),
            "episodes": self.episodes,
            "sleep": self.sleep,
            **({} if self.counted_until is None else {"counted_until": self.counted_until}),
        }

    def hour_to_json(self, hour: int) -> dict[str, Any]:
        """The bins of one hour of the day, rounded as stored."""
        bins, rounded, changed_from = self.bins, self._rounded, self._changed_from
        out: dict[str, list[float]] = {}
        for m in range(hour * 60, hour * 60 + 60):
            if m in bins:
                row = rounded.get(m) if m < changed_from else None
                if row is None:
                    row = rounded[m] = [round(v, 2) for v in bins[m]]
                out[str(m)] = row
        return {"bins": out}

    def hours_to_save(self) -> list[int]:
        """The hours a save writes: those changed since the last save (every hour the first
        time)."""
        return sorted(self.hours if self.unsaved_hours is None else self.unsaved_hours)

    def saved(self) -> None:
        """Every hour is stored as it is now."""
        self.unsaved_hours = set()
        self._changed_from = math.inf

    @classmethod
    def from_json(
        cls, data: Any, zone: tzinfo, read_hour: Callable[[int], Any] = lambda hour: None
    ) -> OpenDay | None:
        """A stored day (its hours of bins read with ``read_hour``), or None when it is not
        one we wrote. Version 1 held every bin in one record."""
        if not isinstance(data, dict) or data.get("version") not in (1, 2):
            return None
        try:
            opened = cls.of(date.fromisoformat(data["day"]), zone)
            if data["version"] == 1:
                stored = [data["bins"]]
            else:
                stored = [read_hour(int(hour))["bins"] for hour in data["hours"]]
                opened.unsaved_hours = set()
            for bins in stored:
                for key, values in bins.items():
                    row = [float(v) for v in values]
                    if len(row) != FIELDS or not all(math.isfinite(v) for v in row):
                        return None
                    opened.bins[int(key)] = row
            moved = opened._moved_from(data.get("start"))
            opened.episodes = [dict(e) for e in data.get("episodes", [])]
            opened.sleep = {str(k): float(v) for k, v in data.get("sleep", {}).items()}
            counted = data.get("counted_until")
            if isinstance(counted, int | float) and math.isfinite(counted):
                opened.counted_until = float(counted)
            elif opened.bins:  # stored before it was kept: the end of the last minute
                opened.counted_until = opened.start + (max(opened.bins) + 1) * 60.0
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        opened.dirty = moved  # saved again under its new minutes
        return opened

    def _moved_from(self, stored_start: object) -> bool:
        """Bins stored under another zone's midnight (the config's `timezone` changed between
        runs, or the zone's rules did) moved to the moments they were recorded at; those
        outside this day belong to a day closed already and are dropped. A bin's minute is
        counted from the day's start, so left as it was each would stand hours off, and a
        zone further west would add the day's own first hours to them again."""
        if not isinstance(stored_start, int | float) or stored_start == self.start:
            return False
        shift = round((stored_start - self.start) / 60)
        length = round((self.end - self.start) / 60)
        self.bins = {
            minute + shift: row for minute, row in self.bins.items() if 0 <= minute + shift < length
        }
        self.unsaved_hours = None  # every hour is stored again, under its new minutes
        return True

    def add(self, begin: float, until: float, held: HeldState, config: InsightsConfig) -> None:
        """Add the stretch [begin, until) (inside this day) with the values held, second by
        second, to the fields of the minutes it covers. Runs at every signal update, so what
        the held values count towards is decided once and the fields are added inline."""
        stress, hr, ln_rmssd = held.stress, held.hr, held.ln_rmssd
        active = held.activity == "active"
        at_rest = held.activity == "rest"
        rest_hr = hr if at_rest else None
        rest_ln = ln_rmssd if at_rest else None
        if not active and stress is None and rest_hr is None and rest_ln is None:
            return  # a stretch that counts towards no field
        level = recovery = None
        if stress is not None:
            levels = config.stress_levels
            if stress >= levels.high:
                level = HIGH_S
            elif stress >= levels.medium:
                level = MEDIUM_S
            elif stress >= levels.low:
                level = LOW_S
            if at_rest and stress < config.recovery_below:
                recovery = RECOVERY_S
        self.dirty = True
        start, bins, unsaved = self.start, self.bins, self.unsaved_hours
        # `max` and `min` of two written out: their calls cost more than the comparisons
        t = start if start > begin else begin
        end = self.end
        until = end if end < until else until
        self.counted_until = until
        first_minute = (t - start) // 60
        if t < until and first_minute < self._changed_from:
            self._changed_from = first_minute  # the stored rounding of later bins is stale
        while t < until:
            minute = int((t - start) // 60)
            minute_end = start + (minute + 1) * 60
            seconds = (minute_end if minute_end < until else until) - t
            row = bins.get(minute)
            if row is None:
                row = bins[minute] = [0.0] * FIELDS
            if unsaved is not None:
                unsaved.add(minute // 60)
            if active:
                row[ACTIVE_S] += seconds
            if stress is not None:
                row[MEASURED_S] += seconds
                row[STRESS_SUM] += stress * seconds
                if level is not None:
                    row[level] += seconds
                if recovery is not None:
                    row[recovery] += seconds
            if rest_hr is not None:
                row[REST_HR_S] += seconds
                row[REST_HR_SUM] += rest_hr * seconds
            if rest_ln is not None:
                row[REST_LN_S] += seconds
                row[REST_LN_SUM] += rest_ln * seconds
            t += seconds
