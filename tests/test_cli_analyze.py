"""`ambient analyze` as users call it: one JSON object per window with the documented keys,
`--window` in any duration form, a clear error for a missing file, bad rows named by file and
line, quiet under `| head`."""

from __future__ import annotations

import gzip
import json
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "ambient" / "data" / "demo.csv"


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return run_ambient("analyze", *args)


def test_json_lines_per_window() -> None:
    result = analyze("--recording", str(DEMO), "--json", "--window", "5min")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["t"] for row in rows] == [300.0 * i for i in range(13)]  # + the last beat
    assert rows[-1]["rmssd"] is None  # a window of one beat has no HRV: unknown, never 0
    keys = {"t", "hr", "rmssd", "ln_rmssd", "sdnn", "pnn50", "quality", "corrected"}
    assert all(set(row) == keys for row in rows)
    episode = next(row for row in rows if row["t"] == 1800.0)
    calm = next(row for row in rows if row["t"] == 1500.0)
    assert episode["hr"] > 95 > calm["hr"]
    assert episode["rmssd"] < 25 < calm["rmssd"]


def test_missing_recording_is_a_clear_error(tmp_path: Path) -> None:
    result = analyze("--recording", str(tmp_path / "nope.csv"))
    assert result.returncode == 1
    assert "nope.csv: cannot read" in result.stderr


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    shell = f"{sys.executable} -m ambient analyze --recording {DEMO} --json | head -n 1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_rows_far_into_a_recording_are_reported_with_file_and_line(tmp_path: Path) -> None:
    """A recording in time order is read as it is analysed; its bad rows are still reported,
    each naming its file and line, and left out of the windows."""
    lines = DEMO.read_text().splitlines(keepends=True)
    bad = [*lines[:-100], "3500.1,rr,5,alex\n", *lines[-100:]]
    recording = tmp_path / "bad.csv"
    recording.write_text("".join(bad))
    result = analyze("--recording", str(recording), "--json")
    clean = analyze("--recording", str(DEMO), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout == clean.stdout
    line = len(lines) - 100 + 1
    assert f"bad.csv:{line}: rr outside 200..3000 ms" in result.stderr


def test_the_table_stays_in_columns_for_a_recording_in_unix_time(tmp_path: Path) -> None:
    """`t` is then 12 digits and more: its column widens instead of pushing the row right."""
    recording = tmp_path / "unix.csv"
    rows = [f"{1795723200 + 0.8 * n:.1f},rr,800,alex" for n in range(200)]
    recording.write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    result = analyze("--recording", str(recording))
    assert result.returncode == 0, result.stderr
    header, *table = result.stdout.splitlines()
    assert table
    assert all(len(line) == len(header) for line in table)
    assert header.split()[0] == "t"
    assert float(table[0].split()[0]) > 1_795_000_000  # the windows' starts, unix time


def _config(tmp_path: Path, signals: str = "") -> Path:
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: sam\n  - id: alex\n{signals}")
    return config


def test_the_configs_signal_settings_decide_which_windows_have_hrv(tmp_path: Path) -> None:
    """With --config the config's `signals:` apply (as live): min_pairs above any window's
    pairs leaves every window's HRV unknown, where the defaults show it."""
    strict = _config(tmp_path, "signals:\n  min_pairs: 100000\n")
    default = analyze("--recording", str(DEMO), "--json", "--window", "5min")
    configured = analyze(
        "--recording", str(DEMO), "--json", "--window", "5min", "--config", str(strict)
    )
    assert configured.returncode == 0, configured.stderr
    assert any(json.loads(line)["rmssd"] is not None for line in default.stdout.splitlines())
    rows = [json.loads(line) for line in configured.stdout.splitlines()]
    assert len(rows) == len(default.stdout.splitlines())
    assert all(row["rmssd"] is None for row in rows)


def test_rows_without_a_person_are_the_configs_first_persons(tmp_path: Path) -> None:
    """As for simulate: rows without a person are the config's first person's, so a file
    half with `sam` and half without is one person's windows, not two people's."""
    recording = tmp_path / "mixed.csv"
    rows = [f"{0.8 * n:.1f},rr,800,{'sam' if n % 2 else ''}" for n in range(200)]
    recording.write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    result = analyze("--recording", str(recording), "--json", "--config", str(_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    windows = [json.loads(line) for line in result.stdout.splitlines()]
    assert windows and all("person" not in row for row in windows)
    without = analyze("--recording", str(recording), "--json")
    assert {json.loads(line)["person"] for line in without.stdout.splitlines()} == {
        "default",
        "sam",
    }


def test_a_window_too_short_to_hold_beats_is_refused_saying_why() -> None:
    """--window 1ms printed millions of empty rows for minutes; below the floor of a config's
    HRV windows (10 s) a window holds too few beats for any HRV."""
    result = analyze("--recording", str(DEMO), "--json", "--window", "1ms")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "ambient analyze: error: argument --window: 1ms is too short: a window under 10s "
        "holds too few beats for HRV (60s is the floor worth using, docs/signals.md)"
    )
    shortest = analyze("--recording", str(DEMO), "--json", "--window", "10s")
    assert shortest.returncode == 0, shortest.stderr


def test_a_run_of_nul_bytes_a_power_cut_left_is_one_short_warning(tmp_path: Path) -> None:
    """4 MB of NUL bytes between two rows (an SD card's file after a power cut) was one line
    of the recording, printed whole into the warning; it is one short bad row now."""
    recording = tmp_path / "cut.csv"
    with recording.open("w") as out:
        out.write("t,metric,value\n" + "".join(f"{t},hr,70\n" for t in range(60)))
        out.write("\0" * 4_000_000 + "\n")
        out.write("".join(f"{t},hr,80\n" for t in range(60, 120)))
    result = analyze("--recording", str(recording), "--json")
    assert result.returncode == 0, result.stderr
    assert [json.loads(row)["hr"] for row in result.stdout.splitlines()] == [70.0, 80.0]
    [warning] = result.stderr.splitlines()
    assert warning.endswith(
        f"WARNING ambient.recordings: Skipped a recording row: {recording}:62: a line of over "
        "64 KiB, not a row"
    )


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("day.csv.gz", "gzip-compressed: unpack it, or give it as -r <(zcat {path})"),
        ("my day.csv.gz", "gzip-compressed: unpack it, or give it as -r <(zcat {path})"),
        ("day.xlsx", "a zip archive (a spreadsheet's .xlsx?): save it as CSV"),
    ],
)
def test_a_packed_recording_says_how_to_give_it(tmp_path: Path, name: str, hint: str) -> None:
    """A gzip-compressed recording or a spreadsheet was "not a text recording" alone. The
    suggested command quotes the path for the shell (one with a space broke it)."""
    recording = tmp_path / name
    rows = "t,metric,value\n" + "".join(f"{t},hr,70\n" for t in range(60))
    if name.endswith(".gz"):
        recording.write_bytes(gzip.compress(rows.encode()))
    else:
        with zipfile.ZipFile(recording, "w", zipfile.ZIP_DEFLATED) as sheet:
            sheet.writestr("xl/worksheets/sheet1.xml", rows * 10)
    result = analyze("--recording", str(recording))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert re.fullmatch(
        rf"ambient analyze: {re.escape(str(recording))}:\d+: not a text recording \(byte \d+ is "
        rf"not UTF-8\): {re.escape(hint.format(path=shlex.quote(str(recording))))}",
        line,
    ), line


