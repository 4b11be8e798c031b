"""Action runs: starting, resuming queued ones and cancelling them, executing their steps (the
sequence's host: actions through the performer unless held back, conditions, `wait_for` on
signals through :mod:`~ambient.rules.waits`), and ending an episode when its recovery run is
done.

A firing's run whose first step is an action gets a head start: that action is handed to the
performer at once (its request leaves in the turn that fired the rule, before the reading's
other listeners and without waiting for the run task's turn); the run's task takes its result
where it would have performed it. Everything else (traces, saved positions, later steps)
happens at the same points as without it. Not for mode `restart`: a second firing in the same
turn cancels the first run before its task starts, and none of its actions may have left. A
stop that cancels a run before its task took the result saves the run as past its first
action, so a restart does not send that action twice."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ambient.clock import Clock
from ambient.config.actions import (
    ActionConfig,
    ChooseCalming,
    LeafActionConfig,
    WaitForStepConfig,
)
from ambient.config.conditions import ConditionConfig
from ambient.config.durations import duration_text
from ambient.messages import (
    ActionContext,
    ActionResult,
    CalmingDecision,
    TraceEvent,
    TraceRecord,
)
from ambient.ports import ActionPerformer, CalmingChooser
from ambient.rules.conditions import evaluate_all
from ambient.rules.current_values import CurrentValues
from ambient.rules.eager_task import eager_task
from ambient.rules.hold import ActionHold
from ambient.rules.resume import ResumeGrace
from ambient.rules.rule import Rule
from ambient.rules.rule_store import RuleStore
from ambient.rules.sequence import SequenceRun, Waited
from ambient.rules.state import RunRecord
from ambient.rules.tracing import Tracer
from ambient.rules.waits import RunWaits

_LOGGER = logging.getLogger(__name__)


#: Traces stamped when their rule decided (emitted when the run first waits or ends); the
#: others (a resumed run, a queued run's start) are stamped when emitted.
_STAMPED_AT_DECISION = frozenset({"fired", "escalated", "recovered"})
#: Traces carrying their firing's signal values: those stamped at the decision, and a resumed
#: run's (after a restart, the current values may not be known yet). The others (a queued
#: run's start) carry the values when emitted, as every `continued` trace does.
_FIRING_SIGNALS = _STAMPED_AT_DECISION | {"resumed"}


def _whose(run: RunRecord, then: str) -> str:
    """A recovery's or an escalation level's run named (followed by ``then``), not the
    firing's own."""
    if run.kind == "recovery":
        return f"recovery{then}"
    if run.kind == "escalate":
        return f"escalation {(run.level or 0) + 1}{then}"
    return ""


@dataclass(frozen=True, slots=True)
class _HeadStart:
    """A run's first action, already handed to the performer."""

    action: LeafActionConfig
    run: RunRecord
    task: asyncio.Task[ActionResult]


