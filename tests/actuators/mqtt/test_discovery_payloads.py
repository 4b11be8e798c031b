"""HA device-based discovery documents, field by field."""

from __future__ import annotations

from typing import Any

import pytest

import ambient
from ambient.actuators.mqtt_entities import (
    EXPIRE_AFTER_S,
    PERSON_ENTITIES,
    DiscoveryPayloads,
    PersonEntity,
    Topics,
    format_state,
    safe_id,
)
from ambient.config.checks import cross_checks
from ambient.config.mqtt import HA_DAEMON_ENTITY_KEYS, HA_PERSON_ENTITY_KEYS, HA_STATISTICS_KEYS
from ambient.config.root import AmbientConfig


def config(**values: Any) -> AmbientConfig:
    values.setdefault("instance", "home")
    values.setdefault("people", [{"id": "alex", "name": "Alex"}])
    values.setdefault("sensors", [{"type": "ble", "person": "alex", "name": "Polar H10 1234"}])
    values.setdefault("mqtt", {"host": "localhost"})
    return AmbientConfig.model_validate(values)


@pytest.fixture
def documents() -> dict[str, dict[str, Any]]:
    cfg = config()
    return DiscoveryPayloads(cfg, Topics(cfg)).all()


def test_one_device_per_person_and_one_for_the_daemon(
    documents: dict[str, dict[str, Any]],
) -> None:
    assert set(documents) == {
        "homeassistant/device/ambient_home/config",
        "homeassistant/device/ambient_home_alex/config",
    }


def test_every_document_has_dev_origin_and_components(
    documents: dict[str, dict[str, Any]],
) -> None:
    for document in documents.values():
        assert document["o"] == {"name": "ambient", "sw_version": ambient.__version__}
        assert document["dev"]["manufacturer"] == "ambient"
        assert document["dev"]["identifiers"]
        assert document["cmps"]
        for component in document["cmps"].values():
            platform = component["p"]
            assert platform in {"sensor", "binary_sensor", "switch", "button", "event"}
            assert component["unique_id"].startswith("ambient_home_")
            assert component["default_entity_id"] == f"{platform}.{component['object_id']}"
            assert component["availability"][0] == {"topic": "ambient/home/status"}


def test_person_sensors_units_classes_expiry_and_wearable_availability(
    documents: dict[str, dict[str, Any]],
) -> None:
    person = documents["homeassistant/device/ambient_home_alex/config"]
    assert person["dev"]["name"] == "Alex"
    assert person["dev"]["via_device"] == "ambient_home"
    cmps = person["cmps"]
    hr = cmps["heart_rate"]
    assert hr["p"] == "sensor"
    assert hr["unique_id"] == "ambient_home_alex_heart_rate"
    assert hr["object_id"] == "home_alex_heart_rate"
    assert hr["default_entity_id"] == "sensor.home_alex_heart_rate"
    assert hr["unit_of_measurement"] == "bpm"
    assert hr["state_class"] == "measurement"
    assert hr["expire_after"] == EXPIRE_AFTER_S
    assert hr["state_topic"] == "ambient/home/alex/heart_rate"
    assert hr["availability"] == [
        {"topic": "ambient/home/status"},
        {"topic": "ambient/home/alex/wearable"},
    ]
    assert hr["availability_mode"] == "all"
    assert "entity_category" not in hr
    assert cmps["rmssd"]["unit_of_measurement"] == "ms"
    assert cmps["stress_score"]["state_class"] == "measurement"
    assert cmps["signal_quality"]["unit_of_measurement"] == "%"
    assert "unit_of_measurement" not in cmps["activity_state"]
    assert cmps["skin_contact"]["p"] == "binary_sensor"
    for key, device_class, unit in [
        ("battery", "battery", "%"),
        ("rssi", "signal_strength", "dBm"),
        ("reconnects", None, None),
        ("wearable_connected", "connectivity", None),
    ]:
        diag = cmps[key]
        assert diag["entity_category"] == "diagnostic"
        assert diag.get("device_class") == device_class
        assert diag.get("unit_of_measurement") == unit
        assert "expire_after" not in diag


