"""The mqtt.publish action: templated payloads published through a real broker."""

from __future__ import annotations

import asyncio
import json

import pytest
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, make_connection, running
from pydantic import TypeAdapter

from ambient.actuators.mqtt import MqttActuator, render, template_fields
from ambient.config.actions import ActionConfig, MqttPublishActionConfig
from ambient.connections.errors import NotConnected
from ambient.messages import ActionContext

CONTEXT = ActionContext(
    rule="evening_stress",
    person="alex",
    episode="e1",
    time=1700000000.0,
    trigger="stress",
    signals={"hr": 92.456, "stress_score": 71.0, "activity_state": "rest", "rmssd": None},
)


def action(**values: object) -> MqttPublishActionConfig:
    parsed = TypeAdapter(ActionConfig).validate_python({"action": "mqtt.publish", **values})
    assert isinstance(parsed, MqttPublishActionConfig)
    return parsed


def test_json_payload_needs_no_escaping_and_unknown_is_null() -> None:
    payload = render(
        '{"hr": {hr}, "rmssd": {rmssd}, "state": "{activity_state}"}', template_fields(CONTEXT)
    )
    assert json.loads(payload) == {"hr": 92.456, "rmssd": None, "state": "rest"}


def test_signals_placeholder_is_a_json_object() -> None:
    payload = render("{signals}", template_fields(CONTEXT))
    assert json.loads(payload)["stress_score"] == 71.0


async def test_unknown_placeholder_is_a_definite_failure(mosquitto: MosquittoBroker) -> None:
    actuator = MqttActuator(make_connection(mosquitto))
    result = await actuator.perform(action(topic="x/{nope}"), CONTEXT)
    assert not result.ok
    assert "{nope}" in result.detail


async def test_wildcard_topic_is_refused(mosquitto: MosquittoBroker) -> None:
    actuator = MqttActuator(make_connection(mosquitto))
    result = await actuator.perform(action(topic="x/#"), CONTEXT)
    assert not result.ok


async def test_unavailable_while_disconnected(mosquitto: MosquittoBroker) -> None:
    actuator = MqttActuator(make_connection(mosquitto))
    with pytest.raises(NotConnected):
        await actuator.perform(action(topic="x"), CONTEXT)


async def test_publishes_rendered_topic_and_payload_retained(mosquitto: MosquittoBroker) -> None:
    connection = make_connection(mosquitto)
    actuator = MqttActuator(connection)
    step = action(
        topic="home/{person}/stress",
        payload='{"rule": "{rule}", "event": "{event}"}',
        retain=True,
        qos=1,
    )
    async with running(connection):
        result = await actuator.perform(step, CONTEXT)
    assert result.ok, result.detail
    async with device_client(mosquitto) as device:
        await device.subscribe("home/alex/stress", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for message in device.messages:
                assert message.retain
                assert isinstance(message.payload, bytes)
                assert json.loads(message.payload) == {"rule": "evening_stress", "event": "fired"}
                break
