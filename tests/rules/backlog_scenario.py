"""kill -9, button presses while ambient is down, restart: which queued presses act.

A real `ambient run` process with two MQTT-triggered rules on a real Mosquitto: `hall` (a
bare `press`, no time) and `desk` (JSON with the time it was pressed; `max_age: 1min`). Every
step waits for a line the daemon writes, never for a time:

- a live hall press fires (so the session and its subscriptions exist), then kill -9;
- while ambient is down, at QoS 1: a hall press, a desk press from 4 h ago, a desk press now;
- ``on_kill`` (the restart's delay), then a new process: the backlog arrives first; then a live
  hall press.

An uninterrupted run would have acted on each press when it happened; after the restart only
the desk press that says it is recent may still act. Expected traces, in order: hall fired
(live), hall suppressed (no time), desk suppressed (4 h old), desk fired (recent), hall fired
(live). The outcome is read from the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from rules.restart_scenario import (
    LINE_TIMEOUT_S,
    Daemon,
    Outcome,
    ScenarioFailed,
    outcome_of,
    stopped,
)

HALL = "home/hall/button"
DESK = "home/desk/button"

CONFIG = """\
people:
  - id: alex
mqtt:
  host: {host}
  port: {port}
sensors:
  - type: mqtt
    topic: home/alex/heart
    person: alex
    metric: hr
rules:
  - id: hall
    triggers:
      - trigger: mqtt
        topic: {hall}
        payload: press
    actions:
      - action: log
        message: hall lights
  - id: desk
    triggers:
      - trigger: mqtt
        topic: {desk}
        value: action
        payload: press
        timestamp: ts
        max_age: 1min
    actions:
      - action: log
        message: desk scene
store:
  path: {store}
"""

EXPECTED = Outcome(
    events=["fired", "suppressed", "suppressed", "fired", "fired"],
    actions=["hall lights", "desk scene", "hall lights"],
)


def _press_at(at_s: float) -> str:
    return json.dumps({"action": "press", "ts": at_s})


def _publish(host: str, port: int, messages: list[tuple[str, str]]) -> None:
    """Publish at QoS 1 and wait until the broker has each one (a button's radio bridge)."""
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=10.0)
    finally:
        client.loop_stop()
        client.disconnect()


class MarkerWatch:
    """Sees ambient's backlog marker, which it publishes to itself once its subscriptions are in
    place: from then on a press reaches the rules."""

    def __init__(self, host: str, port: int) -> None:
        self.seen = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2)
        self._client.on_message = lambda _c, _u, _m: self.seen.set()
        self._client.connect(host, port)
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.subscribe("ambient/+/backlog_end", qos=1)
        self._client.loop_start()
        if not subscribed.wait(LINE_TIMEOUT_S):
            raise ScenarioFailed("the marker watch could not subscribe")

    def wait(self) -> None:
        if not self.seen.wait(LINE_TIMEOUT_S):
            raise ScenarioFailed("ambient never published its backlog marker")
        self.seen.clear()

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def queued_presses(
    directory: Path, host: str, port: int, on_kill: Callable[[], None] = lambda: None
) -> Outcome:
    directory.mkdir(parents=True, exist_ok=True)
    store = directory / "ambient.db"
    config = directory / "ambient.yaml"
    config.write_text(CONFIG.format(host=host, port=port, hall=HALL, desk=DESK, store=store))
    watch = MarkerWatch(host, port)
    daemon = Daemon(config)
    try:
        watch.wait()  # subscribed
        _publish(host, port, [(HALL, "press")])
        daemon.wait_for("Rule hall fired")
        daemon.wait_for("Rule state written")  # the trace is on disk
        daemon.kill()
        now = time.time()
        _publish(host, port, [(HALL, "press"), (DESK, _press_at(now - 4 * 3600))])
        on_kill()
        _publish(host, port, [(DESK, _press_at(time.time()))])  # just before the restart
        daemon = Daemon(config)
        daemon.wait_for("Rule desk fired")  # the backlog, in order: the last of it
        _publish(host, port, [(HALL, "press")])
        daemon.wait_for("Rule hall fired")
        daemon.stop()
    except ScenarioFailed:
        return stopped(daemon, store)
    finally:
        watch.close()
        if daemon.process.poll() is None:
            daemon.kill()
    return outcome_of(store)
