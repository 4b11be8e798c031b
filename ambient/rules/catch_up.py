"""Fire times of a time or cron trigger that passed while ambient was not running: which one
fires late at the start, and the sentences that say so.

Each trigger's state records the newest fire time it handled (fired, or decided not to). At
the start, the fire times after that one and up to now were missed: a restart, an upgrade or a
reboot fell on them. If the newest was at most the trigger's ``catch_up`` ago it fires once,
late (several missed ones coalesce into that one firing, as APScheduler's ``coalesce``);
otherwise they are skipped (as a job past APScheduler's ``misfire_grace_time``) and the trace
says so. A trigger with no record yet (a new rule, a new store, ``simulate``) missed nothing:
ambient was not running it. Fire times the wall clock jumped over while ambient was running (NTP
stepping a Raspberry Pi's clock forward after a boot, see :class:`.schedule.Schedule`) are
missed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING

from ambient.config.durations import duration_text, written_duration_text
from ambient.config.triggers import CronTriggerConfig, TimeTriggerConfig
from ambient.rules import describe
from ambient.rules.schedule import fire_times, last_fire_time, next_fire_time

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

ScheduledTrigger = TimeTriggerConfig | CronTriggerConfig

#: Why fire times were missed: ambient was not running (a restart), or the wall clock jumped
#: over them while it was (NTP stepping a Raspberry Pi's clock forward after a boot).
NOT_RUNNING = "missed while ambient was not running"
CLOCK_STEP = "missed in a step of the clock"

#: At most this many missed fire times are counted for the trace (a minutely cron and a long
#: ``catch_up`` would otherwise be walked one by one).
_MAX_COUNTED = 1_000


@dataclass(frozen=True, slots=True)
class Missed:
    """The fire times of one trigger that passed while ambient was not running."""

    #: The newest of them (unix seconds).
    last_at: float
    #: How many of them were at most ``catch_up`` ago (0: none, the newest is skipped; counted
    #: up to a thousand).
    in_time: int
    #: Whether older ones, more than ``catch_up`` ago, were missed too.
    older: bool

    @property
    def fires(self) -> bool:
        return self.in_time > 0


def schedule_key(trigger: ScheduledTrigger) -> str:
    """What the handled fire time is recorded under: the schedule itself (and the trigger's
    id), so the record holds while the rule's actions or conditions are edited, and a changed
    schedule starts without one."""
    if isinstance(trigger, CronTriggerConfig):
        key = f"cron {trigger.cron}"
    else:
        key = "time " + ",".join(trigger.at)
        if trigger.weekday:
            key += " " + ",".join(trigger.weekday)
    return key if trigger.id is None else f"{key} [{trigger.id}]"


def missed(
    crons: Sequence[CronTrigger],
    zone: tzinfo,
    handled_at: float,
    now: float,
    catch_up_s: float,
) -> Missed | None:
    """The fire times in (``handled_at``, ``now``], or None when there are none."""
    last = last_fire_time(crons, zone, handled_at, now)
    if last is None:
        return None
    first = min(t for t in (next_fire_time(c, zone, handled_at) for c in crons) if t is not None)
    older = now - first > catch_up_s
    if catch_up_s <= 0 or now - last > catch_up_s:
        return Missed(last, 0, older)
    start = max(handled_at, now - catch_up_s - 1.0)
    times = fire_times(crons, zone, start, now, _MAX_COUNTED)
    return Missed(last, max(1, sum(1 for t in times if now - t <= catch_up_s)), older)


def caught_up(
    trigger: ScheduledTrigger, missed: Missed, now: float, zone: tzinfo, why: str = NOT_RUNNING
) -> str:
    """``time 22:30, caught up 7.0 s late (missed while ambient was not running)``."""
    what = describe.scheduled(trigger, missed.last_at, zone)
    notes = [why]
    if missed.in_time > 1:
        more = " or more" if missed.in_time >= _MAX_COUNTED else ""
        notes.append(f"{missed.in_time}{more} missed fire times, fired once")
    if missed.older:
        notes.append(f"older ones past catch_up {written_duration_text(trigger.catch_up)} skipped")
    return f"{what}, caught up {late_text(now - missed.last_at)} late ({'; '.join(notes)})"


def skipped(
    trigger: ScheduledTrigger, missed: Missed, now: float, zone: tzinfo, why: str = NOT_RUNNING
) -> str:
    """``time 22:30 missed while ambient was not running: due 3h ago, catch_up 5min;
    skipped``."""
    what = describe.scheduled(trigger, missed.last_at, zone)
    limit = written_duration_text(trigger.catch_up) if trigger.catch_up > 0 else "0 (off)"
    due = late_text(now - missed.last_at)
    return f"{what} {why}: due {due} ago, catch_up {limit}; skipped"


def late_text(seconds: float) -> str:
    """``7.0 s`` under a minute, ``3min20s`` above."""
    return f"{seconds:.1f} s" if seconds < 60 else duration_text(seconds)
