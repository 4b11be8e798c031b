"""The recording sensor on a virtual clock: every reading at its own time, in order, with the
clock's timers firing between them, across the runs the replay hands over at once."""

from __future__ import annotations

from pathlib import Path

from ambient.clock import VirtualClock
from ambient.config.sensors import RecordingSensorConfig
from ambient.pipeline import DirectSink
from ambient.readings import Reading
from ambient.recordings import Recording
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
