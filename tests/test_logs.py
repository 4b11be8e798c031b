"""The live timeline of ``ambient run``, and where it writes heart data."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
from fixtures.ambient_process import clean_env

from ambient.logs import (
    Throttle,
    Timeline,
    mark_errors_in_the_journal,
    reason_without_values,
    setup_logging,
    timeline_shows_values,
)
from ambient.messages import ActionResult, TraceRecord

FIRED = TraceRecord(
    time=1_767_604_200.0,
    rule="calm_alex",
    event="fired",
    reason="stress_score 74.2 above 70 for 2min",
    person="alex",
    trigger="signal#0",
    signals={"stress_score": 74.2, "hr": 96.0},
    actions=(ActionResult("calm_lights", True, "light.living_room dimmed"),),
)


@pytest.fixture
def journal_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TextIO]:
    """A file systemd would have made the service's journal stream (``JOURNAL_STREAM``)."""
    with (tmp_path / "journal").open("w+") as out:
        info = os.fstat(out.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        yield out


def test_the_timeline_on_a_terminal_or_pipe_shows_the_reason_with_its_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    with (tmp_path / "out").open("w+") as out:
        Timeline(out)(FIRED)
        out.seek(0)
        text = out.read()
    assert "calm_alex" in text
    assert "stress_score 74.2 above 70 for 2min" in text
    assert "-> light.living_room dimmed" in text


def test_the_timeline_in_the_journal_names_signal_and_threshold_without_the_value(
    journal_file: TextIO,
) -> None:
    Timeline(journal_file)(FIRED)
    journal_file.seek(0)
    text = journal_file.read()
    assert "calm_alex" in text and "fired" in text
    assert "stress_score above 70 for 2min" in text
    assert "74.2" not in text
    assert "-> light.living_room dimmed" in text


def test_the_timeline_in_the_journal_is_one_line_per_trace_with_its_actions(
    journal_file: TextIO,
) -> None:
    """Each line is a journal entry of its own: the actions' lines came apart from their
    trace, so `journalctl -u ambient | grep calm_alex` found the decision without what it did
    (and docs/raspberry-pi.md promises one line per rule trace)."""
    two = TraceRecord(
        time=FIRED.time + 60,
        rule="calm_alex",
        event="fired",
        reason="time",
        person="alex",
        actions=(
            ActionResult("calm_lights", True, "light.living_room dimmed"),
            ActionResult("notify", True, "notify.sam sent"),
        ),
    )
    timeline = Timeline(journal_file)
    timeline(FIRED)
    timeline(two)
    journal_file.seek(0)
    lines = journal_file.read().splitlines()
    assert len(lines) == 3  # the day's line, then one a trace
    assert lines[1].endswith("stress_score above 70 for 2min  -> light.living_room dimmed")
    assert lines[2].endswith("time  -> light.living_room dimmed  -> notify.sam sent")


def test_the_timeline_names_the_person_beside_the_rule(tmp_path: Path) -> None:
    """A rule for anyone acts for each person: the entry says whose it is; one for nobody
    (a time trigger) names no one."""
    nobodys = TraceRecord(time=FIRED.time + 60, rule="wind_down", event="fired", reason="time")
    with (tmp_path / "out").open("w+") as out:
        timeline = Timeline(out)
        timeline(FIRED)
        timeline(nobodys)
        out.seek(0)
        entries = [line[10:].split()[:2] for line in out.read().splitlines()[1:]]
    assert entries[0] == ["calm_alex", "(alex)"]
    assert entries[-1] == ["wind_down", "fired"]


def test_a_stream_that_is_not_the_journal_stream_keeps_the_values(
    journal_file: TextIO, tmp_path: Path
) -> None:
    """JOURNAL_STREAM is inherited by a script's child whose stdout is redirected: only the
    stream itself counts."""
    with (tmp_path / "redirected").open("w+") as out:
        Timeline(out)(FIRED)
        out.seek(0)
        assert "stress_score 74.2 above 70" in out.read()


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("stress_score 74.2 above 70 for 2min", "stress_score above 70 for 2min"),
        ("hr 0.0123 below 40", "hr below 40"),
        ("hr 1.5e-05 between 40 and 50", "hr between 40 and 50"),
        (
            "stress_score above 70 for 2min (now 65.3, within hysteresis 10)",
            "stress_score above 70 for 2min (within hysteresis 10)",
        ),
        (
            "stress_score 55 at or below 60 (70 - hysteresis 10)",
            "stress_score at or below 60 (70 - hysteresis 10)",
        ),
        (
            "stress_score still above 70 after 10min (now 80; level 2)",
            "stress_score still above 70 after 10min (level 2)",
        ),
        (
            "stress_score above 70, not yet cleared after 10min "
            "(now 65, within hysteresis 10; level 1)",
            "stress_score above 70, not yet cleared after 10min (within hysteresis 10; level 1)",
        ),
        ("stress_score unknown above 70", "stress_score unknown above 70"),
        ("hr 96 and rmssd 31 (queued)", "hr and rmssd (queued)"),
        ("time 21:30 (due 3.2 s earlier)", "time 21:30 (due 3.2 s earlier)"),
        # a state trigger on a signal: both its states are the person's values
        ("activity_state changed from rest to active for 1min", "activity_state changed for 1min"),
        ("hr changed from 72 to 75", "hr changed"),
        (
            "hr changed from unknown to 75 (due 3.2 s earlier, while ambient was not running)",
            "hr changed (due 3.2 s earlier, while ambient was not running)",
        ),
        ("light.desk changed from off to on", "light.desk changed from off to on"),
    ],
)
def test_a_reason_without_values_keeps_names_thresholds_and_times(reason: str, shown: str) -> None:
    names = {"hr", "rmssd", "stress_score", "activity_state"}
    assert reason_without_values(reason, names) == shown