def breathing_config() -> AmbientConfig:
    """A config whose one rule paces a breathing session with a light."""
    rule = {
        "id": "evening",
        "triggers": [{"trigger": "time", "at": "21:00"}],
        "actions": [{"action": "breathing", "lights": ["light.bedroom"]}],
    }
    return config(rules=[rule], homeassistant={"url": "http://localhost:8123", "token": "t" * 20})


def test_daemon_switch_button_event_and_active_rule(documents: dict[str, dict[str, Any]]) -> None:
    cmps = documents["homeassistant/device/ambient_home/config"]["cmps"]
    assert cmps["pause"]["p"] == "switch"
    assert cmps["pause"]["command_topic"] == "ambient/home/paused/set"
    assert cmps["pause"]["state_topic"] == "ambient/home/paused"
    assert (cmps["pause"]["payload_on"], cmps["pause"]["payload_off"]) == ("ON", "OFF")
    assert cmps["rule_event"]["p"] == "event"
    assert {"fired", "recovered", "suppressed", "escalated"} <= set(
        cmps["rule_event"]["event_types"]
    )
    assert cmps["active_rule"]["json_attributes_topic"] == "ambient/home/active_rule/attributes"
    assert cmps["mqtt_reconnects"]["entity_category"] == "diagnostic"


def test_ids_are_sanitised_and_prefix_and_base_topic_configurable() -> None:
    assert safe_id("ambient.home/alex wear") == "ambient_home_alex_wear"
    cfg = config(mqtt={"discovery_prefix": "ha", "base_topic": "calm"})
    topics = Topics(cfg)
    assert DiscoveryPayloads(cfg, topics).all().keys() == {
        "ha/device/ambient_home/config",
        "ha/device/ambient_home_alex/config",
    }
    assert topics.status == "calm/home/status"
    assert topics.birth == "ha/status"


def test_state_formatting_unknown_is_none_never_a_number() -> None:
    hr = PersonEntity("heart_rate", "sensor", "HR", decimals=0)
    quality = PersonEntity("q", "sensor", "Q", scale=100.0, decimals=0)
    contact = PersonEntity("c", "binary_sensor", "C")
    assert format_state(hr, 71.6) == ("72", 72.0)
    assert format_state(hr, None) == ("None", None)
    assert format_state(quality, 0.934) == ("93", 93.0)
    assert format_state(contact, 1.0) == ("ON", None)
    assert format_state(contact, False) == ("OFF", None)
    assert format_state(contact, None) == ("None", None)
    assert format_state(PersonEntity("a", "sensor", "A"), "rest") == ("rest", None)


def test_the_breathing_button_is_announced_only_when_a_rule_has_a_breathing_action(
    documents: dict[str, dict[str, Any]],
) -> None:
    """Pressed with no breathing action in any rule, it would do nothing in HA."""
    assert "breathing" not in documents["homeassistant/device/ambient_home/config"]["cmps"]
    cfg = breathing_config()
    with_breathing = DiscoveryPayloads(cfg, Topics(cfg)).all()
    button = with_breathing["homeassistant/device/ambient_home/config"]["cmps"]["breathing"]
    assert button["p"] == "button"
    assert button["payload_press"] == "PRESS"
    assert button["command_topic"] == "ambient/home/breathing/press"


def test_insight_entities_are_announced_only_with_insights_on() -> None:
    """With ``insights.enabled: false`` nothing would ever give them a value."""
    insight_keys = {
        "hrv_low",
        "hrv_trend",
        "stress_slope",
        "day_resting_hr",
        "day_ln_rmssd",
        "day_stress_minutes",
        "day_recovery_minutes",
        "day_active_minutes",
        "day_sleep_hours",
    }
    on = config()
    person = DiscoveryPayloads(on, Topics(on)).all()[
        "homeassistant/device/ambient_home_alex/config"
    ]
    assert insight_keys <= set(person["cmps"])
    off = config(insights={"enabled": False})
    payloads = DiscoveryPayloads(off, Topics(off))
    person = payloads.all()["homeassistant/device/ambient_home_alex/config"]
    assert not insight_keys & set(person["cmps"])
    assert {"heart_rate", "battery"} <= set(person["cmps"])
    assert not insight_keys & {entity.key for entity in payloads.person_entities}


