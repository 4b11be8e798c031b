"""Real counters a test can wait on: a sensor that drops something (a stale state, a device
not found, a scan that cannot start) gives no reading to wait for, only a count."""

from __future__ import annotations

import asyncio

from ambient.counters import Counters


class WatchedCounters(Counters):
    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def increment(self, scope: str, reason: str, amount: int = 1) -> None:
        super().increment(scope, reason, amount)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, scope: str, reason: str, count: int) -> None:
        """Return once ``scope``'s ``reason`` has been counted ``count`` times (a test that
        waits longer than 10 s has failed)."""
        async with asyncio.timeout(10):
            while self.get(scope, reason) < count:
                await self._changed.wait()
