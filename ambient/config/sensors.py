"""Sensor kinds, chosen by ``type:``. Adding a kind: one model here, one module in sensors/."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, field_validator, model_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.types import EntityId, Identifier, JsonPath, MetricName, MqttTopicFilter


class SensorBase(ConfigModel):
    id: Identifier | None = Field(default=None, title="Sensor id for diagnostics and status")
    person: Identifier | None = Field(default=None, title="Whose readings these are")


#: What a sensor's beats come from: an electrical (ECG) chest strap, or an optical pulse
#: sensor (PPG: a watch, an armband, a ring, a phone camera). ln RMSSD of the two can sit
#: apart for the same heart, so each kind is compared with its own kind's rest.
BeatsKind = Literal["chest", "pulse"]
CHEST: Final = "chest"
PULSE: Final = "pulse"
BEATS_KINDS: Final[tuple[BeatsKind, ...]] = (CHEST, PULSE)


class HeartSensorBase(SensorBase):
    """A sensor whose own readings' times say how current the person's heart data is."""

    stale_after: Duration | None = Field(
        default=None,
        gt=0,
        title="Its hr, rr and contact readings stay current this long (default: the signals')",
    )

    beats: BeatsKind | None = Field(
        default=None,
        title="What its beats come from: chest (a strap's ECG) or pulse (an optical sensor: "
        "a watch, an armband, a ring); default chest for ble, else not known",
    )


#: The metrics a sensor's own ``stale_after`` applies to (as the signals' ``stale_after``).
STALE_AFTER_METRICS = frozenset({"hr", "rr", "contact"})


class RecordingSensorConfig(HeartSensorBase):
    """Replays a CSV or JSON Lines recording (see docs/recordings.md)."""

    type: Literal["recording"]
    path: Path = Field(title="Recording file; relative paths are relative to the config file")
    loop: bool = Field(default=False, title="Start again at the end")


#: A Bluetooth MAC address as BlueZ reports it (either case), and a CoreBluetooth UUID (macOS).
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
#: The adapter BlueZ takes for the default on most machines (the first): `adapter: hci0` in
#: one entry beside none in another is one adapter searched twice (``check`` warns of it, and
#: the sensor says so when BlueZ refuses the second search).
USUAL_DEFAULT_ADAPTER: Final = "hci0"


class BleSensorConfig(HeartSensorBase):
    """A standard Heart Rate Service strap or watch over Bluetooth LE."""

    type: Literal["ble"]
    address: str | None = Field(default=None, title="MAC address (or CoreBluetooth UUID)")
    name: str | None = Field(default=None, title="Advertised device name")
    adapter: str | None = Field(default=None, title="BlueZ adapter, e.g. hci0")
    priority: int = Field(
        default=0, title="Higher wins when one person wears two devices (after RR-capable)"
    )
    watchdog: Duration = Field(default=15.0, gt=0, title="Reconnect after this long silent")
    scan_timeout: Duration = Field(default=30.0, gt=0, title="Give up one search after this")
    backoff_initial: Duration = Field(default=1.0, gt=0, title="First wait between attempts")
    backoff_max: Duration = Field(default=60.0, gt=0, title="Longest wait between attempts")

    @field_validator("address")
    @classmethod
    def _address_a_device_can_have(cls, address: str | None) -> str | None:
        """Compared with the address BlueZ reports (``AA:BB:CC:DD:EE:FF``): any other form
        would never match, and the sensor would search for ever."""
        if address is None or _MAC.fullmatch(address) or _UUID.fullmatch(address):
            return address
        digits = re.sub(r"[-:.\s]", "", address)
        if re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
            colons = ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()
            raise ValueError(f"write it `{colons}`, with colons, as `ambient scan` prints it")
        raise ValueError(
            "a MAC address is six pairs of hex digits such as `A0:9E:1A:12:34:56` "
            "(on macOS, the device's UUID), as `ambient scan` prints it"
        )

    @model_validator(mode="after")
    def _address_or_name(self) -> BleSensorConfig:
        if not self.address and not self.name:
            raise ValueError("give the device's `address` or its advertised `name`")
        return self


class MqttSensorConfig(HeartSensorBase):
    """Readings from MQTT topics (Zigbee2MQTT, ESPHome, phones, another ambient)."""

    type: Literal["mqtt"]
    topic: MqttTopicFilter = Field(title="Topic; + and # wildcards allowed")
    metric: MetricName = Field(title="Metric the values are")
    value: JsonPath | None = Field(default=None, title="Dotted JSON path; omit for a plain number")
    unit: Literal["bpm", "ms", "s"] | None = Field(default=None, title="Unit of the payload")
    timestamp: JsonPath | None = Field(default=None, title="Dotted JSON path of a timestamp")
    person_topic_level: int | None = Field(
        default=None, ge=0, title="Take the person from this topic level (0-based)"
    )
    unlisted_people: int = Field(
        default=0,
        ge=0,
        le=100,
        title="With person_topic_level: how many ids not in `people:` to accept (first come)",
    )
    max_retained_age: Duration = Field(default=300.0, title="Ignore retained values older")
    max_age: Duration = Field(
        default=300.0,
        gt=0,
        title="Drop live values whose timestamp is older than this (and than its stale_after)",
    )
    qos: Literal[0, 1, 2] = 1

    @model_validator(mode="after")
    def _person_level_in_topic(self) -> MqttSensorConfig:
        levels = self.topic.split("/")
        level = self.person_topic_level
        if level is not None and "#" not in levels and level >= len(levels):
            raise ValueError(
                f"`person_topic_level: {level}` is past the last level of `{self.topic}` "
                f"(levels count from 0, so 0 to {len(levels) - 1} here)"
            )
        return self

    @model_validator(mode="after")
    def _unit_fits_metric(self) -> MqttSensorConfig:
        _check_unit(self.metric, self.unit)
        _check_stale_after(self.metric, self.stale_after)
        _check_beats(self.metric, self.beats)
        return self


class ForwardedBeatsConfig(ConfigModel):
    """What one forwarded source's beats come from, and whose they are (a satellite worn by
    two people forwards a strap of one and a watch of the other)."""

    beats: BeatsKind = Field(title="chest (a strap's ECG) or pulse (an optical sensor)")
    person: Identifier = Field(title="Whose beats they are")


class SatelliteSensorConfig(SensorBase):
    """Readings forwarded by ambient satellites over MQTT (``<base_topic>/<instance>/readings``)."""

    type: Literal["satellite"]
    instances: list[Identifier] = Field(
        default_factory=list, title="Satellites to listen to; all when empty"
    )
    max_age: Duration = Field(default=300.0, gt=0, title="Drop readings older than this")
    unlisted_people: int = Field(
        default=0,
        ge=0,
        le=100,
        title="How many forwarded person ids not in `people:` to accept (first come)",
    )
    beats: dict[str, BeatsKind | ForwardedBeatsConfig] = Field(
        default_factory=dict,
        title="What the beats of a forwarded source come from, by `<instance>/<its sensor's "
        "source>` (bedroom/alex_strap: chest), and whose they are where several people are "
        "configured (bedroom/alex_strap: {beats: chest, person: alex}); a batch carries no "
        "kind, so others' are of no known kind",
    )

    @field_validator("beats")
    @classmethod
    def _forwarded_sources(
        cls, beats: dict[str, BeatsKind | ForwardedBeatsConfig]
    ) -> dict[str, BeatsKind | ForwardedBeatsConfig]:
        """Keys name a forwarded source as the central's readings do: ``<instance>/<source>``
        (a key without the instance would never match, and the kind would go unused)."""
        for source in beats:
            instance, _, device = source.partition("/")
            if not instance or not device:
                raise ValueError(
                    f"`{source}` is no forwarded source: write `<instance>/<source>`, the "
                    "satellite's `instance` and its sensor's id (e.g. `bedroom/alex_strap`)"
                )
        return beats

    def beats_by_source(self) -> dict[str, BeatsKind]:
        """What the beats of each forwarded source named come from, whoever's they are."""
        return {
            source: entry if isinstance(entry, str) else entry.beats
            for source, entry in self.beats.items()
        }

    def beats_of(self, person: str, people: Collection[str]) -> list[BeatsKind]:
        """The kinds of the forwarded sources named as ``person``'s: by their `person`, or,
        naming none, when ``people`` (the configured ones) leave no doubt whose: the one
        person, or ``default`` when none is configured. With several, such a source is no
        one's (``check`` says so): its beats still keep their kind, but it does not stand
        for any one person's."""
        only = next(iter(people)) if len(people) == 1 else None
        if not people:
            only = DEFAULT_PERSON
        return [
            entry if isinstance(entry, str) else entry.beats
            for entry in self.beats.values()
            if (only if isinstance(entry, str) else entry.person) == person
        ]