def test_what_tells_of_the_wearable_rather_than_the_person_is_diagnostic(
    documents: dict[str, dict[str, Any]],
) -> None:
    """Signal quality and skin contact say how the strap sits, as battery and reconnects say
    how it runs: HA files them under the device's diagnostics, off its generated dashboards.
    They keep the wearable's availability and ``expire_after``."""
    person = documents["homeassistant/device/ambient_home_alex/config"]["cmps"]
    diagnostic = {key for key, c in person.items() if c.get("entity_category") == "diagnostic"}
    assert diagnostic == {
        "signal_quality",
        "skin_contact",
        "wearable_connected",
        "battery",
        "rssi",
        "reconnects",
    }
    assert person["signal_quality"]["expire_after"] == EXPIRE_AFTER_S
    assert person["skin_contact"]["availability_mode"] == "all"
    daemon = documents["homeassistant/device/ambient_home/config"]["cmps"]
    assert [k for k, c in daemon.items() if c.get("entity_category")] == ["mqtt_reconnects"]


ALEX = "homeassistant/device/ambient_home_alex/config"


def mqtt_sensor(metric: str, person: str = "alex") -> dict[str, Any]:
    return {"type": "mqtt", "topic": f"watch/{metric}", "person": person, "metric": metric}


def alex_components(cfg: AmbientConfig) -> dict[str, Any]:
    components: dict[str, Any] = DiscoveryPayloads(cfg, Topics(cfg)).all()[ALEX]["cmps"]
    return components


@pytest.mark.parametrize(
    "sensor",
    [
        mqtt_sensor("hr"),
        mqtt_sensor("rr"),
        mqtt_sensor("activity"),
        mqtt_sensor("steps"),
        mqtt_sensor("movement"),
        {"type": "ble", "person": "alex", "address": "AA:BB:CC:DD:EE:FF"},
        {"type": "homeassistant", "entity_id": "sensor.watch_hr", "person": "alex", "metric": "hr"},
        {"type": "mqtt", "topic": "phones/+/hr", "person_topic_level": 1, "metric": "hr"},
        {"type": "satellite"},
    ],
)
def test_activity_is_announced_for_someone_a_sensor_can_tell_it_of(
    sensor: dict[str, Any],
) -> None:
    """Activity comes from a movement, activity or step sensor, else from the heart rate
    (its reserve): a heart sensor, or one whose metrics are not known ahead (a satellite's)."""
    assert "activity_state" in alex_components(config(sensors=[sensor]))


def test_activity_is_not_announced_when_no_sensor_of_the_person_can_tell_it() -> None:
    """An SpO2 relay alone, or a person whose only sensors are someone else's, would leave
    it unknown in HA for ever."""
    assert "activity_state" not in alex_components(config(sensors=[mqtt_sensor("spo2")]))
    only_sams = config(
        people=[{"id": "alex"}, {"id": "sam"}], sensors=[mqtt_sensor("hr", person="sam")]
    )
    assert "activity_state" not in alex_components(only_sams)
    assert "heart_rate" in alex_components(only_sams)
    renamed = config(
        sensors=[mqtt_sensor("accel")], signals={"activity": {"movement_metric": "accel"}}
    )
    assert "activity_state" in alex_components(renamed)


def test_activity_is_removed_from_the_device_when_its_last_source_goes() -> None:
    """As for any component no longer announced: the device names it with its platform alone."""
    before = config(sensors=[mqtt_sensor("hr")])
    retained = DiscoveryPayloads(before, Topics(before)).all()[ALEX]
    after = config(sensors=[mqtt_sensor("spo2")])
    payloads = DiscoveryPayloads(after, Topics(after))
    retired, _topics = payloads.retire("ambient_home_alex", retained)
    assert retired
    assert payloads.all()[ALEX]["cmps"]["activity_state"] == {"p": "sensor"}


def test_the_config_check_knows_every_entity_key() -> None:
    """``ambient check`` refuses person ids from these lists (the config cannot import the
    entities): each must name every entity ambient may announce."""
    cfg = breathing_config()
    daemon = DiscoveryPayloads(cfg, Topics(cfg)).daemon()
    assert set(HA_DAEMON_ENTITY_KEYS) == set(daemon["cmps"])
    assert set(HA_PERSON_ENTITY_KEYS) == {entity.key for entity in PERSON_ENTITIES}


