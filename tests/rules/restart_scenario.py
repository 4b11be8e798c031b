"""kill -9 before a deadline, restart, and compare with a run that was never interrupted.

Real `ambient run` processes read heart rate from a real Mosquitto; a publisher thread sends
HR 120 (then 60) every 0.2 s with its timestamp. The rule: HR above 100 `for` 2 s, escalation
after 3 s, recovery below 90. Every step waits for a line the daemon writes (the trace lines,
"Rule state written", the log action's message), never for a time:

- uninterrupted: fired, escalated, recovered, one process;
- interrupted: kill -9 once the pending `for` window is written (its deadline ~2 s ahead);
  a new process gets no reading until its deadline has passed (it says so, or — without the
  fix — traces the window as suppressed); then readings again. Once the firing is written,
  kill -9 again before the escalation is due, and the same once more.

The outcome of each run is its store: the trace events and the actions' messages, in order.
"""

from __future__ import annotations

import json
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

TOPIC = "test/alex/heart"
#: A guard against a daemon that never says what the scenario waits for (a failure, not a pace).
LINE_TIMEOUT_S = 30.0

#: Alex's heart rate from MQTT, timestamped, every reading an update: what each scenario
#: builds its rules on.
HEART_RATE_CONFIG = """\
people:
  - id: alex
mqtt:
  host: {host}
  port: {port}
sensors:
  - type: mqtt
    topic: {topic}
    person: alex
    metric: hr
    value: hr
    timestamp: ts
signals:
  update_interval: 0
  stale_after: 5s
"""

CONFIG = (
    HEART_RATE_CONFIG
    + """\
rules:
  - id: calm
    person: alex
    triggers:
      - trigger: signal
        signal: hr
        above: 100
        for: 2s
        hysteresis: 10
    actions:
      - action: log
        message: calm
    escalate:
      - after: 3s
        actions:
          - action: log
            message: level 1
    on_recovery:
      - action: log
        message: recovered
store:
  path: {store}
"""
)

FOR_WAITING = "the `for` window of alex fell due while ambient was not running"
FOR_LOST = "when `for` ended"
ESCALATION_WAITING = "escalation 1 of alex fell due while ambient was not running"
ESCALATION_LOST = "escalation 1 skipped"
WRITTEN = "Rule state written"


class ScenarioFailed(Exception):
    pass


class Publisher:
    """Publishes ``{"hr": bpm, "ts": now}`` every ``interval_s`` while switched on."""

    def __init__(self, host: str, port: int, interval_s: float = 0.2, topic: str = TOPIC) -> None:
        self.bpm = 120.0
        self.topic = topic
        self.on = threading.Event()
        self._stop = threading.Event()
        self._interval_s = interval_s
        self._client = paho.Client(CallbackAPIVersion.VERSION2)
        self._client.connect(host, port)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.on.wait()
            if self._stop.is_set():
                return
            payload = json.dumps({"hr": self.bpm, "ts": time.time()})
            self._client.publish(self.topic, payload)
            self._stop.wait(self._interval_s)  # the sensor's pace, not a wait for anything

    def close(self) -> None:
        self._stop.set()
        self.on.set()
        self._thread.join()
        self._client.loop_stop()
        self._client.disconnect()


class Daemon:
    """An `ambient run` process whose stderr lines can be awaited."""

    def __init__(self, config: Path, *options: str) -> None:
        command = [sys.executable, "-m", "ambient", "run", "--config", str(config)]
        self.process = subprocess.Popen(
            [*command, "--log-level", "DEBUG", *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, *texts: str) -> str:
        """The first of ``texts`` in a new line (which one), or :class:`ScenarioFailed`."""
        deadline = time.monotonic() + LINE_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise ScenarioFailed("the daemon exited:\n" + "".join(self.seen[-20:]))
            self.seen.append(line)
            for text in texts:
                if text in line:
                    return text
        raise ScenarioFailed(f"no line with {texts}; last lines:\n" + "".join(self.seen[-20:]))

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait()


@dataclass
class Outcome:
    """What a run did: its trace events and its actions' messages, in order."""

    events: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    #: Seconds from a deadline's first reading after the restart to its decision.
    notes: list[str] = field(default_factory=list)


def stopped(daemon: Daemon, store: Path) -> Outcome:
    """What a scenario cut short left in the store, marked as cut short."""
    daemon.kill()
    outcome = outcome_of(store)
    outcome.events.append("(scenario stopped)")
    return outcome


def outcome_of(store: Path) -> Outcome:
    db = sqlite3.connect(store)
    try:
        rows = db.execute("SELECT value FROM log WHERE namespace = 'traces' ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # no daemon got as far as making the store
        rows = []
    finally:
        db.close()
    outcome = Outcome()
    for (raw,) in rows:
        trace = json.loads(raw)
        outcome.events.append(str(trace["event"]))
        outcome.actions += [str(a.get("detail")) for a in trace.get("actions", [])]
        if "while ambient was not running" in str(trace.get("reason")):
            outcome.notes.append(str(trace["reason"]))
    return outcome


def write_config(
    directory: Path, host: str, port: int, template: str = CONFIG
) -> tuple[Path, Path]:
    """``template`` filled in as ``directory``'s config (its store beside it): their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    store = directory / "ambient.db"
    config = directory / "ambient.yaml"
    config.write_text(template.format(host=host, port=port, topic=TOPIC, store=store))
    return config, store


def uninterrupted(directory: Path, host: str, port: int) -> Outcome:
    config, store = write_config(directory, host, port)
    publisher = Publisher(host, port)
    daemon = Daemon(config)
    try:
        publisher.on.set()
        daemon.wait_for("Rule calm fired")
        daemon.wait_for("Rule calm escalated")
        publisher.bpm = 60.0
        daemon.wait_for("Rule calm recovered")  # traced once its actions are done
        publisher.on.clear()
        daemon.stop()
    finally:
        publisher.close()
        if daemon.process.poll() is None:
            daemon.kill()
    return outcome_of(store)


def interrupted(
    directory: Path, host: str, port: int, on_kill: Callable[[], None] = lambda: None
) -> Outcome:
    """Two kills: before the `for` deadline, and before the escalation is due."""
    config, store = write_config(directory, host, port)
    publisher = Publisher(host, port)
    daemon = Daemon(config)
    try:
        publisher.on.set()
        daemon.wait_for(WRITTEN)  # the pending window is on disk; its deadline ~2 s ahead
        publisher.on.clear()
        daemon.kill()
        on_kill()
        daemon = Daemon(config)  # no reading until its deadline has passed
        daemon.wait_for(FOR_WAITING, FOR_LOST)
        publisher.on.set()
        daemon.wait_for("Rule calm fired")
        daemon.wait_for(WRITTEN)  # the episode is on disk; escalation due 3 s after firing
        publisher.on.clear()
        daemon.kill()
        on_kill()
        daemon = Daemon(config)
        daemon.wait_for(ESCALATION_WAITING, ESCALATION_LOST)
        publisher.on.set()
        if daemon.wait_for("Rule calm escalated", ESCALATION_LOST) == ESCALATION_LOST:
            raise ScenarioFailed("the escalation was skipped")
        publisher.bpm = 60.0
        daemon.wait_for("Rule calm recovered")  # traced once its actions are done
        publisher.on.clear()
        daemon.stop()
    except ScenarioFailed:
        return stopped(daemon, store)
    finally:
        publisher.close()
        if daemon.process.poll() is None:
            daemon.kill()
    return outcome_of(store)
