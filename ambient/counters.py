"""Counts of what went wrong where (bad payloads per topic, bad packets per device, …).

Every bad input is counted by scope and reason, so ``ambient status`` and HA diagnostics can show
it; the daemon never stops for bad input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping


class Counters:
    """``increment("mqtt:zigbee2mqtt/alex_watch", "bad_json")`` and friends."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    def increment(self, scope: str, reason: str, amount: int = 1) -> None:
        self._counts.setdefault(scope, Counter())[reason] += amount

    def get(self, scope: str, reason: str) -> int:
        return self._counts.get(scope, Counter())[reason]

    def scope(self, scope: str) -> Mapping[str, int]:
        return dict(self._counts.get(scope, Counter()))

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {scope: dict(counts) for scope, counts in sorted(self._counts.items())}

    def total(self) -> int:
        return sum(sum(counts.values()) for counts in self._counts.values())
