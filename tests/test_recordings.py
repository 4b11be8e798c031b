"""Recording formats: CSV and JSON Lines with t,metric,value[,person]; t relative, unix or ISO."""

from __future__ import annotations

import gc
import itertools
import json
import logging
import os
import stat
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fixtures.others_pipe import others_pipe

from ambient.readings import Reading, moved
from ambient.recordings import (
    OutOfOrder,
    RecordingError,
    RecordingStream,
    RecordingWriter,
    load_recording,
    read_recording,
)

DATA = Path(__file__).resolve().parent.parent / "ambient" / "data"


def test_bundled_resting_hour_is_one_rr_row_per_real_beat() -> None:
    readings = read_recording(DATA / "resting-hour.csv")
    assert len(readings) == 4684
    assert {r.metric for r in readings} == {"rr"}
    assert {r.person for r in readings} == {"alex"}
    assert readings[0].value == 664
    assert 3590 < readings[-1].time < 3610  # an hour


def test_demo_recording_has_the_simulated_episode_at_minute_30() -> None:
    readings = read_recording(DATA / "demo.csv")
    episode = [r.value for r in readings if 1830 <= r.time < 2370]
    before = [r.value for r in readings if 1200 <= r.time < 1800]
    assert 580 < sum(episode) / len(episode) < 620
    assert sum(before) / len(before) > 750


