"""The discovery publisher against a real broker, with a client playing Home Assistant."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import aiomqtt
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, make_connection, retained, running

from ambient.actuators.mqtt_discovery import DiscoveryPublisher
from ambient.clock import RealClock
from ambient.config.root import AmbientConfig
from ambient.connections.mqtt import MqttConnection
from ambient.hub import Hub
from ambient.messages import ExternalEvent, SignalUpdate, SignalValue, TraceRecord

DISCOVERY = "homeassistant/device/+/config"


def ambient_config(broker: MosquittoBroker) -> AmbientConfig:
    return AmbientConfig.model_validate(
        {
            "instance": "home",
            "people": [{"id": "alex", "name": "Alex"}],
            "mqtt": {"host": broker.host, "port": broker.port, "publish_interval": 0.05},
        }
    )


@contextlib.asynccontextmanager
async def publishing(
    broker: MosquittoBroker, hub: Hub
) -> AsyncIterator[tuple[DiscoveryPublisher, MqttConnection]]:
    connection = make_connection(broker, instance="home")
    publisher = DiscoveryPublisher(ambient_config(broker), connection, hub, RealClock())
    task = asyncio.ensure_future(publisher.run())
    try:
        async with running(connection):
            await asyncio.wait_for(publisher.wait_published(), WAIT_S)
            yield publisher, connection
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_on(client: aiomqtt.Client, topic: str) -> aiomqtt.Message:
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            if message.topic.value == topic:
                return message
    raise AssertionError("unreachable")


def payload_of(message: aiomqtt.Message) -> str:
    assert isinstance(message.payload, bytes)
    return message.payload.decode()


async def test_discovery_and_initial_states_are_retained(mosquitto: MosquittoBroker) -> None:
    async with publishing(mosquitto, Hub()):
        found = await retained(mosquitto, DISCOVERY, 2)
        states = await retained(mosquitto, "ambient/home/#", 25)
    person = json.loads(found["homeassistant/device/ambient_home_alex/config"])
    assert person["cmps"]["heart_rate"]["unit_of_measurement"] == "bpm"
    # Daily summaries keep HA's long-term statistics; the HRV trend carries its numbers.
    assert person["cmps"]["day_stress_minutes"]["state_class"] == "measurement"
    assert "expire_after" not in person["cmps"]["day_stress_minutes"]
    hrv_low = person["cmps"]["hrv_low"]
    assert hrv_low["json_attributes_topic"] == "ambient/home/alex/hrv_low/attributes"
    assert states["ambient/home/alex/heart_rate"] == b"None"  # unknown, never made up
    assert states["ambient/home/paused"] == b"OFF"
    assert states["ambient/home/alex/wearable"] == b"online"


async def test_signal_updates_become_retained_states(mosquitto: MosquittoBroker) -> None:
    hub = Hub()
    async with publishing(mosquitto, hub), device_client(mosquitto, "ha") as ha:
        await ha.subscribe("ambient/home/alex/+", qos=1)
        values = {
            "hr": SignalValue(72.4, 1.0),
            "quality": SignalValue(0.91, 1.0),
            "contact": SignalValue(True, 1.0),
            "activity_state": SignalValue("rest", 1.0),
            "rmssd": SignalValue.unknown(1.0, "poor signal quality"),
        }
        hub.publish_signals(SignalUpdate(1.0, "alex", values))
        expected = {
            "ambient/home/alex/heart_rate": "72",
            "ambient/home/alex/signal_quality": "91",
            "ambient/home/alex/skin_contact": "ON",
            "ambient/home/alex/activity_state": "rest",
        }
        # Retained initial states ("None") come first; wait until every update has arrived.
        latest: dict[str, str] = {}
        async with asyncio.timeout(WAIT_S):
            async for message in ha.messages:
                latest[message.topic.value] = payload_of(message)
                if all(latest.get(topic) == value for topic, value in expected.items()):
                    break
    states = await retained(mosquitto, "ambient/home/alex/+", 20)
    for topic, value in expected.items():
        assert states[topic] == value.encode()
    assert states["ambient/home/alex/rmssd"] == b"None"


async def test_rule_traces_give_events_and_the_active_rule(mosquitto: MosquittoBroker) -> None:
    hub = Hub()
    async with publishing(mosquitto, hub), device_client(mosquitto, "ha") as ha:
        await ha.subscribe("ambient/home/rule_event", qos=1)
        await ha.subscribe("ambient/home/active_rule", qos=1)
        hub.publish_trace(TraceRecord(5.0, "evening", "fired", "stress above 70", person="alex"))
        # The event and the state travel separately: either may arrive first.
        event, active = None, None
        async with asyncio.timeout(WAIT_S):
            async for message in ha.messages:
                if message.topic.value == "ambient/home/rule_event":
                    event = message
                elif payload_of(message) == "evening":
                    active = message
                if event is not None and active is not None:
                    break
        assert event is not None and not event.retain
        assert json.loads(payload_of(event))["event_type"] == "fired"
        hub.publish_trace(TraceRecord(9.0, "evening", "recovered", "calm again", person="alex"))
        # A periodic state refresh may repeat "evening" first; "none" must follow (next_on
        # fails the test if it does not arrive in time).
        active = await next_on(ha, "ambient/home/active_rule")
        while payload_of(active) == "evening":
            active = await next_on(ha, "ambient/home/active_rule")
        assert payload_of(active) == "none"


async def test_pause_switch_and_breathing_button_become_hub_commands(
    mosquitto: MosquittoBroker,
) -> None:
    hub = Hub()
    commands: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    hub.on_event(commands.put_nowait)
    async with (
        publishing(mosquitto, hub) as (_publisher, connection),
        device_client(mosquitto, "ha") as ha,
    ):
        await ha.subscribe("ambient/home/paused", qos=1)
        await ha.publish("ambient/home/paused/set", b"ON", qos=1)
        event = await asyncio.wait_for(commands.get(), WAIT_S)
        assert (event.kind, event.key, dict(event.data)) == ("command", "pause", {"paused": True})
        message = await next_on(ha, "ambient/home/paused")
        while payload_of(message) != "ON":
            message = await next_on(ha, "ambient/home/paused")
        await ha.publish("ambient/home/breathing/press", b"PRESS", qos=1)
        event = await asyncio.wait_for(commands.get(), WAIT_S)
        assert (event.key, dict(event.data)) == ("breathing", {})
        await ha.publish("ambient/home/breathing/press", b"smash", qos=1)
        await ha.publish("ambient/home/paused/set", b"OFF", qos=1)
        event = await asyncio.wait_for(commands.get(), WAIT_S)
        assert dict(event.data) == {"paused": False}  # the bad press was ignored, not fatal
        assert connection.counters.get("mqtt:ambient/home/breathing/press", "bad_command") == 1


async def test_ha_birth_message_republishes_discovery(mosquitto: MosquittoBroker) -> None:
    async with publishing(mosquitto, Hub()) as (publisher, _connection):
        await retained(mosquitto, DISCOVERY, 2)
        before = publisher.discovery_publishes
        async with device_client(mosquitto, "ha") as ha:
            await ha.publish("homeassistant/status", b"online", qos=1)
        await asyncio.wait_for(publisher.wait_publishes(before + 1), WAIT_S)
        assert publisher.discovery_publishes == before + 1


async def test_broker_killed_and_restarted_gets_discovery_and_states_again(
    mosquitto: MosquittoBroker,
) -> None:
    hub = Hub()
    async with publishing(mosquitto, hub) as (publisher, connection):
        await retained(mosquitto, DISCOVERY, 2)
        hub.publish_signals(SignalUpdate(1.0, "alex", {"hr": SignalValue(64.0, 1.0)}))
        await asyncio.wait_for(publisher.wait_published(), WAIT_S)
        lost = asyncio.ensure_future(connection.wait_attempt_ended())
        mosquitto.kill()  # no persistence: every retained message is gone
        await asyncio.wait_for(lost, WAIT_S)
        mosquitto.start()
        await asyncio.wait_for(connection.wait_connected(), WAIT_S)
        # The second publication, not the first one's event still set from before the kill.
        await asyncio.wait_for(publisher.wait_publishes(2), WAIT_S)
        found = await retained(mosquitto, DISCOVERY, 2)
        states = await retained(mosquitto, "ambient/home/alex/heart_rate", 1)
        assert connection.reconnects == 1
        assert publisher.discovery_publishes >= 2
    assert json.loads(found["homeassistant/device/ambient_home/config"])["cmps"]["pause"]
    assert states["ambient/home/alex/heart_rate"] == b"64"
