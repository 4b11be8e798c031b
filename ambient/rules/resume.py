"""Deadlines that fell due while ambient was not running wait for their inputs.

A `for` window or an escalation restored from the store can be due the moment the engine starts,
before any reading has arrived: every signal is unknown then, because of the restart, not
because of the person. Such a deadline waits until its signal is known again (then it decides
as an uninterrupted run would have, on the first value after the restart) or until the grace
period ends (``signals.stale_after`` after the start: by then a sensor that is still sending
has been heard), and only then treats the signal as unknown.

The same holds for a state trigger's `for` window: it waits for the text signal's first value,
or for the HA entity's state (sent when Home Assistant is connected again); for the timeout of
a resumed run's `wait_for` step, which decides on its signal's first value (and its threshold
entity's state); and for the conditions of an `if` or `choose` a resumed run reaches in the grace
period (after a `delay` or `wait_for` that fell due), which read what they test only once known.
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

Retry = Callable[[], None]
#: What a deadline waits for: (person, signal name), or ("", entity id) for an HA entity (entity
#: ids hold a dot, signal names never do).
WaitKey = tuple[str, str]


class ResumeGrace:
    """The grace period after a start, and the deadlines waiting in it, by person and signal."""

    def __init__(self, clock: Clock, grace_s: float) -> None:
        self.clock = clock
        self.grace_s = grace_s
        #: The clock's elapsed time (:meth:`~ambient.clock.Clock.monotonic`) the grace period
        #: ends at, None before the engine started: a duration, which a step of the wall clock
        #: (NTP just after a boot) neither ends nor prolongs.
        self.until: float | None = None
        #: Deadlines waiting for a signal or an entity's state, by what they wait for.
        self.waiting: dict[WaitKey, list[Retry]] = {}
        self._timer: TimerHandle | None = None

    def begin(self) -> None:
        self.until = self.clock.monotonic() + self.grace_s

    def active(self) -> bool:
        """Still within the grace period: an unknown signal may just not have arrived yet."""
        return self.until is not None and self.clock.monotonic() < self.until

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

    def known(self, key: WaitKey) -> None:
        """What ``key`` names has a value: the deadlines waiting for it decide now."""
        for retry in self.waiting.pop(key, ()):
            retry()

    def cancel(self) -> None:
        self.waiting.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

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
