"""Runs one action sequence: leaf actions through the performer, flow steps (delay, wait_for,
choose, if) on the clock. The position of the current step is saved before it starts, so a
sequence cut by a restart resumes there: a delay or wait keeps its deadline (a wait whose
timeout fell due meanwhile decides on its signal's first value, see :mod:`.resume`), and a leaf
action that was in flight is not repeated (at most once is safer than twice for lights and
messages).

A `choose_calming` episode opens when its option's first action is performed, so a run cut
later in the option (a restart or a cancel in a `delay` or `wait_for`) keeps it; the saved
position says whether it is open (``opened`` in place of ``option``), so a resumed run opens it
only if no action of the option had been performed yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ambient.clock import Clock
from ambient.config.actions import (
    ActionConfig,
    ChooseCalming,
    ChooseCalmingStepConfig,
    ChooseStepConfig,
    DelayStepConfig,
    IfStepConfig,
    LeafActionConfig,
    WaitForStepConfig,
)
from ambient.config.conditions import ConditionConfig
from ambient.config.durations import written_duration_text
from ambient.messages import ActionResult, CalmingDecision
from ambient.rules.conditions import bounds_text
from ambient.rules.state import RunRecord

_LOGGER = logging.getLogger(__name__)

Path = list[int | str]
#: The position's word for the option of a `choose_calming` step whose episode is not open yet
#: (and the only word positions saved before the episode opened early have).
OPTION = "option"
#: The same option once its episode is open.
OPENED = "opened"


class SequenceHost(Protocol):
    """What a sequence needs from the engine."""

    clock: Clock

    async def perform_leaf(self, action: LeafActionConfig, run: RunRecord) -> ActionResult: ...

    def conditions_hold(self, conditions: Sequence[ConditionConfig], run: RunRecord) -> bool: ...

    async def conditions_known(self, conditions: Sequence[ConditionConfig], run: RunRecord) -> None:
        """Returns once what ``conditions`` read is known, or at once: for a run resumed after
        a restart, whose signals are unknown until their first values arrive."""
        ...

    async def wait_for_signal(
        self, step: WaitForStepConfig, run: RunRecord, until: float | None, resumed: bool
    ) -> bool:
        """Whether the signal met the wait before ``until``; ``resumed``: a wait restored
        after a restart (its timeout may fall due before the signal is known again)."""
        ...

    def save_run(self, run: RunRecord) -> None: ...

    def decide_calming(self, step: ChooseCalming, run: RunRecord) -> CalmingDecision: ...

    def calming_performed(
        self, step: ChooseCalming, run: RunRecord, decision: CalmingDecision, started: float
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Waited:
    """A `delay` or `wait_for` that ended, for the trace of what the run did after it."""

    text: str  # "delay 10min", "wait_for stress_score below 40, met"
    step: int  # the index of the rule's step it is in (the top-level one, if nested)


class SequenceRun:
    """One pass through ``steps`` for ``run``; ``results`` collects every leaf's result.
    ``on_wait`` is called as each `delay` or `wait_for` starts (but the one a resumed run
    restores): what was done until then is traced."""

    def __init__(
        self,
        host: SequenceHost,
        run: RunRecord,
        on_wait: Callable[[], None],
        on_result: Callable[[ActionResult], None] | None = None,
    ) -> None:
        self.host = host
        self.run = run
        self.results: list[ActionResult] = []
        self._on_wait = on_wait
        #: The last wait that ended: the stretch after it runs until the next wait or the end.
        self.waited: Waited | None = None
        #: The `wait_for` whose timeout ended the run (``continue_on_timeout: false``), if one did.
        self.ended_by: Waited | None = None
        self._on_result = on_result
        self._resumed = False
        #: `choose_calming` options running whose episode opens with their first performed
        #: action: (the step, the decision, the step's path).
        self._pending: list[tuple[ChooseCalming, CalmingDecision, Path]] = []
        #: The paths of the `choose_calming` steps whose running option's episode is open.
        self._opened: list[Path] = []

    async def execute(self, steps: Sequence[ActionConfig]) -> bool:
        resume = list(self.run.position) or None
        self._resumed = resume is not None
        return await self._steps(steps, [], resume)

    async def _steps(
        self, steps: Sequence[ActionConfig], prefix: Path, resume: Path | None
    ) -> bool:
        start = int(resume[0]) if resume else 0
        for index in range(start, len(steps)):
            resuming = resume is not None and index == start
            sub = list(resume[1:]) if resume is not None and index == start else []
            if not await self._step(steps[index], [*prefix, index], sub, resuming):
                return False
        return True

    async def _step(self, step: ActionConfig, path: Path, sub: Path, resuming: bool) -> bool:
        clock = self.host.clock
        if isinstance(step, DelayStepConfig):
            until = self.run.wait_until if resuming and self.run.wait_until else None
            self._save(path, until if until is not None else clock.now() + step.delay)
            if not resuming:  # a resumed run's trace waits for what it does after the restart
                self._on_wait()
            assert self.run.wait_until is not None
            await clock.sleep_until(self.run.wait_until)
            self.waited = Waited(f"delay {written_duration_text(step.delay)}", int(path[0]))
            return True
        if isinstance(step, WaitForStepConfig):
            until = self.run.wait_until if resuming else None
            if until is None and step.timeout is not None:
                until = clock.now() + step.timeout
            self._save(path, until)
            if not resuming:
                self._on_wait()
            recovered = await self.host.wait_for_signal(step, self.run, until, resuming)
            awaited = step.wait_for
            what = f"{awaited.signal} {bounds_text(awaited.above, awaited.below)}"
            outcome = "met" if recovered else "timed out"
            self.waited = Waited(f"wait_for {what}, {outcome}", int(path[0]))
            if recovered or step.continue_on_timeout:
                return True
            after = (
                f" after {written_duration_text(step.timeout)}" if step.timeout is not None else ""
            )
            self.ended_by = Waited(f"wait_for {what} timed out{after}", int(path[0]))
            return False
        if isinstance(step, IfStepConfig):
            if sub:
                branch = str(sub[0])
            else:
                self._save(path, None)
                await self._inputs_known(step.if_)
                branch = "then" if self.host.conditions_hold(step.if_, self.run) else "else"
            steps = step.then if branch == "then" else step.else_
            return await self._steps(steps, [*path, branch], list(sub[1:]) or None)
        if isinstance(step, ChooseStepConfig):
            if sub:
                chosen: Path = list(sub[:2]) if sub[0] == "choose" else list(sub[:1])
                rest = list(sub[len(chosen) :]) or None
            else:
                self._save(path, None)
                await self._inputs_known([c for o in step.choose for c in o.conditions])
                chosen = ["default"]
                for o_index, option in enumerate(step.choose):
                    if self.host.conditions_hold(option.conditions, self.run):
                        chosen = ["choose", o_index]
                        break
                rest = None
            steps = step.choose[int(chosen[1])].sequence if chosen[0] == "choose" else step.default
            return await self._steps(steps, [*path, *chosen], rest)
        if isinstance(step, ChooseCalmingStepConfig):
            return await self._choose_calming(step.choose_calming, path, sub)
        if resuming and not sub:
            _LOGGER.info(
                "Rule run %s resumed after a restart; not repeating the action that was in "
                "flight (%s)",
                self.run.id,
                getattr(step, "action", type(step).__name__),
            )
            return True
        self._save(path, None)
        started = clock.now()
        result = await self.host.perform_leaf(step, self.run)
        if result.performed and self._pending:
            self._open_episodes(started)
            self._save(path, None)  # a restart from here on finds the episode open
        self._record(result)
        return True

    async def _choose_calming(self, step: ChooseCalming, path: Path, sub: Path) -> bool:
        """Perform the option the learner picks; its episode opens with the option's first
        performed action. A resumed run goes on inside its option, and opens the episode then
        if the run that chose it had performed none of the option's actions."""
        if sub:
            index = int(sub[1])
            option = step.options[index]
            if sub[0] == OPENED:
                self._opened.append(path)
            else:
                decision = CalmingDecision(option.id, "resumed after a restart")
                self._pending.append((step, decision, path))
            return await self._option(step, path, index, list(sub[2:]) or None)
        self._save(path, None)
        decision = self.host.decide_calming(step, self.run)
        self._record(
            ActionResult(
                "choose_calming",
                True,
                f"{decision.option or 'no option'}: {decision.reason}",
                performed=False,
            )
        )
        if decision.option is None:
            return True
        index = next(i for i, option in enumerate(step.options) if option.id == decision.option)
        self._pending.append((step, decision, path))
        return await self._option(step, path, index, None)

    async def _option(self, step: ChooseCalming, path: Path, index: int, rest: Path | None) -> bool:
        try:
            return await self._steps(step.options[index].actions, [*path, OPTION, index], rest)
        finally:
            self._pending = [entry for entry in self._pending if entry[2] != path]
            self._opened = [opened for opened in self._opened if opened != path]

    def _open_episodes(self, started: float) -> None:
        """An action was performed (started at ``started``): the episodes of the options it
        belongs to open now, unless already open."""
        for step, decision, path in self._pending:
            self.host.calming_performed(step, self.run, decision, started)
            self._opened.append(path)
        self._pending.clear()

    async def _inputs_known(self, conditions: Sequence[ConditionConfig]) -> None:
        """A run resumed after a restart decides once what it reads is known again."""
        if self._resumed:
            await self.host.conditions_known(conditions, self.run)

    def _record(self, result: ActionResult) -> None:
        self.results.append(result)
        if self._on_result is not None:
            self._on_result(result)

    def _save(self, path: Path, wait_until: float | None) -> None:
        self.run.position = self._marked(path)
        self.run.wait_until = wait_until
        self.host.save_run(self.run)

    def _marked(self, path: Path) -> Path:
        """``path`` as saved: an option whose episode is open says so."""
        marked = list(path)
        for opened in self._opened:
            at = len(opened)
            if marked[:at] == opened and len(marked) > at and marked[at] == OPTION:
                marked[at] = OPENED
        return marked