def test_csv_relative_times_and_default_person(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("# a comment\nt,metric,value\n0.5,hr,61\n1.5,rr,980\n")
    recording = load_recording(path, default_person="sam")
    assert recording.relative
    assert [(r.time, r.metric, r.value, r.person) for r in recording.readings] == [
        (0.5, "hr", 61.0, "sam"),
        (1.5, "rr", 980.0, "sam"),
    ]


def test_iso_and_unix_times_are_absolute(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "t,metric,value,person\n2026-11-26T20:00:00Z,hr,60,alex\n1795723201,hr,61,alex\n"
    )
    recording = load_recording(path)
    assert not recording.relative
    assert [r.time for r in recording.readings] == [1795723200.0, 1795723201.0]


def test_bad_rows_are_skipped_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n1,hr,60\n2,hr,sixty\n3,Heart Rate,60\n4,hr,nan\n5,hr,62\n")
    recording = load_recording(path)
    assert [r.value for r in recording.readings] == [60.0, 62.0]
    assert [p.split(": ")[0] for p in recording.problems] == [
        f"{path}:3",
        f"{path}:4",
        f"{path}:5",
    ]
    assert "bad metric name" in recording.problems[1]


def test_a_value_or_a_time_that_cannot_be_read_is_said_in_words_naming_it(tmp_path: Path) -> None:
    """Not Python's `could not convert string to float: 'sixty'` or `Invalid isoformat`."""
    path = tmp_path / "r.csv"
    path.write_text(
        "t,metric,value\n1,hr,sixty\nyesterday,hr,60\n2026-13-01T00:00:00,hr,60\n4,hr,62\n"
    )
    assert load_recording(path).problems == [
        f"{path}:2: value is not a number",
        f"{path}:3: time `yesterday` is neither seconds nor an ISO-8601 time",
        f"{path}:4: time `2026-13-01T00:00:00` is neither seconds nor an ISO-8601 time: "
        "month must be in 1..12",
    ]


def test_a_metric_without_a_range_still_needs_a_finite_value(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n1,movement,0.02\n2,movement,inf\n3,movement,-1e308\n")
    recording = load_recording(path)
    assert [r.value for r in recording.readings] == [0.02, -1e308]
    assert recording.problems == [f"{path}:3: value is not finite"]


def test_rows_out_of_time_order_are_sorted_keeping_file_order_at_equal_times(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n2,hr,62\n1,hr,61\n2,rr,900\n1,rr,950\n")
    readings = read_recording(path)
    assert [(r.time, r.metric) for r in readings] == [(1, "hr"), (1, "rr"), (2, "hr"), (2, "rr")]


def test_missing_header_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("time,what,value\n1,hr,60\n")
    with pytest.raises(RecordingError, match=r"r\.csv:1: header must be"):
        load_recording(path)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_written_recordings_read_back_identically(tmp_path: Path, suffix: str) -> None:
    """Every digit a value has: a CSV kept six (a strap's beat of 1023/1024 s, 999.0234375 ms,
    read back as 999.023; a step count of 1234567 as 1.23457e+06)."""
    readings = [
        Reading(1795723200.25, "alex", "rr", 812.0, "ble:h10"),
        Reading(1795723201.0, "sam", "hr", 64.0, "mqtt:x"),
        Reading(1795723202.0, "alex", "rr", 1023 * 1000 / 1024, "ble:h10"),
        Reading(1795723203.0, "alex", "steps", 1234567.0, "mqtt:watch"),
    ]
    path = tmp_path / f"session{suffix}"
    writer = RecordingWriter(path)
    writer.write_all(readings)
    writer.close()
    back = read_recording(path)
    assert [(r.time, r.person, r.metric, r.value) for r in back] == [
        (r.time, r.person, r.metric, r.value) for r in readings
    ]


@pytest.mark.parametrize("name", ["r.JSONL", "r.NDJSON", "r.Jsonl"])
def test_a_json_lines_file_named_in_capitals_is_read_as_json_lines(
    tmp_path: Path, name: str
) -> None:
    """As a Windows export may name it; it was read as a CSV without its header."""
    path = tmp_path / name
    path.write_text('{"t": 1, "metric": "hr", "value": 60}\n')
    assert [(r.time, r.value) for r in read_recording(path)] == [(1.0, 60.0)]
    with RecordingStream(path) as stream:
        assert [r.value for batch in stream.batches() for r in batch] == [60.0]


def test_jsonl_bad_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"t": 1, "metric": "hr", "value": 60}\n{"t": 2,\n')
    recording = load_recording(path)
    assert len(recording.readings) == 1
    assert recording.problems[0].startswith(f"{path}:2: bad JSON")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"t": 1, "metric": "hr", "value": [61]}', "value is not a number"),
        ('{"t": 1, "metric": "hr", "value": {"bpm": 61}}', "value is not a number"),
        ('{"t": 1, "metric": "hr", "value": 1' + "0" * 5000 + "}", "bad JSON (a number too long"),
        ("[" * 30_000 + "]" * 30_000, "bad JSON (a number too long, or nesting too deep)"),
    ],
    ids=["list", "object", "huge-integer", "deep-nesting"],
)
def test_jsonl_rows_json_reads_but_no_reading_fits_are_reported(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(f'{line}\n{{"t": 2, "metric": "hr", "value": 62}}\n')
    recording = load_recording(path)
    assert [r.value for r in recording.readings] == [62.0]
    assert recording.problems[0].startswith(f"{path}:1: {problem}")


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".csv", "t,metric,value,person\r\n0,hr,61,alex\r\n"),
        (".jsonl", '{"t": 0, "metric": "hr", "value": 61, "person": "alex"}\n'),
    ],
)
def test_a_byte_order_mark_is_read_past(tmp_path: Path, suffix: str, text: str) -> None:
    """A spreadsheet's "CSV UTF-8" (and Windows editors) start the file with one."""
    path = tmp_path / f"session{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    recording = load_recording(path)
    assert recording.problems == []
    assert [(r.time, r.metric, r.value, r.person) for r in recording.readings] == [
        (0.0, "hr", 61.0, "alex")
    ]


def write_rows(path: Path, rows: Sequence[tuple[float, str, float]]) -> int:
    """``rows`` of (t, metric, value) as a CSV or JSON Lines recording, by ``path``'s suffix;
    the file line of the first row (after the CSV's header)."""
    if path.suffix == ".csv":
        path.write_text("t,metric,value\n" + "".join(f"{t},{m},{v}\n" for t, m, v in rows))
        return 2
    path.write_text("".join(f'{{"t": {t}, "metric": "{m}", "value": {v}}}\n' for t, m, v in rows))
    return 1


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_implausible_heart_values_are_reported_with_file_and_line(
    tmp_path: Path, suffix: str
) -> None:
    rows = [(1, "hr", 60), (2, "hr", -5), (3, "hr", 1000), (4, "rr", 50), (5, "hr", 61)]
    path = tmp_path / f"r{suffix}"
    first_line = write_rows(path, rows)
    recording = load_recording(path)
    assert [r.value for r in recording.readings] == [60.0, 61.0]
    assert recording.problems == [
        f"{path}:{first_line + 1}: hr outside 20..250 bpm",
        f"{path}:{first_line + 2}: hr outside 20..250 bpm",
        f"{path}:{first_line + 3}: rr outside 200..3000 ms",
    ]


