"""``ambient run`` and ``ambient status`` as a user meets them, through real processes: a
second daemon on the same config is one line and exit 1; ``status`` without ``--config``
finds the daemon this user started; the live timeline shows clock time and each action once;
text logs carry a timestamp except when they go to the journal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, clean_env, run_ambient

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "ambient" / "data" / "resting-hour.csv"

CONFIG = """\
timezone: Europe/Berlin
people:
  - id: alex
sensors:
  - type: recording
    path: {recording}
    person: alex
    loop: true
rules:
  - id: calm_alex
    person: alex
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
    actions:
      - action: log
        message: "{{person}} is stressed"
store:
  path: {store}
"""


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def daemon(tmp_path: Path, runtime_dir: Path) -> Iterator[tuple[AmbientProcess, Path]]:
    config = tmp_path / "ambient.yaml"
    config.write_text(CONFIG.format(recording=RECORDING, store=tmp_path / "state" / "ambient.db"))
    running = AmbientProcess("run", str(config), env=clean_env(XDG_RUNTIME_DIR=str(runtime_dir)))
    try:
        running.stderr.wait_for("Running:")
        yield running, config
    finally:
        running.stop()


def test_a_second_daemon_on_the_same_config_says_so_in_one_line(
    daemon: tuple[AmbientProcess, Path], tmp_path: Path
) -> None:
    _, config = daemon
    second = run_ambient("run", str(config), env=clean_env())
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    assert second.stderr.splitlines() == [
        "ambient run: another ambient daemon is already running with this config (it answers "
        f"on {tmp_path / 'state' / 'ambient.sock'}); stop it first, or give this one another "
        "store.path"
    ]


def test_a_second_daemon_is_refused_before_it_touches_the_store(
    daemon: tuple[AmbientProcess, Path], tmp_path: Path
) -> None:
    """The refused daemon must not open the first one's store: on its way out it would write
    back the baselines, rule state and day it had loaded over the first daemon's newer ones.
    The first daemon is paused so that any write in the store's files is the second's."""
    running, config = daemon
    state = tmp_path / "state"
    running.process.send_signal(signal.SIGSTOP)
    try:
        before = {path.name: path.read_bytes() for path in state.glob("ambient.db*")}
        second = run_ambient("run", str(config), env=clean_env())
        after = {path.name: path.read_bytes() for path in state.glob("ambient.db*")}
    finally:
        running.process.send_signal(signal.SIGCONT)
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert after == before


def test_status_without_a_config_finds_the_daemon_this_user_started(
    daemon: tuple[AmbientProcess, Path], runtime_dir: Path
) -> None:
    result = run_ambient("status", env=clean_env(XDG_RUNTIME_DIR=str(runtime_dir)))
    assert result.returncode == 0, result.stderr
    assert "calm_alex" in result.stdout
    assert (runtime_dir / "ambient.sock").is_symlink()


def test_the_link_goes_when_the_daemon_stops(
    daemon: tuple[AmbientProcess, Path], runtime_dir: Path
) -> None:
    running, _ = daemon
    running.stop()
    assert not (runtime_dir / "ambient.sock").is_symlink()
    result = run_ambient("status", env=clean_env(XDG_RUNTIME_DIR=str(runtime_dir)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("ambient status: ")


def test_status_of_a_config_edited_since_the_daemon_read_it_says_what_differs(
    daemon: tuple[AmbientProcess, Path],
) -> None:
    """The daemon runs its config as it read it (at its start, or its last reload): asked with
    the file edited since, status showed the old rules and sensors with nothing said, and the
    new rule seemed lost. A note on stderr now names what differs and how to apply the file."""
    running, config = daemon
    result = run_ambient("status", str(config))
    assert (result.returncode, result.stderr) == (0, "")
    config.write_text(config.read_text().replace("id: calm_alex", "id: calm_evening"))
    result = run_ambient("status", str(config), "--json")
    assert result.returncode == 0, result.stderr
    assert [rule["id"] for rule in json.loads(result.stdout)["rules"]] == ["calm_alex"]
    assert result.stderr == (
        f"note: the daemon runs another version of {config} (rules only in the file: "
        "calm_evening; only in the daemon: calm_alex): reload it to apply the file "
        "(`systemctl reload ambient`; for a daemon started by hand, "
        f"`kill -HUP {running.process.pid}`)\n"
    )


def test_status_of_a_named_config_whose_daemon_is_not_running_says_how_to_start_it(
    tmp_path: Path,
) -> None:
    """The config was given, so the hint is to run it, not to give it (nor systemd's)."""
    folder = tmp_path / "my home"
    folder.mkdir()
    config = folder / "ambient.yaml"
    config.write_text("people:\n  - id: alex\nstore:\n  path: state/ambient.db\n")
    result = run_ambient("status", str(config), cwd=folder)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"ambient status: no status socket at {folder}/state/ambient.sock: is the daemon running? "
        f"(`ambient run '{config}'` starts it)\n"
    )


