"""A replay's signal updates kept as a timeline needs them: each change of one person's signals,
in columns. Kept whole, a ``SignalUpdate`` (its dict, a ``SignalValue`` per signal) takes
125 bytes or more per change; a change here takes ~50, and past hours of beats a column keeps
only what a picture draws of its changes, so drawing a month takes what drawing a day does."""

from __future__ import annotations

import math
from array import array
from collections.abc import Collection, Iterator, Mapping

from ambient.messages import SignalScalar, SignalUpdate, SignalValue

#: One change of a signal: (seconds from the start, value or None, reason when unknown).
Change = tuple[float, SignalScalar | None, str | None]


#: A column keeps every change up to this many (four times the points a picture draws one for
#: one, ``envelope.EXACT_UP_TO_POINTS``); past it, what a picture can show of them. A number
#: here, so a replay that keeps no picture loads no envelope.
COMPACT_AT_CHANGES = 83_200


class SignalColumn:
    """One signal's changes, in time order, as three columns. Past ``compact_at`` changes
    (hours of beats) it keeps only what a timeline picture draws of them: the envelope of the
    numbers (:mod:`ambient.evaluate.envelope`) at the narrowest columns a picture of the
    changes so far can use, and every other change (unknown, not a number) exactly, with the
    ones on either side. So a month of beats takes what a few hours do, the line drawn is the
    line of every change, and the unknown stretches are the same to the second."""

    __slots__ = ("_compact_at", "_reasons", "_times_s", "_values", "width_s")

    def __init__(self, compact_at: int = COMPACT_AT_CHANGES) -> None:
        self._times_s = array("d")
        self._values: list[SignalScalar | None] = []
        self._reasons: list[str | None] = []
        self._compact_at = compact_at
        #: The columns' width (seconds) the numbers are reduced to; 0: every change is kept.
        self.width_s = 0.0

    def add(self, t_s: float, value: SignalScalar | None, reason: str | None) -> None:
        self._times_s.append(t_s)
        self._values.append(value)
        self._reasons.append(reason)
        if len(self._times_s) >= self._compact_at:
            self._compact()

    def _compact(self) -> None:
        """Keep the envelope of the changes so far. The next time is when the column is as
        full again, or holds twice what was kept when that is more (every gap is kept: a line
        with thousands of them is not compacted again and again for little)."""
        from ambient.evaluate.envelope import column_width_s, envelope_indices

        times_s, values, reasons = self._times_s, self._values, self._reasons
        width_s = max(self.width_s, column_width_s(times_s[-1]))
        kept = envelope_indices(times_s, [number(value) for value in values], width_s)
        self._times_s = array("d", [times_s[i] for i in kept])
        self._values = [values[i] for i in kept]
        self._reasons = [reasons[i] for i in kept]
        self.width_s = width_s
        self._compact_at = max(self._compact_at, 2 * len(kept))

    def changes(self) -> list[Change]:
        """The changes as tuples (made when asked: one signal's at a time)."""
        return list(self)

    def __iter__(self) -> Iterator[Change]:
        """The changes as tuples, one at a time."""
        return zip(self._times_s, self._values, self._reasons, strict=True)

    def __len__(self) -> int:
        return len(self._times_s)


def number(value: SignalScalar | None) -> float:
    """A value as the line draws it: a number, or NaN (a gap) when unknown or not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


class FirstPersonListener:
    """A signal listener for a replay that follows ``person`` (None: the first person to have
    an update, a recording being one person's), times counted from ``start``. Updates come in
    time order (a replay's clock only moves forward)."""

    def __init__(self, start: float, person: str | None = None) -> None:
        self.start = start
        self.person = person

    def __call__(self, update: SignalUpdate) -> None:
        person = self.person
        if person is None:
            self.person = person = update.person
        if update.person == person:
            self.add(update.time - self.start, update.values)

    def add(self, t_s: float, values: Mapping[str, SignalValue]) -> None:
        """Take one update of the person's, ``t_s`` seconds from the start."""
        raise NotImplementedError


#: The signals a timeline picture draws (:mod:`ambient.plot`'s panels): what a replay kept
#: for a picture keeps.
DRAWN_SIGNALS = ("hr", "rmssd", "stress_score")


class SignalChanges(FirstPersonListener):
    """Keeps the changes of one person's signals (the first's, or ``person``'s), in columns
    (each column, past hours of changes, what a picture draws of them); of ``signals`` only,
    when given."""

    def __init__(
        self, start: float, person: str | None = None, signals: Collection[str] | None = None
    ) -> None:
        super().__init__(start, person)
        self.signals: dict[str, SignalColumn] = {}
        self.kept = None if signals is None else frozenset(signals)

    def add(self, t_s: float, values: Mapping[str, SignalValue]) -> None:
        signals, kept = self.signals, self.kept
        for signal, value in values.items():
            if kept is not None and signal not in kept:
                continue
            column = signals.get(signal)
            if column is None:
                column = signals[signal] = SignalColumn()
            column.add(t_s, value.value, value.reason)
