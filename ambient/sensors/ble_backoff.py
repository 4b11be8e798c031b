"""Exponential backoff with jitter between connection attempts."""

from __future__ import annotations

import random


class Backoff:
    """Waits ``initial_s * 2**n`` (capped at ``max_s``), each scaled by a random 50-100 %.

    The jitter keeps several straps (and several Pis) from retrying in lock-step; the lower
    bound keeps a flapping link from being retried in a tight loop. Only ``reset`` (called once
    notifications flow again) brings the wait back to ``initial_s``.
    """

    def __init__(self, initial_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.initial_s = initial_s
        self.max_s = max(max_s, initial_s)
        self._rng = rng or random.Random()
        self.failures = 0

    def ceiling_s(self) -> float:
        """The longest the next wait can be."""
        return min(self.max_s, self.initial_s * 2.0 ** min(self.failures, 62))

    def next_delay_s(self) -> float:
        delay = self.ceiling_s() * self._rng.uniform(0.5, 1.0)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
