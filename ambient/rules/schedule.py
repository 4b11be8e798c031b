"""Next fire times of ``time`` and ``cron`` triggers, from APScheduler 3's CronTrigger, on the
project's clock (so ``simulate`` runs them on virtual time).

Daylight saving behaves as in Home Assistant: a wall time skipped by spring-forward does not
fire that day (APScheduler alone would fire it an hour late), and a wall time repeated by
fall-back fires at each occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from ambient.clock import Clock, TimerHandle
from ambient.config.cron import apscheduler_crontab
from ambient.config.triggers import CronTriggerConfig, TimeTriggerConfig
from ambient.config.types import parse_time_of_day

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_MAX_SKIPS = 48
#: A bound on the fire times one search walks (a cron fires at most once a minute).
_MAX_FIRE_TIMES = 10_000
#: How far back :func:`last_fire_time` looks (ten years).
_MAX_SPAN_S = 10 * 366 * 86400.0


def cron_triggers(config: TimeTriggerConfig | CronTriggerConfig, zone: tzinfo) -> list[CronTrigger]:
    # Imported here: APScheduler loads only when a rule has a time or cron trigger.
    from apscheduler.triggers.cron import CronTrigger

    if isinstance(config, CronTriggerConfig):
        return [CronTrigger.from_crontab(apscheduler_crontab(config.cron), timezone=zone)]
    weekdays = ",".join(config.weekday) if config.weekday else None
    triggers = []
    for text in config.at:
        at = parse_time_of_day(text)
        triggers.append(
            CronTrigger(
                day_of_week=weekdays,
                hour=at.hour,
                minute=at.minute,
                second=at.second,
                timezone=zone,
            )
        )
    return triggers


def next_fire_time(trigger: CronTrigger, zone: tzinfo, after: float) -> float | None:
    """The first fire time strictly after ``after`` (unix seconds), skipping wall times that
    do not exist in ``zone``."""
    previous: datetime | None = None
    now = datetime.fromtimestamp(after, zone)
    for _ in range(_MAX_SKIPS):
        candidate: datetime | None = trigger.get_next_fire_time(previous, now)
        if candidate is None:
            return None
        when = candidate.timestamp()
        normal = datetime.fromtimestamp(when, zone)
        if normal.replace(tzinfo=None) == candidate.replace(tzinfo=None) and when > after:
            return when
        # A wall time in the spring-forward gap (or not after ``after``): look further.
        previous = candidate
        now = datetime.fromtimestamp(max(when, after) + 1e-6, zone)
    return None


def fire_times(
    triggers: Sequence[CronTrigger], zone: tzinfo, after: float, until: float, limit: int
) -> list[float]:
    """The fire times of any of ``triggers`` in (``after``, ``until``], oldest first: the first
    ``limit`` of them (each trigger is walked no further either)."""
    found: set[float] = set()
    for trigger in triggers:
        when = next_fire_time(trigger, zone, after)
        count = 0
        while when is not None and when <= until and count < limit:
            found.add(when)
            count += 1
            when = next_fire_time(trigger, zone, when)
    return sorted(found)[:limit]


def last_fire_time(
    triggers: Sequence[CronTrigger], zone: tzinfo, after: float, until: float
) -> float | None:
    """The newest fire time in (``after``, ``until``]. Searched backwards from ``until`` in
    spans that double, so a long outage costs a few spans' fire times, not all of them."""
    span_s = 60.0
    while True:
        start = max(after, until - span_s)
        times = fire_times(triggers, zone, start, until, _MAX_FIRE_TIMES)
        if times:
            return times[-1]
        if start <= after or span_s > _MAX_SPAN_S:
            return None
        span_s *= 2


class Schedule:
    """Keeps one CronTrigger armed on the wall clock, calling ``fire(when)`` at each fire time.

    Armed with ``call_at_wall``, so a step of the clock is seen within a minute: after a step
    back (NTP finding the clock ahead) the schedule waits for its fire time on the wall, and
    never fires one it fired before; after a step forward (a Raspberry Pi booted at its last
    shutdown's time) it calls ``passed(now)`` for the fire times the step jumped over, instead
    of firing each of them in a burst, and goes on from now.
    """

    #: Later than this past its fire time (or than the clock's ``wall_check_s``), a timer was
    #: not late: the clock was stepped.
    LATE_S = 60.0

    def __init__(
        self,
        clock: Clock,
        trigger: CronTrigger,
        zone: tzinfo,
        fire: Callable[[float], None],
        passed: Callable[[float], None],
    ) -> None:
        self._clock = clock
        self._trigger = trigger
        self._zone = zone
        self._fire = fire
        self._passed = passed
        self._handle: TimerHandle | None = None
        self.next_at: float | None = None

    def arm(self, after: float | None = None) -> None:
        self._arm_at(
            next_fire_time(self._trigger, self._zone, self._clock.now() if after is None else after)
        )

    def _arm_at(self, next_at: float | None) -> None:
        self.cancel()
        self.next_at = next_at
        if next_at is not None:
            self._handle = self._clock.call_at_wall(next_at, self._due)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _due(self) -> None:
        self._handle = None
        when = self.next_at
        if when is None:
            return
        now = self._clock.now()
        following = next_fire_time(self._trigger, self._zone, when)
        late_s = self._clock.wall_check_s or self.LATE_S
        if now - when > late_s or (following is not None and following <= now):
            self.arm(after=now)  # stepped forward over fire times: no burst of them
            self._passed(now)
            return
        self._arm_at(following)  # the fire time after this one
        self._fire(when)
