"""What ambient shows in Home Assistant: the entities, their topics and discovery payloads.

Device-based discovery (``<prefix>/device/<id>/config``, retained, with ``dev``, ``o`` and
``cmps``): one device per person, one for the daemon. Every component carries ``p`` and
``unique_id`` (HA requires both), and both entity-id keys: ``object_id`` (read by HA up to
2025.9, ignored from 2026.4) and ``default_entity_id`` (2025.10 on). States are plain payloads on
their own retained topics; ``None`` is HA's word for unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import ambient
from ambient.actuators.commands import first_breathing_action
from ambient.config.actions import ChooseCalmingStepConfig
from ambient.config.insights import INSIGHT_SIGNAL_NAMES
from ambient.config.mqtt import HA_STATISTICS_KEYS
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import walk_steps
from ambient.config.sensors import SensorConfig, may_give

Platform = Literal["sensor", "binary_sensor", "switch", "button", "event"]

#: HA MQTT entities read this state payload as "unknown".
UNKNOWN: Final = "None"
#: Physiological sensors go unavailable in HA when not refreshed for this long.
EXPIRE_AFTER_S: Final = 150
#: Every state is re-sent at least this often, well inside ``EXPIRE_AFTER_S``.
REFRESH_S: Final = 60.0
RULE_EVENT_TYPES: Final = (
    "fired",
    "recovered",
    "suppressed",
    "escalated",
    "action_failed",
    "resumed",
    "continued",
    "ended",
)

_UNSAFE: Final = re.compile(r"[^a-zA-Z0-9_-]")


def safe_id(text: str) -> str:
    """An id HA accepts in discovery topics and unique ids: ``[a-zA-Z0-9_-]`` only."""
    return _UNSAFE.sub("_", text)


@dataclass(frozen=True)
class PersonEntity:
    """One entity on a person's device, fed by a signal (``signal``) or sensor diagnostics."""

    key: str
    platform: Platform
    name: str
    signal: str | None = None
    scale: float = 1.0
    decimals: int = 1
    deadband: float = 0.0
    diagnostic: bool = False
    physiological: bool = False
    #: Carries JSON attributes on ``<state topic>/attributes`` (from the insights provider).
    attributes: bool = False
    #: Only announced when a rule lets ambient choose its calming (``choose_calming``).
    calming: bool = False
    #: Only announced for a person a sensor can give one of these metrics (``movement``: the
    #: signals' ``movement_metric``); None: whatever the sensors.
    fed_by: frozenset[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: What only beat-to-beat intervals give (HRV, how clean the beats are): a watch sending its
#: heart rate alone never would.
BEATS: Final = frozenset({"rr"})

PERSON_ENTITIES: Final = (
    PersonEntity(
        "heart_rate",
        "sensor",
        "Heart rate",
        signal="hr",
        decimals=0,
        deadband=5.0,
        physiological=True,
        extra={
            "unit_of_measurement": "bpm",
            "state_class": "measurement",
            "icon": "mdi:heart-pulse",
        },
    ),
    PersonEntity(
        "rmssd",
        "sensor",
        "RMSSD",
        signal="rmssd",
        deadband=5.0,
        physiological=True,
        fed_by=BEATS,
        extra={
            "unit_of_measurement": "ms",
            "state_class": "measurement",
            "icon": "mdi:heart-flash",
        },
    ),
    PersonEntity(
        "stress_score",
        "sensor",
        "Stress score",
        signal="stress_score",
        decimals=0,
        deadband=10.0,
        physiological=True,
        extra={"state_class": "measurement", "icon": "mdi:head-heart"},
    ),
    PersonEntity(
        "signal_quality",
        "sensor",
        "Signal quality",
        signal="quality",
        scale=100.0,
        decimals=0,
        deadband=20.0,
        diagnostic=True,
        physiological=True,
        fed_by=BEATS,
        extra={"unit_of_measurement": "%", "state_class": "measurement", "icon": "mdi:signal"},
    ),
    PersonEntity(
        "activity_state",
        "sensor",
        "Activity",
        signal="activity_state",
        physiological=True,
        # From a movement, activity or step sensor, else from the heart rate's reserve.
        fed_by=frozenset({"hr", "rr", "activity", "steps", "movement"}),
        extra={"icon": "mdi:run"},
    ),
    PersonEntity(
        "skin_contact",
        "binary_sensor",
        "Skin contact",
        signal="contact",
        diagnostic=True,
        physiological=True,
        # A strap says whether it touches the skin; a watch's heart rate or beats do not.
        fed_by=frozenset({"contact"}),
        extra={"icon": "mdi:hand-back-right"},
    ),
    PersonEntity(
        "hrv_low",
        "binary_sensor",
        "HRV below normal",
        signal="hrv_low",
        attributes=True,
        fed_by=BEATS,
        extra={"device_class": "problem", "icon": "mdi:heart-minus"},
    ),
    PersonEntity(
        "hrv_trend",
        "sensor",
        "HRV trend",
        signal="hrv_trend",
        fed_by=BEATS,
        extra={"device_class": "enum", "options": ["low", "normal", "high"]},
    ),
    PersonEntity(
        "stress_slope",
        "sensor",
        "Stress slope",
        signal="stress_slope",
        deadband=1.0,
        physiological=True,
        extra={
            "unit_of_measurement": "/min",
            "state_class": "measurement",
            "icon": "mdi:trending-up",
        },
    ),
    PersonEntity(
        "day_resting_hr",
        "sensor",
        "Resting HR (last day)",
        signal="day_resting_hr",
        decimals=0,
        extra={
            "unit_of_measurement": "bpm",
            "state_class": "measurement",
            "icon": "mdi:calendar-today",
        },
    ),
    PersonEntity(
        "day_ln_rmssd",
        "sensor",
        "HRV ln RMSSD (last day)",
        signal="day_ln_rmssd",
        decimals=2,
        fed_by=BEATS,
        attributes=True,  # its source: a night's mean or a quiet daytime moment
        extra={
            "unit_of_measurement": "ln(ms)",
            "state_class": "measurement",
            "icon": "mdi:calendar-today",
        },
    ),
    PersonEntity(
        "day_stress_minutes",
        "sensor",
        "Stress minutes (last day)",
        signal="day_stress_minutes",
        decimals=0,
        extra={
            "unit_of_measurement": "min",
            "state_class": "measurement",
            "icon": "mdi:calendar-today",
        },
    ),
    PersonEntity(
        "day_recovery_minutes",
        "sensor",
        "Recovery minutes (last day)",
        signal="day_recovery_minutes",
        decimals=0,
        extra={
            "unit_of_measurement": "min",
            "state_class": "measurement",
            "icon": "mdi:calendar-today",
        },
    ),
    PersonEntity(
        "day_active_minutes",
        "sensor",
        "Active minutes (last day)",
        signal="day_active_minutes",
        decimals=0,
        extra={
            "unit_of_measurement": "min",
            "state_class": "measurement",
            "icon": "mdi:calendar-today",
        },
    ),
    PersonEntity(
        "day_sleep_hours",
        "sensor",
        "Sleep (last day)",
        signal="day_sleep_hours",
        decimals=1,
        extra={"unit_of_measurement": "h", "state_class": "measurement", "icon": "mdi:sleep"},
    ),
    PersonEntity(
        "calming_choice",
        "sensor",
        "Calming most likely next",
        attributes=True,
        calming=True,
        extra={"icon": "mdi:meditation"},
    ),
    PersonEntity(
        "wearable_connected",
        "binary_sensor",
        "Wearable connected",
        diagnostic=True,
        extra={"device_class": "connectivity"},
    ),
    PersonEntity(
        "battery",
        "sensor",
        "Wearable battery",
        decimals=0,
        diagnostic=True,
        extra={"device_class": "battery", "unit_of_measurement": "%", "state_class": "measurement"},
    ),
    PersonEntity(
        "rssi",
        "sensor",
        "Wearable signal strength",
        decimals=0,
        diagnostic=True,
        extra={
            "device_class": "signal_strength",
            "unit_of_measurement": "dBm",
            "state_class": "measurement",
        },
    ),
    PersonEntity(
        "reconnects",
        "sensor",
        "Wearable reconnects",
        decimals=0,
        diagnostic=True,
        extra={"state_class": "total_increasing", "icon": "mdi:restart"},
    ),
)


class Topics:
    """Every topic ambient publishes or listens to for HA, in one place."""

    def __init__(self, config: AmbientConfig) -> None:
        assert config.mqtt is not None
        self.prefix = config.mqtt.discovery_prefix
        self.root = f"{config.mqtt.base_topic}/{config.instance}"
        self.status = f"{self.root}/status"
        self.birth = f"{self.prefix}/status"
        self.active_rule = f"{self.root}/active_rule"
        self.active_rule_attributes = f"{self.root}/active_rule/attributes"
        self.rule_event = f"{self.root}/rule_event"
        self.paused = f"{self.root}/paused"
        self.pause_command = f"{self.root}/paused/set"
        self.breathing_command = f"{self.root}/breathing/press"
        self.mqtt_reconnects = f"{self.root}/mqtt_reconnects"

    def person_state(self, person: str, key: str) -> str:
        return f"{self.root}/{person}/{key}"

    def attributes(self, person: str, key: str) -> str:
        return f"{self.root}/{person}/{key}/attributes"

    def wearable(self, person: str) -> str:
        return f"{self.root}/{person}/wearable"

    def discovery(self, device_id: str) -> str:
        return f"{self.prefix}/device/{device_id}/config"

    def device_id_of(self, discovery_topic: str) -> str | None:
        """The device id of a ``<prefix>/device/<id>/config`` topic; None for another topic."""
        head = f"{self.prefix}/device/"
        if not discovery_topic.startswith(head) or not discovery_topic.endswith("/config"):
            return None
        device_id = discovery_topic[len(head) : -len("/config")]
        return device_id if device_id and "/" not in device_id else None


def format_state(entity: PersonEntity, value: Any) -> tuple[str, float | None]:
    """The payload for ``value`` and its number (for deadbands); unknown is ``None``."""
    if value is None:
        return UNKNOWN, None
    if entity.platform == "binary_sensor":
        return ("ON" if bool(value) else "OFF"), None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value), None
    number = round(float(value) * entity.scale, entity.decimals)
    text = f"{number:.{entity.decimals}f}"
    return text, number


