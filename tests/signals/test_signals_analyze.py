"""`ambient analyze`: HRV per window of a recording, as a table or JSON lines; a long recording
is summed up window by window as it is read, and one out of time order is read whole."""

from __future__ import annotations

import io
import json
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from signals.signals_helpers import DEMO, load_nn, timed

from ambient.config.signals import SignalsConfig
from ambient.readings import Reading
from ambient.signals.analyze import analyze, run_analyze


def test_one_row_per_window_with_the_documented_fields() -> None:
    readings = [Reading(t, "alex", "rr", rr, "t") for t, rr in timed(load_nn("5min"))]
    rows = list(analyze(readings, 60.0, SignalsConfig()))
    assert len(rows) == 5
    assert set(rows[0]) == {"t", "hr", "rmssd", "ln_rmssd", "sdnn", "pnn50", "quality", "corrected"}
    assert [row["t"] for row in rows] == pytest.approx([0, 60, 120, 180, 240])
    assert all(float(str(row["corrected"])) < 0.05 for row in rows)


def test_several_people_are_told_apart() -> None:
    beats = timed(load_nn("5min")[:150])
    readings = [Reading(t, p, "rr", rr, "t") for t, rr in beats for p in ("alex", "sam")]
    rows = list(analyze(readings, 60.0, SignalsConfig()))
    assert {row["person"] for row in rows} == {"alex", "sam"}


def test_the_demo_episode_shows_in_the_json_lines() -> None:
    out = io.StringIO()
    assert run_analyze(DEMO, 300.0, True, out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    by_start = {round(row["t"]): row for row in rows}
    assert by_start[1800]["rmssd"] < 25 < by_start[1500]["rmssd"]
    assert by_start[1800]["hr"] > 90


def test_the_table_marks_unknown_values(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(
        "t,metric,value,person\n" + "".join(f"{i * 0.8:.1f},rr,800,alex\n" for i in range(1, 20))
    )
    out = io.StringIO()
    run_analyze(path, 60.0, False, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["t", "hr", "rmssd"]
    assert lines[1].split()[2] == "-"  # 15 s of beats in a 60 s window: quality too low


def beats(count: int) -> Iterator[Reading]:
    """``count`` beats for alex with some variability, made as they are taken."""
    rng = random.Random(5)
    t = 0.0
    for _ in range(count):
        rr = 850 + 40 * rng.gauss(0, 1)
        t += rr / 1000
        yield Reading(t, "alex", "rr", round(rr), "t")


def traced_peak_of_analysing(count: int) -> int:
    """The most memory Python held at once while ``count`` beats were analysed in hour-long
    windows (a handful of rows: what is left is what the beats themselves take)."""
    tracemalloc.start()
    try:
        rows = list(analyze(beats(count), 3600.0, SignalsConfig()))
        assert rows
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_memory_analysing_takes_does_not_grow_with_the_beats() -> None:
    """Both runs span several hour-long windows and follow a first run: the first window
    closed in a process leaves tuples in the interpreter's free lists (a beat is a plain
    tuple), which is no growth with the beats; 5,000 beats, not past the first window, did
    not hold them."""
    traced_peak_of_analysing(10_000)
    assert traced_peak_of_analysing(40_000) < 1.25 * traced_peak_of_analysing(10_000)


def test_a_recording_out_of_time_order_gives_the_windows_of_its_rows_in_order(
    tmp_path: Path,
) -> None:
    lines = DEMO.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("t,")) + 1
    rows = lines[start:]
    rows[-30], rows[-31] = rows[-31], rows[-30]  # found out of order near the end
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("".join(lines[:start] + rows))
    in_order, out_of_order = io.StringIO(), io.StringIO()
    run_analyze(DEMO, 60.0, True, in_order)
    run_analyze(shuffled, 60.0, True, out_of_order)
    assert out_of_order.getvalue() == in_order.getvalue()
    assert in_order.getvalue()


def hr_rows(count: int, person: str = "alex", every_s: float = 5.0) -> list[Reading]:
    """A watch export's rows: heart rate only, every ``every_s``, no beat intervals."""
    return [Reading(i * every_s, person, "hr", 60.0 + i % 3, "t") for i in range(count)]


def test_an_hr_only_person_gets_hr_per_window_with_the_hrv_unknown() -> None:
    """A watch that sends HR alone: each window shows the mean of its hr rows, HRV None
    (unknown, never 0), quality and corrected 0 as for a window without beats."""
    rows = list(analyze(hr_rows(36), 60.0, SignalsConfig()))  # 3 min of rows every 5 s
    assert [row["t"] for row in rows] == [0.0, 60.0, 120.0]
    assert [row["hr"] for row in rows] == [61.0, 61.0, 61.0]
    assert set(rows[0]) == {"t", "hr", "rmssd", "ln_rmssd", "sdnn", "pnn50", "quality", "corrected"}
    assert all(row[key] is None for row in rows for key in ("rmssd", "ln_rmssd", "sdnn", "pnn50"))
    assert all(row["quality"] == 0.0 and row["corrected"] == 0.0 for row in rows)


def test_a_person_with_beats_is_shown_from_the_beats_beside_an_hr_only_one() -> None:
    beats_of_alex = [Reading(t, "alex", "rr", rr, "t") for t, rr in timed(load_nn("5min"))]
    readings = sorted(
        [*beats_of_alex, *hr_rows(60, "alex"), *hr_rows(60, "sam")], key=lambda r: r.time
    )
    rows = list(analyze(readings, 60.0, SignalsConfig()))
    alex = [row for row in rows if row["person"] == "alex"]
    sam = [row for row in rows if row["person"] == "sam"]
    assert alex == [
        row | {"person": "alex"} for row in analyze(beats_of_alex, 60.0, SignalsConfig())
    ]
    assert len(sam) == 5 and all(row["rmssd"] is None and row["hr"] == 61.0 for row in sam)


def test_the_table_of_an_hr_only_recording_says_why_hrv_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "watch.csv"
    path.write_text("t,metric,value\n" + "".join(f"{i * 5},hr,{70 + i % 2}\n" for i in range(24)))
    out = io.StringIO()
    assert run_analyze(path, 60.0, False, out) == 0
    header, *table, note = out.getvalue().splitlines()
    assert header.split()[:3] == ["t", "hr", "rmssd"]
    assert [line.split()[:3] for line in table] == [["0.0", "70.5", "-"], ["60.0", "70.5", "-"]]
    assert note == (
        "no RR intervals in this recording: hr is the mean of its hr rows, HRV needs beat intervals"
    )
