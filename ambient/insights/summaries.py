"""A person's day in a few numbers, computed from the day's minute bins (so it can always be
recomputed from what the store keeps).

- Resting HR: the lowest mean HR over 5 consecutive resting minutes.
- ln RMSSD: the mean over resting minutes in the night window (a chest strap worn overnight)
  when there are at least ``min_night_minutes`` of them; otherwise the quietest 5 minutes of
  the day (the 5 consecutive resting minutes with the lowest HR). ``ln_rmssd_source`` says
  which, since the two are not interchangeable.
- Minutes of low / medium / high stress and of recovery (at rest, score below
  ``recovery_below``), active minutes, and the minutes with a stress score at all.
- Each episode's mean stress score before and after it started. The spans may reach into the
  day before or after (an episode near midnight): those days' bins are read too, so a day's
  summary is recomputed once the next day holds its episodes' "after" minutes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from ambient.insights.minutes import (
    ACTIVE_S,
    HIGH_S,
    LOW_S,
    MEASURED_S,
    MEDIUM_S,
    RECOVERY_S,
    REST_HR_S,
    REST_HR_SUM,
    REST_LN_S,
    REST_LN_SUM,
    STRESS_SUM,
    Bins,
    OpenDay,
)

if TYPE_CHECKING:  # a type only: the weekly page's drawing process loads no config models
    from ambient.config.insights import InsightsConfig

#: A minute counts as "resting with data" when it holds at least this many seconds of it.
FULL_MINUTE_S = 30.0
QUIET_MINUTES = 5
#: An episode's "before" span is the 10 minutes before its start; "after" is 10 to 20 after.
BEFORE_MINUTES = range(-10, 0)
AFTER_MINUTES = range(10, 20)

LnSource = Literal["night", "quietest_5min"]


@dataclass(frozen=True)
class DaySummary:
    person: str
    day: date
    measured_minutes: float
    low_minutes: float
    medium_minutes: float
    high_minutes: float
    recovery_minutes: float
    active_minutes: float
    resting_hr: float | None
    ln_rmssd: float | None
    ln_rmssd_source: LnSource | None
    mean_stress: float | None
    sleep_hours: float | None = None
    sleep_score: float | None = None
    episodes: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: Check-in answers ("calmer", "same", "worse") with their episode's rule and option.
    checkins: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: Episodes the intervention learning measured: option, response in SD, check-in.
    measured_episodes: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def stress_minutes(self) -> float:
        return self.low_minutes + self.medium_minutes + self.high_minutes

    @property
    def worn(self) -> bool:
        """A sensor gave heart data that day (a stress score, activity while the score is
        unknown during exercise, or a resting HR: a watch that sends heart rate only). A day
        the daemon ran with nothing worn is closed too, as zeros: no data, not a calm day."""
        return self.measured_minutes > 0 or self.active_minutes > 0 or self.resting_hr is not None

    @property
    def scored(self) -> bool:
        """A stress score was read that day: what its stress and recovery minutes are of. A
        day of heart rate only (no intervals between beats) is worn but has none."""
        return self.measured_minutes > 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["episodes"] = list(self.episodes)
        data["checkins"] = list(self.checkins)
        data["measured_episodes"] = list(self.measured_episodes)
        data["version"] = 1
        return data

    @classmethod
    def from_json(cls, data: Any) -> DaySummary | None:
        """A stored summary, or None when it is not one we wrote."""
        if not isinstance(data, dict) or data.get("version") != 1:
            return None
        try:
            fields = {k: v for k, v in data.items() if k != "version"}
            fields["day"] = date.fromisoformat(fields["day"])
            fields["episodes"] = tuple(fields.get("episodes", ()))
            fields["checkins"] = tuple(fields.get("checkins", ()))
            fields["measured_episodes"] = tuple(fields.get("measured_episodes", ()))
            return cls(**fields)
        except (KeyError, TypeError, ValueError):
            return None


def summarize(
    person: str,
    opened: OpenDay,
    config: InsightsConfig,
    zone: tzinfo,
    neighbours: Sequence[OpenDay] = (),
) -> DaySummary:
    """The summary of one day from its bins, episodes and sleep; ``neighbours``: the days
    before and after, where an episode's spans reach into them."""
    bins = opened.bins

    def minutes(index: int) -> float:
        return round(sum(row[index] for row in bins.values()) / 60, 1)

    measured_s = sum(row[MEASURED_S] for row in bins.values())
    mean_stress = (
        round(sum(row[STRESS_SUM] for row in bins.values()) / measured_s, 1) if measured_s else None
    )
    ln_rmssd, source = _ln_rmssd(opened, config, zone)
    lowest = _quietest(bins, with_hrv=False)  # HR-only sources have a resting HR too
    resting_hr = None if lowest is None else round(lowest[0], 1)
    return DaySummary(
        person=person,
        day=opened.day,
        measured_minutes=minutes(MEASURED_S),
        low_minutes=minutes(LOW_S),
        medium_minutes=minutes(MEDIUM_S),
        high_minutes=minutes(HIGH_S),
        recovery_minutes=minutes(RECOVERY_S),
        active_minutes=minutes(ACTIVE_S),
        resting_hr=resting_hr,
        ln_rmssd=None if ln_rmssd is None else round(ln_rmssd, 3),
        ln_rmssd_source=source,
        mean_stress=mean_stress,
        sleep_hours=opened.sleep.get("hours"),
        sleep_score=opened.sleep.get("score"),
        episodes=tuple(_with_response(e, opened, (opened, *neighbours)) for e in opened.episodes),
    )


