"""Firing a rule for a person, or saying exactly why not (cooldown, conditions, pause, quiet
hours, mode: single, restart, queued, parallel); the episode a signal trigger's firing opens,
its escalation while it stays, and the recovery run when it clears."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import tzinfo

from ambient.clock import Clock
from ambient.config.root import AmbientConfig
from ambient.config.triggers import SignalTriggerConfig
from ambient.messages import TraceRecord
from ambient.ports import SignalView
from ambient.rules import describe
from ambient.rules.band import inside
from ambient.rules.conditions import evaluate_all
from ambient.rules.current_values import CurrentValues
from ambient.rules.hold import ActionHold
from ambient.rules.resume import ResumeGrace
from ambient.rules.rule import Rule, SignalSlot
from ambient.rules.rule_store import RuleStore
from ambient.rules.runs import Runs
from ambient.rules.state import Episode, RunRecord, follow_clock
from ambient.rules.tracing import Tracer
from ambient.stage_times import STAGE

_LOGGER = logging.getLogger(__name__)


#: A signal trigger a waiting firing leaves as fired: its rule, person and trigger index.
_Latched = tuple[Rule, str | None, int]


@dataclass(frozen=True, slots=True)
class Firing:
    """Why a rule is being fired: which trigger, and the sentence for the trace."""

    index: int
    trigger_id: str | None
    label: str
    reason: str


class Firer:
    """Decides each firing and starts its runs: actions, escalation levels, recovery."""

    def __init__(
        self,
        config: AmbientConfig,
        clock: Clock,
        zone: tzinfo,
        signals: SignalView,
        current_values: CurrentValues,
        hold: ActionHold,
        tracer: Tracer,
        rule_store: RuleStore,
        runs: Runs,
        grace: ResumeGrace,
    ) -> None:
        self._config = config
        self._grace = grace
        self.clock = clock
        self._zone = zone
        self._signals = signals
        self._values = current_values.values
        self._signal = current_values.signal
        self._signals_seen = current_values.signals_seen
        self._threshold = current_values.threshold
        self._condition_context = current_values.condition_context
        self._held_back = hold.held_back
        self._trace = tracer.trace
        self._emit = tracer.emit
        self._save = rule_store.save
        self._run_id = runs.run_id
        self._launch = runs.launch
        self._cancel_run = runs.cancel_run
        self._end_episode = runs.end_episode
        self._inputs_known = runs.inputs_known
        self._inputs_unknown = runs.inputs_unknown
        #: Firings in the grace period after a start waiting for what their conditions read,
        #: with the signal trigger each leaves as fired (None: another kind of trigger).
        self._waiting: dict[asyncio.Task[None], _Latched | None] = {}

    def fire_signal(
        self, slot: SignalSlot, person: str, value: float, now: float, note: str = ""
    ) -> None:
        config = slot.config
        now_inside = inside(value, self._threshold(config.above), self._threshold(config.below))
        firing = Firing(
            slot.index,
            config.id,
            describe.trigger_label(config, slot.index),
            describe.signal_fired(config, value, now_inside) + note,
        )
        self.fire(slot.rule, person, firing, now, episode_trigger=True)

    def recover(
        self,
        slot: SignalSlot,
        person: str,
        value: float,
        above: float | None,
        below: float | None,
        now: float,
    ) -> None:
        rule = slot.rule
        state = rule.person(person)
        episode = state.episodes.pop(slot.index)
        if episode.timer is not None:
            episode.timer.cancel()
        run = RunRecord(
            id=self._run_id(rule),
            kind="recovery",
            person=person,
            episode=episode.id,
            trigger_id=episode.trigger_id,
            started=now,
            signals=self._signals_seen(rule, person),
        )
        state.runs[run.id] = run
        trace = TraceRecord(
            time=now,
            rule=rule.id,
            event="recovered",
            reason=describe.signal_recovered(slot.config, value, above, below),
            person=person,
            trigger=describe.trigger_label(slot.config, slot.index),
            signals=run.signals,
        )
        self._launch(rule, run, trace)

    def end_lost(self, rule: Rule, person: str, index: int, reason: str) -> None:
        """End the episode of a trigger whose signal was lost (see :mod:`.signal_lost`):
        traced ``ended``, undone as after a recovery, without ``on_recovery``."""
        state = rule.person(person)
        episode = state.episodes.pop(index)
        if episode.timer is not None:
            episode.timer.cancel()
        label = describe.trigger_label(rule.config.triggers[index], index)
        self._trace(rule, "ended", reason, person, label, ends_episode=True)
        self._end_episode(person, episode.id, episode.trigger_id)

    def _decide_when_known(
        self, rule: Rule, person: str | None, firing: Firing, now: float, episode_trigger: bool
    ) -> None:
        """Just after a start, HA's states and the signals' first values may not have
        arrived: the conditions are read once they have (or the grace period is over), not as
        unknown only because ambient has just started. A signal trigger that cleared in the
        meantime has nothing left to fire, nor has one that fired again since (the newer
        firing decides); until it decides, it is written as due."""
        trigger = rule.person(person).trigger(firing.index) if episode_trigger else None
        if trigger is not None:
            trigger.firing_due = now

        async def decide() -> None:
            try:
                why = "fired just after the start"
                try:
                    await self._inputs_known(rule.config.conditions, person, rule.id, why)
                finally:
                    latest = trigger is None or trigger.firing_due == now
                    if trigger is not None and latest:
                        trigger.firing_due = None
                if not latest or (trigger is not None and trigger.phase != "active"):
                    return
                self.fire(rule, person, firing, self.clock.now(), episode_trigger, True)
                self._save(rule)
            except Exception:
                _LOGGER.exception("Rule %s: the firing waiting for its conditions failed", rule.id)

        task = asyncio.get_running_loop().create_task(decide())
        self._waiting[task] = (rule, person, firing.index) if episode_trigger else None
        task.add_done_callback(lambda done: self._waiting.pop(done, None))

    def cancel(self) -> None:
        """Firings still waiting for their conditions' inputs are dropped (at a stop). A signal
        trigger's is left due, not fired: after the restart it decides on the signal's first
        value, as a `for` window that fell due while ambient was down (else, left as fired, it
        would stay silent for the whole episode)."""
        now = self.clock.now()
        for task, latched in list(self._waiting.items()):
            task.cancel()
            if latched is None:
                continue
            rule, person, index = latched
            trigger = rule.person(person).trigger(index)
            trigger.firing_due = None
            if trigger.phase == "active":
                trigger.phase, trigger.for_until = "pending", now
                self._save(rule)
        self._waiting.clear()

    def fire_for_scope(self, rule: Rule, firing: Firing, now: float) -> None:
        """A trigger that belongs to nobody fires the rule for each person it applies to."""
        for person in self.scope(rule):
            self.fire(rule, person, firing, now)

    def scope(self, rule: Rule) -> list[str | None]:
        """Whom a firing of ``rule`` is for: its person, nobody in particular, or everyone
        known (the configured people and any whose signals or values were seen)."""
        if rule.config.person is not None:
            return [rule.config.person]
        if not rule.per_person:
            return [None]
        known = set(self._config.person_ids()) | set(self._signals.people())
        return [*sorted(known | set(self._values))]

    def fire(
        self,
        rule: Rule,
        person: str | None,
        firing: Firing,
        now: float,
        episode_trigger: bool = False,
        inputs_awaited: bool = False,
    ) -> None:
        """Fire, or say exactly why not: cooldown, conditions, pause, quiet hours, mode."""
        config = rule.config
        state = rule.person(person)
        seen = self._signals_seen(rule, person)
        results: tuple[tuple[str, bool], ...] = ()

        def suppress(reason: str) -> None:
            self._trace(rule, "suppressed", reason, person, firing.label, seen, results)

        # Elapsed time: a step of the wall clock neither ends a cooldown nor lengthens it.
        monotonic = self.clock.monotonic()
        follow_clock(state, now, monotonic)
        until, anchor = state.cooldown_until, state.cooldown_until_anchor
        if until is not None and anchor is not None and monotonic < anchor[1]:
            suppress(describe.cooldown(until, now, self._zone))
            return
        waits = config.conditions and not inputs_awaited
        if waits and self._inputs_unknown(config.conditions, person):
            self._decide_when_known(rule, person, firing, now, episode_trigger)
            return
        if config.conditions:
            context = self._condition_context(person, firing.trigger_id)
            ok, results = evaluate_all(config.conditions, context)
            if not ok:
                failed = next(name for name, held in results if not held)
                suppress(f"condition {failed} false")
                return
        # An escalation level acting in quiet hours needs the episode its firing opens.
        levels = [action for level in config.escalate for action in level.actions]
        held_back = self._held_back([*config.actions, *levels])
        if held_back is not None:
            suppress(held_back)
            return
        runs = [r for r in state.runs.values() if r.kind == "actions"]
        running = [r for r in runs if not r.queued]
        queue = False
        if config.mode == "single" and running:
            _LOGGER.debug("Rule %s: already running", rule.id)
            suppress("mode single: already running")
            return
        if config.mode == "queued":
            if len(runs) >= config.max:
                suppress(f"mode queued: {config.max} runs already running or queued")
                return
            queue = bool(running)
        if config.mode == "parallel" and len(running) >= config.max:
            suppress(f"mode parallel: {config.max} runs already running")
            return
        if config.mode == "restart":
            for run in running:
                self._cancel_run(rule, run)
        episode_id = f"{rule.id}:{person or '-'}:{now:.3f}"
        state.last_fired = now
        cooldown_s = config.cooldown
        state.cooldown_until, state.cooldown_until_anchor = (
            (now + cooldown_s, (now + cooldown_s, monotonic + cooldown_s))
            if cooldown_s > 0
            else (None, None)
        )
        if episode_trigger and person is not None:
            episode = Episode(
                episode_id,
                firing.index,
                firing.trigger_id,
                now,
                signals=seen,
                fired_at_anchor=(now, monotonic),
            )
            state.episodes[firing.index] = episode
            self.arm_escalation(rule, person, firing.index, episode)
        run = RunRecord(
            id=self._run_id(rule),
            kind="actions",
            person=person,
            episode=episode_id,
            trigger_id=firing.trigger_id,
            started=now,
            queued=queue,
            signals=seen,
        )
        state.runs[run.id] = run
        trace = TraceRecord(
            time=now,
            rule=rule.id,
            event="fired",
            reason=firing.reason + (" (queued)" if queue else ""),
            person=person,
            trigger=firing.label,
            signals=seen,
            conditions=results,
        )
        if STAGE is not None:
            STAGE("fired")
        try:
            if queue:
                self._emit(trace)
            else:
                self._launch(rule, run, trace)
        finally:
            # Saved once the run is launched: a save only marks the rule for the write
            # that follows the action (what is written is read then), and the first one
            # of a firing sets that write's timer, which is no reason to hold the action.
            self._save(rule)

    # -- escalation -----------------------------------------------------------------------

    def arm_escalation(self, rule: Rule, person: str | None, index: int, episode: Episode) -> None:
        """Set the timer of the next level, ``after`` its firing in elapsed time (a step of the
        wall clock since the firing brings no level on early, nor puts one off)."""
        levels = rule.config.escalate
        if episode.next_level >= len(levels):
            return
        in_s = self._due_monotonic(rule, episode) - self.clock.monotonic()
        episode.timer = self.clock.call_later(
            max(0.0, in_s), lambda: self._escalation_due(rule, person, index, episode)
        )

    def _due_monotonic(self, rule: Rule, episode: Episode) -> float:
        """When the episode's next level is due, on the clock's elapsed time."""
        if episode.fired_at_anchor is None:  # made elsewhere than by a firing or the store
            fired_monotonic = self.clock.monotonic() - (self.clock.now() - episode.fired_at)
            episode.fired_at_anchor = (episode.fired_at, fired_monotonic)
        return episode.fired_at_anchor[1] + rule.config.escalate[episode.next_level].after

    def _escalation_due(self, rule: Rule, person: str | None, index: int, episode: Episode) -> None:
        state = rule.person(person)
        if state.episodes.get(index) is not episode or person is None:
            return
        episode.timer = None
        trigger = rule.config.triggers[index]
        assert isinstance(trigger, SignalTriggerConfig)
        value = self._values.get(person, {}).get(trigger.signal)
        if value is None and episode.resumed and self._grace.active():
            # Due while ambient was not running: decide on the signal's first value.
            self._grace.wait(
                f"Rule {rule.id}: escalation {episode.next_level + 1} of {person}",
                (person, trigger.signal),
                trigger.signal,
                lambda: self._escalation_due(rule, person, index, episode),
            )
            return
        late_s = self.clock.monotonic() - self._due_monotonic(rule, episode)
        level = episode.next_level
        episode.next_level += 1
        self.arm_escalation(rule, person, index, episode)
        self._save(rule)
        now = self.clock.now()
        note = describe.late_after_restart(late_s) if episode.resumed else ""
        episode.resumed = False
        label = describe.trigger_label(trigger, index)
        seen = self._signals_seen(rule, person)
        current = self._signal(person, trigger.signal)
        if current is None or current.value is None or value is None:
            why = current.reason if current is not None and current.reason else "unknown"
            reason = f"quality: {trigger.signal} unknown ({why}); escalation {level + 1} skipped"
            self._trace(rule, "suppressed", reason, person, label, seen)
            return
        held_back = self._held_back(rule.config.escalate[level].actions)
        if held_back is not None:
            self._trace(
                rule, "suppressed", f"escalation {level + 1}: {held_back}", person, label, seen
            )
            return
        run = RunRecord(
            id=self._run_id(rule),
            kind="escalate",
            person=person,
            episode=episode.id,
            trigger_id=episode.trigger_id,
            started=now,
            level=level,
            signals=seen,
        )
        state.runs[run.id] = run
        self._save(rule)
        after = rule.config.escalate[level].after
        now_inside = inside(value, self._threshold(trigger.above), self._threshold(trigger.below))
        trace = TraceRecord(
            time=now,
            rule=rule.id,
            event="escalated",
            reason=describe.escalated(trigger, value, after, level, now_inside) + note,
            person=person,
            trigger=label,
            signals=seen,
        )
        self._launch(rule, run, trace)
