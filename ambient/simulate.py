"""``ambient simulate``: replay a recording through the configured rules on a virtual clock.

Nothing outside the process is touched: no devices, brokers or Home Assistant, no state file.
Actions are reported, not performed. The same recording gives the same output every time.

A recording in time order (as ``ambient record`` writes it) is read as it replays, a block of
rows at a time, so a month of beats takes about the memory an hour takes; one that is not is
found out at its first row out of order, and the replay starts again with the files read whole
and sorted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig
from ambient.config.root import FIRST_PERSON
from ambient.config.sensors import (
    DEFAULT_PERSON,
    RecordingSensorConfig,
    configured_beats,
    may_give,
)
from ambient.daemon import Daemon, DaemonOptions
from ambient.evaluate.changes import DRAWN_SIGNALS, SignalChanges
from ambient.labels import Labels, LabelsError, labels_of_stream, load_for_replay, open_for_replay
from ambient.logs import rule_and_person
from ambient.messages import SignalUpdate, TraceRecord
from ambient.recordings import (
    OutOfOrder,
    Recording,
    RecordingStream,
)
from ambient.sensors import factory
from ambient.sensors.recording import RecordingSensor

if TYPE_CHECKING:  # evaluate's scores: not loaded by a plain simulate
    from ambient.evaluate.tally import PeopleTally

_LOGGER = logging.getLogger(__name__)

#: Relative recordings start here on the virtual clock: a Monday at 09:00 UTC, so time-of-day
#: conditions in a simulation are deterministic. Absolute recordings keep their own times.
SIMULATION_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp()


class SimulationError(Exception):
    pass


@dataclass
class Simulation:
    start: float
    traces: list[TraceRecord]
    #: Every signal update of the replay, in time order (asked for with ``keep_signals``).
    signals: list[SignalUpdate] = field(default_factory=list)
    #: The first person's signal changes, kept compactly (``keep_changes``: what evaluate and
    #: the pictures read).
    changes: SignalChanges | None = None
    #: The labels a replayed recording carried in its own label rows, if any.
    labels: Labels | None = None
    #: Clock time of the last reading replayed.
    end: float = 0.0
    #: The daemon's counters at the end (scope -> reason -> count): readings dropped as late
    #: (``signals:<person>``), rows skipped, timers that failed.
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The recordings replayed whose rows do not name their person (no person column): their
    #: rows were their sensor's person's.
    unnamed_rows: list[Path] = field(default_factory=list)


def recording_configs(config: AmbientConfig, recording: Path | None) -> list[RecordingSensorConfig]:
    """The recording given on the command line, or the config's own recording sensors."""
    if recording is not None:
        return [replay_sensor(config, recording, config.first_person_id())]
    # each named as `run` names it (its id, else `recording<its place among the sensors>`)
    configs = [
        s.model_copy(update={"loop": False, "id": factory.sensor_name(s, index)})
        for index, s in enumerate(config.sensors)
        if isinstance(s, RecordingSensorConfig)
    ]
    if not configs:
        raise SimulationError("no --recording given and the config has no `recording` sensor")
    return configs


def whose_unnamed_rows(
    config: AmbientConfig, unnamed_rows: Sequence[Path], person: str | None, why: str
) -> str | None:
    """The line saying whose the rows of the recordings ``unnamed_rows`` (replayed: they had
    no person column) are taken as (``person``'s, ``why``), when the config has several people
    to choose from; None when it has one or none, or every recording named its rows' person."""
    if len(config.people) < 2 or person is None or not unnamed_rows:
        return None
    unnamed = [path.name for path in unnamed_rows]
    if len(unnamed) == 1:
        return f"{unnamed[0]} has no person column: its rows are taken as {person}'s ({why})"
    named = ", ".join(unnamed[:3]) + (f" and {len(unnamed) - 3} more" if len(unnamed) > 3 else "")
    return f"{named} have no person column: their rows are taken as {person}'s ({why})"


def replay_sensor(config: AmbientConfig, path: Path, person: str | None) -> RecordingSensorConfig:
    """The sensor that plays a file given on the command line, ``person``'s rows (and those
    without one): what the config's own heart sensors of that person say of their readings
    holds for it, so the file replays as ``run`` reads them. Its ``stale_after`` is the
    longest span of theirs (a watch's samples minutes apart count as long as live; a strap's
    beats, a second apart, are not changed by it), when one has its own; its ``beats`` the one
    kind their beats have (see ``configured_beats``)."""
    whose = person or DEFAULT_PERSON
    heart = [sensor for sensor in config.sensors if may_give(sensor, whose)]
    # a satellite's forwarded readings have no span of their own: they take the signals'
    own = [
        sensor.stale_after
        for sensor in heart
        if sensor.type != "satellite" and sensor.stale_after is not None
    ]
    stale_after = None
    if own:
        without_own = len(own) < len(heart)
        stale_after = max([*own, config.signals.stale_after] if without_own else own)
    return RecordingSensorConfig(
        type="recording",
        id="recording",
        path=path,
        person=person,
        stale_after=stale_after,
        beats=configured_beats(config.sensors, whose, config.person_ids()),
    )