class Runs:
    """The running and queued action sequences of every rule, as asyncio tasks."""

    def __init__(
        self,
        clock: Clock,
        rules: Sequence[Rule],
        performer: ActionPerformer,
        current_values: CurrentValues,
        hold: ActionHold,
        tracer: Tracer,
        rule_store: RuleStore,
        grace: ResumeGrace,
        calming: CalmingChooser | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self._calming = calming
        #: Display names by person id, for ``{name}``.
        self._names = dict(names or {})
        self._by_id = {rule.id: rule for rule in rules}
        self._performer = performer
        self._current_values = current_values
        self._held_back = hold.held_back
        self._trace = tracer.trace
        self._emit = tracer.emit
        self._save = rule_store.save
        self._seq = itertools.count(1)
        self._waits = RunWaits(clock, current_values, grace)
        #: Runs waiting for a signal, by person and signal (woken by :meth:`wake_waiters`).
        self.waiters = self._waits.waiters
        self.wake_waiters = self._waits.wake
        self.inputs_known = self._waits.inputs_known
        self.inputs_unknown = self._waits.inputs_unknown
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: Episodes being undone outside any run (:meth:`end_episode`).
        self._ending: set[asyncio.Task[None]] = set()
        #: First actions already handed to the performer, by run (see the module docstring).
        self._heads: dict[str, _HeadStart] = {}
        self._stopping = False

    def run_id(self, rule: Rule) -> str:
        return f"{rule.id}-{self.clock.now():.3f}-{next(self._seq)}"

    def launch(self, rule: Rule, run: RunRecord, trace: TraceRecord | None) -> None:
        if trace is not None and not run.position:
            self._start_first_action(rule, run)  # first: the run's own task can wait
        if trace is None and run.position:
            trace = self._resumed_trace(rule, run)
        self._start_task(rule, run, trace)

    def _start_task(self, rule: Rule, run: RunRecord, trace: TraceRecord | None) -> None:
        task = asyncio.get_running_loop().create_task(self._execute(rule, run, trace))
        self._tasks[run.id] = task

    def _resumed_trace(self, rule: Rule, run: RunRecord) -> TraceRecord:
        """A run resumed after a restart, saying where it went on."""
        step, steps = int(run.position[0]) + 1, len(self._steps_of(rule, run))
        reason = f"{_whose(run, ' ')}resumed after a restart at step {step} of {steps}"
        return self._opening_trace(rule, run, "resumed", reason)

    def _queued_trace(self, rule: Rule, run: RunRecord) -> TraceRecord:
        """A queued run that starts; its firing's trace (with " (queued)") carried no
        actions."""
        waited_s = self.clock.now() - run.started
        reason = f"queued run started, {duration_text(waited_s)} after its firing"
        return self._opening_trace(rule, run, "continued", reason)

    def _opening_trace(
        self, rule: Rule, run: RunRecord, event: TraceEvent, reason: str
    ) -> TraceRecord:
        """The trace of a run no decision opened now, traced as a firing's run is: when it
        first waits anew or ends, with the actions performed until then (and stamped then:
        the run may wait long first; a queued run's start takes the signal values then too)."""
        return TraceRecord(
            time=self.clock.now(),
            rule=rule.id,
            event=event,
            reason=reason,
            person=run.person,
            trigger=run.trigger_id,
            signals=run.signals,
        )

    def _trace_stretch(
        self, rule: Rule, run: RunRecord, waited: Waited, actions: tuple[ActionResult, ...]
    ) -> None:
        """What a run did after a later wait, until its next wait or its end."""
        self._trace_at_wait(rule, run, "continued", f"after {waited.text}", waited, actions)

    def _trace_end(self, rule: Rule, run: RunRecord, waited: Waited) -> None:
        """A run a `wait_for` ended by timing out: its steps after the wait are not done."""
        self._trace_at_wait(rule, run, "ended", waited.text, waited)

    def _trace_at_wait(
        self,
        rule: Rule,
        run: RunRecord,
        event: TraceEvent,
        said: str,
        waited: Waited,
        actions: tuple[ActionResult, ...] = (),
    ) -> None:
        """A trace of ``run`` saying ``said`` and the step of the wait it concerns."""
        steps = len(self._steps_of(rule, run))
        reason = f"{_whose(run, ', ')}{said} (step {waited.step + 1} of {steps})"
        self._trace(rule, event, reason, run.person, run.trigger_id, actions=actions)

    def _start_first_action(self, rule: Rule, run: RunRecord) -> None:
        """A fresh firing's first step, if it is an action and nothing holds actions back,
        handed to the performer now (its run task awaits the result in :meth:`perform_leaf`).
        Runs resumed or started later keep to their task's turn."""
        steps = self._steps_of(rule, run)
        if not steps or rule.config.mode == "restart":
            return
        action = steps[0]
        if not isinstance(action, LeafActionConfig):  # delay, wait_for, choose, if
            return
        if self._held_back((action,)) is not None:
            return
        task = eager_task(self._performer.perform(action, self._context(run)))
        self._heads[run.id] = _HeadStart(action, run, task)

    def _drop_head(self, run_id: str) -> asyncio.Task[ActionResult] | None:
        """Cancel a first action its run will not take (the run was cancelled or failed)."""
        head = self._heads.pop(run_id, None)
        if head is None:
            return None
        task = head.task
        if task.done():
            if not task.cancelled():
                task.exception()  # retrieved: its run reports nothing more of it
        else:
            task.cancel()
        return task

    def end_episode(self, person: str, episode_id: str, trigger_id: str | None) -> None:
        """End an episode no run ends (its signal lost): the performer undoes it now, as after
        a recovery (a session or ramp stops at once)."""
        context = ActionContext(
            rule=episode_id.split(":", 1)[0],
            person=person,
            episode=episode_id,
            time=self.clock.now(),
            trigger=trigger_id,
            recovery=True,
            name=self._names.get(person, person),
        )
        task = asyncio.get_running_loop().create_task(self._performer.end_episode(context))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    def cancel_run(self, rule: Rule, run: RunRecord) -> None:
        task = self._tasks.pop(run.id, None)
        if task is not None:
            task.cancel()
        self._drop_head(run.id)
        rule.person(run.person).runs.pop(run.id, None)

    def start_queued(self, rule: Rule, person: str | None) -> None:
        state = rule.person(person)
        for run in state.runs.values():
            if run.kind == "actions" and run.queued:
                run.queued = False
                self._save(rule)
                self._start_task(rule, run, self._queued_trace(rule, run))
                return

    def resume(self) -> None:
        """Runs may start again (after :meth:`stop`)."""
        self._stopping = False

    async def stop(self) -> None:
        """Cancel every run; their records stay, so they resume on the next start."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for started in self._heads.values():
            if not started.run.position:  # its task never took it: the action left all the same
                started.run.position = [0]
                self.save_run(started.run)
        heads = [head for run_id in list(self._heads) if (head := self._drop_head(run_id))]
        ending = list(self._ending)  # left undone: the next start ends them (no rule owns them)
        for task in ending:
            task.cancel()
        await asyncio.gather(*tasks, *heads, *ending, return_exceptions=True)
        self._tasks.clear()

    def _steps_of(self, rule: Rule, run: RunRecord) -> Sequence[ActionConfig]:
        if run.kind == "actions":
            return rule.config.actions
        if run.kind == "recovery":
            return rule.config.on_recovery
        assert run.level is not None
        return rule.config.escalate[run.level].actions

    async def _execute(self, rule: Rule, run: RunRecord, trace: TraceRecord | None) -> None:
        emitted = trace is None
        traced = 0  # how many of the sequence's results a trace carried already

        def emit() -> None:
            """The run's first stretch goes with its own trace (fired, escalated, recovered,
            resumed, or a queued run's start); each later one, if it did something, with a
            `continued` trace."""
            nonlocal emitted, traced
            stretch = tuple(sequence.results[traced:])
            traced = len(sequence.results)
            if not emitted and trace is not None:
                emitted = True
                at = trace.time if trace.event in _STAMPED_AT_DECISION else self.clock.now()
                signals = trace.signals
                if trace.event not in _FIRING_SIGNALS:
                    signals = self._current_values.signals_seen(rule, run.person)
                self._emit(replace(trace, time=at, signals=signals, actions=stretch))
            elif stretch and sequence.waited is not None:
                self._trace_stretch(rule, run, sequence.waited, stretch)

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

        sequence = SequenceRun(self, run, on_wait=emit, on_result=on_result)
        finished = ended = False
        try:
            await sequence.execute(self._steps_of(rule, run))
            emit()
            if sequence.ended_by is not None:
                self._trace_end(rule, run, sequence.ended_by)
            if self._ends_episode(rule, run):
                ended = True
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
            self._drop_head(run.id)
            if finished and not self._stopping and not ended and self._ends_episode(rule, run):
                # Cancelled (mode: restart) or failed: what it changed is undone all the same.
                await self._performer.end_episode(self._context(run))
            if finished and not self._stopping:
                self._tasks.pop(run.id, None)
                state = rule.person(run.person)
                if state.runs.pop(run.id, None) is not None:
                    self._save(rule)
                if run.kind == "actions" and rule.config.mode == "queued":
                    self.start_queued(rule, run.person)

    @staticmethod
    def _ends_episode(rule: Rule, run: RunRecord) -> bool:
        """Whether the end of ``run`` ends its episode: a recovery does; so does the actions'
        run of a firing no recovery will follow (a time, cron, state or MQTT trigger), once
        its steps (delays, waits) are done. A signal trigger's episode stays open until it
        clears."""
        if run.kind == "recovery":
            return True
        if run.kind != "actions":
            return False
        open_episodes = rule.person(run.person).episodes.values()
        return all(episode.id != run.episode for episode in open_episodes)

    def live_episodes(self, rules: Sequence[Rule]) -> set[str]:
        """Episodes the rules still own: open ones and those of runs that will resume."""
        live: set[str] = set()
        for rule in rules:
            for state in rule.persons.values():
                live.update(episode.id for episode in state.episodes.values())
                live.update(run.episode for run in state.runs.values())
        return live

    def _context(self, run: RunRecord) -> ActionContext:
        return ActionContext(
            rule=run.rule_id,
            person=run.person,
            episode=run.episode,
            time=self.clock.now(),
            trigger=run.trigger_id,
            signals=run.signals,
            recovery=run.kind == "recovery",
            since=self._since(run),
            name=None if run.person is None else self._names.get(run.person, run.person),
        )

    def _since(self, run: RunRecord) -> float:
        """When the episode's condition first held: its firing minus its trigger's ``for``;
        the run's start for triggers without an open episode."""
        rule = self._by_id.get(run.rule_id)
        if rule is None or run.person is None:
            return run.started
        for episode in rule.person(run.person).episodes.values():
            if episode.id == run.episode:
                trigger = rule.config.triggers[episode.trigger]
                return episode.fired_at - float(getattr(trigger, "for_", 0.0))
        return run.started

    # SequenceHost

    async def perform_leaf(self, action: LeafActionConfig, run: RunRecord) -> ActionResult:
        kind = str(getattr(action, "action", type(action).__name__))
        head = self._heads.pop(run.id, None)
        if head is not None and head.action is not action:  # not its first step after all
            self._heads[run.id] = head
            head = None
        held_back = self._held_back((action,)) if head is None else None
        if held_back is not None:
            return ActionResult(kind, True, f"suppressed: {held_back}", performed=False)
        try:
            if head is not None:
                return await head.task
            return await self._performer.perform(action, self._context(run))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # One line (a template that fails at run time is the user's to fix, not a crash);
            # the traceback, for a bug, at DEBUG. The run goes on and its trace says it failed.
            whose = f" ({run.person})" if run.person is not None else ""
            _LOGGER.error(
                "Rule %s%s: action %s failed: %s: %s",
                run.rule_id,
                whose,
                kind,
                type(exc).__name__,
                exc,
            )
            _LOGGER.debug("Action %s of run %s raised", kind, run.id, exc_info=True)
            return ActionResult(kind, False, f"error: {exc}")

    def conditions_hold(self, conditions: Sequence[ConditionConfig], run: RunRecord) -> bool:
        context = self._current_values.condition_context(run.person, run.trigger_id)
        ok, _ = evaluate_all(conditions, context)
        return ok

    async def wait_for_signal(
        self, step: WaitForStepConfig, run: RunRecord, until: float | None, resumed: bool
    ) -> bool:
        return await self._waits.wait_for(step, run, until, resumed)

    async def conditions_known(self, conditions: Sequence[ConditionConfig], run: RunRecord) -> None:
        await self._waits.conditions_known(conditions, run)

    def save_run(self, run: RunRecord) -> None:
        rule = self._by_id[run.rule_id]
        self._save(rule)

    def decide_calming(self, step: ChooseCalming, run: RunRecord) -> CalmingDecision:
        rule = run.rule_id
        if self._calming is not None:
            return self._calming.decide(step, rule, run.person)
        # Nothing learns here (a bare engine): the pinned option, else the first allowed one.
        allowed = [option.id for option in step.options if option.id not in step.ban]
        option = step.pin or (allowed[0] if allowed else None)
        return CalmingDecision(option, "no learner: the pinned or first option")

    def calming_performed(
        self, step: ChooseCalming, run: RunRecord, decision: CalmingDecision, started: float
    ) -> None:
        if self._calming is not None:
            rule = run.rule_id
            self._calming.started(
                step, rule, run.person, decision, {"trigger": run.trigger_id}, started
            )
