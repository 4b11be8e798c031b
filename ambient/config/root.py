"""The whole config file: one section per concern."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ambient.config.base import ConfigModel
from ambient.config.check_ins import CheckInsConfig
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.config.insights import InsightsConfig
from ambient.config.logging import LoggingConfig
from ambient.config.mqtt import MqttConfig
from ambient.config.people import PersonConfig
from ambient.config.retention import RetentionConfig
from ambient.config.rules import QuietHoursConfig, RuleConfig
from ambient.config.sensors import SensorConfig
from ambient.config.signals import SignalsConfig
from ambient.config.store import StoreConfig
from ambient.config.types import Identifier, TimeZoneName

#: How a message names whom :meth:`AmbientConfig.first_person_id` chose.
FIRST_PERSON = "the first under `people:`"


class AmbientConfig(ConfigModel):
    instance: Identifier = Field(default="ambient", title="This daemon's id (topics, HA device)")
    role: Literal["standalone", "satellite"] = Field(
        default="standalone", title="A satellite only forwards its readings over MQTT"
    )
    timezone: TimeZoneName | None = Field(
        default=None, title="IANA zone for times; system zone if omitted"
    )
    people: list[PersonConfig] = Field(default_factory=list)
    sensors: list[SensorConfig] = Field(default_factory=list)
    signals: SignalsConfig = Field(default_factory=SignalsConfig)
    rules: list[RuleConfig] = Field(default_factory=list)
    quiet_hours: QuietHoursConfig | None = Field(default=None, title="No rule acts in these hours")
    pause: bool = Field(default=False, title="Start paused (until resumed from HA or MQTT)")
    homeassistant: HomeAssistantConfig | None = None
    mqtt: MqttConfig | None = None
    store: StoreConfig = Field(default_factory=StoreConfig)
    insights: InsightsConfig = Field(default_factory=InsightsConfig)
    check_ins: CheckInsConfig | None = Field(default=None, title="Ask, rarely, if calming helped")
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    def person_ids(self) -> list[str]:
        return [person.id for person in self.people]

    def first_person_id(self) -> str | None:
        """Whose the rows of a recording that names no person are when nothing else says
        (``simulate`` and ``analyze`` of a file given on the command line, ``evaluate`` of rules
        for anyone): the first person under ``people:``; None without people."""
        return self.people[0].id if self.people else None

    def person_ids_text(self) -> str:
        """The people's ids as a command's message lists them when told of one it lacks."""
        return ", ".join(self.person_ids()) or "none"

    def display_names(self) -> dict[str, str]:
        """Each person's id to the name messages and entities show them by (the id if unnamed)."""
        return {person.id: person.display_name for person in self.people}
