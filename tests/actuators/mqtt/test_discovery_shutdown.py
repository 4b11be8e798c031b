"""A real `ambient run` stopping: its HA entities' last states reach the broker before it
disconnects, the small changes the next tick would have sent included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
from fixtures.ambient_process import AmbientProcess
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, retained

CONFIG = """\
people:
  - id: alex
mqtt:
  host: {host}
  port: {port}
  publish_interval: 1h
sensors:
  - type: mqtt
    topic: test/alex/heart
    person: alex
    metric: hr
    value: hr
signals:
  update_interval: 0
rules:
  - id: above_62
    person: alex
    triggers:
      - trigger: signal
        signal: hr
        above: 62
    actions:
      - action: log
store:
  path: {store}
"""
HEART_RATE = "ambient/ambient/alex/heart_rate"


async def next_payload(
    client: aiomqtt.Client, topic: str, wanted: bytes | None = None, live: bool = True
) -> bytes:
    """The next message on ``topic`` (live only, unless ``live`` is False), with ``wanted``."""
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            payload = message.payload
            if (live and message.retain) or message.topic.value != topic:
                continue
            if isinstance(payload, bytes) and (wanted is None or payload == wanted):
                return payload
    raise AssertionError("unreachable")


async def test_the_last_states_are_sent_when_ambient_stops(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    config = tmp_path / "ambient.yaml"
    store = tmp_path / "ambient.db"
    config.write_text(CONFIG.format(host=mosquitto.host, port=mosquitto.port, store=store))
    daemon = AmbientProcess("run", "--config", str(config))
    try:
        async with device_client(mosquitto, "sensor-and-ha") as client:
            await client.subscribe(HEART_RATE, qos=1)
            await client.subscribe("ambient/ambient/rule_event", qos=1)
            # The first state (unknown) comes after ambient subscribed to its sensor's topic.
            await next_payload(client, HEART_RATE, b"None", live=False)
            await client.publish("test/alex/heart", b'{"hr": 60}', qos=1)
            await next_payload(client, HEART_RATE, b"60")
            # 64 is within the heart rate's 5 bpm deadband: only a tick (an hour away) or the
            # stop sends it. It fires the rule, whose event says the reading was processed.
            await client.publish("test/alex/heart", b'{"hr": 64}', qos=1)
            await next_payload(client, "ambient/ambient/rule_event")
        daemon.process.terminate()
        assert await asyncio.to_thread(daemon.process.wait, 30) == 0
    finally:
        daemon.stop()
    assert await retained(mosquitto, HEART_RATE, 1) == {HEART_RATE: b"64"}