def replay_config(config: AmbientConfig, configs: Sequence[RecordingSensorConfig]) -> AmbientConfig:
    """The config a replay runs: its recording sensors are the ones replayed, so their own
    ``stale_after`` and ``beats`` shape the signals as the config's own do in ``run`` (the
    other sensors stay, for what they say of the people's kinds of beats)."""
    kept = [sensor for sensor in config.sensors if sensor.type != "recording"]
    return config.model_copy(update={"sensors": [*kept, *configs]})


class Replayed(Protocol):
    """What the replay's clock needs of a recording, read whole or as it replays."""

    @property
    def relative(self) -> bool: ...
    @property
    def origin_s(self) -> float: ...
    @property
    def first_time_s(self) -> float | None: ...
    @property
    def last_time_s(self) -> float | None: ...


def end_time(recordings: Sequence[Replayed], start: float) -> float:
    """The clock time of the last reading of the replay."""
    ends = [
        r.last_time_s + ((start if r.relative else 0.0) - r.origin_s)
        for r in recordings
        if r.last_time_s is not None
    ]
    return max(ends, default=start)


def start_time(recordings: Sequence[Replayed]) -> float:
    """The first absolute time among the recordings, else the fixed simulation epoch."""
    starts = [r.first_time_s for r in recordings if r.first_time_s is not None and not r.relative]
    return min(starts) if starts else SIMULATION_EPOCH


async def simulate(
    config: AmbientConfig,
    recording: Path | None,
    states: Mapping[str, str] | None = None,
    keep_signals: bool = False,
    *,
    keep_changes: bool = False,
) -> Simulation:
    """Every trace of the replay, in time order, and with ``keep_signals`` every signal
    update (a day of them is large), with ``keep_changes`` the first person's signal changes
    (what pictures and evaluations read, in a third of the memory). ``states`` are HA entity
    states (entity id -> state) the rules see from the start, as if HA had sent them."""
    configs = recording_configs(config, recording)
    try:
        return await replay_files(
            config, configs, states or {}, keep_signals, keep_changes=keep_changes
        )
    except LabelsError as exc:
        raise SimulationError(str(exc)) from None


async def replay_files(
    config: AmbientConfig,
    configs: list[RecordingSensorConfig],
    states: Mapping[str, str],
    keep_signals: bool,
    *,
    keep_changes: bool = False,
    tally_unknown: PeopleTally | None = None,
    person: str | None = None,
) -> Simulation:
    """Replay the recordings of ``configs`` (with the labels their label rows give, a
    :class:`LabelsError` when those do not pair up), each read as it replays; when one turns
    out not to be in time order, again with each read whole. ``tally_unknown`` tallies the
    replay's unknown seconds (started afresh by each replay). The changes kept are
    ``person``'s (None: the first person with signals)."""
    kept = keep_signals, keep_changes, tally_unknown, person
    try:
        return await _replay_streamed(config, configs, states, *kept)
    except OutOfOrder as exc:
        for c in configs:
            exc.check_readable_again(c.path)
        _LOGGER.info(
            "%s:%d: a row earlier than the one before it: replaying again, the recording read "
            "whole and sorted",
            exc.path,
            exc.line,
        )
    return await _replay_whole(config, configs, states, *kept)


def _how_to_read(
    config: AmbientConfig, configs: list[RecordingSensorConfig]
) -> list[tuple[Path, str, set[str] | None, str, float]]:
    """Per recording, what reading it for the replay takes: its path, the person of rows
    without one, the people whose rows count (others' are reported), the replaying sensor's
    name, and where relative times start."""
    people = {person.id for person in config.people} or None
    origin_s = _origin_s(configs)
    return [
        (c.path, c.person or "default", people, factory.sensor_name(c, index), origin_s)
        for index, c in enumerate(configs)
    ]


def _origin_s(configs: list[RecordingSensorConfig]) -> float:
    """Where relative times are read onto the clock: one relative recording starts at the
    simulation epoch. (Beside an absolute one it starts where that does, known only once both
    are open: read at 0, the sensor moves it.)"""
    return SIMULATION_EPOCH if len(configs) == 1 else 0.0


async def _replay_streamed(
    config: AmbientConfig,
    configs: list[RecordingSensorConfig],
    states: Mapping[str, str],
    keep_signals: bool,
    keep_changes: bool,
    tally_unknown: PeopleTally | None,
    person: str | None,
) -> Simulation:
    """The replay with each recording read as it replays; :class:`OutOfOrder` when one is
    not in time order (a row out of order ends the replay there)."""
    with contextlib.ExitStack() as open_files:
        streams = [
            open_files.enter_context(open_for_replay(*how)) for how in _how_to_read(config, configs)
        ]
        result = await replay(
            config, configs, streams, states, keep_signals, keep_changes, tally_unknown, person
        )
    labels = [labels_of_stream(s, str(c.path)) for s, c in zip(streams, configs, strict=True)]
    result.labels = next((found for found in labels if found is not None), None)
    return result


