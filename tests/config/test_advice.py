"""`ambient check`'s warnings on what a valid config probably does not mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import config_warnings, load_config

SATELLITE = """\
instance: bedroom
role: satellite
mqtt: {host: localhost}
people: [{id: alex}]
sensors: [{type: ble, person: alex, name: Polar H10 1234ABCD}]
store: {path: null}
"""
RULE = """\
rules:
  - id: calm
    triggers: [{trigger: time, at: "22:00"}]
    actions: [{action: log, message: wind down}]
"""


def warnings(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_what_a_satellite_never_runs_is_a_warning_at_its_section(tmp_path: Path) -> None:
    """A satellite only forwards its readings: its rules never fired, its quiet hours and
    check-ins never applied, and `check` said nothing."""
    found = warnings(
        tmp_path,
        SATELLITE + RULE + "quiet_hours: {start: '23:00', end: '07:00'}\n"
        "homeassistant: {url: 'http://ha.local:8123', token: t}\n",
    )
    assert [warning.split(": ", 2)[1] for warning in found] == [
        "rules",
        "quiet_hours",
        "homeassistant",
    ]
    assert all("a satellite only forwards its readings" in warning for warning in found)
    assert ":7:1: rules: " in found[0]


def test_a_satellite_with_a_home_assistant_sensor_uses_home_assistant(tmp_path: Path) -> None:
    text = SATELLITE.replace(
        "sensors: [",
        "sensors: [{type: homeassistant, entity_id: sensor.hr, metric: hr, person: alex}, ",
    )
    assert (
        warnings(tmp_path, text + "homeassistant: {url: 'http://ha.local:8123', token: t}\n") == []
    )


def test_a_standalone_instance_with_rules_gives_no_warning(tmp_path: Path) -> None:
    assert warnings(tmp_path, SATELLITE.replace("role: satellite\n", "") + RULE) == []


def test_a_sensor_without_a_person_beside_listed_people_is_a_warning(tmp_path: Path) -> None:
    """Its readings are for `default`: a rule for alex never saw them, and nothing was said,
    neither by `check` nor by `run`."""
    text = (
        "people: [{id: alex}]\nmqtt: {}\nstore: {path: null}\n"
        "sensors:\n  - {type: mqtt, topic: home/alex/hr, metric: hr}\n"
        "  - {type: mqtt, topic: home/+/hr, metric: hr, person_topic_level: 1}\n"
        "  - {type: mqtt, topic: home/sam/hr, metric: hr, person: alex}\n"
    )
    (warning,) = warnings(tmp_path, text)
    assert ":5:5: sensors[0]: no `person:`, so its readings are for `default`, who is not " in (
        warning
    )
    assert "add `person: alex`" in warning


def test_a_sensor_without_a_person_and_no_people_listed_gives_no_warning(tmp_path: Path) -> None:
    text = "mqtt: {}\nstore: {path: null}\nsensors: [{type: mqtt, topic: a/hr, metric: hr}]\n"
    assert warnings(tmp_path, text) == []


def test_the_standard_tls_port_without_tls_or_the_plain_port_with_it_is_a_warning(
    tmp_path: Path,
) -> None:
    """Either way every connect fails (the broker hangs up, or answers in plain text)."""
    (plain_to_tls,) = warnings(tmp_path, "mqtt: {host: localhost, port: 8883}\n")
    assert ":1:25: mqtt.port: 8883 is MQTT over TLS, and there is no `tls:` section" in (
        plain_to_tls
    )
    (tls_to_plain,) = warnings(tmp_path, "mqtt: {host: localhost, port: 1883, tls: {}}\n")
    assert "mqtt.port: 1883 is plain MQTT, and there is a `tls:` section" in tls_to_plain
    assert warnings(tmp_path, "mqtt: {host: localhost, port: 8883, tls: {}}\n") == []
    assert warnings(tmp_path, "mqtt: {host: localhost, port: 1884}\n") == []


def test_one_payload_value_read_by_two_mqtt_sensors_is_a_warning(tmp_path: Path) -> None:
    """`run` took each message twice: as a heart rate and as an RR interval (dropping one as
    out of range), or as the same beat for two people."""
    text = (
        "people: [{id: alex}]\nmqtt: {}\nstore: {path: null}\nsensors:\n"
        "  - {type: mqtt, topic: watch/alex, metric: hr, value: hr, person: alex}\n"
        "  - {type: mqtt, topic: watch/alex, metric: rr, value: rr, person: alex}\n"
        "  - {type: mqtt, topic: watch/alex, metric: rr, unit: ms, value: hr, person: alex}\n"
    )
    (warning,) = warnings(tmp_path, text)
    assert (
        ":7:5: sensors[2]: reads the same value of `watch/alex` as sensors[0] "
        "(`value: hr`): each message would give two readings"
    ) in warning


def test_turning_certificate_checks_off_is_a_warning(tmp_path: Path) -> None:
    """`verify_ssl: false` and `tls: {insecure: true}` were taken without a word: the token,
    the broker's password and the heart data went to whoever could answer in between."""
    (home_assistant,) = warnings(
        tmp_path, "homeassistant: {url: 'https://ha.lan:8123', token: t, verify_ssl: false}\n"
    )
    assert ":1:55: homeassistant.verify_ssl: false: Home Assistant's certificate is not " in (
        home_assistant
    )
    (broker,) = warnings(tmp_path, "mqtt: {host: broker.lan, port: 8883, tls: {insecure: true}}\n")
    assert "mqtt.tls.insecure: true: the broker's certificate is not checked against" in broker
    plain = "homeassistant: {url: 'http://ha.lan:8123', token: t, verify_ssl: false}\n"
    assert warnings(tmp_path, plain) == []  # no certificate to check
    verified = "homeassistant: {url: 'https://ha.lan:8123', token: t}\n"
    assert warnings(tmp_path, verified + "mqtt: {host: b.lan, port: 8883, tls: {}}\n") == []


