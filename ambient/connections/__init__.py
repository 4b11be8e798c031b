"""Outside connections (MQTT, Home Assistant), each created once on first use and shared by
the sensors and actuators that need it. Imports are lazy: a config without MQTT never loads
aiomqtt."""

from __future__ import annotations

from datetime import tzinfo
from functools import cached_property
from typing import TYPE_CHECKING

from ambient.clock import Clock, resolve_zone
from ambient.config.root import AmbientConfig
from ambient.counters import Counters
from ambient.ports import Service

if TYPE_CHECKING:
    from ambient.connections.homeassistant import HomeAssistantClient
    from ambient.connections.mqtt import MqttConnection
    from ambient.store import Store


class Connections:
    def __init__(
        self,
        config: AmbientConfig,
        clock: Clock,
        counters: Counters,
        role: str | None = None,
        store: Store | None = None,
    ) -> None:
        """``role``: these connections are a second client beside the daemon (``record``).
        ``store``: where the MQTT filters subscribed are remembered, so one taken out of the
        config is unsubscribed at the next connect."""
        self.config = config
        self.role = role
        self.store = store
        self.clock = clock
        # Brokers and HA live in real time: under `ambient run --speed N` their heartbeats,
        # timeouts and backoff must not run N times faster with the daemon's clock.
        self.link_clock: Clock = clock.for_outside_links()
        self.counters = counters
        self._mqtt: MqttConnection | None = None
        self._homeassistant: HomeAssistantClient | None = None

    @cached_property
    def zone(self) -> tzinfo:
        """The config's time zone, resolved once for all the parts built for this config."""
        return resolve_zone(self.config.timezone)

    def mqtt(self) -> MqttConnection:
        if self._mqtt is None:
            from ambient.connections.mqtt import MqttConnection
            from ambient.connections.mqtt_subscribed import subscribed_filters

            if self.config.mqtt is None:
                raise RuntimeError("no `mqtt:` section in the config")
            self._mqtt = MqttConnection(
                self.config.mqtt,
                self.config.instance,
                self.link_clock,
                self.counters,
                self.role,
                subscribed=subscribed_filters(self.config.store, self.store, self.role),
            )
        return self._mqtt

    def homeassistant(self) -> HomeAssistantClient:
        if self._homeassistant is None:
            from ambient.connections.homeassistant import HomeAssistantClient

            if self.config.homeassistant is None:
                raise RuntimeError("no `homeassistant:` section in the config")
            self._homeassistant = HomeAssistantClient(
                self.config.homeassistant, self.link_clock, self.counters
            )
        return self._homeassistant

    def services(self) -> list[Service]:
        """The connections in use, for the daemon to run."""
        return [c for c in (self._mqtt, self._homeassistant) if c is not None]