async def _replay_whole(
    config: AmbientConfig,
    configs: list[RecordingSensorConfig],
    states: Mapping[str, str],
    keep_signals: bool,
    keep_changes: bool,
    tally_unknown: PeopleTally | None,
    person: str | None,
) -> Simulation:
    """The replay with each recording read whole (sorted) first."""
    recordings: list[Recording] = []
    labels: Labels | None = None
    for how in _how_to_read(config, configs):
        loaded, own_labels = load_for_replay(*how)
        recordings.append(loaded)
        labels = labels or own_labels
    result = await replay(
        config, configs, recordings, states, keep_signals, keep_changes, tally_unknown, person
    )
    result.labels = labels
    return result


async def replay(
    config: AmbientConfig,
    configs: list[RecordingSensorConfig],
    recordings: Sequence[Recording | RecordingStream],
    states: Mapping[str, str],
    keep_signals: bool = True,
    keep_changes: bool = False,
    tally_unknown: PeopleTally | None = None,
    person: str | None = None,
) -> Simulation:
    """Replay recordings already read or opened (one per sensor config) on a virtual clock.
    A recording opened to be read as it replays that turns out not to be replayable so ends
    the replay there: :class:`OutOfOrder`, or the :class:`RecordingError` it met."""
    start = start_time(recordings)
    clock = VirtualClock(start)
    sensors = [
        RecordingSensor(c, clock, name=factory.sensor_name(c, i), recording=r)
        for i, (c, r) in enumerate(zip(configs, recordings, strict=True))
    ]
    traces: list[TraceRecord] = []
    signals: list[SignalUpdate] = []
    changes = SignalChanges(start, person, DRAWN_SIGNALS) if keep_changes else None
    listeners: list[Callable[[SignalUpdate], None]] = [signals.append] if keep_signals else []
    if changes is not None:
        listeners.append(changes)
    if tally_unknown is not None:
        tally_unknown.start_at(start)
        listeners.append(tally_unknown)
    options = DaemonOptions(
        report_only=True,
        sensors=[*sensors],
        store_in_memory=True,
        trace_listeners=[traces.append],
        signal_listeners=listeners,
        entity_states=dict(states),
        services=False,
    )
    daemon = Daemon(replay_config(config, configs), clock, options)
    for sensor in sensors:
        sensor.on_failure = daemon.request_stop
    with _loaded_frozen():
        await daemon.run()
    failure = next((s.failure for s in sensors if s.failure is not None), None)
    if failure is not None:
        raise failure
    traces.sort(key=lambda record: record.time)
    signals.sort(key=lambda update: update.time)
    end = end_time(recordings, start)
    counters = daemon.counters.snapshot()
    unnamed = [c.path for c, r in zip(configs, recordings, strict=True) if not r.names_person]
    return Simulation(
        start, traces, signals, changes=changes, end=end, counters=counters, unnamed_rows=unnamed
    )


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


def format_trace(record: TraceRecord, start: float, as_json: bool) -> str:
    """One timeline entry: a JSON object (``t, rule, event, reason, actions, person``) or text
    lines (the rule named with whose entry it is: ``calm (sam)``)."""
    t = round(record.time - start, 3)
    actions = [action.detail for action in record.actions]  # as the dispatcher filled them
    if as_json:
        row = {"t": t, "rule": record.rule, "event": record.event}
        row |= {"reason": record.reason, "actions": actions, "person": record.person}
        return json.dumps(row)
    rule = rule_and_person(record)
    lines = [f"{clock_text(t)}  {rule:<24} {record.event:<11} {record.reason}"]
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
    result = asyncio.run(simulate(config, recording, states, keep_changes=plot_path is not None))
    if recording is not None:
        first = config.first_person_id()
        whose = whose_unnamed_rows(config, result.unnamed_rows, first, FIRST_PERSON)
        if whose is not None:
            print(f"ambient simulate: {whose}", file=sys.stderr)
    for record in result.traces:
        out.write(format_trace(record, result.start, as_json) + "\n")
    if not result.traces and not as_json:
        # An empty timeline is an answer, not a replay that did nothing: say so.
        print(f"ambient simulate: {quiet_replay_text(config, result)}", file=sys.stderr)
    if plot_path is not None:
        from ambient.evaluate.timeline import build_timeline
        from ambient.plot import draw_timeline

        name = recording.stem if recording is not None else "simulation"
        draw_timeline(build_timeline(config, result, name, states or {}), plot_path)
    return 0


def quiet_replay_text(config: AmbientConfig, result: Simulation) -> str:
    """Why the timeline is empty: no rule to decide, or none fired in the time replayed."""
    if not config.rules:
        return "the config has no rules, so there is nothing to decide"
    ids = ", ".join(rule.id for rule in config.rules)
    replayed = clock_text(max(0.0, result.end - result.start))
    return f"no rule fired, was suppressed or recovered in {replayed} of recording (rules: {ids})"


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
