"""What action runs wait for: a `wait_for` step's signal to meet it (or its timeout), and, in a run
resumed after a restart, the first values of what a decision reads (see :mod:`.resume`).

A `wait_for` whose timeout fell due while ambient was not running would otherwise time out on a
signal that is unknown only because of the restart; an `if` or `choose` reached right after a
`delay` that fell due would read the same unknowns. Both wait, within the grace period, until
what they read is known, and then decide as the uninterrupted run would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from ambient.clock import Clock
from ambient.config.actions import WaitForStepConfig
from ambient.config.conditions import ConditionConfig
from ambient.messages import SignalUpdate, SignalValue
from ambient.rules.conditions import numeric_holds
from ambient.rules.current_values import CurrentValues
from ambient.rules.resume import FELL_DUE, ResumeGrace, WaitKey, condition_inputs, wait_inputs
from ambient.rules.state import RunRecord
from ambient.rules.values import numeric

_LOGGER = logging.getLogger(__name__)

#: A run waiting for a signal: what its value must satisfy, and the future that says it did.
Waiter = tuple[Callable[[SignalValue], bool], asyncio.Future[bool]]


class RunWaits:
    """The runs waiting for signals, by person and signal, and how they are woken."""

    def __init__(self, clock: Clock, current_values: CurrentValues, grace: ResumeGrace) -> None:
        self.clock = clock
        self._current_values = current_values
        self._signal = current_values.signal
        self._threshold = current_values.threshold
        self._grace = grace
        #: Runs waiting for a signal, by person and signal name (the engine wakes them).
        self.waiters: dict[tuple[str | None, str], list[Waiter]] = {}

    async def wait_for(
        self, step: WaitForStepConfig, run: RunRecord, until: float | None, resumed: bool
    ) -> bool:
        """Whether the signal meets the wait before ``until``. A resumed wait whose timeout
        falls due in the grace period after a start, before its inputs are known again,
        decides on their first values: the signal moved no faster while ambient was down, so
        its first value is the best reading there is of where it stood at the timeout."""
        person, name = run.person, step.wait_for.signal
        if person is not None and self._holds(step, self._signal(person, name)):
            return True
        if await self._until(person, name, partial(self._holds, step), until):
            return True
        if not resumed or person is None or until is None:
            return False
        inputs = wait_inputs(step, person)
        if not any(self._awaited(key) for key in inputs):
            return False
        rule = run.rule_id
        await self._first_values(
            inputs, f"Rule {rule}: the `wait_for` {name} of {person}", FELL_DUE
        )
        value = self._signal(person, name)
        met = self._holds(step, value)
        verdict = "met" if met else "timed out: not met" if _value_known(value) else "timed out"
        _LOGGER.info(
            "Rule %s: `wait_for` %s of %s %s on its first value after the restart "
            "(due %.1f s earlier, while ambient was not running)",
            rule,
            name,
            person,
            verdict,
            self.clock.now() - until,
        )
        return met

    async def conditions_known(self, conditions: Sequence[ConditionConfig], run: RunRecord) -> None:
        """In the grace period after a start, wait until what ``conditions`` read is known."""
        await self.inputs_known(conditions, run.person, run.rule_id)

    async def inputs_known(
        self,
        conditions: Sequence[ConditionConfig],
        person: str | None,
        rule_id: str,
        why: str = FELL_DUE,
    ) -> None:
        """The same for ``person``'s conditions of rule ``rule_id``, outside any run (a late
        firing decides its conditions before it starts one); ``why`` says why it waits, for
        the log."""
        if not self._grace.ha_active():
            return
        inputs = condition_inputs(conditions, person)
        if any(self._awaited(key) for key in inputs):
            who = person or "nobody"
            what = f"Rule {rule_id}: a condition of the run of {who}"
            await self._first_values(inputs, what, why)

    def inputs_unknown(self, conditions: Sequence[ConditionConfig], person: str | None) -> bool:
        """Whether, in the grace period after a start, something ``conditions`` read of
        ``person`` (or an HA entity) has not arrived yet."""
        if not self._grace.ha_active():
            return False
        return any(self._awaited(key) for key in condition_inputs(conditions, person))

    def wake(self, update: SignalUpdate) -> None:
        """A signal update: the waits it satisfies end."""
        for name, value in update.values.items():
            waiting = self.waiters.get((update.person, name))
            if not waiting:
                continue
            for holds, future in list(waiting):
                if not future.done() and holds(value):
                    future.set_result(True)

    async def _until(
        self,
        person: str | None,
        name: str,
        holds: Callable[[SignalValue], bool],
        until: float | None,
    ) -> bool:
        """True once an update of ``name`` satisfies ``holds``; False at ``until``."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        timer = None
        if until is not None:
            timer = self.clock.call_at(until, partial(_settle, future, False))
        try:
            with self._waiting((person, name), (holds, future)):
                return await future
        finally:
            if timer is not None:
                timer.cancel()

    async def _first_values(self, inputs: list[WaitKey], what: str, why: str) -> None:
        """Until each of ``inputs`` is known, or its grace period ends."""
        while True:
            unknown = next((key for key in inputs if self._awaited(key)), None)
            if unknown is None:
                return
            who, name = unknown
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            # The grace settles it when it ends or an entity's state arrives; a signal's first
            # value wakes it like any other wait.
            if not who:
                self._grace.wait_for_ha(what, name, partial(_settle, future, True), why)
                await future
                continue
            self._grace.wait(what, unknown, name, partial(_settle, future, True), why)
            with self._waiting((who, name), (_value_known, future)):
                await future

    @contextlib.contextmanager
    def _waiting(self, key: tuple[str | None, str], waiter: Waiter) -> Iterator[None]:
        """``waiter`` is woken by updates of ``key`` while the block runs."""
        self.waiters.setdefault(key, []).append(waiter)
        try:
            yield
        finally:
            waiting = self.waiters.get(key, [])
            with contextlib.suppress(ValueError):
                waiting.remove(waiter)
            if not waiting:
                self.waiters.pop(key, None)

    def _awaited(self, key: WaitKey) -> bool:
        """Not known yet, and still within the grace period for it: a signal's
        (``signals.stale_after``), or an HA entity's (Home Assistant, down in the same power
        cut, may start minutes after ambient: ``HA_START_GRACE_S``, as a `for` hold waits)."""
        if self._known(key) or (not key[0] and key[1] in self._grace.missing):
            return False
        return self._grace.active() if key[0] else self._grace.ha_active()

    def _known(self, key: WaitKey) -> bool:
        who, name = key
        if not who:
            return name in self._current_values.entities
        return _value_known(self._signal(who, name))

    def _holds(self, step: WaitForStepConfig, value: SignalValue | None) -> bool:
        if value is None:
            return False
        wanted = step.wait_for
        return numeric_holds(numeric(value.value), wanted.above, wanted.below, self._threshold)


def _value_known(value: SignalValue | None) -> bool:
    """A number, or a text signal's word (``activity_state`` is ``rest``): no number, known."""
    if value is None or value.value is None:
        return False
    return isinstance(value.value, str) or numeric(value.value) is not None


def _settle(future: asyncio.Future[bool], result: bool) -> None:
    if not future.done():
        future.set_result(result)