def _id_parts() -> set[str]:
    """Every start of an entity key at an underscore (``mqtt``, ``day_ln``, ``heart``)."""
    keys = [*HA_DAEMON_ENTITY_KEYS, *HA_PERSON_ENTITY_KEYS]
    words = [key.split("_") for key in keys]
    return {"_".join(parts[:n]) for parts in words for n in range(1, len(parts))}


@pytest.mark.parametrize("second", sorted(_id_parts() | {f"alex_{p}" for p in _id_parts()}))
def test_a_config_the_check_takes_gives_every_entity_its_own_unique_id(second: str) -> None:
    """Whatever a person is called next to ``alex``: either ``ambient check`` refuses the id,
    or no two of the entities announced (with every optional one) share a unique id."""
    options = [{"id": "quiet", "actions": [{"action": "log", "message": "quiet"}]}]
    rule = {
        "id": "evening",
        "triggers": [{"trigger": "time", "at": "21:00"}],
        "actions": [
            {"action": "breathing", "lights": ["light.bedroom"]},
            {"choose_calming": {"options": options}},
        ],
    }
    cfg = config(
        people=[{"id": "alex"}, {"id": second}],
        sensors=[{"type": "satellite"}],
        rules=[rule],
        homeassistant={"url": "http://localhost:8123", "token": "t" * 20},
    )
    refused = [message for _path, message in cross_checks(cfg, environment=False)]
    unique_ids = [
        component["unique_id"]
        for document in DiscoveryPayloads(cfg, Topics(cfg)).all().values()
        for component in document["cmps"].values()
    ]
    shared = len(unique_ids) != len(set(unique_ids))
    assert bool(refused) == shared, refused


def test_the_statistics_setting_names_every_health_entity_with_a_state_class() -> None:
    """Those fed by the person's signals; the wearable's battery and signal strength are not
    health data and keep theirs."""
    assert set(HA_STATISTICS_KEYS) == {
        entity.key
        for entity in PERSON_ENTITIES
        if entity.signal is not None and "state_class" in entity.extra
    }


def state_classes(cfg: AmbientConfig) -> dict[str, str]:
    return {
        key: component["state_class"]
        for document in DiscoveryPayloads(cfg, Topics(cfg)).all().values()
        for key, component in document["cmps"].items()
        if "state_class" in component
    }


def test_without_statistics_no_health_entity_has_a_state_class() -> None:
    """HA keeps long-term statistics of an entity with a ``state_class`` for ever; without one
    it keeps its states only for the recorder's ``purge_keep_days`` (still graphed by unit)."""
    kept = state_classes(config(mqtt={"host": "localhost", "statistics": False}))
    assert kept == {
        "battery": "measurement",
        "rssi": "measurement",
        "reconnects": "total_increasing",
        "mqtt_reconnects": "total_increasing",
    }
    alex = alex_components(config(mqtt={"host": "localhost", "statistics": False}))
    assert alex["heart_rate"]["unit_of_measurement"] == "bpm"


def test_statistics_of_the_listed_health_entities_only() -> None:
    listed = config(mqtt={"host": "localhost", "statistics": ["day_resting_hr", "day_sleep_hours"]})
    kept = set(state_classes(listed)) & set(HA_STATISTICS_KEYS)
    assert kept == {"day_resting_hr", "day_sleep_hours"}
    assert set(HA_STATISTICS_KEYS) <= set(state_classes(config()))  # the default: all


#: What only beat-to-beat intervals (``rr``) give: HRV and how clean the beats are.
BEAT_ENTITIES = {"rmssd", "signal_quality", "hrv_low", "hrv_trend", "day_ln_rmssd"}


@pytest.mark.parametrize(
    "sensor",
    [
        mqtt_sensor("hr"),
        {"type": "homeassistant", "entity_id": "sensor.watch_hr", "person": "alex", "metric": "hr"},
    ],
)
def test_a_person_whose_sensors_send_only_heart_rate_gets_no_hrv_entities(
    sensor: dict[str, Any],
) -> None:
    """A watch through MQTT or HA sends no beats: RMSSD, signal quality and the HRV trend
    would stay unknown in HA for ever. What the heart rate gives is still announced."""
    components = alex_components(config(sensors=[sensor, mqtt_sensor("activity")]))
    assert not BEAT_ENTITIES & set(components)
    assert {"heart_rate", "stress_score", "stress_slope", "day_resting_hr"} <= set(components)