class DiscoveryPayloads:
    """Builds the retained discovery documents for one config."""

    def __init__(self, config: AmbientConfig, topics: Topics) -> None:
        self.config = config
        self.topics = topics
        self.instance = config.instance
        self.daemon_device_id = safe_id(f"ambient_{config.instance}")
        self._origin = {"name": "ambient", "sw_version": ambient.__version__}
        self._chooses_calming = any(
            isinstance(step, ChooseCalmingStepConfig)
            for rule in config.rules
            for _path, step in walk_steps(rule, ())
        )
        #: The button starts the first breathing action the rules have: without one it
        #: would do nothing.
        self._breathes = first_breathing_action(config) is not None
        #: Per device, components an earlier document announced and this config does not:
        #: HA removes a component only when a document names it with its platform alone.
        self._retired: dict[str, dict[str, str]] = {}
        #: Per device, retired components whose removal HA has read: no longer named, and a
        #: document still naming them by their platform (an older copy) is not taken up again.
        self._removed: dict[str, set[str]] = {}
        self._metrics = person_metrics(config)
        assert config.mqtt is not None
        self._mqtt = config.mqtt

    def person_device_id(self, person: str) -> str:
        return safe_id(f"ambient_{self.instance}_{person}")

    @property
    def person_entities(self) -> tuple[PersonEntity, ...]:
        """The entities each person's device announces with this config: none that nothing
        would ever give a value (calming unless a rule chooses it, insights when off)."""
        insights = self.config.insights.enabled
        return tuple(
            e
            for e in PERSON_ENTITIES
            if (self._chooses_calming or not e.calming)
            and (insights or e.signal not in INSIGHT_SIGNAL_NAMES)
        )

    def entities_of(self, person: str) -> tuple[PersonEntity, ...]:
        """The entities ``person``'s device announces: of :attr:`person_entities`, those their
        sensors can give a value (the Activity of someone with only an SpO2 relay cannot, nor
        the HRV of someone whose watch sends only heart rate)."""
        metrics = self._metrics.get(person, ANY_METRIC)
        return tuple(
            e
            for e in self.person_entities
            if e.fed_by is None or metrics is ANY_METRIC or e.fed_by & metrics
        )

    def is_former_person(self, device_id: str, document: Any) -> bool:
        """True when ``document`` (a retained discovery document of ``device_id``) is a person
        device of this instance that the config no longer has (removed, or its id changed)."""
        if not device_id.startswith(f"{self.daemon_device_id}_"):
            return False
        if device_id in {self.person_device_id(p.id) for p in self.config.people}:
            return False
        return _announced_by(document, self.daemon_device_id)

    def retire(self, device_id: str, document: Any) -> tuple[list[str], list[str]]:
        """Note the components ``document`` (the retained one of a device of this config) has
        and this config does not: the keys that adds (when any, the device is published
        again, naming each by its platform alone, so HA removes it), and the retained state
        and attribute topics only those named, to be emptied once HA has removed them (a last
        value must not stay on the broker)."""
        current = self.all().get(self.topics.discovery(device_id))
        components = document.get("cmps") if isinstance(document, dict) else None
        if current is None or not isinstance(components, dict):
            return [], []
        retired = self._retired.setdefault(device_id, {})
        removed = self._removed.setdefault(device_id, set())
        added: list[str] = []
        found: set[str] = set()
        for key, component in components.items():
            platform = component.get("p") if isinstance(component, dict) else None
            if key in current["cmps"] or key in retired or not isinstance(platform, str):
                continue
            if key in removed and component == {"p": platform}:
                continue  # HA has read its removal
            removed.discard(key)  # announced in full again (an older ambient): retired anew
            retired[key] = platform
            added.append(key)
            found.update(_own_topics(component, self.topics.root))
        in_use = {t for c in current["cmps"].values() for t in _own_topics(c, self.topics.root)}
        return added, sorted(found - in_use)

    def removals_named(self, device_id: str, document: Any) -> set[str]:
        """The retired components of ``device_id`` that ``document`` names by platform alone."""
        retired = self._retired.get(device_id, {})
        components = document.get("cmps") if isinstance(document, dict) else None
        return {
            key
            for key, component in (components or {}).items()
            if key in retired and component == {"p": retired[key]}
        }

    def forget_retired(self, device_id: str, keys: set[str]) -> None:
        """Name ``keys`` of ``device_id`` no more: HA has read their removal (HA's docs advise
        announcing the device without a removed component afterwards)."""
        retired = self._retired.get(device_id, {})
        for key in keys:
            if retired.pop(key, None) is not None:
                self._removed.setdefault(device_id, set()).add(key)

    def withdrawn_topics(self, document: Any) -> list[str]:
        """The retained state topics a former device's ``document`` names, to be emptied: only
        this instance's own (never its status, which the daemon still uses)."""
        found: set[str] = set()
        components = document.get("cmps") if isinstance(document, dict) else None
        for component in (components or {}).values():
            found.update(_own_topics(component, self.topics.root, availability=True))
        found.discard(self.topics.status)
        return sorted(found)

    def _identity(self, key: str, platform: Platform) -> dict[str, Any]:
        object_id = safe_id(f"{self.instance}_{key}")
        return {
            "p": platform,
            "unique_id": safe_id(f"ambient_{self.instance}_{key}"),
            "object_id": object_id,
            "default_entity_id": f"{platform}.{object_id}",
        }

    def _daemon_availability(self) -> list[dict[str, str]]:
        return [{"topic": self.topics.status}]

    def all(self) -> dict[str, dict[str, Any]]:
        """Discovery topic -> payload, for the daemon and every person."""
        documents = {self.topics.discovery(self.daemon_device_id): self.daemon()}
        for person in self.config.people:
            device_id = self.person_device_id(person.id)
            documents[self.topics.discovery(device_id)] = self.person(
                person.id, person.display_name
            )
        for device_id, retired in self._retired.items():
            components = documents[self.topics.discovery(device_id)]["cmps"]
            components.update({key: {"p": platform} for key, platform in retired.items()})
        return documents

    def person(self, person: str, display_name: str) -> dict[str, Any]:
        components: dict[str, dict[str, Any]] = {}
        for entity in self.entities_of(person):
            component = self._identity(f"{person}_{entity.key}", entity.platform)
            component.update(
                name=entity.name,
                state_topic=self.topics.person_state(person, entity.key),
                **entity.extra,
            )
            if entity.key in HA_STATISTICS_KEYS and not self._mqtt.keeps_statistics(entity.key):
                del component["state_class"]  # HA then keeps no statistics, only states
            if entity.physiological:
                component["expire_after"] = EXPIRE_AFTER_S
                component["availability"] = [
                    {"topic": self.topics.status},
                    {"topic": self.topics.wearable(person)},
                ]
                component["availability_mode"] = "all"
            else:
                component["availability"] = self._daemon_availability()
            if entity.attributes:
                component["json_attributes_topic"] = self.topics.attributes(person, entity.key)
            if entity.diagnostic:
                component["entity_category"] = "diagnostic"
            components[entity.key] = component
        return {
            "dev": {
                "identifiers": [self.person_device_id(person)],
                "name": display_name,
                "manufacturer": "ambient",
                "model": "Person",
                "sw_version": ambient.__version__,
                "via_device": self.daemon_device_id,
            },
            "o": self._origin,
            "cmps": components,
            "qos": 1,
        }

    def daemon(self) -> dict[str, Any]:
        availability = self._daemon_availability()
        components: dict[str, dict[str, Any]] = {
            "active_rule": {
                **self._identity("active_rule", "sensor"),
                "name": "Active rule",
                "state_topic": self.topics.active_rule,
                "json_attributes_topic": self.topics.active_rule_attributes,
                "icon": "mdi:playlist-check",
                "availability": availability,
            },
            "rule_event": {
                **self._identity("rule_event", "event"),
                "name": "Rule event",
                "state_topic": self.topics.rule_event,
                "event_types": list(RULE_EVENT_TYPES),
                "availability": availability,
            },
            "pause": {
                **self._identity("pause", "switch"),
                "name": "Pause actions",
                "state_topic": self.topics.paused,
                "command_topic": self.topics.pause_command,
                "payload_on": "ON",
                "payload_off": "OFF",
                "icon": "mdi:pause-circle",
                "availability": availability,
            },
            "mqtt_reconnects": {
                **self._identity("mqtt_reconnects", "sensor"),
                "name": "MQTT reconnects",
                "state_topic": self.topics.mqtt_reconnects,
                "state_class": "total_increasing",
                "entity_category": "diagnostic",
                "availability": availability,
            },
        }
        if self._breathes:
            components["breathing"] = {
                **self._identity("breathing", "button"),
                "name": "Start breathing session",
                "command_topic": self.topics.breathing_command,
                "payload_press": "PRESS",
                "icon": "mdi:weather-windy",
                "availability": availability,
            }
        return {
            "dev": {
                "identifiers": [self.daemon_device_id],
                "name": f"ambient {self.instance}",
                "manufacturer": "ambient",
                "model": "Daemon",
                "sw_version": ambient.__version__,
            },
            "o": self._origin,
            "cmps": components,
            "qos": 1,
        }


