"""The numeric core of a signal trigger: when a value is inside the range, when it has cleared
(past the hysteresis), and which triggers a value change can affect at all.

Hysteresis keeps ``above`` exact: ``above: 70, hysteresis: 10`` enters above 70 and clears at
60 or below (HA's threshold helper would instead widen both sides, to 75 / 65). With no
hysteresis, entering and clearing are exactly HA's numeric_state: strictly above / below.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


def inside(value: float, above: float | None, below: float | None) -> bool:
    return (above is None or value > above) and (below is None or value < below)


def cleared(value: float, above: float | None, below: float | None, hysteresis: float) -> bool:
    return (above is not None and value <= above - hysteresis) or (
        below is not None and value >= below + hysteresis
    )


@dataclass(slots=True)
class BoundaryIndex(Generic[T]):
    """Slots of one signal sorted by the values where their state can change, so an update
    that moves a value from ``old`` to ``new`` visits only the slots with a boundary between
    them (most updates visit none). Slots with thresholds read from HA entities are always
    visited."""

    points: list[float] = field(default_factory=list)
    at_point: list[T] = field(default_factory=list)
    dynamic: list[T] = field(default_factory=list)
    every: list[T] = field(default_factory=list)

    def add(self, slot: T, boundaries: list[float] | None) -> None:
        self.every.append(slot)
        if boundaries is None:
            self.dynamic.append(slot)
            return
        for point in boundaries:
            position = bisect_right(self.points, point)
            self.points.insert(position, point)
            self.at_point.insert(position, slot)

    def crossed(self, old: float, new: float) -> list[T]:
        low, high = (old, new) if old <= new else (new, old)
        start = bisect_left(self.points, low)
        end = bisect_right(self.points, high)
        if start == end:
            return self.dynamic
        hit = self.at_point[start:end]
        if len(hit) > 1:
            hit = list(dict.fromkeys(hit))
        return hit + self.dynamic if self.dynamic else hit


def boundaries(
    above: float | str | None, below: float | str | None, hysteresis: float
) -> list[float] | None:
    """Values at which the trigger's state may change; None when a threshold is an entity."""
    if isinstance(above, str) or isinstance(below, str):
        return None
    points: list[float] = []
    if above is not None:
        points += [above, above - hysteresis]
    if below is not None:
        points += [below, below + hysteresis]
    return points
