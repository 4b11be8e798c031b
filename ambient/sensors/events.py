"""Where rule input that is not a reading enters: messages on the MQTT topics that `mqtt`
triggers watch, and state changes of the Home Assistant entities that rules read. Each becomes
an :class:`~ambient.messages.ExternalEvent` at the clock's time, for the hub to hand to the
rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ambient.clock import Clock
from ambient.messages import ExternalEvent

if TYPE_CHECKING:
    from ambient.connections.homeassistant import HomeAssistantClient
    from ambient.connections.mqtt import MqttConnection, MqttMessage

EventSink = Callable[[ExternalEvent], None]


def watch_mqtt_topics(
    connection: MqttConnection, topics: Iterable[str], clock: Clock, publish: EventSink
) -> None:
    """Every message on ``topics`` becomes an ``mqtt`` event (key: the topic; data: the
    payload as received, bytes: a trigger decodes it only if it compares it, within the
    sensors' limits; ``backlog: True`` for one the broker queued while ambient was away,
    ``retained: True`` for one it kept and sends on every subscribe)."""

    def on_message(message: MqttMessage) -> None:
        data: dict[str, Any] = {"payload": message.payload}
        if message.backlog:
            data["backlog"] = True
        if message.retain:
            data["retained"] = True
        publish(ExternalEvent(clock.now(), "mqtt", message.topic, data))

    for topic in sorted(topics):
        connection.subscribe(topic, on_message)


def watch_ha_entities(
    client: HomeAssistantClient, entities: Iterable[str], clock: Clock, publish: EventSink
) -> None:
    """Every state change of ``entities`` becomes an ``ha_state`` event (key: the entity id;
    data: the new state, its attributes, context and ``last_changed``, and the old state)."""

    def on_state(entity_id: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> None:
        data = {
            "state": (new or {}).get("state"),
            "attributes": (new or {}).get("attributes", {}),
            "old_state": (old or {}).get("state"),
            "context": (new or {}).get("context"),
            "last_changed": (new or {}).get("last_changed"),
        }
        publish(ExternalEvent(clock.now(), "ha_state", entity_id, data))

    client.watch_entities(entities, on_state)
