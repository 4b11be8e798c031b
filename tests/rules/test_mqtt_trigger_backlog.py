"""Button presses the broker queued for ambient's session while ambient was not running: a real
Mosquitto, ambient's real MQTT connection (a persistent session) and the rule engine on a
virtual clock. A queued press fires only if it says when it was sent and that is recent (the
trigger's `timestamp` and `max_age`); the others are skipped, counted and traced, and a live
press after the backlog fires as always."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import device_client, make_connection, running
from rules.rule_doubles import T0, Harness, log, make_config

from ambient.connections.mqtt import MqttConnection
from ambient.messages import ExternalEvent
from ambient.sensors.events import watch_mqtt_topics

pytestmark = pytest.mark.mosquitto

WAIT_S = 10.0
HALL = "home/hall/button"  # sends a bare `press`
DESK = "home/desk/button"  # sends JSON with the time it was pressed, as zigbee2mqtt can

RULES: list[dict[str, Any]] = [
    {
        "id": "hall_lights",
        "triggers": [{"trigger": "mqtt", "topic": HALL, "payload": "press"}],
        "actions": [log("hall lights")],
    },
    {
        "id": "desk_scene",
        "triggers": [
            {
                "trigger": "mqtt",
                "topic": DESK,
                "value": "action",
                "payload": "press",
                "timestamp": "ts",
                "max_age": "1min",
            }
        ],
        "actions": [log("desk scene")],
    },
]


def _pressed(at_s: float) -> bytes:
    return json.dumps({"action": "press", "ts": at_s}).encode()


def _watched(broker: MosquittoBroker, h: Harness, events: asyncio.Queue[Any]) -> MqttConnection:
    """ambient's connection (one client id: one persistent session) feeding the rule events."""
    connection = make_connection(broker, instance="rules", clock=h.clock)
    watch_mqtt_topics(connection, h.engine.mqtt_topics_used(), h.clock, events.put_nowait)
    return connection


async def _handle(h: Harness, events: asyncio.Queue[ExternalEvent], count: int) -> None:
    for _ in range(count):
        h.engine.on_event(await asyncio.wait_for(events.get(), WAIT_S))
        await h.clock.run_until(h.clock.now())


async def test_presses_queued_while_ambient_was_down_fire_only_when_recent_and_timed(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    broker = mosquitto_persistent
    config = make_config(RULES, mqtt={"host": broker.host, "port": broker.port})
    h = await Harness(config, start=T0).start()
    events: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    first = _watched(broker, h, events)
    async with running(first):
        await first.wait_subscribed(HALL)
        await first.wait_subscribed(DESK)
    # ambient is not running: the broker queues these for its session.
    async with device_client(broker) as device:
        await device.publish(HALL, b"press", qos=1)  # no time: of unknown age
        await device.publish(DESK, _pressed(T0 - 4 * 3600), qos=1)  # 23:00, now it is 03:00
        await device.publish(DESK, _pressed(T0 - 10), qos=1)  # during the restart
    second = _watched(broker, h, events)
    async with running(second), device_client(broker) as device:
        await _handle(h, events, 3)
        await device.publish(HALL, b"press", qos=1)  # live, after the backlog
        await _handle(h, events, 1)

    assert h.events() == [
        (
            0,
            "suppressed",
            "mqtt message on home/hall/button with payload 'press' queued while ambient was "
            "not running: it has no time (the trigger sets no `timestamp`); skipped",
        ),
        (
            0,
            "suppressed",
            "mqtt message on home/desk/button with payload 'press' queued while ambient was "
            "not running: sent 4h ago, max_age 1min; skipped",
        ),
        (
            0,
            "fired",
            "mqtt message on home/desk/button with payload 'press' "
            "(queued while ambient was not running, sent 10s ago)",
        ),
        (0, "fired", "mqtt message on home/hall/button with payload 'press'"),
    ]
    assert h.performer.messages() == ["desk scene", "hall lights"]
    assert h.counters.scope("rules") == {
        "mqtt_backlog_without_time": 1,
        "mqtt_backlog_too_old": 1,
        "mqtt_backlog_fired": 1,
    }


async def test_a_retained_press_is_as_old_as_its_time_says_at_every_subscribe(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    """The broker keeps a retained message and sends it on every (re)subscribe: without a time
    it would press the button at each start of ambient."""
    broker = mosquitto_persistent
    config = make_config(RULES, mqtt={"host": broker.host, "port": broker.port})
    h = await Harness(config, start=T0).start()
    events: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    async with device_client(broker) as device:
        await device.publish(HALL, b"press", qos=1, retain=True)
        await device.publish(DESK, _pressed(T0 - 5), qos=1, retain=True)
    for _ in range(2):  # two starts of ambient
        async with running(_watched(broker, h, events)):
            await _handle(h, events, 2)

    decisions = [(e, reason.split(" with payload 'press' ")[1]) for _, e, reason in h.events()]
    assert (
        sorted(decisions)
        == [
            ("fired", "(retained on the broker, sent 5s ago)"),
        ]
        * 2
        + [
            (
                "suppressed",
                "retained on the broker: it has no time (the trigger sets no `timestamp`); skipped",
            ),
        ]
        * 2
    )
    assert h.performer.messages() == ["desk scene"] * 2
    assert h.counters.scope("rules") == {"mqtt_retained_without_time": 2, "mqtt_retained_fired": 2}
