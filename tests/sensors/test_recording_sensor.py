"""The recording sensor on a virtual clock: every reading at its own time, in order, with the
clock's timers firing between them, across the runs the replay hands over at once; a recording
read as it replays is read block by block, and a row out of order ends that replay. Live
(``ambient run``): the file is played as it is read, in bounded memory, opened again for each
pass of ``loop``; one out of order is played sorted, skipped rows are logged once, and a file
that cannot play fails before any reading goes out."""

from __future__ import annotations

import asyncio
import logging
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from ambient.clock import VirtualClock
from ambient.config.sensors import RecordingSensorConfig
from ambient.pipeline import DirectSink
from ambient.readings import Reading
from ambient.recordings import OutOfOrder, Recording, RecordingError, RecordingStream
from ambient.sensors.recording import RecordingSensor

START = 1_700_000_000.0


async def test_a_virtual_replay_delivers_each_reading_at_its_time_between_the_timers() -> None:
    readings = [Reading(0.8 * k, "alex", "rr", 800.0, "file") for k in range(1, 301)]
    config = RecordingSensorConfig(type="recording", id="r", path=Path("day.csv"), loop=False)
    clock = VirtualClock(START)
    sensor = RecordingSensor(config, clock, name="r", recording=Recording(readings, True, []))
    seen: list[tuple[str, float, float]] = []  # what, its time, the clock's time

    def timer(at: float) -> None:
        seen.append(("timer", at, clock.now()))
        if at + 7.0 < START + 240.0:
            clock.call_at(at + 7.0, lambda: timer(at + 7.0))  # set by a timer, mid-replay

    clock.call_at(START + 3.0, lambda: timer(START + 3.0))
    sink = DirectSink(lambda r: seen.append(("reading", r.time, clock.now())))

    await sensor.run(sink)

    delivered = [(t, now) for what, t, now in seen if what == "reading"]
    assert [t for t, _ in delivered] == [START + r.time for r in readings]
    assert all(t == now for t, now in delivered)  # the clock shows the reading's own time
    fired = [t for what, t, now in seen if what == "timer"]
    assert fired == [START + 3.0 + 7.0 * k for k in range(34)]
    assert [t for _, t, _ in seen] == sorted(t for _, t, _ in seen)  # timers in between
    assert sensor.diagnostics()["replayed"] == len(readings)
    # The age of the last reading is the daemon's, from what the pipeline saw: one number.
    assert "last_reading_age_s" not in sensor.diagnostics()


async def test_readings_read_onto_the_clock_as_this_sensor_are_handed_over_as_they_are() -> None:
    readings = [Reading(START + 0.8 * k, "alex", "rr", 800.0, "r") for k in range(1, 201)]
    config = RecordingSensorConfig(type="recording", id="r", path=Path("day.csv"), loop=False)
    placed = Recording(readings, True, [], origin_s=START, source="r")
    delivered: list[Reading] = []

    await RecordingSensor(config, VirtualClock(START), name="r", recording=placed).run(
        DirectSink(delivered.append)
    )
    assert all(got is made for got, made in zip(delivered, readings, strict=True))

    renamed: list[Reading] = []  # another sensor's name: moved (by nothing) and renamed
    await RecordingSensor(config, VirtualClock(START), name="s", recording=placed).run(
        DirectSink(renamed.append)
    )
    assert [(r.time, r.source) for r in renamed] == [(r.time, "s") for r in readings]


class TurningSink:
    """A sink whose ``put`` gives the loop a turn before it takes the reading."""

    def __init__(self, handler: Callable[[Reading], None]) -> None:
        self.put_nowait = handler

    async def put(self, reading: Reading) -> None:
        await asyncio.sleep(0)
        self.put_nowait(reading)