def test_a_row_for_someone_the_config_does_not_know_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value,person\n1,hr,60,alex\n2,hr,61,bob\n3,hr,62\n")
    recording = load_recording(path, default_person="alex", people={"alex", "sam"})
    assert [(r.value, r.person) for r in recording.readings] == [(60.0, "alex"), (62.0, "alex")]
    assert recording.problems == [
        f"{path}:3: person `bob` is not in the config (people: alex, sam)"
    ]


def test_without_people_any_person_is_read(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value,person\n1,hr,60,bob\n")
    assert [r.person for r in load_recording(path).readings] == ["bob"]


def test_a_binary_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"t,metric,value\n1,hr,60\n\xd0\xff\xfe binary\n")
    with pytest.raises(RecordingError) as error:
        load_recording(path)
    assert str(error.value) == f"{path}:3: not a text recording (byte 23 is not UTF-8)"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_byte_not_utf8_far_into_a_file_is_named_by_its_line_and_offset_in_the_file(
    tmp_path: Path, suffix: str
) -> None:
    """The text reader decodes a block at a time and counts from the block's start: the
    place said is the file's, past several blocks and a character cut between two."""
    path = tmp_path / f"long{suffix}"
    if suffix == ".csv":
        good = "t,metric,value\n" + "".join(f"{t},hr,70\n" for t in range(20_000))
    else:
        good = "".join(
            f'{{"t": {t}, "metric": "hr", "value": 70, "n": "é"}}\n' for t in range(5000)
        )
    data = good.encode() + b"20000,hr,7\xff\n"
    path.write_bytes(data)
    with pytest.raises(RecordingError) as error:
        load_recording(path)
    line = good.count("\n") + 1
    offset = len(good.encode()) + len("20000,hr,7")
    assert str(error.value) == f"{path}:{line}: not a text recording (byte {offset} is not UTF-8)"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_times_in_milliseconds_are_reported_not_replayed_past_the_calendar(
    tmp_path: Path, suffix: str
) -> None:
    """A phone app's export in unix milliseconds: read as seconds, the year 58,000."""
    path = tmp_path / f"r{suffix}"
    writer = RecordingWriter(path)
    writer.write(Reading(1_796_444_728.5, "alex", "hr", 61.0, "test"))
    writer.close()
    with path.open("a") as more:
        if suffix == ".csv":
            more.write("1796444729505,hr,62,alex\n")
        else:
            more.write('{"t": 1796444729505, "metric": "hr", "value": 62}\n')
    recording = load_recording(path)
    assert [r.value for r in recording.readings] == [61.0]
    assert recording.problems == [
        f"{path}:{3 if suffix == '.csv' else 2}: time `1796444729505` is after the year 3000: "
        "`t` is in seconds (milliseconds?)"
    ]


@pytest.mark.parametrize("written", ["0001-01-01T00:00:00Z", "3001-01-01T00:00:00Z"])
def test_an_iso_time_off_the_replayable_calendar_is_reported(tmp_path: Path, written: str) -> None:
    """Year 1 is many an export's blank date; a replay's clock cannot go that far back."""
    path = tmp_path / "r.csv"
    path.write_text(f"t,metric,value\n{written},hr,61\n2026-11-26T20:00:00Z,hr,62\n")
    recording = load_recording(path)
    assert [r.value for r in recording.readings] == [62.0]
    assert recording.problems == [
        f"{path}:2: time `{written}` is before 1970 or after the year 3000"
    ]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_mixed_kinds_of_time_name_the_first_row_of_each(tmp_path: Path, suffix: str) -> None:
    """Two recordings put together, one with unix times, one from its start; rows a reading
    would skip (a bad value, a stranger) are not named."""
    rows = [(1_796_444_728.0, "hr", 61, "alex"), (5.0, "hr", -5, "alex")]
    rows += [(6.0, "hr", 62, "bob"), (7.0, "hr", 63, "alex")]
    path = tmp_path / f"joined{suffix}"
    if suffix == ".csv":
        lines = ["t,metric,value,person", *(f"{t},{m},{v},{p}" for t, m, v, p in rows)]
    else:
        lines = [json.dumps({"t": t, "metric": m, "value": v, "person": p}) for t, m, v, p in rows]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError) as error:
        load_recording(path, people=["alex"])
    first = 2 if suffix == ".csv" else 1
    assert str(error.value) == (
        f"{path}: mixes relative and absolute times (line {first} is absolute, "
        f"line {first + 3} relative)"
    )


