"""The unknown seconds of each signal, tallied as a replay goes: what the scores need of the
signal changes without keeping them, so evaluating a month of beats takes the memory of an
hour (the columns of :mod:`ambient.evaluate.changes` take ~50 bytes a change).

The answer is the one :func:`~ambient.evaluate.scoring.unknown_seconds` gives for the kept
changes, bit for bit: each unknown stretch is added, as it closes, in the same order and
clipped at the same end. The end is where the labels end (known before the replay, when a
labels file gives it) or the recording's last reading (known after it): a tally made without
an end can answer for any end at or after the last change of each signal, and says so
(``answers_for``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from ambient.evaluate.changes import FirstPersonListener
from ambient.evaluate.scoring import NOT_YET, UNKNOWN, unknown_seconds
from ambient.messages import SignalUpdate, SignalValue


def _add(by_reason: dict[str, float], reason: str, seconds: float) -> None:
    if seconds > 0:
        by_reason[reason] = by_reason.get(reason, 0.0) + seconds


class _SignalTally:
    """One signal so far: seconds unknown by reason, and the stretch still open."""

    __slots__ = ("by_reason", "open_reason", "open_t_s")

    def __init__(self, first_t_s: float, clip_s: float) -> None:
        self.by_reason: dict[str, float] = {}
        _add(self.by_reason, NOT_YET, min(first_t_s, clip_s))
        self.open_t_s = first_t_s
        #: The reason of the open stretch; None when the signal has a value.
        self.open_reason: str | None = None

    def closed_at(self, end_s: float) -> dict[str, float]:
        """The seconds by reason with the open stretch closed at ``end_s``."""
        by_reason = dict(self.by_reason)
        if self.open_reason is not None:
            _add(by_reason, self.open_reason, end_s - self.open_t_s)
        return by_reason


class UnknownTally(FirstPersonListener):
    """One person's unknown seconds (the first's, or ``person``'s) by signal and reason,
    tallied as updates come. With
    ``end_s`` (from the start) every stretch is clipped there as it closes; without, the tally
    answers for ends at or after each signal's last change."""

    def __init__(
        self, start: float = 0.0, end_s: float | None = None, person: str | None = None
    ) -> None:
        self.end_s = end_s
        self._clip_s = math.inf if end_s is None else end_s
        self._followed = person
        self.start_at(start)

    def start_at(self, start: float) -> None:
        """Start afresh, times counted from ``start`` (a replay begun again starts anew)."""
        super().__init__(start, self._followed)
        self._signals: dict[str, _SignalTally] = {}

    @property
    def signals(self) -> list[str]:
        """The signals that changed, in the order they first did."""
        return list(self._signals)

    def add(self, t_s: float, values: Mapping[str, SignalValue]) -> None:
        clip_s = self._clip_s
        signals = self._signals
        for signal, value in values.items():
            tally = signals.get(signal)
            if tally is None:
                tally = signals[signal] = _SignalTally(t_s, clip_s)
            elif tally.open_reason is not None:
                _add(tally.by_reason, tally.open_reason, min(t_s, clip_s) - tally.open_t_s)
            tally.open_t_s = t_s
            tally.open_reason = (value.reason or UNKNOWN) if value.value is None else None

    def answers_for(self, end_s: float) -> bool:
        """Whether :meth:`unknown_seconds` is exact for ``end_s``: the end the tally clipped
        at, or one no signal changed after, up to that end (the recording's last reading, when
        the labels' end was past it)."""
        if end_s == self.end_s:
            return True
        # No stretch closed after ``end_s``, so none was clipped short of it.
        return end_s <= self._clip_s and all(
            tally.open_t_s <= end_s for tally in self._signals.values()
        )

    def unknown_seconds(self, signal: str, end_s: float) -> dict[str, float]:
        """Seconds ``signal`` was unknown between 0 and ``end_s``, by reason (as
        ``unknown_seconds`` of its changes; ``end_s`` one the tally ``answers_for``)."""
        tally = self._signals.get(signal)
        if tally is None:
            return unknown_seconds((), end_s)
        return tally.closed_at(end_s)


class PeopleTally:
    """Every person's :class:`UnknownTally`, each begun at the person's first update (their
    signals unknown, ``no data``, from the start until then)."""

    def __init__(self, start: float = 0.0, end_s: float | None = None) -> None:
        self.end_s = end_s
        self.start_at(start)

    def start_at(self, start: float) -> None:
        """Start afresh, times counted from ``start`` (a replay begun again starts anew)."""
        self.start = start
        #: Per person with signals, in the order their first update came: their tally.
        self.by_person: dict[str, UnknownTally] = {}

    def __call__(self, update: SignalUpdate) -> None:
        tally = self.by_person.get(update.person)
        if tally is None:
            tally = self.by_person[update.person] = UnknownTally(
                self.start, self.end_s, update.person
            )
        tally(update)
