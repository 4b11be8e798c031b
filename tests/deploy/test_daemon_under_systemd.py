"""A real ``ambient run`` process as systemd runs it (``Type=notify``, ``WatchdogSec=``): the
test owns the ``NOTIFY_SOCKET`` datagram socket, as systemd would, and sees READY, then WATCHDOG
pings; ``ambient status`` answers from the same process over its Unix socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "ambient" / "data" / "resting-hour.csv"
WATCHDOG_USEC = 400_000  # pings every 0.2 s

CONFIG = f"""\
instance: pi
people:
  - id: alex
sensors:
  - id: replay
    type: recording
    path: {RECORDING}
    person: alex
    loop: true
rules:
  - id: calm
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
    actions:
      - action: log
store:
  path: {{store}}
"""


class Systemd:
    """The notify socket systemd would own, and the messages the service sent to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))

    def next_message(self, timeout_s: float = 20.0) -> dict[str, str]:
        self.socket.settimeout(timeout_s)
        raw = self.socket.recv(4096).decode()
        return dict(line.split("=", 1) for line in raw.splitlines())

    def wait_for(self, key: str, timeout_s: float = 20.0) -> tuple[dict[str, str], list[str]]:
        """The first message with ``key``, and the keys of those before it."""
        before: list[str] = []
        deadline = time.monotonic() + timeout_s
        while True:
            message = self.next_message(max(0.01, deadline - time.monotonic()))
            if key in message:
                return message, before
            before.extend(message)


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[Systemd]:
    manager = Systemd(tmp_path / "notify.sock")
    yield manager
    manager.socket.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG.format(store=tmp_path / "state" / "ambient.db"))
    return path


def ambient(*args: str) -> list[str]:
    return [sys.executable, "-m", "ambient", *args]


def test_ready_then_watchdog_pings_and_status_answers(
    systemd: Systemd, config: Path, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(systemd.path),
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
    }
    env.pop("WATCHDOG_PID", None)
    process = subprocess.Popen(
        ambient("run", "--config", str(config), "--speed", "10"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, before = systemd.wait_for("READY")
        assert "WATCHDOG" not in before  # pings only once start-up is complete
        assert ready["READY"] == "1"
        assert ready["MAINPID"] == str(process.pid)
        assert "1 rule armed" in ready.get("STATUS", "")

        pings = [systemd.wait_for("WATCHDOG")[0] for _ in range(3)]
        assert all(ping == {"WATCHDOG": "1"} for ping in pings)

        sock = tmp_path / "state" / "ambient.sock"
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600

        answer = subprocess.run(
            ambient("status", "--json", "--config", str(config)),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert answer.returncode == 0, answer.stderr
        status = json.loads(answer.stdout)
        assert status["instance"] == "pi"
        assert status["uptime_s"] >= 0
        assert status["paused"] is False
        assert [rule["id"] for rule in status["rules"]] == ["calm"]
        assert len(status["sensors"]) == 1
        assert "alex" in status["people"]
        assert "readings" in status["queues"]

        text = subprocess.run(
            ambient("status", "--config", str(config)),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert text.returncode == 0, text.stderr
        assert text.stdout.startswith("ambient ")
        assert "calm" in text.stdout

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    gone = subprocess.run(
        ambient("status", "--json", "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert gone.returncode == 1
    assert "is the daemon running" in gone.stderr
    assert gone.stdout == ""
