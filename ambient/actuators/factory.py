"""Builds the actuators a config needs; HA and MQTT ones only when those sections exist."""

from __future__ import annotations

from collections.abc import Callable

from ambient.actuators.log import LogActuator
from ambient.connections import Connections
from ambient.messages import TraceRecord
from ambient.ports import Actuator
from ambient.store import Store


def build_actuators(
    connections: Connections,
    store: Store | None = None,
    trace: Callable[[TraceRecord], None] | None = None,
) -> list[Actuator]:
    """``store`` keeps what an actuator must undo after a restart (light snapshots); ``trace``
    hears what a running breathing session does after its action returned."""
    config = connections.config
    actuators: list[Actuator] = [LogActuator()]
    if config.homeassistant is not None:
        from ambient.actuators.homeassistant import HomeAssistantActuator

        actuators.append(
            HomeAssistantActuator(
                connections.homeassistant(),
                connections.clock,
                store,
                names=config.display_names(),
                zone=connections.zone,
                trace=trace,
            )
        )
        from ambient.actuators.ha_notify_services import NotifyServiceCheck, named_notify_services

        named = named_notify_services(config)
        if named:  # a typo is a warning as ambient connects, not at the first episode
            NotifyServiceCheck(connections.homeassistant(), named)
        from ambient.actuators.ha_action_entities import (
            ActionEntityCheck,
            named_action_entities,
            named_action_services,
        )

        entities, services = named_action_entities(config), named_action_services(config)
        if entities or services:  # so is a light renamed in HA, a script, a TTS service
            ActionEntityCheck(connections.homeassistant(), entities, services)
    if config.mqtt is not None:
        from ambient.actuators.mqtt import MqttActuator

        actuators.append(MqttActuator(connections.mqtt()))
    return actuators
