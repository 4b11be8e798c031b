"""A real `ambient run` process: SIGTERM/SIGINT stop it cleanly within 2 s; SIGHUP reloads the
config, and an invalid new config is reported while the running one stays."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "ambient" / "data" / "resting-hour.csv"

CONFIG = """\
people:
  - id: alex
sensors:
  - type: recording
    path: {recording}
    person: alex
    loop: true
rules:
  - id: {rule_id}
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
    actions:
      - action: log
store:
  path: {store}
"""


class Daemon:
    """An `ambient run` subprocess whose stderr lines can be awaited (no sleeps)."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ambient", "run", "--config", str(config), "--speed", "10"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout_s: float = 20.0) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no log line with {text!r}; saw:\n{''.join(self.seen)}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line


@pytest.fixture
def write_config(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    config = tmp_path / "ambient.yaml"
    store = tmp_path / "state" / "ambient.db"
    config.write_text(CONFIG.format(recording=RECORDING, store=store, rule_id="calm"))
    yield config, store


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_shuts_down_cleanly_within_two_seconds(
    write_config: tuple[Path, Path], signum: int
) -> None:
    config, store = write_config
    daemon = Daemon(config)
    daemon.wait_for("Running: 1 sensors, 1 rules")
    started = time.monotonic()
    daemon.process.send_signal(signum)
    returncode = daemon.process.wait(timeout=10)
    elapsed = time.monotonic() - started
    assert returncode == 0
    assert elapsed < 2.0
    assert store.exists()
    assert oct(store.stat().st_mode & 0o777) == oct(0o600)


def test_sighup_reloads_a_valid_config(write_config: tuple[Path, Path]) -> None:
    config, store = write_config
    daemon = Daemon(config)
    daemon.wait_for("Running: 1 sensors, 1 rules")
    second_rule = (
        "  - id: second\n    triggers:\n      - trigger: signal\n        signal: hr\n"
        "        above: 150\n    actions:\n      - action: log\nstore:"
    )
    config.write_text(
        CONFIG.format(recording=RECORDING, store=store, rule_id="calm").replace(
            "store:", second_rule
        )
    )
    os.kill(daemon.process.pid, signal.SIGHUP)
    daemon.wait_for("Config reloaded")
    daemon.wait_for("Running: 1 sensors, 2 rules")
    daemon.process.terminate()
    assert daemon.process.wait(timeout=10) == 0


def test_sighup_with_an_invalid_config_keeps_the_running_one(
    write_config: tuple[Path, Path],
) -> None:
    config, _ = write_config
    daemon = Daemon(config)
    daemon.wait_for("Running: 1 sensors, 1 rules")
    config.write_text("rules:\n  - id: calm\n    cooldwn: 5min\n")
    os.kill(daemon.process.pid, signal.SIGHUP)
    daemon.wait_for("New config rejected, keeping the running one")
    daemon.wait_for("did you mean `cooldown`?")
    daemon.wait_for("Running: 1 sensors, 1 rules")
    assert daemon.process.poll() is None
    daemon.process.terminate()
    assert daemon.process.wait(timeout=10) == 0