@pytest.mark.parametrize("make_sink", [DirectSink, TurningSink])
async def test_two_replays_on_one_clock_deliver_every_reading_at_its_own_time(
    make_sink: Callable[[Callable[[Reading], None]], DirectSink | TurningSink],
) -> None:
    """A strap (HR each second) and a watch (HR each 5 s) replayed for one person, started
    together as the daemon starts its sensors: their readings meet in time order, each at its
    own time on the clock, as a live daemon receives them (not a run of one's, then the
    other's, behind the clock); handed over a run at a time or one by one."""
    clock = VirtualClock(START)
    strap = [Reading(START + k, "alex", "hr", 60.0, "file") for k in range(1, 1201)]
    watch = [Reading(START + 5.0 * k + 0.5, "alex", "hr", 70.0, "file") for k in range(240)]
    sensors = [
        RecordingSensor(
            RecordingSensorConfig(type="recording", id=name, path=Path(f"{name}.csv")),
            clock,
            name=name,
            recording=Recording(readings, False, [], origin_s=0.0),
        )
        for name, readings in (("strap", strap), ("watch", watch))
    ]
    seen: list[tuple[str, float, float]] = []  # sensor, reading's time, the clock's time

    def tick() -> None:  # the daemon's timers, between the readings
        clock.call_later(15.0, tick)

    clock.call_later(15.0, tick)
    sink = make_sink(lambda r: seen.append((r.source, r.time, clock.now())))

    await asyncio.gather(*[asyncio.create_task(sensor.run(sink)) for sensor in sensors])

    assert [t for _, t, _ in seen] == sorted(r.time for r in strap + watch)
    assert all(t == now for _, t, now in seen)
    assert [s.diagnostics()["replayed"] for s in sensors] == [len(strap), len(watch)]


def write_beats(path: Path, count: int) -> None:
    rows = "".join(f"{0.8 * k:.1f},rr,800,alex\n" for k in range(1, count + 1))
    path.write_text("t,metric,value,person\n" + rows)


async def test_a_recording_read_as_it_replays_is_read_while_the_readings_go_out(
    tmp_path: Path,
) -> None:
    """Rows added to the file once the first reading is out are replayed too: the sensor hands
    over each block as it is read, never the file read whole first."""
    path = tmp_path / "day.csv"
    write_beats(path, 10_000)
    config = RecordingSensorConfig(type="recording", id="r", path=path, loop=False)
    delivered: list[Reading] = []

    def deliver(reading: Reading) -> None:
        if not delivered:
            with path.open("a") as more:
                more.write("8000.8,rr,810,alex\n")
        delivered.append(reading)

    with RecordingStream(path, source="r", relative_origin_s=START) as stream:
        sensor = RecordingSensor(config, VirtualClock(START), name="r", recording=stream)
        await sensor.run(DirectSink(deliver))
    assert len(delivered) == 10_001
    assert (delivered[-1].time, delivered[-1].value) == (START + 8000.8, 810.0)
    assert sensor.failure is None
    assert sensor.diagnostics()["replayed"] == sensor.diagnostics()["total"] == 10_001


async def test_a_row_out_of_order_ends_the_replay_there_and_is_told(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    write_beats(path, 10_000)
    with path.open("a") as more:
        more.write("5.0,rr,800,alex\n")  # line 10,002, earlier than every row but the first few
    config = RecordingSensorConfig(type="recording", id="r", path=path, loop=False)
    told: list[bool] = []
    delivered: list[Reading] = []
    with RecordingStream(path, source="r", relative_origin_s=START) as stream:
        sensor = RecordingSensor(
            config,
            VirtualClock(START),
            name="r",
            recording=stream,
            on_failure=lambda: told.append(True),
        )
        await sensor.run(DirectSink(delivered.append))
    assert isinstance(sensor.failure, OutOfOrder)
    assert sensor.failure.line == 10_002
    assert told == [True]
    times = [r.time for r in delivered]
    assert times and times == sorted(set(times))  # the row out of order never went out


class InstantLiveClock(VirtualClock):
    """Stand-in for the wall clock: not virtual, so the sensor plays its file as ``ambient
    run`` does, but each wait for a reading's time ends at once (no test waits real time)."""

    virtual = False

    async def sleep_until(self, when: float) -> None:
        self.advance_to(when)


class Passes(Exception):
    """Ends a looping replay once the readings wanted are out."""


class Collected:
    """A sink keeping what it is given, ending the replay after ``wanted`` readings."""

    def __init__(self, wanted: int | None = None, on_first: Callable[[], object] | None = None):
        self.readings: list[Reading] = []
        self.wanted, self.on_first = wanted, on_first

    def put_nowait(self, reading: Reading) -> None:
        if not self.readings and self.on_first is not None:
            self.on_first()
        self.readings.append(reading)
        if self.wanted is not None and len(self.readings) >= self.wanted:
            raise Passes

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)


def live_sensor(path: Path, loop: bool = False) -> RecordingSensor:
    config = RecordingSensorConfig(type="recording", id="r", path=path, person="alex", loop=loop)
    return RecordingSensor(config, InstantLiveClock(START), name="r")


def appending(path: Path, row: str) -> Callable[[], None]:
    """Adds ``row`` to the file at ``path`` when called (as the first reading goes out)."""

    def append() -> None:
        with path.open("a") as more:
            more.write(row + "\n")

    return append