@pytest.mark.parametrize("given", ["pipe", "file"])
def test_a_packed_recording_on_stdin_says_to_unpack_it_on_its_way_in(
    tmp_path: Path, given: str
) -> None:
    """`zcat`-less `cat day.csv.gz | ambient analyze -r /dev/stdin`: the hint was read from
    the file again, which a pipe cannot be (so there was none), and for stdin from a file it
    said to give it as `-r <(zcat /dev/stdin)`."""
    rows = "t,metric,value\n" + "".join(f"{t},hr,70\n" for t in range(60))
    packed = tmp_path / "day.csv.gz"
    packed.write_bytes(gzip.compress(rows.encode()))
    command = [sys.executable, "-m", "ambient", "analyze", "--recording", "/dev/stdin"]
    with packed.open("rb") as source:
        result = subprocess.run(
            command,
            input=packed.read_bytes() if given == "pipe" else None,
            stdin=source if given == "file" else None,
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    where = "/dev/stdin" if given == "pipe" else "/dev/stdin:1"
    byte = "a byte" if given == "pipe" else "byte 1"
    assert result.stderr.decode().splitlines() == [
        f"ambient analyze: {where}: not a text recording ({byte} is not UTF-8): "
        "gzip-compressed: unpack it on its way in (zcat)"
    ]