class HomeAssistantSensorConfig(HeartSensorBase):
    """An HA entity's state or attribute as a metric (e.g. the companion app's heart rate)."""

    type: Literal["homeassistant"]
    entity_id: EntityId
    attribute: str | None = Field(default=None, title="Read this attribute, not the state")
    metric: MetricName
    unit: Literal["bpm", "ms", "s"] | None = Field(default=None, title="Unit of the HA value")
    minimum: float | None = Field(default=None, title="Lowest plausible value (else an error)")
    maximum: float | None = Field(default=None, title="Highest plausible value (else an error)")

    @model_validator(mode="after")
    def _unit_fits_metric(self) -> HomeAssistantSensorConfig:
        _check_unit(self.metric, self.unit, "values")
        _check_stale_after(self.metric, self.stale_after)
        _check_beats(self.metric, self.beats)
        return self

    @model_validator(mode="after")
    def _range_in_order(self) -> HomeAssistantSensorConfig:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("`minimum` must not be above `maximum`")
        return self


def _check_unit(metric: str, unit: str | None, what: str = "payloads") -> None:
    """A unit the metric cannot be in (a heart rate in seconds) is a mistake, not a conversion."""
    if metric == "hr" and unit not in (None, "bpm"):
        raise ValueError(f"heart rate (`hr`) {what} are in `bpm`")
    if metric == "rr" and unit == "bpm":
        raise ValueError(f"RR interval (`rr`) {what} are in `ms` or `s`")


