"""kill -9 before a time trigger's fire time, restart after it: real `ambient run` processes on
the real clock. The fire time that passed while no process ran fires once, late, in the new
process, traced as caught up; the one the killed process handled does not fire again.

The trigger fires every 2 s (`at:` lists the times), so whenever the kill lands a fire time
follows it. Every step waits for a line the daemon writes, but one: nothing can make a wall
time pass except waiting for it, so the test waits (under 2.1 s) for the wall clock to pass
the next fire time before it starts the new process.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from rules.restart_scenario import WRITTEN, Daemon

SPACING_S = 2
CONFIG = """\
timezone: UTC
people: [{{id: alex}}]
rules:
  - id: tick
    triggers:
      - trigger: time
        at: {at}
    actions:
      - action: log
        message: tick
store:
  path: {store}
"""


def _fire_times() -> dict[str, float]:
    """Every 2 s for the next four minutes, by their text in the config (UTC)."""
    first = int(time.time()) + 3
    times = [float(first + SPACING_S * i) for i in range(120)]
    return {datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S"): t for t in times}


def _fired_reasons(store: Path) -> list[str]:
    db = sqlite3.connect(store)
    try:
        rows = db.execute("SELECT value FROM log WHERE namespace = 'traces' ORDER BY id")
        traces = [json.loads(raw) for (raw,) in rows.fetchall()]
    finally:
        db.close()
    return [str(trace["reason"]) for trace in traces if trace["event"] == "fired"]


def _fire_time(fire_times: dict[str, float], text: str) -> float:
    """The fire time a trace names: on the minute it writes ``HH:MM``, else ``HH:MM:SS``."""
    return fire_times[text if text.count(":") == 2 else f"{text}:00"]


def _wall_clock_past(moment: float) -> None:
    """The one wait on time itself: until the wall clock has passed ``moment``."""
    time.sleep(max(0.0, moment - time.time()) + 0.1)


def test_a_fire_time_passing_during_a_kill_and_restart_fires_once_late(tmp_path: Path) -> None:
    fire_times = _fire_times()
    store = tmp_path / "ambient.db"
    config = tmp_path / "ambient.yaml"
    config.write_text(CONFIG.format(at=json.dumps(list(fire_times)), store=store))
    daemon = Daemon(config)
    try:
        daemon.wait_for("Rule tick fired")
        daemon.wait_for(WRITTEN)  # the firing, and its fire time handled, are on disk
        daemon.kill()
        # The last fire time the killed process handled is the last one on disk (a firing and
        # its fire time are written together): on a loaded machine it may have fired again
        # between the line read above and the kill.
        handled = _fire_time(fire_times, _fired_reasons(store)[-1].split()[1].rstrip(","))
        _wall_clock_past(handled + SPACING_S)
        daemon = Daemon(config)
        daemon.wait_for("caught up")
        daemon.wait_for(WRITTEN)
        daemon.stop()
    finally:
        if daemon.process.poll() is None:
            daemon.kill()

    reasons = _fired_reasons(store)
    caught_up = [reason for reason in reasons if "caught up" in reason]
    assert len(caught_up) == 1
    assert "late (missed while ambient was not running" in caught_up[0]
    fired_at = [_fire_time(fire_times, reason.split()[1].rstrip(",")) for reason in reasons]
    assert fired_at == sorted(set(fired_at))  # none fired twice
    assert reasons[fired_at.index(handled) + 1] == caught_up[0]  # the next one, late