def _ln_rmssd(
    opened: OpenDay, config: InsightsConfig, zone: tzinfo
) -> tuple[float | None, LnSource | None]:
    night = _night_minutes(opened, config, zone)
    rows = [opened.bins[m] for m in night if m in opened.bins]
    full = [r for r in rows if r[REST_LN_S] >= FULL_MINUTE_S]
    if len(full) >= config.min_night_minutes:
        seconds = sum(r[REST_LN_S] for r in full)
        return sum(r[REST_LN_SUM] for r in full) / seconds, "night"
    quiet = _quietest(opened.bins, with_hrv=True)
    if quiet is None:
        return None, None
    return quiet[1], "quietest_5min"


def _night_minutes(opened: OpenDay, config: InsightsConfig, zone: tzinfo) -> range:
    """Minute indexes of the night window on this day's clock (it may start the day before:
    then only the part inside this day counts)."""
    from ambient.config.types import parse_time_of_day  # (the config is loaded by then)

    start_t = parse_time_of_day(config.night_start)
    end_t = parse_time_of_day(config.night_end)
    begin = (
        opened.start
        if start_t >= end_t
        else datetime.combine(opened.day, start_t, zone).timestamp()
    )
    end = datetime.combine(opened.day, end_t, zone).timestamp()
    return range(int((begin - opened.start) // 60), int((end - opened.start) // 60))


def _quietest(bins: Bins, with_hrv: bool) -> tuple[float, float] | None:
    """(mean HR, mean ln RMSSD or NaN) of the 5 consecutive resting minutes with the lowest
    HR; ``with_hrv``: only minutes that have an ln RMSSD too."""
    best: tuple[float, float] | None = None
    for minute in sorted(bins):
        window = [bins.get(minute + k) for k in range(QUIET_MINUTES)]
        rows = [r for r in window if r is not None and r[REST_HR_S] >= FULL_MINUTE_S]
        if len(rows) < QUIET_MINUTES:
            continue
        if with_hrv and any(r[REST_LN_S] < FULL_MINUTE_S for r in rows):
            continue
        hr = sum(r[REST_HR_SUM] for r in rows) / sum(r[REST_HR_S] for r in rows)
        if best is None or hr < best[0]:
            ln_seconds = sum(r[REST_LN_S] for r in rows)
            ln = sum(r[REST_LN_SUM] for r in rows) / ln_seconds if ln_seconds else math.nan
            best = (hr, ln)
    return best


def after_span_end(episode: dict[str, Any], opened: OpenDay) -> float:
    """When the episode's "after" span is over (its value is known from then on)."""
    return _minute_start(episode, opened) + AFTER_MINUTES.stop * 60


def _minute_start(episode: dict[str, Any], opened: OpenDay) -> float:
    """Start of the minute bin the episode started in (bins are whole minutes from midnight)."""
    return opened.start + (float(episode["start"]) - opened.start) // 60 * 60


def _with_response(
    episode: dict[str, Any], opened: OpenDay, days: Sequence[OpenDay]
) -> dict[str, Any]:
    """The episode with the mean stress score in the 10 minutes before it started and in the
    10 to 20 minutes after (None where the days given hold no score then)."""
    first = _minute_start(episode, opened)
    before = _mean_stress(days, [first + m * 60 for m in BEFORE_MINUTES])
    after = _mean_stress(days, [first + m * 60 for m in AFTER_MINUTES])
    return {**episode, "stress_before": before, "stress_after": after}


def _mean_stress(days: Sequence[OpenDay], minute_starts: list[float]) -> float | None:
    rows = [row for t in minute_starts if (row := _bin_at(days, t)) is not None]
    seconds = sum(r[MEASURED_S] for r in rows)
    if seconds < 120:
        return None
    return round(sum(r[STRESS_SUM] for r in rows) / seconds, 1)


def _bin_at(days: Sequence[OpenDay], moment: float) -> list[float] | None:
    """The minute bin holding ``moment``, in whichever of ``days`` it falls."""
    for day in days:
        if day.start <= moment < day.end:
            return day.bins.get(int((moment - day.start) // 60))
    return None
