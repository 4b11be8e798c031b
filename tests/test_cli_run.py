"""``ambient run`` and ``ambient status`` as a user meets them, through real processes: a
second daemon on the same config is one line and exit 1; ``status`` without ``--config``
finds the daemon this user started; the live timeline shows clock time and each action once;
text logs carry a timestamp except when they go to the journal."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "ambient" / "data" / "resting-hour.csv"
DEMO = ROOT / "config" / "demo.yaml"

CONFIG = """\
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


def clean_env(**extra: str) -> dict[str, str]:
    drop = {"AMBIENT_CONFIG", "JOURNAL_STREAM", "XDG_RUNTIME_DIR"}
    return {k: v for k, v in os.environ.items() if k not in drop} | extra


def ambient(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ambient", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


class RunningDaemon:
    """An ``ambient run`` process whose log lines can be awaited (no sleeps)."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ambient", "run", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, text: str) -> None:
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=30)
            except queue.Empty:
                pytest.fail(f"no log line with {text!r}; saw:\n{''.join(seen)}")
            seen.append(line)
            if text in line:
                return

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def daemon(tmp_path: Path, runtime_dir: Path) -> Iterator[tuple[RunningDaemon, Path]]:
    config = tmp_path / "ambient.yaml"
    config.write_text(CONFIG.format(recording=RECORDING, store=tmp_path / "state" / "ambient.db"))
    running = RunningDaemon(config, clean_env(XDG_RUNTIME_DIR=str(runtime_dir)))
    try:
        running.wait_for("Running:")
        yield running, config
    finally:
        running.stop()


def test_a_second_daemon_on_the_same_config_says_so_in_one_line(
    daemon: tuple[RunningDaemon, Path], tmp_path: Path
) -> None:
    _, config = daemon
    second = ambient("run", str(config), env=clean_env())
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    assert second.stderr.splitlines() == [
        "ambient run: another ambient daemon is already running with this config (it answers "
        f"on {tmp_path / 'state' / 'ambient.sock'}); stop it first, or give this one another "
        "store.path"
    ]


def test_status_without_a_config_finds_the_daemon_this_user_started(
    daemon: tuple[RunningDaemon, Path], runtime_dir: Path
) -> None:
    result = ambient("status", env=clean_env(XDG_RUNTIME_DIR=str(runtime_dir)))
    assert result.returncode == 0, result.stderr
    assert "calm_alex" in result.stdout
    assert (runtime_dir / "ambient.sock").is_symlink()


def test_the_link_goes_when_the_daemon_stops(
    daemon: tuple[RunningDaemon, Path], runtime_dir: Path
) -> None:
    running, _ = daemon
    running.stop()
    assert not (runtime_dir / "ambient.sock").is_symlink()
    result = ambient("status", env=clean_env(XDG_RUNTIME_DIR=str(runtime_dir)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("ambient status: ")


def test_live_timeline_shows_clock_time_and_each_action_once() -> None:
    started = time.time()
    result = ambient("run", str(DEMO), "--speed", "3000", env=clean_env())
    assert result.returncode == 0, result.stderr
    day = re.search(r"^-- (\d{4}-\d\d-\d\d) --$", result.stdout, re.MULTILINE)
    fired = re.search(r"^(\d\d:\d\d:\d\d)  calm_alex +fired ", result.stdout, re.MULTILINE)
    assert day and fired, result.stdout
    shown = datetime.strptime(f"{day[1]} {fired[1]}", "%Y-%m-%d %H:%M:%S").timestamp()
    # The clock starts at the wall time of the start and runs 3000x; the stress episode runs
    # from minute 30 to 40 of the recording, which plays from the clock's start.
    assert started + 30 * 60 <= shown <= time.time() + 40 * 60
    output = result.stdout + result.stderr
    assert output.count("alex is stressed") == 1
    assert output.count("alex has recovered") == 1


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
        assert line.endswith(
            f"Skipped a recording row: {recording}:3: hr -5 is outside 20..250 bpm"
        )
        if journal:
            assert line.startswith("WARNING ambient.recordings: ")
        else:
            assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING ambient\.recordings: ", line)
