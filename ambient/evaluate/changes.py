"""A replay's signal updates kept as a timeline needs them: each change of one person's signals,
in columns. Kept whole, a ``SignalUpdate`` (its dict, a ``SignalValue`` per signal) takes
125 bytes or more per change; a change here takes ~50, so evaluating or drawing days of beats
takes a third of the memory it took."""

from __future__ import annotations

from array import array

from ambient.messages import SignalScalar, SignalUpdate

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
        return list(zip(self._times_s, self._values, self._reasons, strict=True))


class SignalChanges:
    """A signal listener for a replay: keeps every change of the first person to have an
    update (a recording is one person's), its time counted from ``start``. Updates come in
    time order (a replay's clock only moves forward)."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.person: str | None = None
        self.signals: dict[str, SignalColumn] = {}

    def __call__(self, update: SignalUpdate) -> None:
        person = self.person
        if person is None:
            self.person = person = update.person
        if update.person != person:
            return
        t_s = update.time - self.start
        signals = self.signals
        for signal, value in update.values.items():
            column = signals.get(signal)
            if column is None:
                column = signals[signal] = SignalColumn()
            column.add(t_s, value.value, value.reason)
