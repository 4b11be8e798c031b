"""What the engine remembers per rule and person, as plain data that the store persists: trigger
phases and `for` deadlines, cooldowns, open episodes (for escalation and recovery) and action
runs with their position, so a restart continues where it stopped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ambient.clock import TimerHandle

Phase = Literal["clear", "pending", "active"]
RunKind = Literal["actions", "escalate", "recovery"]
#: A wall time as last read, and the same moment on the clock's elapsed time.
Anchor = tuple[float, float]


@dataclass(slots=True)
class TriggerState:
    """One trigger for one person: ``clear`` → ``pending`` (in range, `for` counting) →
    ``active`` (fired or suppressed; waits to clear past the hysteresis)."""

    phase: Phase = "clear"
    since: float | None = None
    for_until: float | None = None
    value: str | None = None  # a state trigger's new state
    timer: TimerHandle | None = field(default=None, compare=False, repr=False)
    #: Restored from the store and no value seen since: unknown may mean "not arrived yet".
    resumed: bool = field(default=False, compare=False, repr=False)
    #: ``for_until`` as last read and on elapsed time (see :func:`follow_clock`).
    for_until_anchor: Anchor | None = field(default=None, compare=False, repr=False)
    #: A state trigger on a text signal: the last text it saw, kept over a restart so that the
    #: first value after it is compared with the one before (not with "unknown").
    seen: str | None = None
    #: ``seen`` restored from the store and no value seen since.
    seen_restored: bool = field(default=False, compare=False, repr=False)
    #: When this trigger fired, while its firing waits for what the rule's conditions read
    #: (just after a start): it is written as due then, not as fired, so that a kill before
    #: the firing decides leaves it to decide after the restart, not latched for the episode.
    firing_due: float | None = field(default=None, compare=False, repr=False)
    #: While fired and its signal unknown: ends the episode as "signal lost" when it is due
    #: (see :mod:`.signal_lost`).
    lost: TimerHandle | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        if self.phase == "active" and self.firing_due is not None:
            return {"phase": "pending", "since": self.since, "for_until": self.firing_due}
        return (
            {"phase": self.phase, "since": self.since, "for_until": self.for_until}
            | ({"value": self.value} if self.value is not None else {})
            | ({"seen": self.seen} if self.seen is not None else {})
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TriggerState:
        seen = data.get("seen")
        return cls(
            data["phase"],
            data.get("since"),
            data.get("for_until"),
            data.get("value"),
            seen=seen,
            seen_restored=seen is not None,
        )


@dataclass(slots=True)
class Episode:
    """One firing of a signal trigger, open until it clears: escalation and recovery hang
    off it, and actuators use its id to undo what they did."""

    id: str
    trigger: int
    trigger_id: str | None
    fired_at: float
    next_level: int = 0
    signals: dict[str, Any] = field(default_factory=dict)
    timer: TimerHandle | None = field(default=None, compare=False, repr=False)
    #: ``fired_at`` as last read and on elapsed time, which the levels count from (see
    #: :func:`follow_clock`).
    fired_at_anchor: Anchor | None = field(default=None, compare=False, repr=False)
    #: Restored from the store: an escalation due before its signal arrived waits for it.
    resumed: bool = field(default=False, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trigger": self.trigger,
            "trigger_id": self.trigger_id,
            "fired_at": self.fired_at,
            "next_level": self.next_level,
            "signals": dict(self.signals),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Episode:
        return cls(**data)


@dataclass(slots=True)
class RunRecord:
    """One running (or queued) action sequence and where it is."""

    id: str
    kind: RunKind
    person: str | None
    episode: str
    trigger_id: str | None
    started: float
    level: int | None = None
    position: list[int | str] = field(default_factory=list)
    wait_until: float | None = None
    queued: bool = False
    signals: dict[str, Any] = field(default_factory=dict)
    #: ``wait_until`` as last read and on elapsed time (see :func:`follow_clock`).
    wait_until_anchor: Anchor | None = field(default=None, compare=False, repr=False)

    @property
    def rule_id(self) -> str:
        """The rule this run belongs to (its episode starts with the rule's id)."""
        return self.episode.split(":", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "person": self.person,
            "episode": self.episode,
            "trigger_id": self.trigger_id,
            "started": self.started,
            "level": self.level,
            "position": list(self.position),
            "wait_until": self.wait_until,
            "queued": self.queued,
            "signals": dict(self.signals),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(**data)


@dataclass(slots=True)
class PersonState:
    """A rule's state for one person (or for nobody, when it reads no person's signals)."""

    triggers: dict[int, TriggerState] = field(default_factory=dict)
    cooldown_until: float | None = None
    last_fired: float | None = None
    episodes: dict[int, Episode] = field(default_factory=dict)
    runs: dict[str, RunRecord] = field(default_factory=dict)
    #: ``cooldown_until`` as last read and on elapsed time (see :func:`follow_clock`).
    cooldown_until_anchor: Anchor | None = field(default=None, compare=False, repr=False)

    def trigger(self, index: int) -> TriggerState:
        state = self.triggers.get(index)
        if state is None:
            state = self.triggers[index] = TriggerState()
        return state

    def to_json(self) -> dict[str, Any]:
        return {
            "triggers": {
                str(i): t.to_json()
                for i, t in self.triggers.items()
                if t.phase != "clear" or t.seen is not None
            },
            "cooldown_until": self.cooldown_until,
            "last_fired": self.last_fired,
            "episodes": {str(i): e.to_json() for i, e in self.episodes.items()},
            "runs": {key: r.to_json() for key, r in self.runs.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PersonState:
        return cls(
            triggers={int(i): TriggerState.from_json(t) for i, t in data["triggers"].items()},
            cooldown_until=data.get("cooldown_until"),
            last_fired=data.get("last_fired"),
            episodes={int(i): Episode.from_json(e) for i, e in data["episodes"].items()},
            runs={key: RunRecord.from_json(r) for key, r in data["runs"].items()},
        )


def follow_clock(state: PersonState, now: float, monotonic: float) -> None:
    """Keep a cooldown and an episode's firing on elapsed time, whatever the wall clock does.

    A cooldown and the escalation levels are durations: they count on the clock's monotonic
    time (:meth:`~ambient.clock.Clock.monotonic`), which NTP's steps of the wall clock do not
    move. Their wall times, which the store keeps (a restart has no monotonic time to go on)
    and the trace and status show, are read again from it here: after a step they are where
    the clock reads them now. State just restored from the store has only wall times: its
    elapsed times are taken from them.

    The deadlines of `for` windows and of a run's `delay` or `wait_for` run on timers, which
    keep their delays through a step; what is saved of them follows here too, so a restart
    after a step waits out what was left.

    Each of these is kept as a wall time with an anchor: one that differs from its anchor was
    set (by the trigger dispatch, the sequence) or restored since, and its elapsed time is taken
    from it; the firing, which has read the elapsed time, anchors its cooldown and episode
    itself."""
    offset_s = now - monotonic  # what to add to a monotonic time for the wall time
    for trigger in state.triggers.values():
        trigger.for_until, trigger.for_until_anchor = _follow(
            trigger.for_until, trigger.for_until_anchor, offset_s
        )
    for run in state.runs.values():
        run.wait_until, run.wait_until_anchor = _follow(
            run.wait_until, run.wait_until_anchor, offset_s
        )
    state.cooldown_until, state.cooldown_until_anchor = _follow(
        state.cooldown_until, state.cooldown_until_anchor, offset_s
    )
    for episode in state.episodes.values():
        episode.fired_at, episode.fired_at_anchor = _follow_set(
            episode.fired_at, episode.fired_at_anchor, offset_s
        )


def _follow(
    wall: float | None, anchor: Anchor | None, offset_s: float
) -> tuple[float | None, Anchor | None]:
    """``wall`` where the clock reads it now, and its anchor (none for no time)."""
    return (None, None) if wall is None else _follow_set(wall, anchor, offset_s)


def _follow_set(wall: float, anchor: Anchor | None, offset_s: float) -> tuple[float, Anchor]:
    """:func:`_follow` of a time that is always there (an episode's firing)."""
    if anchor is None or anchor[0] != wall:  # set (or restored) since it was last read
        return wall, (wall, wall - offset_s)
    moved = anchor[1] + offset_s
    return moved, (moved, anchor[1])


def person_key(person: str | None) -> str:
    return "" if person is None else person


def person_of(key: str) -> str | None:
    return None if key == "" else key


def cancel_timer(trigger: TriggerState) -> None:
    if trigger.timer is not None:
        trigger.timer.cancel()
        trigger.timer = None
    if trigger.lost is not None:
        trigger.lost.cancel()
        trigger.lost = None
