"""``ambient simulate``: replay a recording through the configured rules on a virtual clock.

Nothing outside the process is touched: no devices, brokers or Home Assistant, no state file.
Actions are reported, not performed. The same recording gives the same output every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig
from ambient.config.sensors import RecordingSensorConfig
from ambient.daemon import Daemon, DaemonOptions
from ambient.labels import Labels, LabelsError, load_for_replay
from ambient.messages import SignalScalar, SignalUpdate, TraceRecord
from ambient.ports import Sensor
from ambient.recordings import Recording
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
    #: Every signal update of the replay, in time order (what evaluate and the plots read).
    signals: list[SignalUpdate] = field(default_factory=list)
    #: The labels a replayed recording carried in its own label rows, if any.
    labels: Labels | None = None
    #: Clock time of the last reading replayed.
    end: float = 0.0


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


def sensor_name(config: RecordingSensorConfig, index: int) -> str:
    """The name the replay's ``index``-th recording sensor goes by (its readings' source)."""
    return config.id or f"recording{index}"


def end_time(recordings: list[Recording], start: float) -> float:
    """The clock time of the last reading of the replay."""
    ends = [
        r.readings[-1].time + ((start if r.relative else 0.0) - r.origin_s)
        for r in recordings
        if r.readings
    ]
    return max(ends, default=start)


def start_time(recordings: list[Recording]) -> float:
    """The first absolute time among the recordings, else the fixed simulation epoch."""
    starts = [r.readings[0].time for r in recordings if r.readings and not r.relative]
    return min(starts) if starts else SIMULATION_EPOCH


async def simulate(
    config: AmbientConfig,
    recording: Path | None,
    states: Mapping[str, str] | None = None,
    keep_signals: bool = False,
) -> Simulation:
    """Every trace of the replay, in time order, and with ``keep_signals`` every signal
    update (a day of them is large: only pictures and evaluations ask). ``states`` are HA
    entity states (entity id -> state) the rules see from the start, as if HA had sent them."""
    configs = recording_configs(config, recording)
    recordings: list[Recording] = []
    labels: Labels | None = None
    # One relative recording starts at the simulation epoch: read it onto the clock there.
    # (Beside an absolute one it starts where that does, known only once both are read.)
    origin_s = SIMULATION_EPOCH if len(configs) == 1 else 0.0
    for index, sensor_config in enumerate(configs):
        people = {person.id for person in config.people} or None  # rows for others: reported
        name, person = sensor_name(sensor_config, index), sensor_config.person or "default"
        try:
            loaded, own_labels = load_for_replay(sensor_config.path, person, people, name, origin_s)
        except LabelsError as exc:
            raise SimulationError(str(exc)) from None
        recordings.append(loaded)
        labels = labels or own_labels
    result = await replay(config, configs, recordings, states or {}, keep_signals)
    result.labels = labels
    return result


async def replay(
    config: AmbientConfig,
    configs: list[RecordingSensorConfig],
    recordings: list[Recording],
    states: Mapping[str, str],
    keep_signals: bool = True,
) -> Simulation:
    """Replay recordings already read (one per sensor config) on a virtual clock."""
    start = start_time(recordings)
    clock = VirtualClock(start)
    sensors: list[Sensor] = [
        RecordingSensor(c, clock, name=sensor_name(c, i), recording=r)
        for i, (c, r) in enumerate(zip(configs, recordings, strict=True))
    ]
    traces: list[TraceRecord] = []
    signals: list[SignalUpdate] = []
    options = DaemonOptions(
        report_only=True,
        sensors=sensors,
        store_in_memory=True,
        trace_listeners=[traces.append],
        signal_listeners=[signals.append] if keep_signals else [],
        entity_states=dict(states),
        services=False,
    )
    with _loaded_frozen():
        await Daemon(config, clock, options).run()
    traces.sort(key=lambda record: record.time)
    signals.sort(key=lambda update: update.time)
    return Simulation(start, traces, signals, end=end_time(recordings, start))


@contextlib.contextmanager
def _loaded_frozen() -> Iterator[None]:
    """The replay with what is loaded so far (the recordings: an object per row) out of the
    cyclic collector's sight: the readings live through the whole replay and hold no
    cycles, and each of the collector's passes over the oldest objects walked them all again
    (a day of beats for 3 people: about 0.06 s). Put back when the replay ends; when the
    caller has frozen objects already, left as it is (``unfreeze`` would thaw those too)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def fill_placeholders(text: str, record: TraceRecord) -> str:
    """``{person}``, ``{rule}``, ``{event}``, ``{trigger}`` and the signals the rule saw filled
    in as a performed action would show them; any other braces are left as they are."""
    fields: dict[str, SignalScalar | None] = dict(record.signals)
    fields.update(
        rule=record.rule, person=record.person or "", event=record.event, trigger=record.trigger
    )

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fields:
            return match.group(0)
        found = fields[name]
        if found is None:
            return "unknown"
        return f"{found:.1f}" if isinstance(found, float) else str(found)

    return _PLACEHOLDER.sub(value, text)


def format_trace(record: TraceRecord, start: float, as_json: bool) -> str:
    """One timeline entry: a JSON object (``t, rule, event, reason, actions``) or text lines."""
    t = round(record.time - start, 3)
    actions = [fill_placeholders(a.detail, record) for a in record.actions]
    if as_json:
        row = {"t": t, "rule": record.rule, "event": record.event}
        row |= {"reason": record.reason, "actions": actions}
        return json.dumps(row)
    lines = [f"{clock_text(t)}  {record.rule:<24} {record.event:<11} {record.reason}"]
    lines.extend(f"{'':8}  -> {action}" for action in actions)
    return "\n".join(lines)


def run_simulate(
    config: AmbientConfig,
    recording: Path | None,
    as_json: bool,
    out: TextIO,
    states: Mapping[str, str] | None = None,
    plot_path: Path | None = None,
) -> int:
    """Print the timeline; with ``plot_path``, draw it too (exit 3 when matplotlib is missing,
    checked before the replay so nothing is half done)."""
    if plot_path is not None:
        from ambient.plot import require_matplotlib

        require_matplotlib()
    result = asyncio.run(simulate(config, recording, states, keep_signals=plot_path is not None))
    for record in result.traces:
        out.write(format_trace(record, result.start, as_json) + "\n")
    if plot_path is not None:
        from ambient.evaluate.timeline import build_timeline
        from ambient.plot import draw_timeline

        name = recording.stem if recording is not None else "simulation"
        draw_timeline(build_timeline(config, result, name, states or {}), plot_path)
    return 0


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