async def test_live_a_recording_is_played_as_it_is_read(tmp_path: Path) -> None:
    """A row added once the first reading is out is played too: the file is read as it
    plays, not held whole from the start."""
    path = tmp_path / "day.csv"
    write_beats(path, 5_000)

    sink = Collected(on_first=appending(path, "4000.8,rr,810,alex"))
    await live_sensor(path).run(sink)
    assert len(sink.readings) == 5_001
    assert [(r.time, r.source) for r in sink.readings[:2]] == [
        (START + 0.8, "r"),
        (START + 1.6, "r"),
    ]
    assert (sink.readings[-1].time, sink.readings[-1].value) == (START + 4000.8, 810.0)


async def test_live_a_long_recording_never_sits_in_memory(tmp_path: Path) -> None:
    """50,000 beats (a reading each, ~100 bytes) played with under a megabyte at the peak."""
    path = tmp_path / "long.csv"
    write_beats(path, 50_000)
    played = 0

    class Counted(Collected):
        def put_nowait(self, reading: Reading) -> None:
            nonlocal played
            played += 1

    tracemalloc.start()
    try:
        await live_sensor(path).run(Counted())
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert played == 50_000
    assert peak_bytes < 1_000_000


async def test_live_with_loop_the_file_is_opened_again_for_each_pass(tmp_path: Path) -> None:
    """A file put in the recording's place during a pass is what the next passes play."""
    path = tmp_path / "short.csv"
    write_beats(path, 3)
    replacement = tmp_path / "replacement.csv"
    replacement.write_text(
        "t,metric,value,person\n" + "".join(f"{t},rr,700,alex\n" for t in (1, 2, 3, 4))
    )
    sink = Collected(wanted=3 + 4 + 4, on_first=lambda: replacement.replace(path))
    sensor = live_sensor(path, loop=True)
    with pytest.raises(Passes):
        await sensor.run(sink)
    assert [r.value for r in sink.readings] == [800.0] * 3 + [700.0] * 8
    # each pass starts where the clock is when the one before ends
    times = [r.time - START for r in sink.readings]
    assert times == pytest.approx([0.8, 1.6, 2.4, 3.4, 4.4, 5.4, 6.4, 7.4, 8.4, 9.4, 10.4])
    assert sensor.diagnostics()["total"] == 4


async def test_live_a_recording_out_of_order_is_played_sorted_as_before(tmp_path: Path) -> None:
    path = tmp_path / "unsorted.csv"
    path.write_text("t,metric,value,person\n0.8,rr,800,alex\n2.4,rr,820,alex\n1.6,rr,810,alex\n")
    sink = Collected()
    await live_sensor(path).run(sink)
    assert [r.value for r in sink.readings] == [800.0, 810.0, 820.0]
    assert [r.time - START for r in sink.readings] == pytest.approx([0.8, 1.6, 2.4])


async def test_live_skipped_rows_are_logged_once_across_passes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("t,metric,value,person\n0.8,rr,800,alex\n1.6,rr,oops,alex\n2.4,rr,820,alex\n")
    sink = Collected(wanted=6)
    with caplog.at_level(logging.WARNING), pytest.raises(Passes):
        await live_sensor(path, loop=True).run(sink)
    skipped = [r.getMessage() for r in caplog.records if "Skipped" in r.getMessage()]
    assert len(skipped) == 1 and f"{path}:3: " in skipped[0]


async def test_live_a_recording_that_cannot_play_fails_before_any_reading(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("t,metric,value\n0,hr,61\n1796444728,hr,62\n")
    sink = Collected()
    with pytest.raises(RecordingError, match=r"mixes relative and absolute times \(line 2"):
        await live_sensor(path).run(sink)
    assert sink.readings == []
    with pytest.raises(RecordingError, match="cannot read"):
        await live_sensor(tmp_path / "missing.csv").run(sink)


async def test_live_a_file_put_out_of_order_while_it_plays_ends_that_pass_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its read-through found it in order; a row out of order met while playing ends the pass
    there (a warning) instead of playing the file again from its start: no reading goes out
    twice."""
    path = tmp_path / "day.csv"
    write_beats(path, 5_000)

    sink = Collected(on_first=appending(path, "1.0,rr,810,alex"))  # earlier than all
    with caplog.at_level(logging.WARNING):
        await live_sensor(path).run(sink)
    times = [r.time for r in sink.readings]
    assert times and times == sorted(set(times))  # the pass ends in its last block
    assert 810.0 not in {r.value for r in sink.readings}
    assert any("changed while it played: pass ended" in r.getMessage() for r in caplog.records)
