"""A daemon that records (``ambient record``) only reads: no rule decides, not even one that
needs no reading (a time of day), so nothing is performed or reported beside a running daemon."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig
from ambient.daemon import Daemon, DaemonOptions
from ambient.messages import TraceRecord
from ambient.ports import ReadingSink
from ambient.readings import Reading

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp()
CONFIG = {
    "timezone": "UTC",
    "people": [{"id": "alex"}],
    "rules": [
        {
            "id": "half_past",
            "triggers": [{"trigger": "time", "at": "09:30"}],
            "actions": [{"action": "log", "message": "half past nine"}],
        }
    ],
    "store": {"path": None},
}


class OneHour:
    """A sensor that sends a heart rate at the start and finishes an hour later."""

    name = "an hour"

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock

    async def run(self, sink: ReadingSink) -> None:
        await sink.put(Reading(self.clock.now(), "alex", "hr", 60.0, self.name))
        await self.clock.reach(START + 3600)

    def diagnostics(self) -> Mapping[str, Any]:
        return {"name": self.name}


class Kept:
    """Where the recorder writes: the readings, kept."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []

    def write(self, reading: Reading) -> None:
        self.readings.append(reading)


async def test_a_time_of_day_passing_while_recording_fires_no_rule() -> None:
    clock = VirtualClock(START)
    traces: list[TraceRecord] = []
    written = Kept()
    options = DaemonOptions(
        sensors=[OneHour(clock)],
        store_in_memory=True,
        services=False,
        record_to=written,  # type: ignore[arg-type]  # a writer that keeps what it is given
        trace_listeners=[traces.append],
    )
    await Daemon(AmbientConfig.model_validate(CONFIG), clock, options).run()
    assert clock.now() >= START + 3600  # 09:30 went by
    assert [r.value for r in written.readings] == [60.0]
    assert traces == []