HR_RULE = """\
people:
  - id: alex
sensors:
  - type: recording
    path: hr.csv
    person: alex
rules:
  - id: fast_heart
    person: alex
    triggers:
      - trigger: signal
        signal: hr
        above: 100
    actions:
      - action: log
        message: "{person}: heart rate {hr}"
    on_recovery:
      - action: log
        message: "{person}: calm again"
store:
  path: null
"""


def test_live_timeline_shows_clock_time_and_each_action_once(tmp_path: Path) -> None:
    # Heart rate 120 from minute 10 to minute 20 of a 30-minute recording.
    rows = "".join(f"{t},hr,{120 if 600 <= t < 1200 else 60}\n" for t in range(0, 1800, 5))
    (tmp_path / "hr.csv").write_text("t,metric,value\n" + rows)
    config = tmp_path / "ambient.yaml"
    config.write_text(HR_RULE)
    started = time.time()
    result = run_ambient("run", str(config), "--speed", "600", env=clean_env())
    assert result.returncode == 0, result.stderr
    day = re.search(r"^-- (\d{4}-\d\d-\d\d) --$", result.stdout, re.MULTILINE)
    fired_line = r"^(\d\d:\d\d:\d\d)  fast_heart \(alex\) +fired "
    fired = re.search(fired_line, result.stdout, re.MULTILINE)
    assert day and fired, result.stdout
    shown = datetime.strptime(f"{day[1]} {fired[1]}", "%Y-%m-%d %H:%M:%S").timestamp()
    # The clock starts at the wall time of its creation and runs 600x; the recording plays
    # from when the sensors start, so the rule fires at least 10 min of clock time after the
    # start, and never later than the clock can have reached.
    ended = time.time()
    assert started + 10 * 60 - 1 <= shown <= ended + (ended - started) * 600
    output = result.stdout + result.stderr
    assert output.count("alex: heart rate 120") == 1
    assert output.count("alex: calm again") == 1


def test_a_timeline_reader_that_goes_away_is_one_line_and_the_daemon_goes_on(
    tmp_path: Path,
) -> None:
    """`ambient run | head -1`: the recovery after the firing finds the pipe closed. That is no
    traceback per trace: one line, and the run plays its recording to the end, exit 0."""
    rows = "".join(f"{t},hr,{120 if 600 <= t < 1200 else 60}\n" for t in range(0, 1800, 5))
    (tmp_path / "hr.csv").write_text("t,metric,value\n" + rows)
    config = tmp_path / "ambient.yaml"
    config.write_text(HR_RULE)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "ambient", "run", str(config), "--speed", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert daemon.stdout is not None
    assert daemon.stdout.readline().startswith("-- ")  # the firing's day line
    daemon.stdout.close()  # as head does once it has its line
    _, stderr = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr.count("The timeline's reader went away") == 1


def test_a_timeline_stdout_cannot_take_is_one_line_naming_it_and_the_daemon_goes_on(
    tmp_path: Path,
) -> None:
    """`ambient run > file` on a full disk (/dev/full refuses every write, as a full disk
    does) was an ERROR with a traceback for every rule decision; now one warning names stdout
    and the error, and the run plays its recording to the end, exit 0."""
    rows = "".join(f"{t},hr,{120 if 600 <= t < 1200 else 60}\n" for t in range(0, 1800, 5))
    (tmp_path / "hr.csv").write_text("t,metric,value\n" + rows)
    config = tmp_path / "ambient.yaml"
    config.write_text(HR_RULE)
    with Path("/dev/full").open("w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "ambient", "run", str(config), "--speed", "600"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            env=clean_env(),
        )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "timeline" in line]
    assert line.endswith(
        "WARNING ambient.logs: The timeline cannot be written to stdout (No space left on "
        "device); it is no longer shown, and the daemon goes on"
    )


