"""The recording sensor on a virtual clock: every reading at its own time, in order, with the
clock's timers firing between them, across the runs the replay hands over at once; a recording
read as it replays is read block by block, and a row out of order ends that replay."""

from __future__ import annotations

from pathlib import Path

from ambient.clock import VirtualClock
from ambient.config.sensors import RecordingSensorConfig
from ambient.pipeline import DirectSink
from ambient.readings import Reading
from ambient.recordings import OutOfOrder, Recording, RecordingStream
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
    assert sensor.diagnostics()["last_reading_age_s"] == 0.0


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
