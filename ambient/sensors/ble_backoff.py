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


class WarningBackoff:
    """When a problem goes on (a strap off for the night is `not seen advertising` at every
    search), its warning is said at once, then again ``first_s`` later, then twice that, and so
    on up to ``max_s``: a night is a dozen lines, not hundreds. ``reset`` (notifications flow
    again) brings the next wait back to ``first_s``, never below it: a link that keeps
    dropping is said about at most once per ``first_s``. Times are the caller's clock."""

    def __init__(self, first_s: float = 60.0, max_s: float = 3600.0) -> None:
        self.first_s = first_s
        self.max_s = max(max_s, first_s)
        self._said_at: dict[str, float] = {}
        self._next_at: dict[str, float] = {}
        self._wait_s: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str, now: float) -> int | None:
        """``None`` when ``key``'s warning is held back now; else how many were held back
        since the last one said (and the next is held back for longer)."""
        if now < self._next_at.get(key, now):
            self._held[key] = self._held.get(key, 0) + 1
            return None
        wait_s = self._wait_s.get(key, self.first_s)
        self._said_at[key] = now
        self._next_at[key] = now + wait_s
        self._wait_s[key] = min(wait_s * 2.0, self.max_s)
        return self._held.pop(key, 0)

    def reset(self) -> None:
        """The problems are over: a new one is said ``first_s`` after the last, at the most."""
        self._wait_s.clear()
        for key, said_at in self._said_at.items():
            self._next_at[key] = min(self._next_at[key], said_at + self.first_s)
