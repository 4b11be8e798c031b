"""Time and cron triggers: armed on the clock at the start, each fire time handled recorded in
the rule's state (written with it, in the same transaction), and a fire time missed while
ambient was not running caught up once if it is recent enough (see :mod:`.catch_up`).

A late firing is decided as any firing is, when it happens: cooldown, conditions (a `time`
condition sees the time of the late firing, not the missed fire time: the actions happen now),
pause, quiet hours, mode. Conditions that read signals or Home Assistant entities first wait
until those are known again, within the grace period after the start (:mod:`.resume`): right
after a start every signal is unknown because of the restart, not because of the person.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING

from ambient.clock import Clock
from ambient.config.conditions import ConditionConfig
from ambient.counters import Counters
from ambient.rules import describe
from ambient.rules.catch_up import (
    CLOCK_STEP,
    NOT_RUNNING,
    Missed,
    ScheduledTrigger,
    caught_up,
    missed,
    schedule_key,
    skipped,
)
from ambient.rules.firing import Firing
from ambient.rules.resume import ResumeGrace, condition_inputs
from ambient.rules.rule import Rule
from ambient.rules.schedule import Schedule, cron_triggers

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_LOGGER = logging.getLogger(__name__)

#: Counters scope for what the rules did with missed fire times.
COUNTER_SCOPE = "rules"

FireForScope = Callable[[Rule, Firing, float], None]
#: Whom a firing of a rule is for (the firer's scope).
Scope = Callable[[Rule], list[str | None]]
Trace = Callable[..., None]
Save = Callable[[Rule], None]
#: Waits until what a rule's conditions read for a person is known (or the grace ends).
InputsKnown = Callable[[Sequence[ConditionConfig], str | None, str], Awaitable[None]]


class ScheduledTriggers:
    """Every rule's time and cron triggers, and their late firings waiting for inputs."""

    def __init__(
        self,
        clock: Clock,
        zone: tzinfo,
        scope: Scope,
        fire_for_scope: FireForScope,
        trace: Trace,
        save: Save,
        grace: ResumeGrace,
        inputs_known: InputsKnown,
        counters: Counters | None = None,
    ) -> None:
        self.clock = clock
        self._zone = zone
        self._scope = scope
        self._fire_for_scope = fire_for_scope
        self._trace = trace
        self._save = save
        self._grace = grace
        self._inputs_known = inputs_known
        self._counters = counters if counters is not None else Counters()
        self._late: set[asyncio.Task[None]] = set()

    def start(self, rule: Rule) -> None:
        """Catch up what ``rule``'s schedules missed while ambient was not running, then arm
        them for their next fire times."""
        # A schedule the rule no longer has loses its record: should it come back, ambient
        # was not running it meanwhile.
        kept = {
            schedule_key(trigger)
            for trigger in rule.config.triggers
            if isinstance(trigger, ScheduledTrigger)
        }
        recorded = not kept.issuperset(rule.fire_times)
        rule.fire_times = {key: at for key, at in rule.fire_times.items() if key in kept}
        for index, trigger in enumerate(rule.config.triggers):
            if not isinstance(trigger, ScheduledTrigger):
                continue
            crons = cron_triggers(trigger, self._zone)
            key = schedule_key(trigger)
            now = self.clock.now()
            handled_at = rule.fire_times.get(key)
            if handled_at is not None and handled_at < now:
                found = missed(crons, self._zone, handled_at, now, trigger.catch_up)
                if found is not None:
                    self._catch_up(rule, index, trigger, found)
            if handled_at is None:
                # Nothing was missed: ambient was not running this schedule. From now on it is.
                rule.fire_times[key] = now
            # A record ahead of the clock stays: the clock is behind (a Raspberry Pi booted at
            # the time fake-hwclock saved, up to an hour before a power cut) until NTP steps
            # it, and a fire time handled before the boot must not be caught up again then.
            recorded = True
            for cron in crons:
                schedule = Schedule(
                    self.clock,
                    cron,
                    self._zone,
                    self._on_time(rule, index, trigger, key),
                    self._on_step(rule, index, trigger, crons, key),
                )
                schedule.arm(after=now)  # from where the missed ones ended: no gap
                rule.schedules.append(schedule)
        if recorded:
            self._save(rule)

    def cancel(self) -> None:
        """Late firings still waiting for their inputs are dropped: their fire times stay
        unhandled, so the next start catches them up if they are still recent enough."""
        for task in self._late:
            task.cancel()
        self._late.clear()

    def _on_time(
        self, rule: Rule, index: int, trigger: ScheduledTrigger, key: str
    ) -> Callable[[float], None]:
        def fire(when: float) -> None:
            _handled(rule, key, when)
            firing = Firing(
                index,
                trigger.id,
                describe.trigger_label(trigger, index),
                describe.scheduled(trigger, when, self._zone),
            )
            self._fire_for_scope(rule, firing, when)
            self._save(rule)

        return fire

    def _on_step(
        self,
        rule: Rule,
        index: int,
        trigger: ScheduledTrigger,
        crons: Sequence[CronTrigger],
        key: str,
    ) -> Callable[[float], None]:
        def passed(now: float) -> None:
            """The wall clock jumped forward over fire times: they were missed, as in a
            restart (one of several schedules of a trigger finds them, the others nothing)."""
            handled_at = rule.fire_times.get(key, now)
            found = missed(crons, self._zone, handled_at, now, trigger.catch_up)
            if found is not None:
                self._catch_up(rule, index, trigger, found, CLOCK_STEP)
                self._save(rule)

        return passed

    def _catch_up(
        self,
        rule: Rule,
        index: int,
        trigger: ScheduledTrigger,
        found: Missed,
        why: str = NOT_RUNNING,
    ) -> None:
        key = schedule_key(trigger)
        label = describe.trigger_label(trigger, index)
        now = self.clock.now()
        if not found.fires:
            _handled(rule, key, now)
            self._counters.increment(COUNTER_SCOPE, "catch_up_skipped")
            reason = skipped(trigger, found, now, self._zone, why)
            self._trace(rule, "suppressed", reason, rule.config.person, label)
            return
        waits = [p for p in self._scope(rule) if condition_inputs(rule.config.conditions, p)]
        if not waits or not self._grace.active():
            self._fire_late(rule, index, trigger, found, now, why)
            return
        task = asyncio.get_running_loop().create_task(
            self._fire_when_known(rule, index, trigger, found, now, waits, why)
        )
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _fire_when_known(
        self,
        rule: Rule,
        index: int,
        trigger: ScheduledTrigger,
        found: Missed,
        started: float,
        people: list[str | None],
        why: str,
    ) -> None:
        try:
            for person in people:
                await self._inputs_known(rule.config.conditions, person, rule.id)
            self._fire_late(rule, index, trigger, found, started, why)
        except Exception:
            _LOGGER.exception("Rule %s: the late firing of %s failed", rule.id, found.last_at)

    def _fire_late(
        self,
        rule: Rule,
        index: int,
        trigger: ScheduledTrigger,
        found: Missed,
        started: float,
        why: str = NOT_RUNNING,
    ) -> None:
        """Fire once for the missed fire times; everything up to the start is handled."""
        _handled(rule, schedule_key(trigger), started)
        self._counters.increment(COUNTER_SCOPE, "catch_up_fired")
        now = self.clock.now()
        reason = caught_up(trigger, found, now, self._zone, why)
        _LOGGER.info("Rule %s: %s", rule.id, reason)
        label = describe.trigger_label(trigger, index)
        self._fire_for_scope(rule, Firing(index, trigger.id, label, reason), now)
        self._save(rule)


def _handled(rule: Rule, key: str, at: float) -> None:
    """Fire times up to ``at`` are handled (the record never moves back)."""
    rule.fire_times[key] = max(at, rule.fire_times.get(key, at))
