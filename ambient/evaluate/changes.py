"""A replay's signal updates kept as a timeline needs them: each change of one person's signals,
in columns. Kept whole, a ``SignalUpdate`` (its dict, a ``SignalValue`` per signal) takes
125 bytes or more per change; a change here takes ~50, so evaluating or drawing days of beats
takes a third of the memory it took."""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterator, Mapping

from ambient.messages import SignalScalar, SignalUpdate, SignalValue

#: One change of a signal: (seconds from the start, value or None, reason when unknown).
Change = tuple[float, SignalScalar | None, str | None]


class SignalColumn:
    """One signal's changes, in time order, as three columns."""

    __slots__ = ("_reasons", "_times_s", "_values")

    def __init__(self) -> None:
        self._times_s = array("d")
        self._values: list[SignalScalar | None] = []
        self._reasons: list[str | None] = []

    def add(self, t_s: float, value: SignalScalar | None, reason: str | None) -> None:
        self._times_s.append(t_s)
        self._values.append(value)
        self._reasons.append(reason)

    def changes(self) -> list[Change]:
        """The changes as tuples (made when asked: one signal's at a time)."""
        return list(self)

    def __iter__(self) -> Iterator[Change]:
        """The changes as tuples, one at a time."""
        return zip(self._times_s, self._values, self._reasons, strict=True)

    def __len__(self) -> int:
        return len(self._times_s)


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
    """Keeps every change of one person's signals (the first's, or ``person``'s), in columns;
    of ``signals`` only, when given."""

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