class FakeMonotonic:
    """The monotonic seconds a Throttle reads, moved by the test (it limits log volume in real
    time, so it reads no daemon clock)."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def lines_let_through(throttle: Throttle, clock: FakeMonotonic, times_s: range) -> list[float]:
    allowed = []
    for t in times_s:
        clock.now_s = float(t)
        if throttle.allow("broker"):
            allowed.append(clock.now_s)
    return allowed


def test_a_problem_that_goes_on_is_said_ever_less_often_up_to_once_an_hour() -> None:
    """A broker away for a night, retried every second: a dozen lines, not one a minute."""
    clock = FakeMonotonic()
    throttle = Throttle(60.0, monotonic=clock)
    allowed = lines_let_through(throttle, clock, range(0, 5 * 3600))
    assert allowed == [0, 60, 180, 420, 900, 1860, 3780, 7380, 10980, 14580]


def test_a_problem_that_stopped_is_said_at_once_when_it_comes_back_then_after_a_minute() -> None:
    clock = FakeMonotonic()
    throttle = Throttle(60.0, monotonic=clock)
    assert lines_let_through(throttle, clock, range(0, 1000)) == [0, 60, 180, 420, 900]
    # quiet for 10 minutes (the broker was back), then away again
    assert lines_let_through(throttle, clock, range(1600, 1800)) == [1600, 1660, 1780]


def test_the_line_let_through_counts_what_was_held_back(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeMonotonic()
    throttle = Throttle(60.0, monotonic=clock)
    logger = logging.getLogger("test.throttle")
    for t in range(0, 181):
        clock.now_s = float(t)
        throttle.log(logger, logging.WARNING, "broker", "MQTT broker away")
    assert [r.getMessage() for r in caplog.records] == [
        "MQTT broker away",
        "MQTT broker away (59 similar suppressed)",
        "MQTT broker away (119 similar suppressed)",
    ]


def test_sparse_repeats_are_each_said() -> None:
    """A bad payload every ten minutes is not a problem that goes on: each is logged."""
    clock = FakeMonotonic()
    throttle = Throttle(60.0, monotonic=clock)
    assert lines_let_through(throttle, clock, range(0, 3600, 600)) == [
        0,
        600,
        1200,
        1800,
        2400,
        3000,
    ]


def test_a_throttle_not_restarting_when_quiet_starts_a_problem_over_only_on_reset() -> None:
    """The BLE sensor's warnings, on its clock: a strap off for the night is `not seen
    advertising` at each search, minutes apart; after ``reset`` (notifications flowed) a new
    problem is said a minute after the last line, never sooner, and its wait grows again."""
    clock = FakeMonotonic()
    warnings = Throttle(60.0, 3600.0, monotonic=clock, restart_when_quiet=False)

    def said(t: float) -> int | None:
        clock.now_s = t
        return warnings.suppressed_since_last("not_found") if warnings.allow("not_found") else None

    said_at = [t for t in range(0, 3 * 3600, 10) if said(t) is not None]
    assert said_at == [0, 60, 180, 420, 900, 1860, 3780, 7380]
    assert said(7380 + 3600) == 341  # held back since the last one
    warnings.reset()
    assert said(7380 + 3600 + 30) is None
    assert said(7380 + 3600 + 60) == 1
    assert said(7380 + 3600 + 90) is None
    assert said(7380 + 3600 + 180) == 1
    # a quiet hour does not start it over: the next waits 4 minutes, not one
    assert said(7380 + 3600 + 180 + 3600) == 0
    assert said(7380 + 3600 + 180 + 3600 + 60) is None


def test_timeline_values_hide_leaves_them_out_wherever_stdout_goes(tmp_path: Path) -> None:
    """A log kept by someone else (the add-on's log, `docker logs`, a supervisor's file):
    ``logging.timeline_values: hide``."""
    with (tmp_path / "out").open("w+") as out:
        Timeline(out, values=timeline_shows_values("hide", out))(FIRED)
        out.seek(0)
        text = out.read()
    assert "stress_score above 70 for 2min" in text
    assert "74.2" not in text


def test_timeline_values_show_keeps_them_even_in_the_journal(journal_file: TextIO) -> None:
    assert timeline_shows_values("show", journal_file)
    assert not timeline_shows_values("auto", journal_file)


@pytest.mark.parametrize(("environment", "shown"), [("hide", False), ("show", True), ("", True)])
def test_auto_follows_the_environment_a_container_image_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: str, shown: bool
) -> None:
    """The Docker image sets ``AMBIENT_TIMELINE_VALUES=hide``: its stdout is `docker logs`,
    which says nothing of being kept. The config's ``show`` or ``hide`` wins over it."""
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.setenv("AMBIENT_TIMELINE_VALUES", environment)
    with (tmp_path / "out").open("w") as out:
        assert timeline_shows_values("auto", out) is shown
        assert timeline_shows_values("show", out)
        assert not timeline_shows_values("hide", out)


@pytest.fixture
def root_logging_restored() -> Iterator[None]:
    """The root logger's handlers and level put back after a test that sets up logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("root_logging_restored")
def test_log_lines_in_the_journal_carry_their_priority_on_every_line(
    journal_file: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """journald takes each line of a service's stderr at priority info unless it starts with
    ``<N>`` (sd-daemon(3)): `journalctl -u ambient -p warning` showed none of ambient's
    problems, and each further line of a message (a rejected reload, one problem a line) came
    with no level at all. (A file stands in for journald's stream: no journald runs here.)"""
    monkeypatch.setattr(sys, "stderr", journal_file)
    setup_logging("DEBUG")
    logger = logging.getLogger("ambient.daemon")
    logger.critical("cannot go on")
    logger.error("New config rejected (2 problems):\nambient.yaml:3:5: a\nambient.yaml:9:1: b")
    logger.warning("broker away")
    logger.info("Running")
    logger.debug("hr 61")
    journal_file.seek(0)
    assert journal_file.read().splitlines() == [
        "<2>CRITICAL ambient.daemon: cannot go on",
        "<3>ERROR ambient.daemon: New config rejected (2 problems):",
        "<3>ambient.yaml:3:5: a",
        "<3>ambient.yaml:9:1: b",
        "<4>WARNING ambient.daemon: broker away",
        "<6>INFO ambient.daemon: Running",
        "<7>DEBUG ambient.daemon: hr 61",
    ]


@pytest.mark.usefixtures("root_logging_restored")
def test_json_log_lines_in_the_journal_keep_their_own_priority(
    journal_file: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`logging.format: json` under the service: each line came without a priority, and the
    service's stderr takes such a line as an error's, so every info line was an error in the
    journal. Each carries its level's priority, which journald takes off: what a shipper reads
    is the JSON alone."""
    monkeypatch.setattr(sys, "stderr", journal_file)
    mark_errors_in_the_journal()  # as `ambient run` under the service
    setup_logging("INFO", "json")
    logging.getLogger("ambient.daemon").info("Running")
    logging.getLogger("ambient.daemon").warning("broker away")
    journal_file.seek(0)
    running, away = journal_file.read().splitlines()
    assert running.startswith("<6>{") and away.startswith("<4>{")
    assert json.loads(running[3:])["message"] == "Running"
    assert json.loads(away[3:])["level"] == "WARNING"


@pytest.mark.usefixtures("root_logging_restored")
def test_log_lines_elsewhere_carry_no_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service's stderr sent to a file of its own (its JOURNAL_STREAM still set) is no
    journal: no ``<N>`` there, in text or JSON, and a failure's line is left as written."""
    with (tmp_path / "journal").open("w") as journal, (tmp_path / "log").open("w+") as log:
        info = os.fstat(journal.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        monkeypatch.setattr(sys, "stderr", log)
        mark_errors_in_the_journal()
        for fmt in ("text", "json"):
            setup_logging("INFO", fmt)
            logging.getLogger("ambient.daemon").warning("broker away")
        print("ambient run: cannot start", file=sys.stderr)
        log.seek(0)
        text, json_line, failure = log.read().splitlines()
    assert text.endswith("WARNING ambient.daemon: broker away") and text[0] != "<"
    assert json.loads(json_line)["message"] == "broker away"
    assert failure == "ambient run: cannot start"


def test_a_commands_failure_in_the_journal_is_at_the_error_priority(tmp_path: Path) -> None:
    """The unit's check before each start, and `run`, say why they stop in lines of their own
    on stderr: journald took them as info, so `journalctl -u ambient -p err` did not show why
    the service would not start. (A file stands in for journald's stream.)"""
    config = tmp_path / "ambient.yaml"
    config.write_text("instance: home\ntimezone: Europe/Berln\n")
    journal = tmp_path / "journal"
    with journal.open("w") as stream:
        info = os.fstat(stream.fileno())
        result = subprocess.run(
            [sys.executable, "-m", "ambient", "check", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=stream,
            env=clean_env(JOURNAL_STREAM=f"{info.st_dev}:{info.st_ino}"),
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    said, problem = journal.read_text().splitlines()
    assert said == f"<3>{config}: 1 problem:"
    assert problem.startswith(f"<3>  {config}:2:1: timezone: unknown time zone `Europe/Berln`")


def test_checks_warnings_in_the_journal_are_at_the_warning_priority(tmp_path: Path) -> None:
    """The unit's check before each start is where a config's warnings reach the journal (a
    weekly report folder the service cannot write): they came at info, so `journalctl -u
    ambient -p warning` did not show them. Its description stays info. (A file stands in for
    journald's stream, stdout and stderr both, as systemd gives a service.)"""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}]\nmqtt:\n  host: localhost\n  port: 8883\nstore:\n  path: null\n"
    )
    journal = tmp_path / "journal"
    with journal.open("w") as stream:
        info = os.fstat(stream.fileno())
        result = subprocess.run(
            [sys.executable, "-m", "ambient", "check", "--config", str(config)],
            stdout=stream,
            stderr=stream,
            env=clean_env(JOURNAL_STREAM=f"{info.st_dev}:{info.st_ino}"),
            timeout=120,
            check=False,
        )
    assert result.returncode == 0
    lines = journal.read_text().splitlines()
    assert lines[0] == f"{config}: OK"
    warnings = [line for line in lines if "Warning:" in line]
    assert warnings == [
        f"<4>Warning: {config}:4:3: mqtt.port: 8883 is MQTT over TLS, and there is no `tls:` "
        "section: add `tls: {}` (system CAs) or a `ca_file`, or use the broker's plain port"
    ]


def test_checks_warnings_elsewhere_carry_no_priority(tmp_path: Path) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}]\nmqtt:\n  host: localhost\n  port: 8883\nstore:\n  path: null\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "ambient", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        env=clean_env(JOURNAL_STREAM="1:1"),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0
    assert f"\nWarning: {config}:4:3: mqtt.port: 8883 is MQTT over TLS" in result.stdout
