"""Rule input that is not a reading: a message on a watched MQTT topic and a state change of a
watched HA entity each arrive as one event at the clock's time (real Mosquitto, real HA)."""

from __future__ import annotations

import asyncio

import pytest
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import make_connection, running
from pydantic import SecretStr

from ambient.clock import RealClock, VirtualClock
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters
from ambient.messages import ExternalEvent
from ambient.sensors.events import watch_ha_entities, watch_mqtt_topics

WAIT_S = 10.0


async def test_a_message_on_a_watched_topic_is_an_mqtt_event(mosquitto: MosquittoBroker) -> None:
    events: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    clock = VirtualClock(1_800_000_000.0)
    connection = make_connection(mosquitto)
    watch_mqtt_topics(connection, {"home/door/+"}, clock, events.put_nowait)
    async with running(connection):
        await connection.publish("home/door/front", "open")
        event = await asyncio.wait_for(events.get(), WAIT_S)
    assert event == ExternalEvent(1_800_000_000.0, "mqtt", "home/door/front", {"payload": b"open"})


@pytest.mark.ha
async def test_a_state_change_of_a_watched_entity_is_an_ha_state_event(
    ha: HomeAssistantInstance,
) -> None:
    entity = "input_boolean.ambient_events_test"
    events: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    client = HomeAssistantClient(
        HomeAssistantConfig(url=ha.url, token=SecretStr(ha.token)), RealClock(), Counters()
    )
    watch_ha_entities(client, [entity], RealClock(), events.put_nowait)
    async with (
        running(client, wait=False),
        HaProbe(ha.url, ha.other_token) as probe,
    ):
        await probe.call("input_boolean/create", name="ambient events test")
        first = await asyncio.wait_for(events.get(), WAIT_S)
        await probe.call_service("input_boolean", "turn_on", {"entity_id": entity})
        changed = await asyncio.wait_for(events.get(), WAIT_S)
    assert (first.kind, first.key, first.data["state"], first.data["old_state"]) == (
        "ha_state",
        entity,
        "off",
        None,
    )
    assert (changed.data["state"], changed.data["old_state"]) == ("on", "off")
    assert changed.data["context"]["user_id"]  # who changed it: someone else, not ambient
