"""kill -9 inside a `wait_for`, restart after its timeout: the run goes on as it would have.

Real `ambient run` processes read heart rate from a real Mosquitto (the publisher and the
daemon are restart_scenario's). The rule fires on HR above 100, logs "calm", waits up to 3 s for
HR below 90 and then says which way it went: "calmer now" if HR is below 90, else "still
stressed". Every step waits for a line the daemon writes, never for a time:

- uninterrupted: HR 120 fires the rule; HR 60 while it waits: "calmer now";
- interrupted: kill -9 once the waiting run is written (its timeout ~3 s ahead), no reading
  until the new process says the timeout fell due (or, without the fix, until it has already
  said "still stressed" about a heart rate it had not heard yet); then HR 60: "calmer now".

The outcome of each run is the first of the two lines the daemon writes (and, after a
restart, how late the wait decided: the gap from its timeout to the first reading).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rules.restart_scenario import (
    HEART_RATE_CONFIG,
    WRITTEN,
    Daemon,
    Publisher,
    ScenarioFailed,
    write_config,
)

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
        hysteresis: 10
    actions:
      - action: log
        message: calm
      - wait_for: {{signal: hr, below: 90}}
        timeout: 3s
        continue_on_timeout: true
      - if: [{{condition: signal, signal: hr, below: 90}}]
        then: [{{action: log, message: calmer now}}]
        else: [{{action: log, message: still stressed}}]
store:
  path: {store}
"""
)

CALMER = "calmer now"
STRESSED = "still stressed"
WAIT_DUE = "the `wait_for` hr of alex fell due while ambient was not running"


@dataclass(frozen=True)
class Said:
    """Which way the run said the wait went; seconds its decision came after the timeout."""

    text: str
    late_s: float | None = None
    #: The store's traces afterwards: (event, what its actions did), in order.
    traced: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _late_s(lines: list[str]) -> float | None:
    for line in lines:
        if found := re.search(r"first value after the restart \(due ([0-9.]+) s earlier", line):
            return float(found.group(1))
    return None


def _daemon(directory: Path, host: str, port: int) -> Daemon:
    config, _store = write_config(directory, host, port, CONFIG)
    return Daemon(config, "--log-format", "json")  # the `log` action's lines on stderr too


def _traced(directory: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    db = sqlite3.connect(directory / "ambient.db")
    try:
        rows = db.execute("SELECT value FROM log WHERE namespace = 'traces' ORDER BY id").fetchall()
    finally:
        db.close()
    traces = [json.loads(raw) for (raw,) in rows]
    return tuple((t["event"], tuple(str(a["detail"]) for a in t["actions"])) for t in traces)


def uninterrupted(directory: Path, host: str, port: int) -> str:
    """What the run says after its wait when nothing stops ambient: the person calmed down."""
    publisher = Publisher(host, port)
    daemon = _daemon(directory, host, port)
    try:
        publisher.on.set()
        daemon.wait_for("Rule calm fired")  # traced when the run starts waiting
        publisher.bpm = 60.0
        said = daemon.wait_for(CALMER, STRESSED)
        publisher.on.clear()
        daemon.stop()
    finally:
        publisher.close()
        if daemon.process.poll() is None:
            daemon.kill()
    return said


def interrupted(
    directory: Path, host: str, port: int, on_kill: Callable[[], None] = lambda: None
) -> Said:
    """kill -9 while the run waits; the new process hears nothing until the timeout is due."""
    publisher = Publisher(host, port)
    daemon = _daemon(directory, host, port)
    try:
        publisher.on.set()
        daemon.wait_for("Rule calm fired")
        daemon.wait_for(WRITTEN)  # the waiting run is on disk; its timeout ~3 s ahead
        publisher.on.clear()
        daemon.kill()
        on_kill()
        publisher.bpm = 60.0  # calmer by now, but ambient has not heard it yet
        daemon = _daemon(directory, host, port)
        if daemon.wait_for(WAIT_DUE, STRESSED) == STRESSED:
            return Said(STRESSED)  # timed out on a heart rate unknown only because of the restart
        publisher.on.set()
        said = daemon.wait_for(CALMER, STRESSED)
        publisher.on.clear()
        daemon.stop()
    except ScenarioFailed as failure:
        return Said(f"(scenario stopped: {failure})")
    finally:
        publisher.close()
        if daemon.process.poll() is None:
            daemon.kill()
    return Said(said, _late_s(daemon.seen), _traced(directory))