def test_text_logs_are_timestamped_except_when_they_go_to_the_journal(tmp_path: Path) -> None:
    recording = tmp_path / "r.csv"
    recording.write_text("t,metric,value\n1,hr,60\n2,hr,-5\n")
    log = tmp_path / "stderr.log"
    for journal in (False, True):
        with log.open("w") as stderr:
            info = os.fstat(stderr.fileno())
            extra = {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"} if journal else {}
            subprocess.run(
                [sys.executable, "-m", "ambient", "analyze", "--recording", str(recording)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=clean_env(**extra),
                timeout=60,
                check=True,
            )
        line = log.read_text().splitlines()[0]
        assert line.endswith(f"Skipped a recording row: {recording}:3: hr outside 20..250 bpm")
        if journal:  # journald reads the level from the <N> prefix and takes it off
            assert line.startswith("<4>WARNING ambient.recordings: ")
        else:
            assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING ambient\.recordings: ", line)


def documented_fields(heading: str) -> set[str]:
    """The fields the table under ``heading`` in docs/first-rule.md names in its first column
    (``sensors[]`` is ``sensors``)."""
    page = (ROOT / "docs" / "first-rule.md").read_text()
    section = page.split(f"{heading}\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name.strip(" `[]") for row in rows for name in row.split(",")}


def test_status_json_has_the_fields_the_docs_list_and_no_others(
    daemon: tuple[AmbientProcess, Path],
) -> None:
    _, config = daemon
    result = run_ambient("status", str(config), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == documented_fields("### `ambient status --json`, field by field")
    assert {"name", "type", "person", "last_reading_age_s"} <= set(document["sensors"][0])
    age_s = document["sensors"][0]["last_reading_age_s"]  # the daemon's only, to the ms
    assert age_s is None or age_s == round(age_s, 3)
    assert document["timezone"] == "Europe/Berlin"  # the page shows times as the timeline does


def test_a_replay_falling_behind_its_speed_says_so_once_by_the_config_s_gap(
    tmp_path: Path, runtime_dir: Path
) -> None:
    """At --speed 100000 no machine keeps up: beats 0.85 s apart are 8.5 µs of real time. A
    replay falling behind shows the signals pauses between beats that the recording has not;
    `run` said so only past 15 s of lag (beats over `rr_gap`, 5 s, apart had restarted their
    cleaning silently), and now past the config's own `rr_gap`, once."""
    beats = tmp_path / "beats.csv"
    beats.write_text("t,metric,value\n" + "".join(f"{k * 0.85:.2f},rr,850\n" for k in range(600)))
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}]\nsignals: {rr_gap: 3s}\nstore: {path: null}\n"
        f"sensors:\n  - {{type: recording, path: {beats}, person: alex}}\n"
    )
    result = run_ambient(
        "run", str(config), "--speed", "100000", env=clean_env(XDG_RUNTIME_DIR=str(runtime_dir))
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "keeps up with" in line]
    assert re.search(
        r"WARNING ambient\.clock: --speed 100000 is faster than this machine keeps up with: a "
        r"reading came \d+ s of the clock late, a pause over 3 s the recording has not, so the "
        r"signals differ from the recording's; give --speed \d+ or lower \(`ambient simulate` "
        r"replays exactly\)$",
        line,
    ), line


def test_the_pauses_a_replay_at_speed_must_not_open_are_the_config_s() -> None:
    """rr_gap, the signals' stale_after and a recording sensor's own: a watch's samples 5 min
    apart go stale past its 6 min, which a lag of over a minute opens, unsaid while only the
    shortest was watched (the recording's own 5 min pause is over rr_gap)."""
    from ambient.commands.live import pauses_the_signals_see_s
    from ambient.config import AmbientConfig

    assert pauses_the_signals_see_s(AmbientConfig()) == [5.0, 15.0]
    recording = {"type": "recording", "path": "x.csv"}
    own = AmbientConfig.model_validate(
        {"signals": {"rr_gap": 8}, "sensors": [recording | {"stale_after": "6min"}]}
    )
    assert pauses_the_signals_see_s(own) == [8.0, 15.0, 360.0]
    signals = AmbientConfig.model_validate(
        {"signals": {"rr_gap": 8, "stale_after": 6}, "sensors": [recording]}
    )
    assert pauses_the_signals_see_s(signals) == [6.0, 8.0]


def test_the_pauses_a_replay_at_speed_watches_follow_a_reloaded_config() -> None:
    """They were the config's at the start: a reload (SIGHUP) changing rr_gap or a
    stale_after left the lag warning watching the old ones."""
    from ambient.commands.live import pauses_following
    from ambient.config import AmbientConfig

    running = [AmbientConfig()]
    pauses = pauses_following(lambda: running[0])
    assert pauses() == [5.0, 15.0]
    running[0] = AmbientConfig.model_validate({"signals": {"rr_gap": 3}})  # reloaded
    assert pauses() == [3.0, 15.0]
