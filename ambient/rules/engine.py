"""The rule engine: edge-triggered signal triggers with `for`, hysteresis and cooldown; state,
time, cron and MQTT triggers; conditions; modes; escalation and recovery; quiet hours and pause.

State is per rule and person and is persisted on every change (keyed by rule id), so `for`
windows, cooldowns, open episodes and running sequences continue after a restart. Every
decision that changes something is traced with a readable reason.

This module is the façade the daemon wires; the work is done by the parts it builds:
:mod:`~ambient.rules.dispatch` (updates and events to trigger state, the hot path, with
:mod:`~ambient.rules.entity_triggers` and :mod:`~ambient.rules.mqtt_triggers`),
:mod:`~ambient.rules.firing` (fire or suppress, episodes, escalation, recovery),
:mod:`~ambient.rules.runs` (action runs and modes), :mod:`~ambient.rules.scheduled_triggers`
(time and cron, with the catch-up after a restart), :mod:`~ambient.rules.rule_store`,
:mod:`~ambient.rules.hold` (pause, quiet hours) and :mod:`~ambient.rules.tracing`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ambient.clock import Clock, resolve_zone
from ambient.config.root import AmbientConfig
from ambient.counters import Counters
from ambient.messages import ExternalEvent, SignalUpdate, TraceRecord
from ambient.ports import ActionPerformer, CalmingChooser, SignalView
from ambient.rules.current_values import CurrentValues
from ambient.rules.departed import drop_departed, people_kept
from ambient.rules.dispatch import TriggerDispatch, topic_matches
from ambient.rules.firing import Firer
from ambient.rules.hold import ActionHold
from ambient.rules.phases import rule_rows
from ambient.rules.resume import ResumeGrace
from ambient.rules.rule import Rule, build_rule, entities_used
from ambient.rules.rule_store import RuleStore
from ambient.rules.runs import Runs
from ambient.rules.scheduled_triggers import ScheduledTriggers
from ambient.rules.state import cancel_timer, person_of
from ambient.rules.tracing import Tracer
from ambient.rules.write_behind import WriteBehind
from ambient.store import Store

__all__ = ["RuleEngine", "topic_matches"]


class RuleEngine:
    """Satisfies what the daemon wires: signal updates and events in, actions and traces out."""

    def __init__(
        self,
        config: AmbientConfig,
        clock: Clock,
        store: Store,
        signals: SignalView,
        performer: ActionPerformer,
        on_trace: Callable[[TraceRecord], None],
        calming: CalmingChooser | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.clock = clock
        zone = resolve_zone(config.timezone)
        self._rules = [build_rule(rule) for rule in config.rules]
        self._current_values = CurrentValues(clock, zone, signals)
        self._hold = ActionHold(config, clock, zone, store)
        self._writes = WriteBehind(clock, store)
        self._tracer = Tracer(
            clock, self._writes, config.store.traces_per_rule, self._current_values, on_trace
        )
        self._rule_store = RuleStore(store, self._writes)
        self._people_kept = people_kept(config)
        self._performer = performer
        self._grace = ResumeGrace(clock, config.signals.stale_after)
        self._runs = Runs(
            clock,
            self._rules,
            performer,
            self._current_values,
            self._hold,
            self._tracer,
            self._rule_store,
            self._grace,
            calming,
            names=config.display_names(),
        )
        self._firer = Firer(
            config,
            clock,
            zone,
            signals,
            self._current_values,
            self._hold,
            self._tracer,
            self._rule_store,
            self._runs,
            self._grace,
        )
        self._dispatch = TriggerDispatch(
            clock,
            zone,
            self._rules,
            self._current_values,
            self._hold,
            self._tracer,
            self._rule_store,
            self._runs,
            self._firer,
            self._grace,
            counters,
        )
        self._scheduled = ScheduledTriggers(
            clock,
            zone,
            self._firer.scope,
            self._firer.fire_for_scope,
            self._tracer.trace,
            self._rule_store.save,
            self._grace,
            self._runs.inputs_known,
            counters,
        )

    def on_signals(self, update: SignalUpdate) -> None:
        self._dispatch.on_signals(update)

    def on_event(self, event: ExternalEvent) -> None:
        self._dispatch.on_event(event)

    def emit_trace(self, record: TraceRecord) -> None:
        """A rule's trace from outside its own decisions (what a running breathing session
        did later): kept for `ambient trace` and handed on, as the rules' own are."""
        self._tracer.emit(record)

    def entities_used(self) -> set[str]:
        """HA entities the rules read, so the HA client subscribes to just these."""
        return entities_used(self._rules)

    def entity_missing(self, entity_id: str) -> None:
        """Home Assistant, connected, has no such entity: holds, waits and conditions waiting
        for its state after a start decide now instead of waiting out the 10 min."""
        self._grace.missing_entity(entity_id)

    def mqtt_topics_used(self) -> set[str]:
        return self._dispatch.mqtt_topics_used()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore persisted state and re-arm its timers, resume runs, arm schedules; the
        state of people no longer in the config is dropped (see :mod:`.departed`)."""
        self._runs.resume()
        self._hold.restore()
        self._grace.begin()
        for rule in self._rules:
            if self._rule_store.load(rule):
                kept = self._people_kept
                if kept is not None and drop_departed(rule, kept, self._trace_departed):
                    self._rule_store.save(rule)
                for key, state in rule.persons.items():
                    person = person_of(key)
                    self._dispatch.rearm_for_timers(rule, person, state)
                    for index, episode in state.episodes.items():
                        episode.resumed = True
                        self._firer.arm_escalation(rule, person, index, episode)
                    running = [r for r in state.runs.values() if not r.queued]
                    for run in running:
                        self._runs.launch(rule, run, trace=None)
                    if not running:
                        self._runs.start_queued(rule, person)
                self._dispatch.rearm_entity_timers(rule)
            self._scheduled.start(rule)
        await self._settle_episodes()

    def _trace_departed(self, rule: Rule, person: str, reason: str) -> None:
        self._tracer.trace(rule, "ended", reason, person, None, signals={}, ends_episode=True)

    async def _settle_episodes(self) -> None:
        """Episodes the actuators still hold that no rule owns any more (the rule changed or
        was removed, or the breathing button started it) end now: their lights are restored
        and their records removed, at every start and reload."""
        await self._performer.settle_episodes(self._runs.live_episodes(self._rules))

    async def stop(self) -> None:
        """Persist everything and cancel timers and runs; runs resume on the next start.

        The state is written before the first wait, so a caller's time limit on stopping can
        cut the runs' cancellation short but never the write."""
        self._firer.cancel()  # first: it leaves a waiting firing's trigger due, to be written
        self._rule_store.write_all(self._rules)
        self._grace.cancel()
        self._scheduled.cancel()
        for rule in self._rules:
            for schedule in rule.schedules:
                schedule.cancel()
            rule.schedules.clear()
            for state in rule.persons.values():
                for trigger in state.triggers.values():
                    cancel_timer(trigger)
                for episode in state.episodes.values():
                    if episode.timer is not None:
                        episode.timer.cancel()
            for pending in rule.entity_pending.values():
                cancel_timer(pending)
        await self._runs.stop()
        self._rule_store.write_all(self._rules)

    # -- pause ----------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._hold.paused

    def set_paused(self, paused: bool, source: str) -> None:
        """Hold back every rule's actions (firings are traced as suppressed) until resumed."""
        self._hold.set_paused(paused, source)

    # -- status ---------------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Per rule and person: the phase and what ends it (see :mod:`~ambient.rules.phases`)."""
        self._rule_store.follow_clock(*self._rules)  # a cooldown's end after a step of the clock
        return rule_rows(self._rules, self.clock.now(), self._hold.held_back_of)
