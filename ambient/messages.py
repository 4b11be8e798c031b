"""What the pipeline's stages hand each other: signal values, external events, action outcomes
and rule traces. Every stage depends on these, never on another stage's internals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SignalScalar = float | str | bool


@dataclass(frozen=True, slots=True)
class SignalValue:
    """A signal's current value; ``value is None`` means unknown, and ``reason`` says why."""

    value: SignalScalar | None
    time: float
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    @classmethod
    def unknown(cls, time: float, reason: str) -> SignalValue:
        return cls(None, time, reason)


@dataclass(frozen=True, slots=True)
class SignalUpdate:
    """The signals of one person that changed at ``time`` (only those)."""

    time: float
    person: str
    values: Mapping[str, SignalValue]


@dataclass(frozen=True, slots=True)
class ExternalEvent:
    """Something outside the readings that rules may react to.

    ``kind`` is ``ha_state`` (key = entity id, data = new/old state and attributes),
    ``mqtt`` (key = topic, data = payload) or ``command`` (key = ``pause`` / ``resume`` /
    ``breathing`` …, data = arguments, e.g. from HA's switch or button).
    """

    time: float
    kind: Literal["ha_state", "mqtt", "command"]
    key: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Why an action runs: which rule, for whom, in which episode, with which signals seen.

    ``episode`` identifies one firing of a rule until its recovery, so actuators can undo
    what they did (restore lights) when ``ActionDispatcher.end_episode`` is called.
    ``deadline`` is the time after which the action must be dropped, not performed late.
    """

    rule: str
    person: str | None
    episode: str
    time: float
    trigger: str | None = None
    signals: Mapping[str, SignalScalar | None] = field(default_factory=dict)
    deadline: float | None = None
    recovery: bool = False
    #: When what the rule answers began: a signal trigger's condition first held (its firing
    #: minus its ``for``); ``None`` when not known. Says how long the stress has lasted.
    since: float | None = None
    #: The person's display name (``people:`` ``name``, else the id) for ``{name}``; None for
    #: nobody.
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an actuator did: ``ok`` with a short ``detail`` for traces and the timeline."""

    action: str
    ok: bool
    detail: str = ""
    performed: bool = True  # False when only reported (simulate / analyze)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "ok": self.ok,
            "detail": self.detail,
            "performed": self.performed,
        }


TraceEvent = Literal[
    "fired",
    "suppressed",
    "recovered",
    "escalated",
    "action_failed",
    "resumed",
    "continued",
    "ended",
]


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One evaluation of a rule that changed something, with everything needed to explain it."""

    time: float
    rule: str
    event: TraceEvent
    reason: str
    person: str | None = None
    trigger: str | None = None
    signals: Mapping[str, SignalScalar | None] = field(default_factory=dict)
    conditions: tuple[tuple[str, bool], ...] = ()
    actions: tuple[ActionResult, ...] = ()
    #: This `ended` closes the person's episode of the rule (its signal was lost, the person
    #: left), as `recovered` does; an `ended` run (a `wait_for` timed out) leaves it open. For
    #: listeners in the process (insights' day record); not in :meth:`as_dict`, whose output
    #: (`ambient trace --json`, `simulate --json`) stays as it was.
    ends_episode: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "t": self.time,
            "rule": self.rule,
            "event": self.event,
            "reason": self.reason,
            "person": self.person,
            "trigger": self.trigger,
            "signals": dict(self.signals),
            "conditions": [list(c) for c in self.conditions],
            "actions": [a.as_dict() for a in self.actions],
        }


@dataclass(frozen=True, slots=True)
class CalmingDecision:
    """Which calming option a `choose_calming` step performs (``option``), or none, and why;
    ``probabilities`` says how likely each option was."""

    option: str | None
    reason: str
    probabilities: Mapping[str, float] = field(default_factory=dict)