def test_a_file_that_fails_to_read_is_one_error_naming_it() -> None:
    """/proc/self/mem opens, and its first read fails (EIO) as a failing SD card's does."""
    with pytest.raises(RecordingError) as error:
        load_recording(Path("/proc/self/mem"))
    assert str(error.value) == "/proc/self/mem: cannot read (Input/output error)"


def test_the_garbage_collector_is_as_it_was_after_a_load(tmp_path: Path) -> None:
    """Loading pauses the cyclic collector (a recording holds no cycles): afterwards it is on
    again if it was, off if it was off, and on again after a recording that cannot be read."""
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n0,rr,800\n")
    assert gc.isenabled()
    load_recording(path)
    assert gc.isenabled()
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe not text")
    with pytest.raises(RecordingError):
        load_recording(tmp_path / "bad.csv")
    assert gc.isenabled()
    gc.disable()
    try:
        load_recording(path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_moved_readings_equal_readings_made_the_ordinary_way() -> None:
    readings = [Reading(1.5, "alex", "rr", 800.0, "file"), Reading(2.25, "sam", "hr", 61.0, "file")]
    assert moved(readings, 100.0, "recording0") == [
        Reading(101.5, "alex", "rr", 800.0, "recording0"),
        Reading(102.25, "sam", "hr", 61.0, "recording0"),
    ]
    assert all(type(r) is Reading for r in moved(readings, 0.0, "x"))


ORIGIN_S = 1_767_603_600.0  # a simulation's clock start


def test_relative_rows_read_onto_a_clock_are_the_written_times_moved_there(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"  # the checked path (JSON Lines) and the usual CSV row alike
    path.write_text('{"t": 0.125, "metric": "hr", "value": 60}\n')
    csv_path = tmp_path / "r.csv"
    csv_path.write_text('t,metric,value\n0.333,rr,801\n"1.7",rr,802\n2.25,rr,801\n')
    for written in (path, csv_path):
        as_written = load_recording(written, "sam")
        placed = load_recording(written, "sam", source="replay", relative_origin_s=ORIGIN_S)
        assert placed.readings == moved(as_written.readings, ORIGIN_S, "replay")
        assert (placed.origin_s, placed.source, placed.relative) == (ORIGIN_S, "replay", True)
        assert (as_written.origin_s, as_written.source) == (0.0, f"recording:{written.name}")


def test_rows_out_of_order_are_sorted_by_their_written_times_before_being_moved(
    tmp_path: Path,
) -> None:
    # 50 ns apart as written, the same time once moved to the origin: sorting the moved times
    # would keep the file's order, sorting the written ones does not.
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n3,rr,900\n0.0000001,rr,801\n0.00000005,rr,802\n")
    placed = load_recording(path, relative_origin_s=ORIGIN_S)
    assert placed.readings[0].time == placed.readings[1].time
    assert [r.value for r in placed.readings] == [802.0, 801.0, 900.0]
    assert placed.readings == moved(load_recording(path).readings, ORIGIN_S, placed.source or "")


def test_absolute_times_and_a_written_minus_zero_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n1795723201,hr,61\n")
    placed = load_recording(path, relative_origin_s=ORIGIN_S)
    assert ([r.time for r in placed.readings], placed.origin_s) == ([1795723201.0], 0.0)
    path.write_text("t,metric,value\n-0,hr,61\n")
    assert str(load_recording(path).readings[0].time) == "-0.0"


def test_repeated_values_read_the_same_as_each_alone(tmp_path: Path) -> None:
    rows = [f"{k},rr,{800 + k % 7}{'.5' if k % 3 else ''}\n" for k in range(6000)]
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n" + "".join(rows))
    values = [r.value for r in load_recording(path).readings]
    assert values == [float(row.split(",")[2]) for row in rows]


def test_rows_that_share_what_follows_their_time_are_each_checked_on_their_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "t,metric,value,person\n1,rr,800,alex\ninf,rr,800,alex\n2,rr,800,bob\n"
        "x,rr,800,alex\n3,rr,800,alex\n4,rr,800,bob\n"
    )
    recording = load_recording(path, people={"alex"})
    assert [(r.time, r.value) for r in recording.readings] == [(1.0, 800.0), (3.0, 800.0)]
    assert [p.split(": ", 1)[0] for p in recording.problems] == [
        f"{path}:3",
        f"{path}:4",
        f"{path}:5",
        f"{path}:7",
    ]
    assert "person `bob` is not in the config" in recording.problems[1]


def test_a_recording_with_more_distinct_rows_than_are_kept_is_read_whole(tmp_path: Path) -> None:
    rows = [(0.5 * k, 300.0 + k * 0.25) for k in range(1, 10_001)]  # 10,000 distinct values
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n" + "".join(f"{t},rr,{v}\n" for t, v in rows))
    assert [(r.time, r.value) for r in load_recording(path).readings] == rows


def test_quoted_csv_rows_read_as_unquoted_ones_and_keep_the_time_order(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        't,metric,value,person\n0,rr,900,alex\n"2","rr","910","alex, j."\n1,rr,905,alex\n'
        '# "a quoted comment"\n"3",rr,hr\n'
    )
    recording = load_recording(path)
    assert [(r.time, r.value, r.person) for r in recording.readings] == [
        (0.0, 900.0, "alex"),
        (1.0, 905.0, "alex"),
        (2.0, 910.0, "alex, j."),
    ]
    assert [problem.split(": ")[0] for problem in recording.problems] == [f"{path}:6"]


# -- read as it replays -----------------------------------------------------------------------


def beat_rows(count: int, start_s: float = 0.0) -> str:
    """``count`` RR rows for alex in time order (0.8 s apart), from ``start_s``."""
    return "".join(f"{start_s + 0.8 * k:.3f},rr,{800 + k % 7},alex\n" for k in range(1, count + 1))


def streamed(stream: RecordingStream) -> list[Reading]:
    return list(itertools.chain.from_iterable(stream.batches()))


def test_a_recording_in_time_order_is_read_as_it_is_taken(tmp_path: Path) -> None:
    """The first readings come out before the file has been read to its end: rows written to
    it after they were taken are read too (as a replay goes on, block by block)."""
    path = tmp_path / "long.csv"
    path.write_text("t,metric,value,person\n" + beat_rows(20_000))
    with RecordingStream(path) as stream:
        batches = stream.batches()
        first = next(batches)
        assert first and first[0].time == 0.8
        with path.open("a") as more:
            more.write(beat_rows(10, start_s=20_000 * 0.8))
        rest = list(itertools.chain.from_iterable(batches))
    assert len(first) + len(rest) == 20_010
    assert rest[-1].time == pytest.approx(20_010 * 0.8)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_stream_gives_what_reading_the_file_whole_gives(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"r{suffix}"
    writer = RecordingWriter(path)
    times = [1_795_723_200.0 + 0.8 * k for k in range(3000)]
    writer.write_all(Reading(t, "alex", "rr", 800.0 + k % 5, "x") for k, t in enumerate(times))
    writer.close()
    for origin_s in (0.0, ORIGIN_S):
        whole = load_recording(path, "sam", source="replay", relative_origin_s=origin_s)
        with RecordingStream(path, "sam", source="replay", relative_origin_s=origin_s) as stream:
            assert streamed(stream) == whole.readings
        assert (stream.relative, stream.origin_s) == (whole.relative, whole.origin_s)
        assert (stream.first_time_s, stream.last_time_s) == (times[0], times[-1])
    relative = tmp_path / "relative.csv"
    relative.write_text("t,metric,value\n" + beat_rows(3000).replace(",alex", ""))
    whole = load_recording(relative, source="replay", relative_origin_s=ORIGIN_S)
    with RecordingStream(relative, source="replay", relative_origin_s=ORIGIN_S) as stream:
        assert streamed(stream) == whole.readings
    assert (stream.relative, stream.origin_s) == (True, ORIGIN_S)


def test_a_row_out_of_time_order_stops_the_stream_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    rows = beat_rows(5000).splitlines(keepends=True)
    rows[4000], rows[4001] = rows[4001], rows[4000]  # line 4003 is earlier than line 4002
    path.write_text("t,metric,value,person\n" + "".join(rows))
    handed_over: list[Reading] = []
    with RecordingStream(path) as stream, pytest.raises(OutOfOrder) as stop:
        for batch in stream.batches():
            handed_over += batch
    assert stop.value.line == 4003
    assert str(stop.value) == f"{path}:4003: earlier than the row before it"
    assert handed_over == sorted(handed_over, key=lambda r: r.time)  # nothing out of order out
    assert [r.time for r in read_recording(path)] == sorted(r.time for r in read_recording(path))


def test_a_stream_reports_skipped_rows_as_a_whole_read_does_once_read_to_its_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.csv"
    bad = "".join(f"{k}.5,hr,-5,alex\n" for k in range(8))
    path.write_text("t,metric,value,person\n" + bad + beat_rows(3000, start_s=10.0))
    with caplog.at_level(logging.WARNING, logger="ambient.recordings"):
        load_recording(path)
        whole = caplog.messages[:]
        caplog.clear()
        with RecordingStream(path) as stream:
            batches = stream.batches()
            next(batches)
            assert caplog.messages == []  # not before the end: a replay may start again
            list(batches)
    assert caplog.messages == whole
    assert whole[0] == f"Skipped a recording row: {path}:2: hr outside 20..250 bpm"
    assert whole[-1] == f"Skipped 3 more bad rows in {path}"
    assert stream.problem_count == 8


def test_a_stream_of_a_file_with_no_good_row_reports_its_skipped_rows_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Reading ahead for a first reading met the end, and reading on met it again: every
    skipped row was said twice (simulate, evaluate and analyze alike)."""
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n1,hr,900\n")
    with (
        caplog.at_level(logging.WARNING, logger="ambient.recordings"),
        RecordingStream(path) as stream,
    ):
        assert [reading for batch in stream.batches() for reading in batch] == []
    assert caplog.messages == [f"Skipped a recording row: {path}:2: hr outside 20..250 bpm"]


def test_a_stream_meeting_another_kind_of_time_fails_as_a_whole_read_does(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value,person\n" + beat_rows(5000) + "1795723200,hr,60,alex\n")
    with pytest.raises(RecordingError) as whole:
        load_recording(path)
    with RecordingStream(path) as stream, pytest.raises(RecordingError) as streaming:
        streamed(stream)
    assert str(streaming.value) == str(whole.value)
    assert str(whole.value).endswith("(line 2 is relative, line 5002 absolute)")


def test_a_file_that_cannot_play_at_all_fails_when_opened(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("time,what\n1,hr\n")
    with pytest.raises(RecordingError, match=r"bad\.csv:1: header must be"):
        RecordingStream(tmp_path / "bad.csv")
    with pytest.raises(RecordingError, match="cannot read"):
        RecordingStream(tmp_path / "missing.csv")


def test_set_aside_rows_keep_their_written_times_and_take_no_part_in_the_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n0.5,hr,70\n60.123,mark,1\n2,hr,71\n1,mark,0\n3,hr,72\n")
    with RecordingStream(path, relative_origin_s=ORIGIN_S, set_aside={"mark"}) as stream:
        readings = streamed(stream)
    assert [r.time for r in readings] == [0.5 + ORIGIN_S, 2 + ORIGIN_S, 3 + ORIGIN_S]
    assert [(r.time, r.value) for r in stream.set_aside] == [(60.123, 1.0), (1.0, 0.0)]


def traced_peak_of_streaming(path: Path) -> int:
    """The most memory Python held at once while the recording was read through."""
    tracemalloc.start()
    try:
        with RecordingStream(path) as stream:
            for _ in stream.batches():
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_memory_a_stream_takes_does_not_grow_with_the_recording(tmp_path: Path) -> None:
    short, long = tmp_path / "short.csv", tmp_path / "long.csv"
    short.write_text("t,metric,value,person\n" + beat_rows(5_000))
    long.write_text("t,metric,value,person\n" + beat_rows(20_000))
    assert traced_peak_of_streaming(long) < 1.25 * traced_peak_of_streaming(short)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_an_on_off_value_other_than_0_or_1_is_a_bad_row(tmp_path: Path, suffix: str) -> None:
    """contact, and the label rows' start (1) / end (0): a 0.5 or a 2 is no answer."""
    rows = [(1, "contact", 1), (2, "contact", 0.5), (3, "label_episode", 2), (4, "hr", 61)]
    path = tmp_path / f"r{suffix}"
    first_line = write_rows(path, rows)
    recording = load_recording(path)
    assert [(r.metric, r.value) for r in recording.readings] == [("contact", 1.0), ("hr", 61.0)]
    assert recording.problems == [
        f"{path}:{first_line + 1}: contact must be 0 or 1",
        f"{path}:{first_line + 2}: label_episode must be 1 (start) or 0 (end)",
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a link owned by another user")
def test_a_link_another_user_planted_is_not_followed_truncated_or_made_0600(
    tmp_path: Path,
) -> None:
    """`sudo ambient record --out ~bob/evening.csv` (the status socket is root's and
    ambient's): bob's link there to a file of root's was opened through, and that file
    truncated, overwritten with beats and made 0600."""
    folder = tmp_path / "bob"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    victim = tmp_path / "victim.conf"
    victim.write_text("keep me\n")
    victim.chmod(0o644)
    planted = folder / "evening.csv"
    planted.symlink_to(victim)
    os.lchown(planted, 65534, 65534)
    with pytest.raises(PermissionError, match=r"a link made by another user \(uid 65534\)"):
        RecordingWriter(planted)
    assert victim.read_text() == "keep me\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a link owned by another user")
def test_a_link_planted_after_the_check_is_not_opened_through(tmp_path: Path) -> None:
    """bob may swap his folder's entries at will: a link he put there just after ambient
    looked (made certain here by planting it from inside that look, ``os.lstat``) was opened
    through and its file truncated. The open no longer follows a link the look did not see."""
    folder = tmp_path / "bob"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    victim = tmp_path / "victim.conf"
    victim.write_text("keep me\n")
    planted = folder / "evening.csv"
    real_lstat = os.lstat
    looks: list[Path] = []

    def lstat_then_plant(name: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        try:
            return real_lstat(name, *args, **kwargs)
        finally:
            if Path(name) == planted and not looks:
                looks.append(planted)
                planted.symlink_to(victim)
                os.lchown(planted, 65534, 65534)

    with (
        pytest.MonkeyPatch.context() as patch,
        pytest.raises(PermissionError, match=r"a link made by another user \(uid 65534\)"),
    ):
        patch.setattr(os, "lstat", lstat_then_plant)
        RecordingWriter(planted)
    assert looks, "the link was never planted: the test tests nothing"
    assert victim.read_text() == "keep me\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a pipe owned by another user")
def test_a_pipe_another_user_made_is_not_written_to(tmp_path: Path) -> None:
    """`sudo ambient record --out ~bob/evening.csv`: a pipe bob made there was written
    through, his reader getting the beats, where a file would have been root's alone."""
    with others_pipe(tmp_path, "evening.csv") as (pipe, reader):
        with pytest.raises(PermissionError, match=r"a pipe made by another user \(uid 65534\)"):
            RecordingWriter(pipe)
        assert os.read(reader, 100) == b""  # nothing reached bob


@pytest.mark.parametrize(
    ("name", "text", "names_person"),
    [
        ("named.csv", "# watch export\nt,metric,value,person\n1,hr,70,sam\n", True),
        ("unnamed.csv", "t,metric,value\n1,hr,70\n", False),
        ("named.jsonl", '# a note\n{"t": 1, "metric": "hr", "value": 70, "person": "sam"}\n', True),
        ("unnamed.jsonl", '{"t": 1, "metric": "hr", "value": 70}\n', False),
        # A first line that is no row is said as a bad row, not as rows without a person.
        ("bad_first.jsonl", '[1, "hr", 70]\n{"t": 1, "metric": "hr", "value": 70}\n', True),
    ],
)
def test_a_recording_read_says_whether_its_rows_name_their_person(
    tmp_path: Path, name: str, text: str, names_person: bool
) -> None:
    """What says whose the rows of a file without a person column are taken as is known from
    the one read the replay makes (a pipe can be read once)."""
    path = tmp_path / name
    path.write_text(text)
    assert load_recording(path).names_person is names_person
    with RecordingStream(path) as stream:
        assert stream.names_person is names_person


def test_a_pipe_out_of_time_order_cannot_be_read_again_to_be_sorted(tmp_path: Path) -> None:
    """Sorting a recording out of order reads it again whole, which a pipe cannot give: that
    is one clear error naming the row, where the second read met rows with no header."""
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n2,hr,70\n1,hr,71\n")
    with pytest.raises(OutOfOrder) as stop, RecordingStream(path) as stream:
        list(stream.batches())
    stop.value.check_readable_again(path)  # a file: read again without a word
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(RecordingError) as refused:
        OutOfOrder(pipe, 3).check_readable_again(pipe)
    assert str(refused.value) == (
        f"{pipe}:3: earlier than the row before it: it must be read again to be sorted, which a "
        "pipe cannot be; save it to a file first"
    )
    with pytest.raises(RecordingError, match=f"{path}:3: .*: {pipe} must be read again"):
        stop.value.check_readable_again(pipe)  # another recording of the replay


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_run_of_nul_bytes_is_one_short_bad_row_never_held_whole(
    tmp_path: Path, suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A power cut can leave a run of NUL bytes (valid text, no line end) in a file on an SD
    card: 4 MB of them were read whole as one line, and their warning printed them all. The
    rows around it are read; the line is one bad row, read a piece at a time."""
    path = tmp_path / f"r{suffix}"
    writer = RecordingWriter(path)
    writer.write_all(Reading(1_795_723_200.0 + k, "alex", "hr", 70.0, "x") for k in range(50))
    writer.close()
    with path.open("a") as out:
        out.write("\0" * 4_000_000)
        out.write("\n1795723300.000,hr,71,alex\n" if suffix == ".csv" else "\n")
    tracemalloc.start()
    try:
        recording = load_recording(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    line = 52 if suffix == ".csv" else 51
    assert recording.problems == [f"{path}:{line}: a line of over 64 KiB, not a row"]
    assert len(recording.readings) == (51 if suffix == ".csv" else 50)
    assert peak < 1_000_000
    assert [len(r.getMessage()) < 200 for r in caplog.records] == [True]


def test_a_json_export_on_one_line_is_no_header_and_not_echoed_whole(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(json.dumps([{"t": t, "metric": "hr", "value": 70} for t in range(20_000)]))
    with pytest.raises(RecordingError) as refused:
        load_recording(path)
    assert str(refused.value) == (
        f"{path}:1: header must be `t,metric,value[,person]`, got a line of over 64 KiB"
    )
    path.write_text(json.dumps([{"t": t, "metric": "hr", "value": 70} for t in range(20)]))
    with pytest.raises(RecordingError) as short:
        load_recording(path)
    assert str(short.value).endswith('got `[{"t": 0, "metric": "hr", "value": 70}, …`')


def test_a_field_a_message_names_is_shown_short_and_printable(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"t,metric,value,person\n\0\0,hr,70,alex\n1,h\0r,70,alex\n2,hr,70,{'x' * 99}\n")
    problems = load_recording(path, people={"alex"}).problems
    assert problems == [
        f"{path}:2: time `\\x00\\x00` is neither seconds nor an ISO-8601 time",
        f"{path}:3: bad metric name `h\\x00r`",
        f"{path}:4: person `{'x' * 40}…` is not in the config (people: alex)",
    ]


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("chars", [65_535, 65_536, 65_537, 65_538])
def test_a_line_is_too_long_past_64_ki_characters_and_the_next_lines_keep_their_numbers(
    tmp_path: Path, chars: int, end: str
) -> None:
    """A line of up to 65,536 characters (its end aside) is read whole, a longer one is a bad
    row; either way the next lines keep their numbers. Lines are read in pieces: a piece that
    ended between a line's \\r and \\n read the \\n as a blank line of its own, so every later
    line was named one too far on; a line of exactly 64 Ki characters was 'over 64 KiB'. The
    characters are three bytes each in UTF-8 (the pieces are characters, not bytes)."""
    path = tmp_path / "r.csv"
    lines = ["t,metric,value", "#" + "€" * (chars - 1), "1,hr,70", "x,hr,70"]
    path.write_bytes(end.join([*lines, ""]).encode())
    recording = load_recording(path)
    too_long = [f"{path}:2: a line of over 64 KiB, not a row"] if chars > 65_536 else []
    why = "time `x` is neither seconds nor an ISO-8601 time"
    assert recording.problems == [*too_long, f"{path}:4: {why}"]
    assert len(recording.readings) == 1
