"""``ambient simulate``: replay a recording through the configured rules on a virtual clock.

Nothing outside the process is touched: no devices, brokers or Home Assistant, no state file.
Actions are reported, not performed. The same recording gives the same output every time.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig
from ambient.config.sensors import RecordingSensorConfig
from ambient.daemon import Daemon, DaemonOptions
from ambient.messages import TraceRecord
from ambient.ports import Sensor
from ambient.recordings import Recording, load_recording
from ambient.sensors.recording import RecordingSensor

#: Relative recordings start here on the virtual clock: a Monday at 09:00 UTC, so time-of-day
#: conditions in a simulation are deterministic. Absolute recordings keep their own times.
SIMULATION_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp()


class SimulationError(Exception):
    pass


@dataclass
class Simulation:
    start: float
    traces: list[TraceRecord]


def recording_configs(config: AmbientConfig, recording: Path | None) -> list[RecordingSensorConfig]:
    """The recording given on the command line, or the config's own recording sensors."""
    if recording is not None:
        person = config.people[0].id if config.people else None
        return [
            RecordingSensorConfig(type="recording", id="recording", path=recording, person=person)
        ]
    configs = [s for s in config.sensors if isinstance(s, RecordingSensorConfig)]
    if not configs:
        raise SimulationError("no --recording given and the config has no `recording` sensor")
    return [c.model_copy(update={"loop": False}) for c in configs]


def start_time(recordings: list[Recording]) -> float:
    """The first absolute time among the recordings, else the fixed simulation epoch."""
    starts = [r.readings[0].time for r in recordings if r.readings and not r.relative]
    return min(starts) if starts else SIMULATION_EPOCH


async def simulate(config: AmbientConfig, recording: Path | None) -> Simulation:
    """Every trace of the replay, in time order."""
    configs = recording_configs(config, recording)
    recordings = [load_recording(c.path, c.person or "default") for c in configs]
    start = start_time(recordings)
    clock = VirtualClock(start)
    sensors: list[Sensor] = [
        RecordingSensor(c, clock, name=c.id or f"recording{i}", recording=r)
        for i, (c, r) in enumerate(zip(configs, recordings, strict=True))
    ]
    traces: list[TraceRecord] = []
    options = DaemonOptions(
        report_only=True,
        sensors=sensors,
        store_in_memory=True,
        trace_listeners=[traces.append],
        services=False,
    )
    await Daemon(config, clock, options).run()
    traces.sort(key=lambda record: record.time)
    return Simulation(start, traces)


def format_trace(record: TraceRecord, start: float, as_json: bool) -> str:
    """One timeline entry: a JSON object (``t, rule, event, reason, actions``) or text lines."""
    t = round(record.time - start, 3)
    actions = [a.detail for a in record.actions]
    if as_json:
        row = {"t": t, "rule": record.rule, "event": record.event}
        row |= {"reason": record.reason, "actions": actions}
        return json.dumps(row)
    lines = [f"{clock_text(t)}  {record.rule:<24} {record.event:<11} {record.reason}"]
    lines.extend(f"{'':8}  -> {action}" for action in actions)
    return "\n".join(lines)


def run_simulate(config: AmbientConfig, recording: Path | None, as_json: bool, out: TextIO) -> int:
    result = asyncio.run(simulate(config, recording))
    for record in result.traces:
        out.write(format_trace(record, result.start, as_json) + "\n")
    return 0


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
