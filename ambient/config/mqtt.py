"""How to reach the MQTT broker, shared by MQTT sensors, discovery and actions."""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from pydantic import Field, SecretStr, field_validator, model_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.insights import DAY_SIGNAL_NAMES
from ambient.config.types import MqttTopicName, UserPath

#: The keys of the entities ambient may announce in Home Assistant (``mqtt_entities`` builds
#: them; a test keeps these the same): unique ids are ``ambient_<instance>_<key>`` for the
#: daemon's, ``ambient_<instance>_<person>_<key>`` for a person's, so ``check`` can refuse a
#: person id that would give two entities one id.
HA_DAEMON_ENTITY_KEYS: Final = (
    "active_rule",
    "rule_event",
    "pause",
    "mqtt_reconnects",
    "breathing",
)
HA_PERSON_ENTITY_KEYS: Final = (
    "heart_rate",
    "rmssd",
    "stress_score",
    "signal_quality",
    "activity_state",
    "skin_contact",
    "hrv_low",
    "hrv_trend",
    "stress_slope",
    *DAY_SIGNAL_NAMES,
    "calming_choice",
    "wearable_connected",
    "battery",
    "rssi",
    "reconnects",
)
#: The person entities fed by their signals (health data) that have a ``state_class``: HA
#: keeps long-term statistics of them for ever, unless ``statistics`` leaves them out.
HA_STATISTICS_KEYS: Final = (
    "heart_rate",
    "rmssd",
    "stress_score",
    "signal_quality",
    "stress_slope",
    *DAY_SIGNAL_NAMES,
)


class MqttTlsConfig(ConfigModel):
    ca_file: UserPath | None = Field(default=None, title="CA file; system CAs when omitted")
    certfile: UserPath | None = Field(default=None, title="Client certificate")
    keyfile: UserPath | None = Field(default=None, title="Client key")
    insecure: bool = Field(default=False, title="Skip hostname checks (test brokers only)")

    @model_validator(mode="after")
    def _cert_and_key(self) -> MqttTlsConfig:
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("`certfile` and `keyfile` go together")
        return self


class MqttConfig(ConfigModel):
    host: str = "localhost"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: MqttTlsConfig | None = None
    client_id: str | None = Field(default=None, title="Default: ambient-<instance>")
    keepalive: int = Field(default=60, ge=5, le=3600)
    discovery: bool = Field(default=True, title="Publish HA MQTT discovery")
    discovery_prefix: MqttTopicName = "homeassistant"
    base_topic: MqttTopicName = "ambient"
    publish_interval: Duration = Field(default=5.0, gt=0, title="State publishing throttle")
    # Small and capped low: reconnecting within 2 s of a broker's return loses nothing queued
    # for us, and one connection attempt every 1.5 s costs a home broker nothing.
    backoff_min: Duration = Field(default=0.1, gt=0, title="First wait before reconnecting")
    backoff_max: Duration = Field(default=1.5, gt=0, title="Longest wait between attempts")
    session_expiry: Duration = Field(
        default=3600.0, ge=0, title="How long the broker queues QoS-1 messages while away"
    )
    # HA never purges long-term statistics: false (or a short list) keeps a person's hourly
    # heart rate, RMSSD and stress out of HA's database for good.
    statistics: bool | list[str] = Field(
        default=True,
        title="Health entities HA keeps long-term statistics of: all (true), none, or these",
    )

    @field_validator("statistics", mode="before")
    @classmethod
    def _a_list_of_one(cls, statistics: object) -> object:
        """One name alone is no list: said so, rather than as two types' failures."""
        if isinstance(statistics, str):
            raise ValueError(f"write `true`, `false` or a list of entities: `[{statistics}]`")
        return statistics

    @field_validator("statistics")
    @classmethod
    def _health_entities(cls, statistics: bool | list[str]) -> bool | list[str]:
        """A name no entity has would keep nothing, silently (``hr`` for ``heart_rate``)."""
        for key in statistics if isinstance(statistics, list) else ():
            if key not in HA_STATISTICS_KEYS:
                raise ValueError(
                    f"`{key}` is not a health entity ambient announces with statistics; "
                    f"these are: {', '.join(HA_STATISTICS_KEYS)}"
                )
        return statistics

    def keeps_statistics(self, key: str) -> bool:
        """Whether HA is to keep long-term statistics of the health entity ``key``."""
        if isinstance(self.statistics, bool):
            return self.statistics
        return key in self.statistics

    @field_validator("host")
    @classmethod
    def _host_alone(cls, host: str) -> str:
        """A host no connect can reach is refused here: `run` retried it for ever (an empty
        one stopped it with a traceback)."""
        problem = host_problem(host)
        if problem is not None:
            raise ValueError(problem)
        return host

    @model_validator(mode="after")
    def _password_needs_username(self) -> MqttConfig:
        if self.password is not None and not self.username:
            raise ValueError("a `password` must be given with a `username`")
        return self


def host_problem(host: str) -> str | None:
    """Why ``host`` is no broker host name or IP address (a URL, a ``host:port``, a path), with
    what to write instead; None when it is one."""
    if not host.strip():
        return "the broker's host name or IP address is empty (e.g. `localhost`)"
    if "@" in host:  # never quoted: the password would go wherever this line goes
        alone = re.split(r"[:/]", host.rpartition("@")[2], maxsplit=1)[0]
        return (
            f"a user and password do not go in the host: write `{alone}`, and them in "
            "`username:` and `password:` (the password with !secret)"
        )
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", host)
    if scheme is not None:
        alone = re.split(r"[:/]", host[scheme.end() :], maxsplit=1)[0]
        return (
            f"write the host alone, without `{scheme.group(1)}://`: `{alone}` "
            "(the port goes in `port:`, TLS in a `tls:` section)"
        )
    try:
        ipaddress.ip_address(host)
        return None  # an IPv6 address has colons of its own
    except ValueError:
        pass
    if any(char.isspace() for char in host):
        return f"`{host}`: a host name has no spaces"
    name, colon, port = host.partition(":")
    if colon and port.isdigit():
        return f"write the host alone, `{name}`, and the port as `port: {port}`"
    if "/" in host:
        return f"write the host alone, `{host.split('/', 1)[0]}`, without a path"
    return None