def test_a_token_or_password_others_can_read_is_a_warning(tmp_path: Path) -> None:
    """The store key read from a loose secrets.yaml was warned of, the HA token and the
    broker's password beside it were not: a secrets.yaml saved by an editor under umask 022
    (0644) let every local user take the token."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("ha_token: abc\nmqtt_password: def\n")
    secrets.chmod(0o644)
    config = (
        "homeassistant: {url: 'http://ha.lan:8123', token: !secret ha_token}\n"
        "mqtt: {host: broker.lan, username: ambient, password: !secret mqtt_password}\n"
    )
    token, password = warnings(tmp_path, config)
    assert token.endswith(
        f"homeassistant.token: read from {secrets}, which group or others can read "
        f"(mode 0644): chmod 600 {secrets}"
    )
    assert f"mqtt.password: read from {secrets}, which group or others" in password
    secrets.chmod(0o600)
    assert warnings(tmp_path, config) == []


def test_the_shipped_placeholder_secrets_are_no_warning(tmp_path: Path) -> None:
    """A fresh clone's `ambient check config/ambient.example.yaml` ended with two warnings to
    chmod the shipped config/secrets.yaml (git keeps no 0600), which holds only placeholders:
    nothing in it to keep from others. A real value beside a placeholder is still warned of."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(
        "ha_token: paste-your-long-lived-access-token-here\nmqtt_password: change-me\n"
    )
    secrets.chmod(0o644)
    config = (
        "homeassistant: {url: 'http://ha.lan:8123', token: !secret ha_token}\n"
        "mqtt: {host: broker.lan, username: ambient, password: !secret mqtt_password}\n"
    )
    assert warnings(tmp_path, config) == []
    secrets.write_text("ha_token: a-real-token\nmqtt_password: change-me\n")
    (token,) = warnings(tmp_path, config)
    assert f"homeassistant.token: read from {secrets}, which group or others" in token


SHIPPED = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("secrets", ["config/secrets.yaml", "deploy/config/secrets.example.yaml"])
def test_the_example_config_beside_shipped_secrets_gives_no_warning(
    tmp_path: Path, secrets: str
) -> None:
    """A fresh clone's first `ambient check config/ambient.example.yaml`: the shipped secrets
    file, 0644 from git (or copied so), holds only the placeholders it ships with."""
    (tmp_path / "secrets.yaml").write_text((SHIPPED / secrets).read_text(encoding="utf-8"))
    (tmp_path / "secrets.yaml").chmod(0o644)
    example = (SHIPPED / "config" / "ambient.example.yaml").read_text(encoding="utf-8")
    assert warnings(tmp_path, example) == []


def test_two_ble_entries_of_one_name_are_one_warning_naming_both(tmp_path: Path) -> None:
    """Both search for the name: `run` connects the first to a device of that name, and the
    second finds that same device each time (``read by ... already``), never another of the
    name; `check` said nothing."""
    found = warnings(
        tmp_path,
        "people: [{id: alex}]\nsensors:\n"
        "  - {type: ble, id: strap, person: alex, name: HRM-Dual}\n"
        "  - {type: ble, id: spare, person: alex, name: HRM-Dual}\n",
    )

    [line] = [warning for warning in found if "HRM-Dual" in warning]
    assert "sensors[1]" in line and "sensors[0]" in line
    assert "`strap`" in line and "`spare`" in line
    assert "read by" in line and "address" in line


def test_one_adapter_named_and_unnamed_is_one_warning_naming_both(tmp_path: Path) -> None:
    """`adapter: hci0` in one entry and none in another are two searches of the default
    adapter, hci0 on most machines: BlueZ refuses the second (InProgress) while the first
    runs. A second adapter (`hci1`) beside the default one is a setup of its own: no word."""
    two_ways = (
        "people: [{id: alex}, {id: sam}]\nsensors:\n"
        "  - {type: ble, id: alex_strap, person: alex, name: Polar H10 1}\n"
        "  - {type: ble, id: sam_strap, person: sam, name: Polar H10 2, adapter: hci0}\n"
    )

    [line] = [warning for warning in warnings(tmp_path, two_ways) if "adapter" in warning]
    assert "sensors[1]" in line and "sensors[0]" in line
    assert "`alex_strap`" in line and "`sam_strap`" in line
    assert "InProgress" in line
    dongle = two_ways.replace("adapter: hci0", "adapter: hci1")
    assert not [warning for warning in warnings(tmp_path, dongle) if "adapter" in warning]
