"""Payloads an MQTT trigger refuses to read, as the MQTT sensors do: over 16 KiB (`oversized`)
or not UTF-8 (`bad_encoding`). A real Mosquitto, ambient's real MQTT connection and the rule
engine on a virtual clock. A trigger that compares the payload never fires on one it cannot
read; the message is counted (scope `rules`) and traced as suppressed with the reason, never
with the payload. A trigger that compares nothing fires on any message, binary or large."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import device_client, make_connection, running
from rules.rule_doubles import T0, Harness, log, make_config

from ambient.messages import ExternalEvent
from ambient.payload_fields import MAX_PAYLOAD_BYTES
from ambient.sensors.events import watch_mqtt_topics

pytestmark = pytest.mark.mosquitto

WAIT_S = 10.0
DESK = "home/desk/button"  # JSON: {"action": "press"}
HALL = "home/hall/button"  # a bare `press`
DOORBELL = "home/doorbell"  # any message rings; some bells send a raw byte

RULES: list[dict[str, Any]] = [
    {
        "id": "desk_scene",
        "triggers": [{"trigger": "mqtt", "topic": DESK, "value": "action", "payload": "press"}],
        "actions": [log("desk scene")],
    },
    {
        "id": "hall_lights",
        "triggers": [{"trigger": "mqtt", "topic": HALL, "payload": "press"}],
        "actions": [log("hall lights")],
    },
    {
        "id": "doorbell",
        "triggers": [{"trigger": "mqtt", "topic": DOORBELL}],
        "actions": [log("ring")],
    },
]

#: Valid JSON with `"action": "press"` once the stray byte is replaced by U+FFFD.
NOT_UTF8_PREFIX = b'{"action": "press", "note": "'
NOT_UTF8 = NOT_UTF8_PREFIX + b'\xff"}'
#: `press` once stripped, but larger than any button sends.
PADDED_PRESS = b"press" + b" " * MAX_PAYLOAD_BYTES
OVERSIZED_JSON = json.dumps({"action": "press", "pad": "x" * MAX_PAYLOAD_BYTES}).encode()


async def test_unreadable_payloads_never_fire_a_comparison_but_ring_a_topic_only_trigger(
    mosquitto: MosquittoBroker,
) -> None:
    config = make_config(RULES, mqtt={"host": mosquitto.host, "port": mosquitto.port})
    h = await Harness(config, start=T0).start()
    events: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    connection = make_connection(mosquitto, instance="rules", clock=h.clock)
    watch_mqtt_topics(connection, h.engine.mqtt_topics_used(), h.clock, events.put_nowait)
    sent = [
        (DESK, NOT_UTF8),
        (DESK, OVERSIZED_JSON),
        (HALL, PADDED_PRESS),
        (DOORBELL, b"\x01\xff"),
        (DOORBELL, b"\x00" * (2 * MAX_PAYLOAD_BYTES)),
        (DESK, b'{"action": "press"}'),
    ]
    async with running(connection), device_client(mosquitto) as device:
        for topic in (DESK, HALL, DOORBELL):
            await connection.wait_subscribed(topic)
        for topic, payload in sent:
            await device.publish(topic, payload, qos=1)
            h.engine.on_event(await asyncio.wait_for(events.get(), WAIT_S))
            await h.clock.run_until(h.clock.now())

    assert h.events() == [
        (
            0,
            "suppressed",
            f"mqtt message on {DESK} not read: bad_encoding (not UTF-8 at byte "
            f"{len(NOT_UTF8_PREFIX)}); skipped",
        ),
        (
            0,
            "suppressed",
            f"mqtt message on {DESK} not read: oversized ({len(OVERSIZED_JSON)} bytes, limit "
            f"{MAX_PAYLOAD_BYTES}); skipped",
        ),
        (
            0,
            "suppressed",
            f"mqtt message on {HALL} not read: oversized ({len(PADDED_PRESS)} bytes, limit "
            f"{MAX_PAYLOAD_BYTES}); skipped",
        ),
        (0, "fired", f"mqtt message on {DOORBELL}"),
        (0, "fired", f"mqtt message on {DOORBELL}"),
        (0, "fired", f"mqtt message on {DESK} with payload 'press'"),
    ]
    assert h.performer.messages() == ["ring", "ring", "desk scene"]
    assert h.counters.scope("rules") == {"mqtt_bad_encoding": 1, "mqtt_oversized": 2}
