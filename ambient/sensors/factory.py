"""Builds the sensor for each configured kind; imports each kind only when it is used."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

# the one name of a sensor, which ``check`` (config layer) gives too
from ambient.config.sensors import sensor_name as sensor_name

if TYPE_CHECKING:  # annotations only: `ambient check` (sensor_name) loads no asyncio
    from ambient.config.sensors import BeatsKind, SensorConfig
    from ambient.connections import Connections
    from ambient.ports import Sensor


def stale_after_by_source(configs: Iterable[SensorConfig]) -> dict[str, float]:
    """The sources whose heart readings stay current for their sensor's own ``stale_after``
    (a satellite's readings keep their own sources' names and take the signals')."""
    return {
        sensor_name(config, index): config.stale_after
        for index, config in enumerate(configs)
        if config.type != "satellite" and config.stale_after is not None
    }


def beats_by_source(configs: Iterable[SensorConfig]) -> dict[str, BeatsKind]:
    """The sources whose beats are known to come from a chest strap or a pulse sensor (their
    ``beats``, or by their type; a satellite sensor's ``beats`` names forwarded sources):
    each kind is compared with its own kind's rest."""
    from ambient.config.sensors import beats_kind

    kinds: dict[str, BeatsKind] = {}
    for index, config in enumerate(configs):
        if config.type == "satellite":
            kinds.update(config.beats_by_source())
            continue
        kind = beats_kind(config)
        if kind is not None:
            kinds[sensor_name(config, index)] = kind
    return kinds


def build_sensor(config: SensorConfig, index: int, connections: Connections) -> Sensor:
    clock, counters = connections.clock, connections.counters
    name = sensor_name(config, index)
    people = [person.id for person in connections.config.people]
    stale_after_s = connections.config.signals.stale_after
    if config.type == "recording":
        from ambient.sensors.recording import RecordingSensor

        return RecordingSensor(config, clock, name=name, people=set(people) or None)
    if config.type == "ble":
        from ambient.sensors.ble import BleSensor

        return BleSensor(config, clock, counters)
    if config.type == "mqtt":
        from ambient.sensors.mqtt import MqttSensor

        return MqttSensor(
            config,
            connections.mqtt(),
            clock,
            counters,
            name=name,
            people=people,
            zone=connections.zone,
            stale_after_s=stale_after_s,
        )
    if config.type == "satellite":
        from ambient.sensors.satellite import SatelliteSensor

        return SatelliteSensor(
            config,
            connections.mqtt(),
            clock,
            counters,
            name=name,
            people=people,
            stale_after_s=stale_after_s,
        )
    from ambient.sensors.homeassistant import HomeAssistantSensor

    return HomeAssistantSensor(
        config,
        connections.homeassistant(),
        clock,
        counters,
        name=name,
        stale_after_s=stale_after_s,
    )
