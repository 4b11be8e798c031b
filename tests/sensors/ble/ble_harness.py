"""What the BLE scenarios share: the emulated air, a collecting sink, a running sensor."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from sensors.ble.bumble_backend import EmulatedAir

from ambient.clock import Clock
from ambient.config.sensors import BleSensorConfig
from ambient.counters import Counters
from ambient.readings import Reading
from ambient.sensors.ble import BleSensor

DATA = Path(__file__).resolve().parents[2] / "data"


def nn_series() -> list[int]:
    """The real 5-minute NN series (ms), from the project's copy in tests/data."""
    return [int(line) for line in (DATA / "nsrdb-nn-5min.txt").read_text().split()]


class CollectingSink:
    """A ``ReadingSink`` that keeps everything and lets a test wait for a condition."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self._changed = asyncio.Event()

    def put_nowait(self, reading: Reading) -> None:
        self.readings.append(reading)
        self._changed.set()
        self._changed = asyncio.Event()

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)

    def metric(self, metric: str, person: str | None = None) -> list[Reading]:
        return [
            r
            for r in self.readings
            if r.metric == metric and (person is None or r.person == person)
        ]

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not condition():
                await self._changed.wait()


def ble_config(**fields: Any) -> BleSensorConfig:
    """Test-speed defaults: a short watchdog and backoff so scenarios stay well under a second."""
    values: dict[str, Any] = {
        "type": "ble",
        "watchdog": 0.5,
        "backoff_initial": 0.02,
        "backoff_max": 0.2,
        "scan_timeout": 2.0,
    }
    values.update(fields)
    return BleSensorConfig.model_validate(values)


@pytest_asyncio.fixture
async def air() -> AsyncIterator[EmulatedAir]:
    yield EmulatedAir()


@contextlib.asynccontextmanager
async def running(
    config: BleSensorConfig,
    air: EmulatedAir,
    clock: Clock,
    sink: CollectingSink,
    counters: Counters | None = None,
) -> AsyncIterator[BleSensor]:
    """A ``BleSensor`` running against the emulated air; cancelled (and checked) on exit."""
    sensor = BleSensor(
        config, clock, counters or Counters(), backend=air.backend, rng=random.Random(5)
    )
    task = asyncio.create_task(sensor.run(sink))
    try:
        yield sensor
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
