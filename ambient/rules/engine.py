"""The rule engine: edge-triggered signal triggers with `for`, hysteresis and cooldown; state,
time, cron and MQTT triggers; conditions; modes; escalation and recovery; quiet hours and pause.

State is per rule and person and is persisted on every change (keyed by rule id), so `for`
windows, cooldowns, open episodes and running sequences continue after a restart. Every
decision that changes something is traced with a readable reason.

``on_signals`` is the hot path: values are indexed by the thresholds where a trigger's state can
change, so an update touches only the triggers whose boundary it crossed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ambient.clock import Clock
from ambient.config.actions import ChooseStepConfig, IfStepConfig, WaitForStepConfig
from ambient.config.conditions import (
    AndConditionConfig,
    NotConditionConfig,
    OrConditionConfig,
    SignalConditionConfig,
    StateConditionConfig,
)
from ambient.config.root import AmbientConfig
from ambient.config.rules import RuleConfig
from ambient.config.triggers import (
    CronTriggerConfig,
    MqttTriggerConfig,
    SignalTriggerConfig,
    StateTriggerConfig,
    TimeTriggerConfig,
)
from ambient.messages import (
    ActionContext,
    ActionResult,
    ExternalEvent,
    SignalScalar,
    SignalUpdate,
    SignalValue,
    TraceRecord,
)
from ambient.ports import ActionPerformer, SignalView
from ambient.rules import describe
from ambient.rules.band import BoundaryIndex, boundaries, cleared, inside
from ambient.rules.conditions import ConditionContext, evaluate_all, numeric_holds
from ambient.rules.schedule import Schedule, cron_triggers
from ambient.rules.sequence import SequenceRun
from ambient.rules.state import (
    Episode,
    PersonState,
    RunRecord,
    TriggerState,
    person_key,
    person_of,
)
from ambient.rules.timeofday import in_window, parse_time_of_day, resolve_zone
from ambient.rules.values import EntityState, entity_state_from_event, numeric
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

STATE_NAMESPACE = "rules"
META_NAMESPACE = "rules_meta"
TRACE_NAMESPACE = "traces"


@dataclass(eq=False, slots=True)
class _SignalSlot:
    rule: _Rule
    index: int
    config: SignalTriggerConfig


@dataclass(eq=False, slots=True)
class _TextSlot:
    rule: _Rule
    index: int
    config: StateTriggerConfig


@dataclass(eq=False)
class _Rule:
    """A rule's config and its live state, per person."""

    config: RuleConfig
    fingerprint: str
    per_person: bool
    signal_names: tuple[str, ...]
    persons: dict[str, PersonState] = field(default_factory=dict)
    #: `for` timers of entity state triggers, by "<trigger index>:<entity id>".
    entity_pending: dict[str, TriggerState] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.config.id

    def person(self, person: str | None) -> PersonState:
        key = person_key(person)
        state = self.persons.get(key)
        if state is None:
            state = self.persons[key] = PersonState()
        return state


