"""Counts of what went wrong where (bad payloads per topic filter, bad packets per device, …).

Every bad input is counted by scope and reason, so ``ambient status`` and HA diagnostics can show
it; the daemon never stops for bad input. Scopes come from the config (a sensor's topic filter, a
device), but a bug or a hostile input must not grow memory: past ``MAX_SCOPES`` scopes, and past
``MAX_REASONS`` reasons in one scope, counts are aggregated under ``OVERFLOW``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Final

MAX_SCOPES: Final = 512
MAX_REASONS: Final = 64
#: Where counts go once the limits are reached (scope and reason name alike).
OVERFLOW: Final = "other"


class Counters:
    """``increment("mqtt:zigbee2mqtt/alex_watch", "bad_json")`` and friends."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    def increment(self, scope: str, reason: str, amount: int = 1) -> None:
        counts = self._counts.get(scope)
        if counts is None:
            if len(self._counts) >= MAX_SCOPES:
                scope = OVERFLOW
            counts = self._counts.setdefault(scope, Counter())
        if reason not in counts and len(counts) >= MAX_REASONS:
            reason = OVERFLOW
        counts[reason] += amount

    def get(self, scope: str, reason: str) -> int:
        return self._counts.get(scope, Counter())[reason]

    def scope(self, scope: str) -> Mapping[str, int]:
        return dict(self._counts.get(scope, Counter()))

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {scope: dict(counts) for scope, counts in sorted(self._counts.items())}

    def total(self) -> int:
        return sum(sum(counts.values()) for counts in self._counts.values())