def _check_stale_after(metric: str, stale_after: float | None) -> None:
    """A sensor's own ``stale_after`` is for heart readings; others have their own limit."""
    if stale_after is not None and metric not in STALE_AFTER_METRICS:
        raise ValueError(
            f"`stale_after` applies to `hr`, `rr` and `contact`; `{metric}` goes unknown "
            "after `signals.metric_stale_after`"
        )


def _check_beats(metric: str, beats: str | None) -> None:
    """``beats`` says where beats come from: only a sensor of beats (``rr``) has them."""
    if beats is not None and metric != "rr":
        raise ValueError(f"`beats` says where `rr` intervals come from; `{metric}` has none")


SensorConfig = Annotated[
    RecordingSensorConfig
    | BleSensorConfig
    | MqttSensorConfig
    | SatelliteSensorConfig
    | HomeAssistantSensorConfig,
    Field(discriminator="type"),
]


def sensor_name(config: SensorConfig, index: int) -> str:
    """What the sensor goes by in ``check``, ``status``, the log, its counters and (a
    Bluetooth device's) its readings' ``source``: its ``id``; else a Bluetooth device's
    configured ``name`` or ``address``, which the user wrote and ``ambient scan`` prints; else
    its type and place among the sensors (``mqtt1``)."""
    if config.id:
        return config.id
    if config.type == "ble":
        return ble_name(config)
    return f"{config.type}{index}"


def ble_name(config: BleSensorConfig) -> str:
    """A Bluetooth device's name (see :func:`sensor_name`), which needs no place among the
    sensors: its id, else its configured name, else its address (one of the two is given)."""
    return config.id or config.name or config.address or "ble"


def beats_kind(config: SensorConfig) -> BeatsKind | None:
    """What the sensor's beats come from: its ``beats``, else a Bluetooth Heart Rate Service
    device's are taken for a chest strap's (the devices that send every beat's interval over
    it are mostly straps); None where nothing says (a recording, an MQTT or HA value, a
    satellite's forwarded readings)."""
    if config.type == "satellite":
        return None
    if config.beats is not None:
        return config.beats
    return CHEST if config.type == "ble" else None


#: Whose readings a sensor gives that names no one (no ``person:``, no topic level).
DEFAULT_PERSON: Final = "default"


def may_give(
    config: SensorConfig, person: str, metrics: Collection[str] = STALE_AFTER_METRICS
) -> bool:
    """Whether the sensor may give ``person``'s readings of one of ``metrics`` (by default
    heart readings: hr, rr, contact) as ``run`` reads it: anyone's when its readings name
    their person (a satellite's forwarded ones, a recording's rows, whose ``person`` is only
    the default, an MQTT topic's level), else its ``person``'s, or ``default``'s without one.
    ``check``, the replay of a recording and the kinds of beats all ask this one question."""
    if config.type in ("mqtt", "homeassistant") and config.metric not in metrics:
        return False
    return names_its_people(config) or (config.person or DEFAULT_PERSON) == person


def names_its_people(config: SensorConfig) -> bool:
    """Whether the sensor's readings name their person themselves, whatever its ``person:``
    says: a satellite's forwarded ones, a recording's rows, an MQTT topic's level."""
    if config.type in ("satellite", "recording"):
        return True
    return config.type == "mqtt" and config.person_topic_level is not None


def beats_kinds_of(
    configs: Iterable[SensorConfig], person: str, people: Collection[str]
) -> set[BeatsKind | None]:
    """The kinds of beats of the sensors that may give ``person``'s beats (see
    :func:`may_give`); None for one whose kind is not known. A satellite sensor's are the
    kinds its ``beats`` names for the sources it forwards as ``person``'s (see
    :meth:`SatelliteSensorConfig.beats_of`; ``people``: the configured ones), as ``run``
    takes those beats (``beats_by_source``); None when it names none of theirs."""
    kinds: set[BeatsKind | None] = set()
    for config in configs:
        if not may_give(config, person, ("rr",)):
            continue
        named = config.beats_of(person, people) if config.type == "satellite" else None
        if named:
            kinds.update(named)
        else:
            kinds.add(beats_kind(config))
    return kinds


def configured_beats(
    configs: Iterable[SensorConfig], person: str, people: Collection[str]
) -> BeatsKind | None:
    """The one kind of beats the sensors that may give ``person``'s beats have, or None when
    they differ, one is not known, or there is none: which kind a baseline saved before kinds
    were kept holds (``people``: the configured ones)."""
    kinds = beats_kinds_of(configs, person, people)
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    return kind


def configured_beats_by_person(
    configs: Sequence[SensorConfig], people: Iterable[str]
) -> dict[str, BeatsKind]:
    """:func:`configured_beats` of each of ``people`` who has one, and of ``default``, whose
    readings a sensor without ``person:`` gives."""
    listed = list(people)
    found = {
        person: configured_beats(configs, person, listed) for person in [*listed, DEFAULT_PERSON]
    }
    return {person: kind for person, kind in found.items() if kind is not None}