@pytest.mark.parametrize(
    "sensor",
    [
        mqtt_sensor("rr"),
        {"type": "ble", "person": "alex", "address": "AA:BB:CC:DD:EE:FF"},
        {"type": "homeassistant", "entity_id": "sensor.watch_rr", "person": "alex", "metric": "rr"},
        {"type": "mqtt", "topic": "phones/+/rr", "person_topic_level": 1, "metric": "rr"},
        {"type": "satellite"},
        {"type": "recording", "path": "night.csv"},
    ],
)
def test_hrv_entities_are_announced_for_someone_a_sensor_may_give_beats_of(
    sensor: dict[str, Any],
) -> None:
    """A strap, an ``rr`` sensor (one naming the person in its topic is anyone's), or one
    whose metrics are not known ahead (a satellite's or a recording's, for anyone listed)."""
    assert set(alex_components(config(sensors=[mqtt_sensor("hr"), sensor]))) >= BEAT_ENTITIES


def test_hrv_entities_are_removed_from_the_device_when_the_last_beat_source_goes() -> None:
    """The strap swapped for a watch sending heart rate only: the device names each with its
    platform alone, so HA removes them."""
    before = config()
    retained = DiscoveryPayloads(before, Topics(before)).all()[ALEX]
    after = config(sensors=[mqtt_sensor("hr")])
    payloads = DiscoveryPayloads(after, Topics(after))
    retired, emptied = payloads.retire("ambient_home_alex", retained)
    assert set(retired) >= BEAT_ENTITIES
    # their last values and the HRV numbers go from the broker; the heart rate's stays
    assert {f"ambient/home/alex/{key}" for key in BEAT_ENTITIES} <= set(emptied)
    assert "ambient/home/alex/hrv_low/attributes" in emptied
    assert "ambient/home/alex/heart_rate" not in emptied
    assert payloads.retire("ambient_home_alex", payloads.all()[ALEX]) == ([], [])
    components = payloads.all()[ALEX]["cmps"]
    assert {key: components[key] for key in BEAT_ENTITIES} == {
        "rmssd": {"p": "sensor"},
        "signal_quality": {"p": "sensor"},
        "hrv_low": {"p": "binary_sensor"},
        "hrv_trend": {"p": "sensor"},
        "day_ln_rmssd": {"p": "sensor"},
    }


def test_a_removal_home_assistant_has_read_is_named_no_more_unless_announced_again() -> None:
    """Once HA has read the platform-only entries, the device is announced without them; an
    older copy of the document still naming them so does not bring them back, but one
    announcing the entity in full (an older ambient) has it removed anew."""
    before = config()
    announced = DiscoveryPayloads(before, Topics(before)).all()[ALEX]
    after = config(sensors=[mqtt_sensor("hr")])
    payloads = DiscoveryPayloads(after, Topics(after))
    payloads.retire("ambient_home_alex", announced)
    named = payloads.all()[ALEX]
    assert payloads.removals_named("ambient_home_alex", named) >= BEAT_ENTITIES
    assert payloads.removals_named("ambient_home_alex", announced) == set()  # still in full
    payloads.forget_retired(
        "ambient_home_alex", payloads.removals_named("ambient_home_alex", named)
    )
    assert not BEAT_ENTITIES & set(payloads.all()[ALEX]["cmps"])
    assert payloads.retire("ambient_home_alex", named) == ([], [])
    retired, _emptied = payloads.retire("ambient_home_alex", announced)
    assert set(retired) >= BEAT_ENTITIES
    assert payloads.all()[ALEX]["cmps"]["rmssd"] == {"p": "sensor"}


@pytest.mark.parametrize(
    ("sensor", "announced"),
    [
        (mqtt_sensor("hr"), False),
        (mqtt_sensor("rr"), False),
        (mqtt_sensor("contact"), True),
        ({"type": "ble", "person": "alex", "address": "AA:BB:CC:DD:EE:FF"}, True),
        ({"type": "satellite"}, True),
    ],
)
def test_skin_contact_is_announced_only_with_a_sensor_that_reports_contact(
    sensor: dict[str, Any], announced: bool
) -> None:
    """Only a strap (or a ``contact`` sensor) says whether it touches the skin: for a watch
    sending heart rate or beats it would stay unknown in HA for ever."""
    assert ("skin_contact" in alex_components(config(sensors=[sensor]))) is announced
