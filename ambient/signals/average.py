"""An exponential average over time, for readings at any times: O(1) per reading."""

from __future__ import annotations

import math


class ExponentialAverage:
    """An average over about ``time_constant_s`` (0: no averaging, the latest value).

    ``start`` is the value before the first reading (None: the first reading itself), so an
    average of movement can start from stillness.
    """

    def __init__(self, time_constant_s: float, start: float | None = None) -> None:
        self.time_constant_s = time_constant_s
        self.start = start
        self.value: float | None = None
        self._time = 0.0

    def add(self, time: float, value: float) -> float:
        """Take the reading at ``time``; return the average with it."""
        previous = self.value
        if previous is None:
            if self.start is None or self.time_constant_s <= 0:
                self.value, self._time = value, time
                return value
            previous, self._time = self.start, time - 1.0
        if self.time_constant_s <= 0:
            previous = value
        elif time > self._time:
            weight = 1.0 - math.exp(-(time - self._time) / self.time_constant_s)
            previous += weight * (value - previous)
        if time > self._time:  # `max`, written out (at every update)
            self._time = time
        self.value = previous
        return previous

    @property
    def last_time(self) -> float:
        """The latest reading's time (the start's, a second before the first, until then)."""
        return self._time

    def reset(self) -> None:
        """Forget the readings so far: the next one starts afresh."""
        self.value = None
