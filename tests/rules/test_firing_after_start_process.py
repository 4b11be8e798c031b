"""kill -9 while a firing just after a start waits for what its conditions read: real `ambient
run` processes and a real Mosquitto. The trigger had been written as fired, its firing never
made: after the restart it stayed latched, silent for the whole episode, until the heart rate
came down past the hysteresis. It is written as due instead, and decides after the restart.

Alex's heart rate fires the rule; its condition reads Sam's, which is not heard before the
kill (so the firing waits, for `signals.stale_after`). After the restart both are heard.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.mosquitto import MosquittoBroker
from rules.restart_scenario import (
    HEART_RATE_CONFIG,
    WRITTEN,
    Daemon,
    Publisher,
    outcome_of,
    write_config,
)

pytestmark = pytest.mark.mosquitto

SAM_TOPIC = "test/sam/heart"

SAM_SENSOR = f"""\
  - type: mqtt
    topic: {SAM_TOPIC}
    person: sam
    metric: hr
    value: hr
    timestamp: ts
signals:
"""

CONFIG = (
    HEART_RATE_CONFIG.replace("  - id: alex\n", "  - id: alex\n  - id: sam\n").replace(
        "signals:\n", SAM_SENSOR
    )
    + """\
rules:
  - id: calm
    person: alex
    triggers:
      - trigger: signal
        signal: hr
        above: 100
        hysteresis: 10
    conditions:
      - condition: signal
        person: sam
        signal: hr
        above: 0
    actions:
      - action: log
        message: calm
store:
  path: {store}
"""
)


def test_a_firing_waiting_for_its_conditions_at_a_kill_decides_after_the_restart(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    config, store = write_config(tmp_path, mosquitto.host, mosquitto.port, CONFIG)
    alex = Publisher(mosquitto.host, mosquitto.port)
    sam = Publisher(mosquitto.host, mosquitto.port, topic=SAM_TOPIC)
    sam.bpm = 70.0
    daemon = Daemon(config)
    try:
        alex.on.set()
        daemon.wait_for("a condition of the run of alex fired just after the start")
        daemon.wait_for(WRITTEN)  # the trigger's state is on disk, the firing still waits
        daemon.kill()
        daemon = Daemon(config)
        sam.on.set()
        daemon.wait_for("Rule calm fired")
        daemon.stop()
    finally:
        alex.close()
        sam.close()
        if daemon.process.poll() is None:
            daemon.kill()
    outcome = outcome_of(store)
    assert outcome.events == ["fired"]
    assert outcome.actions == ["calm"]
