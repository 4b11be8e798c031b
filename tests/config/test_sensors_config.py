"""Sensor entries: a unit that cannot be the metric's is refused at its line, for MQTT and HA
sensors alike (a heart rate in seconds would be silently taken as bpm)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config

MQTT = "{type: mqtt, topic: watch/alex/hr, person: alex"
HA = "{type: homeassistant, entity_id: sensor.alex_watch_heart_rate, person: alex"


def _load(tmp_path: Path, sensor: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            people: [{{id: alex}}]
            mqtt: {{host: localhost}}
            homeassistant: {{url: "http://localhost:8123", token: abc}}
            sensors:
              - {sensor}
            """
        )
    )
    load_config(path)


@pytest.mark.parametrize("kind", [MQTT, HA])
@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ("metric: hr, unit: s}", "heart rate (`hr`) "),
        ("metric: hr, unit: ms}", "are in `bpm`"),
        ("metric: rr, unit: bpm}", "are in `ms` or `s`"),
    ],
)
def test_a_unit_the_metric_cannot_have_is_refused(
    tmp_path: Path, kind: str, fields: str, said: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, f"{kind}, {fields}")
    assert said in str(raised.value)
    assert "ambient.yaml:5" in str(raised.value)


@pytest.mark.parametrize("kind", [MQTT, HA])
@pytest.mark.parametrize(
    "fields", ["metric: hr, unit: bpm}", "metric: rr, unit: s}", "metric: hr}"]
)
def test_units_that_fit_are_taken(tmp_path: Path, kind: str, fields: str) -> None:
    _load(tmp_path, f"{kind}, {fields}")


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("AA-BB-CC-DD-EE-FF", "write it `AA:BB:CC:DD:EE:FF`"),
        ("aabbccddeeff", "write it `AA:BB:CC:DD:EE:FF`"),
        ("AA:BB:CC:DD:EE", "six pairs of hex digits"),
        ("AA:BB:CC:DD:EE:FG", "six pairs of hex digits"),
    ],
)
def test_a_ble_address_no_device_can_have_is_refused(
    tmp_path: Path, address: str, said: str
) -> None:
    """The address is compared with what BlueZ reports (colons): a dashed or short one never
    matched, and the sensor searched for ever with nothing said by `check`."""
    with pytest.raises(ConfigError, match=said):
        _load(tmp_path, f"{{type: ble, address: '{address}', person: alex}}")


@pytest.mark.parametrize(
    "address", ["aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF", "F1E2D3C4-B5A6-4978-8A9B-0C1D2E3F4A5B"]
)
def test_a_mac_address_or_a_corebluetooth_uuid_is_taken(tmp_path: Path, address: str) -> None:
    _load(tmp_path, f"{{type: ble, address: '{address}', person: alex}}")


@pytest.mark.parametrize("kind", [MQTT, HA])
def test_a_sensor_may_keep_its_heart_rate_current_longer_than_the_signals_stale_after(
    tmp_path: Path, kind: str
) -> None:
    _load(tmp_path, f"{kind}, metric: hr, stale_after: 20min}}")


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ("metric: hr, stale_after: 0}", "should be more than 0s"),
        ("metric: steps, stale_after: 20min}", "metric_stale_after"),
    ],
)
@pytest.mark.parametrize("kind", [MQTT, HA])
def test_a_sensor_stale_after_that_cannot_apply_is_refused(
    tmp_path: Path, kind: str, fields: str, said: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, f"{kind}, {fields}")
    assert said in str(raised.value)
    assert "ambient.yaml:5" in str(raised.value)
