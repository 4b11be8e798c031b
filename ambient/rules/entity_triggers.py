"""State triggers on Home Assistant entities: `from` / `to` and `for`, per rule (they belong to
nobody, so a firing goes to every person the rule applies to).

A `for` window is kept in ``rule.entity_pending`` and survives a restart. One that is restored
from the store knows nothing about the entity until Home Assistant is connected again and sends
its state; so when it falls due before that, it waits (see :mod:`.resume`: up to
``HA_START_GRACE_S`` after the start, as Home Assistant starts well after ambient when a power
cut took both down) and then decides as an uninterrupted run would have: it fires if the entity
is still in the state the window was for, and is dropped if it is not.

HA's ``last_changed`` tells a state that held from one that left and came back while ambient was
not running: the window then starts over from when it came back (or is dropped, when the trigger
has a `from`: which state it came back from is unknown). A ``last_changed`` after ambient's own
start (as the clock reads it now: :attr:`.ResumeGrace.started_at`) is taken to say something
else: Home Assistant started after ambient (the power cut), and a restarted Home Assistant gives
every state it restores a new ``last_changed``; it cannot tell whether the state left while both
were down, so the window keeps its deadline. Such a Home Assistant says ``unavailable`` for an
entity until its integration is set up: a first state of ``unavailable`` or ``unknown`` since
after the start is not the entity's, and the window waits on for one. docs/rules.md says where
this guess is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from ambient.clock import Clock
from ambient.config.durations import written_duration_text
from ambient.config.triggers import StateTriggerConfig
from ambient.rules import describe
from ambient.rules.firing import Firing
from ambient.rules.resume import FELL_DUE, ResumeGrace
from ambient.rules.rule import Rule
from ambient.rules.state import TriggerState, cancel_timer
from ambient.rules.values import UNAVAILABLE, EntityState

#: HA's ``last_changed`` of the state a window began with is taken as the same change up to
#: this far after ambient saw it (the two clocks are NTP-synchronised, not identical).
SAME_CHANGE_TOLERANCE_S = 2.0

Fire = Callable[[Rule, Firing, float], None]
Save = Callable[[Rule], None]
Trace = Callable[..., None]


def in_to(trigger: StateTriggerConfig, new: str) -> bool:
    return trigger.to is None or new in trigger.to


def state_matches(trigger: StateTriggerConfig, old: str | None, new: str) -> bool:
    if trigger.from_ is not None and (old is None or old not in trigger.from_):
        return False
    return in_to(trigger, new)


class EntityTriggers:
    """The `for` windows of entity state triggers, their firings, and their restart."""

    def __init__(
        self,
        clock: Clock,
        entities: dict[str, EntityState],
        fire_for_scope: Fire,
        save: Save,
        trace: Trace,
        grace: ResumeGrace,
    ) -> None:
        self.clock = clock
        self._entities = entities
        self._fire_for_scope = fire_for_scope
        self._save = save
        self._trace = trace
        self._grace = grace

    def rearm(self, rule: Rule) -> None:
        """Re-arm the `for` timers restored from the store (they wait for HA's state)."""
        for key, pending in rule.entity_pending.items():
            if pending.for_until is not None:
                index_text, entity = key.split(":", 1)
                pending.resumed = True
                pending.timer = self.clock.call_at(
                    pending.for_until, self._callback(rule, int(index_text), entity)
                )

    def known(self, entity_id: str) -> None:
        """The entity's state is known (HA sent it): windows waiting for it decide now."""
        self._grace.missing.discard(entity_id)
        if self._grace.waiting or self._grace.waiting_for_ha:
            self._grace.known(("", entity_id))

    def on_change(
        self,
        rule: Rule,
        index: int,
        trigger: StateTriggerConfig,
        entity_id: str,
        old: str | None,
        entity: EntityState,
        now: float,
        last_changed: float | None,
        *,
        first: bool = False,
    ) -> None:
        """The entity changed (or, ``first``, HA sent its state for the first time since the
        start, with ``old`` None and HA's ``last_changed`` when it is known). A first state is
        what the entity was when ambient started, not a change to it: it fires nothing and
        starts no window (as reloading HA's automations fires nothing); it only settles a
        window restored from the store."""
        new = entity.value(trigger.attribute)
        key = f"{index}:{entity_id}"
        pending = rule.entity_pending.get(key)
        if pending is not None and pending.resumed:
            if new == pending.value:
                self._check_held(rule, index, trigger, key, pending, last_changed)
            elif first and self._home_assistant_starting(entity, last_changed):
                return  # not the entity's state yet: the window waits for one (see _due)
        if new == old:
            return
        pending = rule.entity_pending.get(key)
        if pending is not None and not (new is not None and in_to(trigger, new)):
            cancel_timer(pending)
            del rule.entity_pending[key]
            self._save(rule)
        if first or new is None or not state_matches(trigger, old, new):
            return
        if trigger.for_ <= 0:
            firing = Firing(
                index,
                trigger.id,
                describe.trigger_label(trigger, index),
                describe.state_changed(trigger, _what(entity_id, trigger), old, new),
            )
            self._fire_for_scope(rule, firing, now)
        elif key not in rule.entity_pending:
            state = TriggerState("pending", now, now + trigger.for_, new)
            state.timer = self.clock.call_at(
                now + trigger.for_, self._callback(rule, index, entity_id)
            )
            rule.entity_pending[key] = state
            self._save(rule)

    def _home_assistant_starting(self, entity: EntityState, last_changed: float | None) -> bool:
        """``unavailable`` or ``unknown`` since after ambient's start: a Home Assistant that
        started after ambient has not set up the entity's integration yet."""
        started_at = self._grace.started_at
        return (
            _not_yet(entity)
            and last_changed is not None
            and started_at is not None
            and last_changed >= started_at - SAME_CHANGE_TOLERANCE_S
            and self._grace.ha_active()
        )

    def _check_held(
        self,
        rule: Rule,
        index: int,
        trigger: StateTriggerConfig,
        key: str,
        pending: TriggerState,
        last_changed: float | None,
    ) -> None:
        """A restored window sees its state again: if HA says it changed after the window
        began, it left and came back while ambient was not running."""
        if last_changed is None or pending.since is None:
            return
        if last_changed <= pending.since + SAME_CHANGE_TOLERANCE_S:
            return
        started_at = self._grace.started_at
        if started_at is not None and last_changed >= started_at - SAME_CHANGE_TOLERANCE_S:
            return  # Home Assistant restored it after ambient started: HA restarted too
        cancel_timer(pending)
        if trigger.from_ is not None:
            del rule.entity_pending[key]
        else:
            pending.since = last_changed
            pending.for_until = last_changed + trigger.for_
            entity_id = key.split(":", 1)[1]
            pending.timer = self.clock.call_at(
                pending.for_until, self._callback(rule, index, entity_id)
            )
        self._save(rule)

    def _callback(self, rule: Rule, index: int, entity_id: str) -> Callable[[], None]:
        return lambda: self._due(rule, index, entity_id)

    def _due(self, rule: Rule, index: int, entity_id: str, waited: bool = False) -> None:
        """The window's `for` is over (``waited``: it waited for Home Assistant's state, and
        the state came or the wait ended)."""
        key = f"{index}:{entity_id}"
        pending = rule.entity_pending.get(key)
        if pending is None or pending.for_until is None:
            return
        pending.timer = None
        entity = self._entities.get(entity_id)
        unknown = entity is None or _not_yet(entity)
        missing = entity is None and entity_id in self._grace.missing
        if unknown and pending.resumed and self._grace.ha_active() and not missing:
            # Due while ambient was not running, or before Home Assistant was back after the
            # start: decide on the state HA sends once connected.
            started_at = self._grace.started_at
            self._grace.wait_for_ha(
                f"Rule {rule.id}: the `for` window of {entity_id}",
                entity_id,
                lambda: self._overdue(rule, index, entity_id),
                FELL_DUE
                if started_at is None or pending.for_until <= started_at
                else "fell due before Home Assistant was back",
            )
            return
        del rule.entity_pending[key]
        self._save(rule)
        trigger = rule.config.triggers[index]
        assert isinstance(trigger, StateTriggerConfig)
        label = describe.trigger_label(trigger, index)
        what = _what(entity_id, trigger)
        if entity is None or (waited and _not_yet(entity)):
            grace = written_duration_text(self._grace.ha_grace_s)
            if missing:
                reason = f"{what} unknown (no such entity in Home Assistant)"
            elif entity is None:
                reason = (
                    f"{what} unknown (no state from Home Assistant in the {grace} after the "
                    "start: it was not back, or has no such entity)"
                )
            else:
                reason = f"{what} {entity.state} in Home Assistant for the {grace} after the start"
            self._trace(rule, "suppressed", f"{reason} when `for` ended", None, label)
            return
        current = entity.value(trigger.attribute)
        if current is None or current != pending.value:
            return
        now = self.clock.now()
        note = ""
        if pending.resumed:
            started_at = self._grace.started_at
            late = describe.late_after_restart
            if started_at is not None and pending.for_until > started_at:
                late = describe.late_for_home_assistant
            note = late(now - pending.for_until)
        reason = describe.state_changed(trigger, what, None, current) + note
        self._fire_for_scope(rule, Firing(index, trigger.id, label, reason), now)

    def _overdue(self, rule: Rule, index: int, entity_id: str) -> None:
        """A window that waited for the entity's state after a restart decides now, unless it
        was dropped or started over in the meantime."""
        pending = rule.entity_pending.get(f"{index}:{entity_id}")
        if pending is None or pending.for_until is None:
            return
        if pending.for_until <= self.clock.now():
            cancel_timer(pending)
            self._due(rule, index, entity_id, waited=True)


def _not_yet(entity: EntityState) -> bool:
    """HA has the entity but no state of it yet (``unavailable``, ``unknown``)."""
    return entity.state is None or entity.state.lower() in UNAVAILABLE


def _what(entity_id: str, trigger: StateTriggerConfig) -> str:
    return entity_id + (f".{trigger.attribute}" if trigger.attribute else "")
