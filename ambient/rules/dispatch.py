"""From signal updates, HA entity changes, MQTT messages and commands to trigger state:
each trigger's `for` window and edge (clear → pending → active, cleared past the hysteresis),
per person, handing firings and recoveries to the :class:`~ambient.rules.firing.Firer`.

``on_signals`` is the hot path: values are indexed by the thresholds where a trigger's state can
change, so an update touches only the triggers whose boundary it crossed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo

from ambient.clock import Clock
from ambient.config.triggers import SignalTriggerConfig, StateTriggerConfig
from ambient.counters import Counters
from ambient.messages import ExternalEvent, SignalUpdate, SignalValue
from ambient.rules import describe
from ambient.rules.band import BoundaryIndex, boundaries, cleared, inside
from ambient.rules.current_values import CurrentValues
from ambient.rules.entity_triggers import EntityTriggers, in_to, state_matches
from ambient.rules.firing import Firer, Firing
from ambient.rules.hold import ActionHold
from ambient.rules.mqtt_triggers import MqttTriggers
from ambient.rules.resume import ResumeGrace
from ambient.rules.rule import Rule, SignalSlot, TextSlot
from ambient.rules.rule_store import RuleStore
from ambient.rules.runs import Runs
from ambient.rules.signal_lost import SIGNAL_LOST_AFTER_S, lost_reason
from ambient.rules.state import PersonState, TriggerState, cancel_timer
from ambient.rules.tracing import Tracer
from ambient.rules.values import entity_state_from_event, ha_time, numeric, state_text
from ambient.stage_times import STAGE
from ambient.topics import topic_matches as topic_matches  # re-exported for rules.engine


class TriggerDispatch:
    """Every rule's triggers, indexed by what can change them, and their per-person state."""

    def __init__(
        self,
        clock: Clock,
        zone: tzinfo,
        rules: Sequence[Rule],
        current_values: CurrentValues,
        hold: ActionHold,
        tracer: Tracer,
        rule_store: RuleStore,
        runs: Runs,
        firer: Firer,
        grace: ResumeGrace,
        counters: Counters | None = None,
    ) -> None:
        self.clock = clock
        self._grace = grace
        self._waiting = grace.waiting
        self._zone = zone
        self._rules = rules
        self._current_values = current_values
        # Collaborators' state and methods, bound once: the hot path reads them directly.
        self._values = current_values.values
        self._texts = current_values.texts
        self._entities = current_values.entities
        self._signal = current_values.signal
        self._threshold = current_values.threshold
        self._set_paused = hold.set_paused
        self._trace = tracer.trace
        self._save = rule_store.save
        self._waiters = runs.waiters
        self._wake_waiters = runs.wake_waiters
        self._fire = firer.fire
        self._fire_signal = firer.fire_signal
        self._fire_for_scope = firer.fire_for_scope
        self._recover = firer.recover
        self._end_lost = firer.end_lost
        self._entity = EntityTriggers(
            clock, self._entities, firer.fire_for_scope, rule_store.save, tracer.trace, grace
        )
        self._numeric: dict[str, BoundaryIndex[SignalSlot]] = {}
        self._text: dict[str, list[TextSlot]] = {}
        self._entity_triggers: dict[str, list[tuple[Rule, int, StateTriggerConfig]]] = {}
        self._threshold_users: dict[str, list[SignalSlot]] = {}
        self._mqtt = MqttTriggers(clock, rules, firer.fire_for_scope, tracer.trace, counters, zone)
        self._index_triggers()

    def _index_triggers(self) -> None:
        for rule in self._rules:
            for index, trigger in enumerate(rule.config.triggers):
                if isinstance(trigger, SignalTriggerConfig):
                    slot = SignalSlot(rule, index, trigger)
                    points = boundaries(trigger.above, trigger.below, trigger.hysteresis)
                    self._numeric.setdefault(trigger.signal, BoundaryIndex()).add(slot, points)
                    for limit in (trigger.above, trigger.below):
                        if isinstance(limit, str):
                            self._threshold_users.setdefault(limit, []).append(slot)
                elif isinstance(trigger, StateTriggerConfig):
                    if trigger.signal is not None:
                        self._text.setdefault(trigger.signal, []).append(
                            TextSlot(rule, index, trigger)
                        )
                    for entity in trigger.entity_id or ():
                        self._entity_triggers.setdefault(entity, []).append((rule, index, trigger))

    def mqtt_topics_used(self) -> set[str]:
        return self._mqtt.topics_used()

    # -- restart --------------------------------------------------------------------------

    def rearm_for_timers(self, rule: Rule, person: str | None, state: PersonState) -> None:
        """Re-arm the `for` timers of a person's state restored from the store; one that fell
        due while ambient was not running waits for its signal (see :mod:`.resume`)."""
        for index, trigger in state.triggers.items():
            if trigger.phase == "active" and index in state.episodes and person is not None:
                # Nothing is known of its signal yet: lost if nothing comes (the watch still
                # charging), counted from this start.
                self._arm_lost(rule, person, index, self.clock.now(), "no data since the start")
            if trigger.phase == "pending" and trigger.for_until is not None:
                trigger.resumed = True
                trigger.timer = self.clock.call_at(
                    trigger.for_until, self._for_callback(rule, person, index)
                )

    def rearm_entity_timers(self, rule: Rule) -> None:
        """Re-arm the `for` timers of entity state triggers restored from the store."""
        self._entity.rearm(rule)

    # -- signals: the hot path ------------------------------------------------------------

    def on_signals(self, update: SignalUpdate) -> None:
        if STAGE is not None:
            STAGE("signals")
        person = update.person
        values = self._values.get(person)
        if values is None:
            values = self._values[person] = {}
        current_values = self._current_values
        current_values.current = update
        try:
            for name, signal in update.values.items():
                index = self._numeric.get(name)
                if index is not None:
                    value = signal.value
                    # `numeric` of a finite float (nearly every update) is the float itself:
                    # no call then (x - x is 0 only for a finite x)
                    if type(value) is float and value - value == 0.0:
                        new: float | None = value
                    else:
                        new = numeric(value)
                    old = values.get(name)
                    if new != old:
                        values[name] = new
                        if old is None or new is None:
                            slots = index.every
                        else:
                            slots = index.crossed(old, new)
                        for slot in slots:
                            self._evaluate(slot, person, new, update.time, signal)
                        if self._waiting and new is not None:
                            self._grace.known((person, name))
                text_slots = self._text.get(name)
                if text_slots is not None:
                    self._on_text(text_slots, person, signal, update.time)
            if self._waiters:
                self._wake_waiters(update)
        finally:
            current_values.current = None

    def _evaluate(
        self,
        slot: SignalSlot,
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
        if trigger.resumed:
            if unknown and self._grace.active():
                return  # not arrived yet since the restart: the window goes on
            trigger.resumed = False
        if unknown:
            if phase == "active" and trigger.lost is None and slot.index in state.episodes:
                why = signal.reason if signal is not None and signal.reason else "unknown"
                self._arm_lost(rule, person, slot.index, now, why)
            if phase == "pending":
                cancel_timer(trigger)
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
        if trigger.lost is not None:  # known again: the episode goes on
            trigger.lost.cancel()
            trigger.lost = None
        if phase == "clear":
            if inside(value, above, below):
                if config.for_ <= 0:
                    trigger.phase, trigger.since = "active", now
                    try:
                        self._fire_signal(slot, person, value, now)
                    finally:  # saved after the firing: see `Firer.fire`
                        self._save(rule)
                else:
                    trigger.phase, trigger.since = "pending", now
                    trigger.for_until = now + config.for_
                    trigger.timer = self.clock.call_at(
                        trigger.for_until, self._for_callback(rule, person, slot.index)
                    )
                    self._save(rule)
        elif cleared(value, above, below, config.hysteresis):
            cancel_timer(trigger)
            trigger.phase, trigger.since, trigger.for_until = "clear", None, None
            if phase == "active" and slot.index in state.episodes:
                self._recover(slot, person, value, above, below, now)
            self._save(rule)

    def _arm_lost(self, rule: Rule, person: str, index: int, since: float, why: str) -> None:
        """The signal of a fired trigger went unknown at ``since``: its episode ends as
        "signal lost" if it is still unknown :data:`SIGNAL_LOST_AFTER_S` later."""
        trigger = rule.person(person).trigger(index)
        trigger.lost = self.clock.call_at(
            since + SIGNAL_LOST_AFTER_S, lambda: self._lose(rule, person, index, why)
        )

    def _lose(self, rule: Rule, person: str, index: int, why: str) -> None:
        state = rule.person(person)
        trigger = state.trigger(index)
        trigger.lost = None
        config = rule.config.triggers[index]
        assert isinstance(config, SignalTriggerConfig)
        if trigger.phase != "active" or index not in state.episodes:
            return
        if self._values.get(person, {}).get(config.signal) is not None:
            return  # known again (its threshold entity was what was unknown)
        trigger.phase, trigger.since, trigger.for_until = "clear", None, None
        self._end_lost(rule, person, index, lost_reason(config.signal, why))
        self._save(rule)

    def _for_callback(self, rule: Rule, person: str | None, index: int) -> Callable[[], None]:
        return lambda: self._for_due(rule, person, index)

    def _for_due(self, rule: Rule, person: str | None, index: int) -> None:
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
            if trigger.resumed and self._grace.active():
                self._decide_on_first_value(rule, person, index, config.signal)
                return
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
        late_s = now - trigger.for_until if trigger.for_until is not None else 0.0
        trigger.phase, trigger.for_until = "active", None
        self._save(rule)
        slot = SignalSlot(rule, index, config)
        note = describe.late_after_restart(late_s) if trigger.resumed else ""
        trigger.resumed = False
        self._fire_signal(slot, person, value, now, note)

    def _overdue(self, rule: Rule, person: str, index: int) -> None:
        """A `for` deadline that waited for its signal after a restart decides now, unless
        the window was reset or replaced in the meantime."""
        trigger = rule.person(person).triggers.get(index)
        if trigger is None or trigger.phase != "pending" or trigger.for_until is None:
            return
        if trigger.for_until <= self.clock.now():
            trigger.resumed = True  # decided as the deadline that fell due in the restart
            self._for_due(rule, person, index)

    # -- text signals and HA entities (state triggers) ------------------------------------

    def _on_text(self, slots: list[TextSlot], person: str, signal: SignalValue, now: float) -> None:
        texts = self._texts.setdefault(person, {})
        name = slots[0].config.signal
        assert name is not None
        new = None if signal.value is None else state_text(signal.value)
        old = texts.get(name)
        if new == old:
            return
        texts[name] = new
        for slot in slots:
            rule = slot.rule
            if rule.config.person is not None and rule.config.person != person:
                continue
            trigger = rule.person(person).trigger(slot.index)
            before = self._text_before(trigger, old, new)
            if new is not None and trigger.seen != new:
                trigger.seen = new
                self._save(rule)
            matched = new is not None and new != before and state_matches(slot.config, before, new)
            if trigger.phase == "pending" and not (new is not None and in_to(slot.config, new)):
                cancel_timer(trigger)
                trigger.phase, trigger.for_until, trigger.value = "clear", None, None
                self._save(rule)
            if not matched or trigger.phase == "pending":
                continue
            assert new is not None
            what = f"{name}"
            if slot.config.for_ <= 0:
                firing = Firing(
                    slot.index,
                    slot.config.id,
                    describe.trigger_label(slot.config, slot.index),
                    describe.state_changed(slot.config, what, before, new),
                )
                self._fire(rule, person, firing, now)
            else:
                trigger.phase, trigger.since, trigger.value = "pending", now, new
                trigger.for_until = now + slot.config.for_
                trigger.timer = self.clock.call_at(
                    trigger.for_until, self._for_callback(rule, person, slot.index)
                )
                self._save(rule)
        if self._waiting and new is not None:
            self._grace.known((person, name))

    def _text_before(self, trigger: TriggerState, old: str | None, new: str | None) -> str | None:
        """The text a state trigger's signal changed from: ``old``, or for its first value
        after a restart, the last one the trigger saw before it (within the grace period: an
        unknown that lasts longer is a gap, as at any other time)."""
        if not trigger.seen_restored or new is None:
            return old
        trigger.seen_restored = False
        return trigger.seen if old is None and self._grace.active() else old

    def _decide_on_first_value(self, rule: Rule, person: str, index: int, signal: str) -> None:
        """A `for` window that fell due while ambient was not running decides on the signal's
        first value after the start (within the grace period)."""
        self._grace.wait(
            f"Rule {rule.id}: the `for` window of {person}",
            (person, signal),
            signal,
            lambda: self._overdue(rule, person, index),
        )

    def _text_for_due(
        self,
        rule: Rule,
        person: str | None,
        index: int,
        config: StateTriggerConfig,
        trigger: TriggerState,
    ) -> None:
        assert config.signal is not None and person is not None
        current = self._texts.get(person, {}).get(config.signal)
        if current is None and trigger.resumed and self._grace.active():
            self._decide_on_first_value(rule, person, index, config.signal)
            return
        new = trigger.value
        due = trigger.for_until
        resumed, trigger.resumed = trigger.resumed, False
        trigger.phase, trigger.for_until, trigger.value = "clear", None, None
        self._save(rule)
        label = describe.trigger_label(config, index)
        if current is None and resumed:
            known = self._signal(person, config.signal)
            why = known.reason if known is not None and known.reason else "unknown"
            reason = f"quality: {config.signal} unknown ({why}) when `for` ended"
            self._trace(rule, "suppressed", reason, person, label)
            return
        if current is None or new is None or current != new:
            return
        late_s = self.clock.now() - due if resumed and due is not None else 0.0
        reason = describe.state_changed(config, config.signal, None, new)
        reason += describe.late_after_restart(late_s)
        self._fire(rule, person, Firing(index, config.id, label, reason), self.clock.now())

    def on_event(self, event: ExternalEvent) -> None:
        if event.kind == "command":
            self._on_command(event)
        elif event.kind == "ha_state":
            self._on_entity(event)
        elif event.kind == "mqtt":
            self._mqtt.on_message(event)

    def _on_command(self, event: ExternalEvent) -> None:
        source = str(event.data.get("source", "command"))
        if event.key == "pause":
            self._set_paused(bool(event.data.get("paused", True)), source)
        elif event.key == "resume":
            self._set_paused(False, source)

    def _on_entity(self, event: ExternalEvent) -> None:
        entity_id = event.key
        previous = self._entities.get(entity_id)
        new = entity_state_from_event(event.data, event.time)
        last_changed = None
        if previous is None and not self.clock.runs_ahead_of_wall_time:
            # The first state since the start: HA says how long it has held.
            last_changed = ha_time(event.data.get("last_changed"))
            if last_changed is not None and last_changed < new.changed_at:
                new.changed_at = last_changed
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
            first = previous is None and old_value is None
            self._entity.on_change(
                rule,
                index,
                trigger,
                entity_id,
                old_value,
                new,
                event.time,
                last_changed,
                first=first,
            )
        self._entity.known(entity_id)