@dataclass(frozen=True, slots=True)
class _Firing:
    """Why a rule is being fired: which trigger, and the sentence for the trace."""

    index: int
    trigger_id: str | None
    label: str
    reason: str


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
    ) -> None:
        self._config = config
        self.clock = clock
        self._store = store
        self._signals = signals
        self._performer = performer
        self._on_trace = on_trace
        self._zone = resolve_zone(config.timezone)
        self._keep = config.store.traces_per_rule
        quiet = config.quiet_hours
        self._quiet = (
            (parse_time_of_day(quiet.start), parse_time_of_day(quiet.end), quiet) if quiet else None
        )
        self._paused = config.pause
        self._pause_source = "config"
        self._stopping = False
        self._seq = itertools.count(1)
        self._rules = [_build_rule(rule) for rule in config.rules]
        self._by_id = {rule.id: rule for rule in self._rules}
        self._numeric: dict[str, BoundaryIndex[_SignalSlot]] = {}
        self._text: dict[str, list[_TextSlot]] = {}
        self._entity_triggers: dict[str, list[tuple[_Rule, int, StateTriggerConfig]]] = {}
        self._threshold_users: dict[str, list[_SignalSlot]] = {}
        self._mqtt: list[tuple[_Rule, int, MqttTriggerConfig]] = []
        self._index_triggers()
        #: Last numeric / text value seen per person and signal (only signals triggers use).
        self._values: dict[str, dict[str, float | None]] = {}
        self._texts: dict[str, dict[str, str | None]] = {}
        self._entities: dict[str, EntityState] = {}
        self._waiters: dict[
            tuple[str | None, str], list[tuple[WaitForStepConfig, asyncio.Future[bool]]]
        ] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._current: SignalUpdate | None = None
        self._dirty: set[_Rule] = set()
        self._flush_scheduled = False

    # -- wiring ---------------------------------------------------------------------------

    def _index_triggers(self) -> None:
        for rule in self._rules:
            for index, trigger in enumerate(rule.config.triggers):
                if isinstance(trigger, SignalTriggerConfig):
                    slot = _SignalSlot(rule, index, trigger)
                    points = boundaries(trigger.above, trigger.below, trigger.hysteresis)
                    self._numeric.setdefault(trigger.signal, BoundaryIndex()).add(slot, points)
                    for limit in (trigger.above, trigger.below):
                        if isinstance(limit, str):
                            self._threshold_users.setdefault(limit, []).append(slot)
                elif isinstance(trigger, StateTriggerConfig):
                    if trigger.signal is not None:
                        self._text.setdefault(trigger.signal, []).append(
                            _TextSlot(rule, index, trigger)
                        )
                    for entity in trigger.entity_id or ():
                        self._entity_triggers.setdefault(entity, []).append((rule, index, trigger))
                elif isinstance(trigger, MqttTriggerConfig):
                    self._mqtt.append((rule, index, trigger))

    def entities_used(self) -> set[str]:
        """HA entities the rules read, so the HA client subscribes to just these."""
        used: set[str] = set()
        for rule in self._rules:
            config = rule.config
            for trigger in config.triggers:
                if isinstance(trigger, SignalTriggerConfig):
                    used |= {x for x in (trigger.above, trigger.below) if isinstance(x, str)}
                elif isinstance(trigger, StateTriggerConfig):
                    used |= set(trigger.entity_id or ())
            for condition in _all_conditions(config):
                if isinstance(condition, StateConditionConfig):
                    used |= set(condition.entity_id)
                elif isinstance(condition, SignalConditionConfig):
                    used |= {x for x in (condition.above, condition.below) if isinstance(x, str)}
            for step in _all_steps(config):
                if isinstance(step, WaitForStepConfig):
                    limits = (step.wait_for.above, step.wait_for.below)
                    used |= {x for x in limits if isinstance(x, str)}
        return used

    def mqtt_topics_used(self) -> set[str]:
        return {trigger.topic for _, _, trigger in self._mqtt}

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore persisted state and re-arm its timers, resume runs, arm schedules."""
        self._stopping = False
        pause = self._store.get(META_NAMESPACE, "pause")
        if isinstance(pause, dict):
            self._paused = bool(pause.get("paused"))
            self._pause_source = str(pause.get("source", "store"))
        for rule in self._rules:
            self._restore(rule)
            for index, trigger in enumerate(rule.config.triggers):
                if isinstance(trigger, TimeTriggerConfig | CronTriggerConfig):
                    for cron in cron_triggers(trigger, self._zone):
                        schedule = Schedule(
                            self.clock,
                            cron,
                            self._zone,
                            self._scheduled_callback(rule, index, trigger),
                        )
                        schedule.arm()
                        rule.schedules.append(schedule)

    async def stop(self) -> None:
        """Persist everything and cancel timers and runs; runs resume on the next start."""
        self._stopping = True
        for rule in self._rules:
            for schedule in rule.schedules:
                schedule.cancel()
            rule.schedules.clear()
            for state in rule.persons.values():
                for trigger in state.triggers.values():
                    _cancel(trigger)
                for episode in state.episodes.values():
                    if episode.timer is not None:
                        episode.timer.cancel()
            for pending in rule.entity_pending.values():
                _cancel(pending)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._dirty.clear()
        for rule in self._rules:
            self._write(rule)

    def _restore(self, rule: _Rule) -> None:
        stored = self._store.get(STATE_NAMESPACE, rule.id)
        if not isinstance(stored, dict):
            return
        if stored.get("fingerprint") != rule.fingerprint:
            _LOGGER.info("Rule %s changed since its state was saved; starting it fresh", rule.id)
            self._store.delete(STATE_NAMESPACE, rule.id)
            return
        try:
            rule.persons = {
                key: PersonState.from_json(data) for key, data in stored["persons"].items()
            }
            rule.entity_pending = {
                key: TriggerState.from_json(data)
                for key, data in stored.get("entity_pending", {}).items()
            }
        except (KeyError, TypeError, ValueError):
            _LOGGER.warning("Saved state of rule %s is unreadable; starting it fresh", rule.id)
            rule.persons, rule.entity_pending = {}, {}
            return
        for key, state in rule.persons.items():
            person = person_of(key)
            for index, trigger in state.triggers.items():
                if trigger.phase == "pending" and trigger.for_until is not None:
                    trigger.timer = self.clock.call_at(
                        trigger.for_until, self._for_callback(rule, person, index)
                    )
            for index, episode in state.episodes.items():
                self._arm_escalation(rule, person, index, episode)
            running = [r for r in state.runs.values() if not r.queued]
            for run in running:
                self._launch(rule, run, trace=None)
            if not running:
                self._start_queued(rule, person)
        for key, pending in rule.entity_pending.items():
            if pending.for_until is not None:
                index_text, entity = key.split(":", 1)
                pending.timer = self.clock.call_at(
                    pending.for_until, self._entity_for_callback(rule, int(index_text), entity)
                )

    def _save(self, rule: _Rule) -> None:
        """Persist ``rule`` before the loop's next turn: changes made while handling one
        update (or one timer) are written together, once."""
        if rule in self._dirty:
            return
        self._dirty.add(rule)
        if not self._flush_scheduled:
            try:
                asyncio.get_running_loop().call_soon(self._flush)
            except RuntimeError:  # no loop (a synchronous caller): write now
                self._flush()
                return
            self._flush_scheduled = True

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        for rule in dirty:
            self._write(rule)

    def _write(self, rule: _Rule) -> None:
        self._store.put(
            STATE_NAMESPACE,
            rule.id,
            {
                "fingerprint": rule.fingerprint,
                "persons": {key: state.to_json() for key, state in rule.persons.items()},
                "entity_pending": {k: v.to_json() for k, v in rule.entity_pending.items()},
            },
        )

    # -- pause ----------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool, source: str) -> None:
        """Hold back every rule's actions (firings are traced as suppressed) until resumed."""
        if paused != self._paused:
            _LOGGER.info("Rules %s by %s", "paused" if paused else "resumed", source)
        self._paused = paused
        self._pause_source = source
        self._store.put(META_NAMESPACE, "pause", {"paused": paused, "source": source})

    def _quiet_now(self) -> bool:
        if self._quiet is None:
            return False
        start, end, _ = self._quiet
        now = self.clock.local(self._zone).time().replace(tzinfo=None)
        return in_window(now, start, end)

    def _held_back(self) -> str | None:
        """Why actions may not run right now (pause, quiet hours), or None."""
        if self._paused:
            return f"paused (by {self._pause_source})"
        if self._quiet is not None and self._quiet_now():
            return f"quiet hours {self._quiet[2].start}–{self._quiet[2].end}"
        return None

    # -- signals: the hot path ------------------------------------------------------------

    def on_signals(self, update: SignalUpdate) -> None:
        person = update.person
        values = self._values.get(person)
        if values is None:
            values = self._values[person] = {}
        self._current = update
        try:
            for name, signal in update.values.items():
                index = self._numeric.get(name)
                if index is not None:
                    new = numeric(signal.value)
                    old = values.get(name)
                    if new != old:
                        values[name] = new
                        if old is None or new is None:
                            slots = index.every
                        else:
                            slots = index.crossed(old, new)
                        for slot in slots:
                            self._evaluate(slot, person, new, update.time, signal)
                text_slots = self._text.get(name)
                if text_slots is not None:
                    self._on_text(text_slots, person, signal, update.time)
            if self._waiters:
                self._wake_waiters(update)
        finally:
            self._current = None

    def _evaluate(
        self,
        slot: _SignalSlot,
        person: str,
        value: float | None,
        now: float,
        signal: SignalValue | None = None,
    ) -> None:
        rule = slot.rule
        config = slot.config
        if rule.config.person is not None and rule.config.person != person:
            return
        above = self._threshold(config.above)
        below = self._threshold(config.below)
        state = rule.person(person)
        trigger = state.trigger(slot.index)
        phase = trigger.phase
        unknown = value is None or (config.above is not None and above is None)
        unknown = unknown or (config.below is not None and below is None)
        if unknown:
            if phase == "pending":
                _cancel(trigger)
                trigger.phase, trigger.since, trigger.for_until = "clear", None, None
                self._save(rule)
                why = signal.reason if signal is not None and signal.reason else "unknown"
                what = config.signal if value is None else "a threshold entity"
                self._trace(
                    rule,
                    "suppressed",
                    f"quality: {what} unknown ({why}); for window reset",
                    person,
                    describe.trigger_label(config, slot.index),
                )
            return
        assert value is not None
        if phase == "clear":
            if inside(value, above, below):
                if config.for_ <= 0:
                    trigger.phase, trigger.since = "active", now
                    self._save(rule)
                    self._fire_signal(slot, person, value, now)
                else:
                    trigger.phase, trigger.since = "pending", now
                    trigger.for_until = now + config.for_
                    trigger.timer = self.clock.call_at(
                        trigger.for_until, self._for_callback(rule, person, slot.index)
                    )
                    self._save(rule)
        elif cleared(value, above, below, config.hysteresis):
            _cancel(trigger)
            trigger.phase, trigger.since, trigger.for_until = "clear", None, None
            if phase == "active" and slot.index in state.episodes:
                self._recover(slot, person, value, above, below, now)
            self._save(rule)

    def _for_callback(self, rule: _Rule, person: str | None, index: int) -> Callable[[], None]:
        return lambda: self._for_due(rule, person, index)

    def _for_due(self, rule: _Rule, person: str | None, index: int) -> None:
        state = rule.person(person)
        trigger = state.trigger(index)
        trigger.timer = None
        if trigger.phase != "pending":
            return
        config = rule.config.triggers[index]
        if isinstance(config, StateTriggerConfig):
            self._text_for_due(rule, person, index, config, trigger)
            return
        assert isinstance(config, SignalTriggerConfig) and person is not None
        now = self.clock.now()
        current = self._signal(person, config.signal)
        value = self._values.get(person, {}).get(config.signal)
        if current is None or current.value is None or value is None:
            trigger.phase, trigger.since, trigger.for_until = "clear", None, None
            self._save(rule)
            why = current.reason if current is not None and current.reason else "unknown"
            self._trace(
                rule,
                "suppressed",
                f"quality: {config.signal} unknown ({why}) when `for` ended",
                person,
                describe.trigger_label(config, index),
            )
            return
        trigger.phase, trigger.for_until = "active", None
        self._save(rule)
        slot = _SignalSlot(rule, index, config)
        self._fire_signal(slot, person, value, now)

    def _fire_signal(self, slot: _SignalSlot, person: str, value: float, now: float) -> None:
        config = slot.config
        now_inside = inside(value, self._threshold(config.above), self._threshold(config.below))
        firing = _Firing(
            slot.index,
            config.id,
            describe.trigger_label(config, slot.index),
            describe.signal_fired(config, value, now_inside),
        )
        self._fire(slot.rule, person, firing, now, episode_trigger=True)

    def _recover(
        self,
        slot: _SignalSlot,
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

    # -- text signals and HA entities (state triggers) ------------------------------------

    def _on_text(
        self, slots: list[_TextSlot], person: str, signal: SignalValue, now: float
    ) -> None:
        texts = self._texts.setdefault(person, {})
        name = slots[0].config.signal
        assert name is not None
        new = None if signal.value is None else _state_text(signal.value)
        old = texts.get(name)
        if new == old:
            return
        texts[name] = new
        for slot in slots:
            rule = slot.rule
            if rule.config.person is not None and rule.config.person != person:
                continue
            trigger = rule.person(person).trigger(slot.index)
            matched = new is not None and _state_matches(slot.config, old, new)
            if trigger.phase == "pending" and not (new is not None and _in_to(slot.config, new)):
                _cancel(trigger)
                trigger.phase, trigger.for_until, trigger.value = "clear", None, None
                self._save(rule)
            if not matched or trigger.phase == "pending":
                continue
            assert new is not None
            what = f"{name}"
            if slot.config.for_ <= 0:
                firing = _Firing(
                    slot.index,
                    slot.config.id,
                    describe.trigger_label(slot.config, slot.index),
                    describe.state_changed(slot.config, what, old, new),
                )
                self._fire(rule, person, firing, now)
            else:
                trigger.phase, trigger.since, trigger.value = "pending", now, new
                trigger.for_until = now + slot.config.for_
                trigger.timer = self.clock.call_at(
                    trigger.for_until, self._for_callback(rule, person, slot.index)
                )
                self._save(rule)

    def _text_for_due(
        self,
        rule: _Rule,
        person: str | None,
        index: int,
        config: StateTriggerConfig,
        trigger: TriggerState,
    ) -> None:
        assert config.signal is not None
        current = self._texts.get(person or "", {}).get(config.signal)
        new = trigger.value
        trigger.phase, trigger.for_until, trigger.value = "clear", None, None
        self._save(rule)
        if current is None or new is None or current != new:
            return
        firing = _Firing(
            index,
            config.id,
            describe.trigger_label(config, index),
            describe.state_changed(config, config.signal, None, new),
        )
        self._fire(rule, person, firing, self.clock.now())

    def on_event(self, event: ExternalEvent) -> None:
        if event.kind == "command":
            self._on_command(event)
        elif event.kind == "ha_state":
            self._on_entity(event)
        elif event.kind == "mqtt":
            self._on_mqtt(event)

    def _on_command(self, event: ExternalEvent) -> None:
        source = str(event.data.get("source", "command"))
        if event.key == "pause":
            self.set_paused(bool(event.data.get("paused", True)), source)
        elif event.key == "resume":
            self.set_paused(False, source)

    def _on_entity(self, event: ExternalEvent) -> None:
        entity_id = event.key
        previous = self._entities.get(entity_id)
        new = entity_state_from_event(event.data, event.time)
        if previous is not None and previous.state == new.state:
            new.changed_at = previous.changed_at
        self._entities[entity_id] = new
        for slot in self._threshold_users.get(entity_id, ()):
            for person, values in self._values.items():
                value = values.get(slot.config.signal)
                self._evaluate(slot, person, value, event.time)
        for rule, index, trigger in self._entity_triggers.get(entity_id, ()):
            old_value: str | None
            if previous is not None:
                old_value = previous.value(trigger.attribute)
            else:
                raw_old = event.data.get("old_state")
                old_value = None if raw_old is None else str(raw_old)
            self._on_entity_trigger(rule, index, trigger, entity_id, old_value, new, event.time)

    def _on_entity_trigger(
        self,
        rule: _Rule,
        index: int,
        trigger: StateTriggerConfig,
        entity_id: str,
        old: str | None,
        entity: EntityState,
        now: float,
    ) -> None:
        new = entity.value(trigger.attribute)
        if new == old:
            return
        key = f"{index}:{entity_id}"
        pending = rule.entity_pending.get(key)
        if pending is not None and not (new is not None and _in_to(trigger, new)):
            _cancel(pending)
            del rule.entity_pending[key]
            self._save(rule)
        if new is None or not _state_matches(trigger, old, new):
            return
        what = entity_id + (f".{trigger.attribute}" if trigger.attribute else "")
        if trigger.for_ <= 0:
            firing = _Firing(
                index,
                trigger.id,
                describe.trigger_label(trigger, index),
                describe.state_changed(trigger, what, old, new),
            )
            self._fire_for_scope(rule, firing, now)
        elif key not in rule.entity_pending:
            state = TriggerState("pending", now, now + trigger.for_, new)
            state.timer = self.clock.call_at(
                now + trigger.for_, self._entity_for_callback(rule, index, entity_id)
            )
            rule.entity_pending[key] = state
            self._save(rule)

    def _entity_for_callback(self, rule: _Rule, index: int, entity_id: str) -> Callable[[], None]:
        return lambda: self._entity_for_due(rule, index, entity_id)

    def _entity_for_due(self, rule: _Rule, index: int, entity_id: str) -> None:
        pending = rule.entity_pending.pop(f"{index}:{entity_id}", None)
        if pending is None:
            return
        self._save(rule)
        trigger = rule.config.triggers[index]
        assert isinstance(trigger, StateTriggerConfig)
        entity = self._entities.get(entity_id)
        current = None if entity is None else entity.value(trigger.attribute)
        if current is None or current != pending.value:
            return
        what = entity_id + (f".{trigger.attribute}" if trigger.attribute else "")
        firing = _Firing(
            index,
            trigger.id,
            describe.trigger_label(trigger, index),
            describe.state_changed(trigger, what, None, current),
        )
        self._fire_for_scope(rule, firing, self.clock.now())

    def _on_mqtt(self, event: ExternalEvent) -> None:
        raw = event.data.get("payload")
        payload = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        for rule, index, trigger in self._mqtt:
            if not topic_matches(trigger.topic, event.key):
                continue
            if trigger.payload is not None and (
                payload is None or str(payload).strip() != trigger.payload
            ):
                continue
            text = None if payload is None else str(payload)
            firing = _Firing(
                index,
                trigger.id,
                describe.trigger_label(trigger, index),
                describe.mqtt_message(trigger, event.key, text),
            )
            self._fire_for_scope(rule, firing, event.time)

    def _scheduled_callback(
        self, rule: _Rule, index: int, trigger: TimeTriggerConfig | CronTriggerConfig
    ) -> Callable[[float], None]:
        def fire(when: float) -> None:
            firing = _Firing(
                index,
                trigger.id,
                describe.trigger_label(trigger, index),
                describe.scheduled(trigger, when, self._zone),
            )
            self._fire_for_scope(rule, firing, when)

        return fire

    def _fire_for_scope(self, rule: _Rule, firing: _Firing, now: float) -> None:
        """A trigger that belongs to nobody fires the rule for each person it applies to."""
        for person in self._scope(rule):
            self._fire(rule, person, firing, now)

    def _scope(self, rule: _Rule) -> list[str | None]:
        if rule.config.person is not None:
            return [rule.config.person]
        if not rule.per_person:
            return [None]
        known = set(self._config.person_ids()) | set(self._signals.people())
        return [*sorted(known | set(self._values))]

    # -- firing ---------------------------------------------------------------------------

    def _fire(
        self,
        rule: _Rule,
        person: str | None,
        firing: _Firing,
        now: float,
        episode_trigger: bool = False,
    ) -> None:
        """Fire, or say exactly why not: cooldown, conditions, pause, quiet hours, mode."""
        config = rule.config
        state = rule.person(person)
        seen = self._signals_seen(rule, person)
        results: tuple[tuple[str, bool], ...] = ()

        def suppress(reason: str) -> None:
            self._trace(rule, "suppressed", reason, person, firing.label, seen, results)

        if state.cooldown_until is not None and now < state.cooldown_until:
            suppress(describe.cooldown(state.cooldown_until, self._zone))
            return
        if config.conditions:
            ok, results = evaluate_all(config.conditions, self._condition_context(person, firing))
            if not ok:
                failed = next(name for name, held in results if not held)
                suppress(f"condition {failed} false")
                return
        held_back = self._held_back()
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
        state.cooldown_until = now + config.cooldown if config.cooldown > 0 else None
        if episode_trigger and person is not None:
            episode = Episode(episode_id, firing.index, firing.trigger_id, now, signals=seen)
            state.episodes[firing.index] = episode
            self._arm_escalation(rule, person, firing.index, episode)
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
        self._save(rule)
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
        if queue:
            self._emit(trace)
        else:
            self._launch(rule, run, trace)

    def _condition_context(self, person: str | None, firing: _Firing | None) -> ConditionContext:
        now = self.clock.now()
        return ConditionContext(
            now=now,
            local=datetime.fromtimestamp(now, self._zone),
            person=person,
            trigger_id=None if firing is None else firing.trigger_id,
            signal=(lambda name: None) if person is None else (lambda n: self._signal(person, n)),
            entities=self._entities,
            threshold=self._threshold,
        )

    # -- escalation -----------------------------------------------------------------------

    def _arm_escalation(
        self, rule: _Rule, person: str | None, index: int, episode: Episode
    ) -> None:
        levels = rule.config.escalate
        if episode.next_level >= len(levels):
            return
        due = episode.fired_at + levels[episode.next_level].after
        episode.timer = self.clock.call_at(
            due, lambda: self._escalation_due(rule, person, index, episode)
        )

    def _escalation_due(
        self, rule: _Rule, person: str | None, index: int, episode: Episode
    ) -> None:
        state = rule.person(person)
        if state.episodes.get(index) is not episode or person is None:
            return
        episode.timer = None
        level = episode.next_level
        episode.next_level += 1
        self._arm_escalation(rule, person, index, episode)
        self._save(rule)
        trigger = rule.config.triggers[index]
        assert isinstance(trigger, SignalTriggerConfig)
        now = self.clock.now()
        label = describe.trigger_label(trigger, index)
        seen = self._signals_seen(rule, person)
        current = self._signal(person, trigger.signal)
        value = self._values.get(person, {}).get(trigger.signal)
        if current is None or current.value is None or value is None:
            why = current.reason if current is not None and current.reason else "unknown"
            reason = f"quality: {trigger.signal} unknown ({why}); escalation {level + 1} skipped"
            self._trace(rule, "suppressed", reason, person, label, seen)
            return
        held_back = self._held_back()
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
        trace = TraceRecord(
            time=now,
            rule=rule.id,
            event="escalated",
            reason=describe.escalated(trigger, value, after, level),
            person=person,
            trigger=label,
            signals=seen,
        )
        self._launch(rule, run, trace)

    # -- runs -----------------------------------------------------------------------------

    def _run_id(self, rule: _Rule) -> str:
        return f"{rule.id}-{self.clock.now():.3f}-{next(self._seq)}"

    def _launch(self, rule: _Rule, run: RunRecord, trace: TraceRecord | None) -> None:
        task = asyncio.get_running_loop().create_task(self._execute(rule, run, trace))
        self._tasks[run.id] = task

    def _cancel_run(self, rule: _Rule, run: RunRecord) -> None:
        task = self._tasks.pop(run.id, None)
        if task is not None:
            task.cancel()
        rule.person(run.person).runs.pop(run.id, None)

    def _start_queued(self, rule: _Rule, person: str | None) -> None:
        state = rule.person(person)
        for run in state.runs.values():
            if run.kind == "actions" and run.queued:
                run.queued = False
                self._save(rule)
                self._launch(rule, run, None)
                return

    def _steps_of(self, rule: _Rule, run: RunRecord) -> Sequence[Any]:
        if run.kind == "actions":
            return rule.config.actions
        if run.kind == "recovery":
            return rule.config.on_recovery
        assert run.level is not None
        return rule.config.escalate[run.level].actions

    async def _execute(self, rule: _Rule, run: RunRecord, trace: TraceRecord | None) -> None:
        emitted = trace is None

        def emit() -> None:
            nonlocal emitted
            if not emitted and trace is not None:
                emitted = True
                self._emit(replace(trace, actions=tuple(sequence.results)))

        def on_result(result: ActionResult) -> None:
            if not result.ok:
                self._trace(
                    rule,
                    "action_failed",
                    f"{result.action} failed: {result.detail}",
                    run.person,
                    run.trigger_id,
                    run.signals,
                    actions=(result,),
                )

        sequence = SequenceRun(self, run, on_first_wait=emit, on_result=on_result)
        finished = False
        try:
            await sequence.execute(self._steps_of(rule, run))
            emit()
            if run.kind == "recovery":
                await self._performer.end_episode(self._context(run))
            finished = True
        except asyncio.CancelledError:
            if self._stopping:
                raise
            finished = True
        except Exception:
            _LOGGER.exception("Rule %s: run %s failed", rule.id, run.id)
            finished = True
        finally:
            emit()
            if finished and not self._stopping:
                self._tasks.pop(run.id, None)
                state = rule.person(run.person)
                if state.runs.pop(run.id, None) is not None:
                    self._save(rule)
                if run.kind == "actions" and rule.config.mode == "queued":
                    self._start_queued(rule, run.person)

    def _context(self, run: RunRecord) -> ActionContext:
        return ActionContext(
            rule=run.episode.split(":", 1)[0],
            person=run.person,
            episode=run.episode,
            time=self.clock.now(),
            trigger=run.trigger_id,
            signals=run.signals,
            recovery=run.kind == "recovery",
        )

    # SequenceHost

    async def perform_leaf(self, action: Any, run: RunRecord) -> ActionResult:
        kind = str(getattr(action, "action", type(action).__name__))
        held_back = self._held_back()
        if held_back is not None:
            return ActionResult(kind, True, f"suppressed: {held_back}", performed=False)
        try:
            return await self._performer.perform(action, self._context(run))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _LOGGER.exception("Action %s of run %s raised", kind, run.id)
            return ActionResult(kind, False, f"error: {exc}")

    def conditions_hold(self, conditions: Sequence[Any], run: RunRecord) -> bool:
        firing = _Firing(-1, run.trigger_id, "", "")
        ok, _ = evaluate_all(conditions, self._condition_context(run.person, firing))
        return ok

    async def wait_for_signal(
        self, step: WaitForStepConfig, run: RunRecord, until: float | None
    ) -> bool:
        wanted = step.wait_for
        if run.person is not None and self._wait_holds(
            step, self._signal(run.person, wanted.signal)
        ):
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        key = (run.person, wanted.signal)
        self._waiters.setdefault(key, []).append((step, future))
        timer = None
        if until is not None:
            timer = self.clock.call_at(
                until, lambda: None if future.done() else future.set_result(False)
            )
        try:
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            waiting = self._waiters.get(key, [])
            with contextlib.suppress(ValueError):
                waiting.remove((step, future))
            if not waiting:
                self._waiters.pop(key, None)

    def save_run(self, run: RunRecord) -> None:
        rule = self._by_id[run.episode.split(":", 1)[0]]
        self._save(rule)

    def _wait_holds(self, step: WaitForStepConfig, value: SignalValue | None) -> bool:
        if value is None:
            return False
        return numeric_holds(
            numeric(value.value), step.wait_for.above, step.wait_for.below, self._threshold
        )

    def _wake_waiters(self, update: SignalUpdate) -> None:
        for name, value in update.values.items():
            waiting = self._waiters.get((update.person, name))
            if not waiting:
                continue
            for step, future in list(waiting):
                if not future.done() and self._wait_holds(step, value):
                    future.set_result(True)

    # -- reading values -------------------------------------------------------------------

    def _threshold(self, limit: float | str | None) -> float | None:
        if limit is None or isinstance(limit, float):
            return limit
        entity = self._entities.get(limit)
        return None if entity is None else entity.number()

    def _signal(self, person: str, name: str) -> SignalValue | None:
        """The current value, preferring the update being processed (the view may lag)."""
        current = self._current
        if current is not None and current.person == person:
            value = current.values.get(name)
            if value is not None:
                return value
        try:
            return self._signals.get(person, name)
        except KeyError:
            return None

    def _signals_seen(self, rule: _Rule, person: str | None) -> dict[str, SignalScalar | None]:
        if person is None:
            return {}
        seen: dict[str, SignalScalar | None] = {}
        for name in rule.signal_names:
            value = self._signal(person, name)
            seen[name] = None if value is None else value.value
        return seen

    # -- traces and status ----------------------------------------------------------------

    def _trace(
        self,
        rule: _Rule,
        event: Any,
        reason: str,
        person: str | None,
        trigger: str | None,
        signals: dict[str, SignalScalar | None] | None = None,
        conditions: tuple[tuple[str, bool], ...] = (),
        actions: tuple[ActionResult, ...] = (),
    ) -> None:
        if signals is None:
            signals = self._signals_seen(rule, person)
        self._emit(
            TraceRecord(
                time=self.clock.now(),
                rule=rule.id,
                event=event,
                reason=reason,
                person=person,
                trigger=trigger,
                signals=signals,
                conditions=conditions,
                actions=actions,
            )
        )

    def _emit(self, record: TraceRecord) -> None:
        _LOGGER.debug("Rule %s %s: %s", record.rule, record.event, record.reason)
        self._store.append(TRACE_NAMESPACE, record.rule, record.as_dict(), keep=self._keep)
        try:
            self._on_trace(record)
        except Exception:
            _LOGGER.exception("Trace listener failed")

    def status(self) -> list[dict[str, Any]]:
        """Per rule and person: armed / in_for / cooling_down / running, with the times."""
        now = self.clock.now()
        rows: list[dict[str, Any]] = []
        for rule in self._rules:
            states = rule.persons or {"": PersonState()}
            for key, state in states.items():
                pending = [
                    t.for_until
                    for t in state.triggers.values()
                    if t.phase == "pending" and t.for_until is not None
                ]
                cooldown = state.cooldown_until
                if any(not r.queued for r in state.runs.values()):
                    status = "running"
                elif pending:
                    status = "in_for"
                elif cooldown is not None and cooldown > now:
                    status = "cooling_down"
                else:
                    status = "armed"
                rows.append(
                    {
                        "id": rule.id,
                        "person": person_of(key),
                        "state": status,
                        "for_until": min(pending) if pending else None,
                        "cooldown_until": cooldown if cooldown and cooldown > now else None,
                        "last_fired": state.last_fired,
                    }
                )
        return rows


# -- helpers -------------------------------------------------------------------------------


def _cancel(trigger: TriggerState) -> None:
    if trigger.timer is not None:
        trigger.timer.cancel()
        trigger.timer = None


def _state_text(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _in_to(trigger: StateTriggerConfig, new: str) -> bool:
    return trigger.to is None or new in trigger.to


def _state_matches(trigger: StateTriggerConfig, old: str | None, new: str) -> bool:
    if trigger.from_ is not None and (old is None or old not in trigger.from_):
        return False
    return _in_to(trigger, new)


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT wildcard match: ``+`` one level, ``#`` the rest."""
    wanted = pattern.split("/")
    actual = topic.split("/")
    for position, part in enumerate(wanted):
        if part == "#":
            return True
        if position >= len(actual) or (part != "+" and part != actual[position]):
            return False
    return len(wanted) == len(actual)


def _build_rule(config: RuleConfig) -> _Rule:
    names: list[str] = []
    for trigger in config.triggers:
        if isinstance(trigger, SignalTriggerConfig) or (
            isinstance(trigger, StateTriggerConfig) and trigger.signal is not None
        ):
            assert trigger.signal is not None
            names.append(trigger.signal)
    for condition in _all_conditions(config):
        if isinstance(condition, SignalConditionConfig):
            names.append(condition.signal)
    waits = [s.wait_for.signal for s in _all_steps(config) if isinstance(s, WaitForStepConfig)]
    per_person = bool(names or waits)
    fingerprint = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]
    return _Rule(config, fingerprint, per_person, tuple(dict.fromkeys(names)))


def _all_steps(config: RuleConfig) -> Iterable[Any]:
    def walk(steps: Iterable[Any]) -> Iterable[Any]:
        for step in steps:
            yield step
            if isinstance(step, IfStepConfig):
                yield from walk(step.then)
                yield from walk(step.else_)
            elif isinstance(step, ChooseStepConfig):
                for option in step.choose:
                    yield from walk(option.sequence)
                yield from walk(step.default)

    yield from walk(config.actions)
    yield from walk(config.on_recovery)
    for level in config.escalate:
        yield from walk(level.actions)


def _all_conditions(config: RuleConfig) -> Iterable[Any]:
    def walk(conditions: Iterable[Any]) -> Iterable[Any]:
        for condition in conditions:
            yield condition
            if isinstance(condition, AndConditionConfig | OrConditionConfig | NotConditionConfig):
                yield from walk(condition.conditions)

    yield from walk(config.conditions)
    for step in _all_steps(config):
        if isinstance(step, IfStepConfig):
            yield from walk(step.if_)
        elif isinstance(step, ChooseStepConfig):
            for option in step.choose:
                yield from walk(option.conditions)
