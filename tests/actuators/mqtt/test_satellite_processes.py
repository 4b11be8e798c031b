"""A satellite and a central instance as two real ``ambient run`` processes, one real Mosquitto:
beats the satellite reads drive a rule on the central instance.

The satellite's sensor is a ``recording`` replaying ambient/data/demo.csv (a real resting hour
with a simulated stress episode in minutes 30-40), not the emulated BLE strap: the bumble
backend (tests/sensors/ble/bumble_backend.py) is injected into bleak in-process and cannot
reach a separate ``ambient run``. Both processes run at ``--speed 600``, so the episode's rule
fires about 3 s after the start, and each has its own scaled clock started at its own launch;
the central maps the forwarded times onto its clock (ambient/sensors/satellite.py).
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.mosquitto import MosquittoBroker

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "ambient" / "data" / "demo.csv"
SPEED = "600"
WAIT_S = 20.0
STOP_S = 5.0

SATELLITE = """\
instance: kitchen
role: satellite
mqtt: {{host: {host}, port: {port}}}
people: [{{id: alex}}]
sensors:
  - {{type: recording, path: {recording}, person: alex, loop: true}}
store: {{path: {store}}}
"""

CENTRAL = """\
instance: home
mqtt: {{host: {host}, port: {port}, discovery: false}}
people: [{{id: alex}}]
sensors:
  - {{type: satellite, instances: [kitchen]}}
rules:
  - id: stressed
    triggers:
      - {{trigger: signal, signal: stress_score, above: 70, for: 2min}}
    actions:
      - action: log
store: {{path: {store}}}
"""


class AmbientProcess:
    """``ambient run`` whose stdout (the live timeline) and stderr (the log) lines are read by
    threads and awaited against a deadline."""

    def __init__(self, config: Path) -> None:
        self.config = config
        # faulthandler: a process that does not stop is dumped (SIGABRT) to show where.
        command = [sys.executable, "-X", "faulthandler", "-m", "ambient", "run"]
        self.process = subprocess.Popen(
            [*command, "--config", str(config), "--speed", SPEED],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[str] = []
        for name in ("stdout", "stderr"):
            threading.Thread(target=self._read, args=(name,), daemon=True).start()

    def _read(self, name: str) -> None:
        stream = getattr(self.process, name)
        for line in stream:
            self.lines.put((name, line))

    def wait_for(self, text: str, stream: str, deadline: float) -> str:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"{self.config.name}: no {stream} line with {text!r}; saw:\n{self.log}")
            try:
                name, line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(f"[{name}] {line}")
            if name == stream and text in line:
                return line

    @property
    def log(self) -> str:
        return "".join(self.seen[-80:])

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=10)
            self.drain()
            pytest.fail(f"{self.config.name}: still running {STOP_S} s after SIGTERM:\n{self.log}")

    def drain(self) -> None:
        while True:
            try:
                name, line = self.lines.get(timeout=1)
            except queue.Empty:
                return
            self.seen.append(f"[{name}] {line}")


@pytest.fixture
def processes(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[list[AmbientProcess]]:
    """Stopped (SIGTERM) at the end, even when the test fails half-way."""
    started: list[AmbientProcess] = []
    yield started
    for process in started:
        process.stop()


def write_config(directory: Path, template: str, broker: MosquittoBroker) -> Path:
    directory.mkdir()
    config = directory / "ambient.yaml"
    config.write_text(
        template.format(
            host=broker.host,
            port=broker.port,
            recording=DEMO,
            store=directory / "ambient.db",
        )
    )
    return config


def test_beats_from_a_satellite_process_fire_a_rule_in_the_central_process(
    tmp_path: Path, mosquitto: MosquittoBroker, processes: list[AmbientProcess]
) -> None:
    central_config = write_config(tmp_path / "central", CENTRAL, mosquitto)
    satellite_config = write_config(tmp_path / "satellite", SATELLITE, mosquitto)
    deadline = time.monotonic() + WAIT_S

    central = AmbientProcess(central_config)
    processes.append(central)
    central.wait_for("Connected to MQTT broker", "stderr", deadline)
    satellite = AmbientProcess(satellite_config)
    processes.append(satellite)
    satellite.wait_for("Connected to MQTT broker", "stderr", deadline)

    fired = central.wait_for(" fired ", "stdout", deadline)
    assert "stressed" in fired
    assert "stress_score" in fired
    assert "above 70 for 2min" in fired
    assert satellite.process.poll() is None  # still forwarding
    assert {"ambient-home", "ambient-kitchen"} <= set(mosquitto.connected_client_ids())

    status = subprocess.run(
        [sys.executable, "-m", "ambient", "status", "--json", "--config", str(central_config)],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    document = json.loads(status.stdout)
    assert document["instance"] == "home"
    [sensor] = document["sensors"]
    assert sensor["type"] == "satellite"
    assert sensor["connected"] is True
    assert sensor["satellites"]["kitchen"]["readings"] > 0
    # Forwarded readings' source names the satellite: the age is the sensor's own, not null.
    assert sensor["last_reading_age_s"] is not None
    assert sensor["dropped"] == {}
    assert "stress_score" in document["people"]["alex"]  # signals made from forwarded beats

    assert central.stop() == 0
    assert satellite.stop() == 0
