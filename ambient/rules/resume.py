"""Deadlines that fell due while ambient was not running wait for their inputs.

A `for` window or an escalation restored from the store can be due the moment the engine starts,
before any reading has arrived: every signal is unknown then, because of the restart, not
because of the person. Such a deadline waits until its signal is known again (then it decides
as an uninterrupted run would have, on the first value after the restart) or until the grace
period ends (``signals.stale_after`` after the start: by then a sensor that is still sending
has been heard), and only then treats the signal as unknown.

The same holds for a state trigger's `for` window: it waits for the text signal's first value,
or for the HA entity's state (sent when Home Assistant is connected again: after a power cut
Home Assistant may start minutes after ambient, so an entity's window waits for it up to
``HA_START_GRACE_S``, not only the signals' grace period); for the timeout of
a resumed run's `wait_for` step, which decides on its signal's first value (and its threshold
entity's state); and for the conditions of an `if` or `choose` a resumed run reaches in the grace
period (after a `delay` or `wait_for` that fell due), which read what they test only once known.
What these read of an HA entity (a threshold, a `state` condition) waits for it as long as an
entity's window does, ``HA_START_GRACE_S``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ambient.clock import Clock, TimerHandle
from ambient.config.actions import WaitForStepConfig
from ambient.config.conditions import (
    AndConditionConfig,
    ConditionConfig,
    NotConditionConfig,
    OrConditionConfig,
    SignalConditionConfig,
    StateConditionConfig,
)

_LOGGER = logging.getLogger(__name__)

#: Why a firing or run waits in the grace period, unless its caller says another reason.
FELL_DUE = "fell due while ambient was not running"
#: How long after a start a `for` window on an HA entity waits for Home Assistant to send the
#: entity's state: after a power cut Home Assistant on the same Raspberry Pi starts well after
#: ambient (a minute or more), and only then can it say whether the state held.
HA_START_GRACE_S = 600.0

Retry = Callable[[], None]
#: What a deadline waits for: (person, signal name), or ("", entity id) for an HA entity (entity
#: ids hold a dot, signal names never do).
WaitKey = tuple[str, str]


class ResumeGrace:
    """The grace period after a start, and the deadlines waiting in it, by person and signal."""

    def __init__(self, clock: Clock, grace_s: float, ha_grace_s: float = HA_START_GRACE_S) -> None:
        self.clock = clock
        self.grace_s = grace_s
        self.ha_grace_s = max(grace_s, ha_grace_s)
        #: The clock's elapsed time (:meth:`~ambient.clock.Clock.monotonic`) the grace period
        #: ends at, None before the engine started: a duration, which a step of the wall clock
        #: (NTP just after a boot) neither ends nor prolongs.
        self.until: float | None = None
        #: The same for a window on an HA entity waiting for Home Assistant's state.
        self.ha_until: float | None = None
        #: The clock's elapsed time at the start (see :attr:`started_at`).
        self._started_monotonic: float | None = None
        #: Deadlines waiting for a signal or an entity's state, by what they wait for.
        self.waiting: dict[WaitKey, list[Retry]] = {}
        #: Entity windows waiting for Home Assistant, until ``ha_until``.
        self.waiting_for_ha: dict[WaitKey, list[Retry]] = {}
        self._timer: TimerHandle | None = None
        self._ha_timer: TimerHandle | None = None
        #: Entities Home Assistant, up and answering, said it does not have: nothing waits
        #: for their state (a typo would otherwise hold a window for the whole wait).
        self.missing: set[str] = set()

    def begin(self) -> None:
        monotonic = self.clock.monotonic()
        self.until = monotonic + self.grace_s
        self.ha_until = monotonic + self.ha_grace_s
        self._started_monotonic = monotonic

    @property
    def started_at(self) -> float | None:
        """The start as the wall clock reads it now: a state Home Assistant says changed after
        it changed while ambient was running (Home Assistant started after ambient: see
        :mod:`.entity_triggers`). Reckoned back from the elapsed time, so a Pi without a
        real-time clock, started on the time it last saved, has the real start once NTP has
        set the clock; None before the start."""
        if self._started_monotonic is None:
            return None
        return self.clock.now() - (self.clock.monotonic() - self._started_monotonic)

    def active(self) -> bool:
        """Still within the grace period: an unknown signal may just not have arrived yet."""
        return self.until is not None and self.clock.monotonic() < self.until

    def ha_active(self) -> bool:
        """Still within the wait for Home Assistant after a start (see ``HA_START_GRACE_S``)."""
        return self.ha_until is not None and self.clock.monotonic() < self.ha_until

    def wait_for_ha(self, what: str, entity_id: str, retry: Retry, why: str = FELL_DUE) -> None:
        """Call ``retry`` when Home Assistant sends ``entity_id``'s state, or when the wait
        for Home Assistant ends."""
        assert self.ha_until is not None
        left_s = max(0.0, self.ha_until - self.clock.monotonic())
        _LOGGER.info(
            "%s %s: waiting up to %.1f s for the state of %s from Home Assistant",
            what,
            why,
            left_s,
            entity_id,
        )
        self.waiting_for_ha.setdefault(("", entity_id), []).append(retry)
        if self._ha_timer is None:
            self._ha_timer = self.clock.call_later(left_s, self._expire_ha)

    def wait(
        self,
        what: str,
        key: WaitKey,
        needs: str,
        retry: Retry,
        why: str = FELL_DUE,
    ) -> None:
        """Call ``retry`` when what ``key`` names is known, or when the grace ends."""
        assert self.until is not None
        left_s = max(0.0, self.until - self.clock.monotonic())
        _LOGGER.info("%s %s: waiting up to %.1f s for %s", what, why, left_s, needs)
        self.waiting.setdefault(key, []).append(retry)
        if self._timer is None:
            self._timer = self.clock.call_later(left_s, self._expire)

    def missing_entity(self, entity_id: str) -> None:
        """Home Assistant has no ``entity_id``: what waits for its state decides now."""
        self.missing.add(entity_id)
        self.known(("", entity_id))

    def known(self, key: WaitKey) -> None:
        """What ``key`` names has a value: the deadlines waiting for it decide now."""
        for retry in [*self.waiting.pop(key, ()), *self.waiting_for_ha.pop(key, ())]:
            retry()

    def cancel(self) -> None:
        self.waiting.clear()
        self.waiting_for_ha.clear()
        for timer in (self._timer, self._ha_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._ha_timer = None

    def _expire_ha(self) -> None:
        self._ha_timer = None
        waiting = dict(self.waiting_for_ha)
        self.waiting_for_ha.clear()
        for retries in waiting.values():
            for retry in retries:
                retry()

    def _expire(self) -> None:
        self._timer = None
        # Emptied in place: the trigger dispatch holds this dict and skips the look-up on every
        # reading while it is empty.
        waiting = dict(self.waiting)
        self.waiting.clear()
        for retries in waiting.values():
            for retry in retries:
                retry()


def wait_inputs(step: WaitForStepConfig, person: str) -> list[WaitKey]:
    """What a `wait_for` step reads: its signal and any HA entity it takes a threshold from."""
    wanted = step.wait_for
    return [(person, wanted.signal), *_entity_limits(wanted.above, wanted.below)]


def condition_inputs(conditions: Iterable[ConditionConfig], person: str | None) -> list[WaitKey]:
    """The signals (of ``person``) and HA entities that ``conditions`` read, nested ones too."""
    keys: list[WaitKey] = []
    for condition in conditions:
        if isinstance(condition, AndConditionConfig | OrConditionConfig | NotConditionConfig):
            keys += condition_inputs(condition.conditions, person)
        elif isinstance(condition, SignalConditionConfig):
            whose = person if condition.person is None else condition.person
            if whose is not None:
                keys.append((whose, condition.signal))
            keys += _entity_limits(condition.above, condition.below)
        elif isinstance(condition, StateConditionConfig):
            keys += [("", entity) for entity in condition.entity_id]
    return list(dict.fromkeys(keys))


def _entity_limits(*limits: float | str | None) -> list[WaitKey]:
    return [("", limit) for limit in limits if isinstance(limit, str)]