#: What a sensor whose metrics are not known ahead may give (a recording's columns, a
#: satellite's forwarded readings): anything.
ANY_METRIC: Final = None


def person_metrics(config: AmbientConfig) -> dict[str, frozenset[str] | None]:
    """The metrics each listed person's sensors can give (:data:`ANY_METRIC` when a sensor's
    are not known ahead); the signals' ``movement_metric`` is named ``movement``."""
    found: dict[str, frozenset[str] | None] = {person.id: frozenset() for person in config.people}
    movement = config.signals.activity.movement_metric
    for sensor in config.sensors:
        metrics = _sensor_metrics(sensor)
        if metrics is not None and movement in metrics:
            metrics = metrics | {"movement"}
        for person in _sensor_people(sensor, found):
            known = found[person]
            found[person] = None if metrics is None or known is None else known | metrics
    return found


def _sensor_metrics(sensor: SensorConfig) -> frozenset[str] | None:
    if sensor.type == "ble":
        return frozenset({"hr", "rr", "contact"})
    if sensor.type in ("mqtt", "homeassistant"):
        return frozenset({sensor.metric})
    return ANY_METRIC  # a recording's columns, a satellite's forwarded readings


def _sensor_people(sensor: SensorConfig, listed: Iterable[str]) -> list[str]:
    """The listed people ``sensor`` may read for, of any metric it gives (see
    :func:`may_give`: anyone its readings name, else its ``person`` or ``default``)."""
    metrics = _sensor_metrics(sensor) or ()  # (only an mqtt or HA sensor's metric is asked)
    return [person for person in listed if may_give(sensor, person, metrics)]


def _own_topics(component: Any, root: str, availability: bool = False) -> list[str]:
    """The topics under this instance's ``root`` a discovery component names: its state and
    attributes (and its availability's, with ``availability``)."""
    if not isinstance(component, dict):
        return []
    named = [component.get("state_topic"), component.get("json_attributes_topic")]
    if availability:
        for entry in component.get("availability") or []:
            if isinstance(entry, dict):
                named.append(entry.get("topic"))
    return [t for t in named if isinstance(t, str) and t.startswith(f"{root}/")]


def _announced_by(document: Any, daemon_device_id: str) -> bool:
    """A person device document that this instance's daemon published (origin and parent)."""
    if not isinstance(document, dict):
        return False
    device, origin = document.get("dev"), document.get("o")
    return (
        isinstance(device, dict)
        and isinstance(origin, dict)
        and origin.get("name") == "ambient"
        and device.get("via_device") == daemon_device_id
    )
