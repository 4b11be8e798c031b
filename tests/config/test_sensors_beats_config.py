"""A sensor's `beats`: whether its beats come from a chest strap or a pulse sensor, so that
each kind's ln RMSSD is compared with its own kind's rest; by type where nothing says."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambient.config import AmbientConfig, ConfigError, config_warnings, load_config
from ambient.config.sensors import (
    beats_kind,
    beats_kinds_of,
    configured_beats,
    configured_beats_by_person,
    may_give,
)
from ambient.sensors.factory import beats_by_source
from ambient.signals.person import PersonSignals
from ambient.simulate import replay_sensor


def _load(tmp_path: Path, *sensors: str) -> AmbientConfig:
    path = tmp_path / "ambient.yaml"
    listed = "\n".join(f"  - {sensor}" for sensor in sensors)
    path.write_text(
        textwrap.dedent(
            """\
            people: [{id: alex}, {id: sam}]
            mqtt: {host: localhost}
            homeassistant: {url: "http://localhost:8123", token: abc}
            sensors:
            """
        )
        + listed
        + "\n"
    )
    (tmp_path / "day.csv").write_text("t,metric,value,person\n0,hr,60,alex\n")
    return load_config(path)


STRAP = "{type: ble, id: alex_strap, address: 'AA:BB:CC:DD:EE:FF', person: alex}"
ARMBAND = "{type: ble, id: alex_armband, name: Polar Sense, person: alex, beats: pulse}"
WATCH_IBI = "{type: mqtt, id: alex_watch_ibi, topic: watch/alex/ibi, metric: rr, person: alex}"
WATCH_IBI_PULSE = (
    "{type: mqtt, id: alex_watch_ibi, topic: watch/alex/ibi, metric: rr, person: alex, "
    "beats: pulse}"
)


def test_a_bluetooth_device_gives_a_chest_straps_beats_unless_it_says_pulse(
    tmp_path: Path,
) -> None:
    config = _load(tmp_path, STRAP, ARMBAND)
    assert [beats_kind(s) for s in config.sensors] == ["chest", "pulse"]


def test_a_recording_mqtt_or_ha_sensor_has_no_kind_unless_it_says_one(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "{type: recording, path: day.csv}",
        WATCH_IBI,
        "{type: homeassistant, entity_id: sensor.ibi, metric: rr, person: sam, beats: chest}",
        "{type: satellite}",
    )
    assert [beats_kind(s) for s in config.sensors] == [None, None, "chest", None]


def test_the_sources_of_known_beats_are_named_as_their_readings_are(tmp_path: Path) -> None:
    config = _load(tmp_path, STRAP, WATCH_IBI, "{type: recording, path: day.csv, beats: chest}")
    assert beats_by_source(config.sensors) == {"alex_strap": "chest", "recording2": "chest"}


@pytest.mark.parametrize(
    "kind", ["mqtt, topic: watch/alex/hr", "homeassistant, entity_id: sensor.hr"]
)
def test_beats_on_a_sensor_of_no_beats_is_refused(tmp_path: Path, kind: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, f"{{type: {kind}, metric: hr, person: alex, beats: pulse}}")
    assert "`beats` says where `rr` intervals come from; `hr` has none" in str(raised.value)
    assert "ambient.yaml:5" in str(raised.value)


def test_a_kind_beats_cannot_be_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, STRAP[:-1] + ", beats: ecg}")
    assert "'chest' or 'pulse'" in str(raised.value)


@pytest.mark.parametrize(
    ("sensors", "alex", "sam"),
    [
        ((STRAP,), "chest", None),  # sam has no beat sensor
        ((STRAP, ARMBAND), None, None),  # two kinds: which one a saved baseline held is unknown
        ((STRAP, WATCH_IBI), None, None),  # one without a kind
        (
            (WATCH_IBI_PULSE, "{type: mqtt, topic: watch/alex/hr, metric: hr, person: alex}"),
            "pulse",
            None,
        ),
        (("{type: recording, path: day.csv, beats: pulse}",), "pulse", "pulse"),  # anyone's
        # a strap without `person:` gives `default`'s beats, not alex's or sam's
        (("{type: ble, address: 'AA:BB:CC:DD:EE:FF'}", WATCH_IBI_PULSE), "pulse", None),
        # a topic level names anyone, whatever `person:` says (run reads it so)
        (
            (
                "{type: mqtt, topic: watch/+/ibi, metric: rr, person_topic_level: 1, "
                "person: sam, beats: pulse}",
            ),
            "pulse",
            "pulse",
        ),
    ],
)
def test_a_persons_configured_beats_are_the_one_kind_their_beat_sensors_have(
    tmp_path: Path, sensors: tuple[str, ...], alex: str | None, sam: str | None
) -> None:
    config = _load(tmp_path, *sensors)
    people = config.person_ids()
    assert (
        configured_beats(config.sensors, "alex", people),
        configured_beats(config.sensors, "sam", people),
    ) == (alex, sam)


def test_whose_heart_readings_a_sensor_may_give_is_whose_run_gives_them(tmp_path: Path) -> None:
    """Anyone's where the readings name their person (a satellite, a recording's rows, a
    topic level), else the sensor's `person`'s, or `default`'s without one; and only a
    heart metric's."""
    config = _load(
        tmp_path,
        "{type: satellite}",
        "{type: recording, path: day.csv, person: sam}",
        "{type: mqtt, topic: w/+/hr, metric: hr, person_topic_level: 1}",
        "{type: ble, name: Polar H10}",
        "{type: homeassistant, entity_id: sensor.hr, metric: hr, person: sam}",
        "{type: mqtt, topic: w/alex/steps, metric: steps, person: alex}",
        "{type: mqtt, topic: w/alex/contact, metric: contact, person: alex}",
    )
    assert [may_give(s, "alex") for s in config.sensors] == [
        True,
        True,
        True,
        False,
        False,
        False,
        True,
    ]
    assert [may_give(s, "default") for s in config.sensors][3] is True
    assert may_give(config.sensors[6], "alex", ("hr", "rr")) is False


def test_a_satellite_sensor_names_the_kind_of_the_beats_it_forwards(tmp_path: Path) -> None:
    """A batch carries no kind (a satellite's own `beats:` stays on the satellite): the
    central's satellite sensor names its forwarded sources' kinds, by the name their readings
    have here, and the rest are of no known kind; a person whose sensors' kinds differ has
    no one kind."""
    config = _load(
        tmp_path, STRAP, "{type: satellite, beats: {bedroom/alex_strap: chest, hall/w: pulse}}"
    )
    assert beats_by_source(config.sensors) == {
        "alex_strap": "chest",
        "bedroom/alex_strap": "chest",
        "hall/w": "pulse",
    }
    assert configured_beats(config.sensors, "alex", config.person_ids()) is None
    alex = PersonSignals(
        "alex", config.signals, None, beats_by_source=beats_by_source(config.sensors)
    )
    alex.feed_beat(1_700_000_000.0, 800.0, "bedroom/alex_strap")  # as its readings are named
    assert alex.beats_kind == "chest"


def test_a_satellite_beats_key_without_its_instance_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, "{type: satellite, beats: {alex_strap: chest}}")
    assert "`alex_strap` is no forwarded source: write `<instance>/<source>`" in str(raised.value)


def test_a_person_whose_beats_come_only_by_a_satellite_has_the_kind_its_beats_name(
    tmp_path: Path,
) -> None:
    """A strap on the bedroom satellite, named `chest` on the central's satellite sensor as
    alex's: the person's kind is chest, as run takes those beats, so a replay of their
    recording reads its beats as chest too and `baseline show` lists the chest rest before
    its first minutes. A satellite sensor naming no kind says nothing of its beats."""
    config = _load(
        tmp_path, "{type: satellite, beats: {bedroom/alex_strap: {beats: chest, person: alex}}}"
    )
    people = config.person_ids()
    assert configured_beats(config.sensors, "alex", people) == "chest"
    assert beats_kinds_of(config.sensors, "alex", people) == {"chest"}
    assert replay_sensor(config, tmp_path / "day.csv", "alex").beats == "chest"
    unnamed = _load(tmp_path, "{type: satellite}")
    assert configured_beats(unnamed.sensors, "alex", people) is None
    assert beats_kinds_of(unnamed.sensors, "alex", people) == {None}


def test_each_forwarded_source_counts_for_the_person_it_names_alone(tmp_path: Path) -> None:
    """Alex's strap and Sam's watch both forwarded by the bedroom satellite: every kind the
    satellite sensor named counted for everyone, so each had two kinds and none of their own,
    and with alex's strap alone named, Sam's watch beats were replayed as a strap's. Each
    entry now says whose beats they are."""
    both = _load(
        tmp_path,
        "{type: satellite, beats: {bedroom/alex_strap: {beats: chest, person: alex}, "
        "bedroom/sam_watch: {beats: pulse, person: sam}}}",
    )
    assert configured_beats_by_person(both.sensors, both.person_ids()) == {
        "alex": "chest",
        "sam": "pulse",
    }
    assert replay_sensor(both, tmp_path / "day.csv", "sam").beats == "pulse"
    assert beats_by_source(both.sensors) == {
        "bedroom/alex_strap": "chest",
        "bedroom/sam_watch": "pulse",
    }
    alex_only = _load(
        tmp_path, "{type: satellite, beats: {bedroom/alex_strap: {beats: chest, person: alex}}}"
    )
    assert replay_sensor(alex_only, tmp_path / "day.csv", "sam").beats is None


def test_a_forwarded_source_naming_no_one_is_no_ones_among_several_people(
    tmp_path: Path,
) -> None:
    """`bedroom/alex_strap: chest` with alex and sam configured does not say whose the strap
    is: it was taken for everyone's (sam's replay read as a strap's). Its beats keep their
    kind as they come; it stands for no one's kind, and `check` says to name the person.
    With one person configured, it is theirs."""
    config = _load(tmp_path, "{type: satellite, beats: {bedroom/alex_strap: chest}}")
    assert configured_beats_by_person(config.sensors, config.person_ids()) == {}
    assert replay_sensor(config, tmp_path / "day.csv", "sam").beats is None
    assert beats_by_source(config.sensors) == {"bedroom/alex_strap": "chest"}
    [warning] = [str(w) for w in config_warnings(tmp_path / "ambient.yaml", config)]
    assert "sensors[0].beats.bedroom/alex_strap" in warning
    assert "several people" in warning
    assert "`bedroom/alex_strap: {beats: chest, person: <whose>}`" in warning
    alone = tmp_path / "alone.yaml"
    alone.write_text(
        "people: [{id: alex}]\nmqtt: {host: localhost}\n"
        "sensors: [{type: satellite, beats: {bedroom/alex_strap: chest}}]\n"
    )
    one = load_config(alone)
    assert configured_beats_by_person(one.sensors, one.person_ids()) == {"alex": "chest"}
    assert config_warnings(alone, one) == []


def test_a_forwarded_source_of_someone_not_configured_is_said(tmp_path: Path) -> None:
    config = _load(
        tmp_path, "{type: satellite, beats: {bedroom/strap: {beats: chest, person: alx}}}"
    )
    [warning] = [str(w) for w in config_warnings(tmp_path / "ambient.yaml", config)]
    assert "sensors[0].beats.bedroom/strap.person" in warning
    assert "named as `alx`'s, who is not under `people:` (alex, sam)" in warning


def test_a_forwarded_source_of_default_is_defaults_where_nobody_is_listed(tmp_path: Path) -> None:
    """With no one under `people:` readings are `default`'s, and a `beats:` entry naming
    `default` counts for default's kind, as `run` takes it: `check` said it counted for no one."""
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "mqtt: {host: localhost}\nsensors:\n  - type: satellite\n    unlisted_people: 1\n"
        "    beats: {bedroom/strap: {beats: chest, person: default}}\n"
    )
    config = load_config(path)
    assert configured_beats_by_person(config.sensors, config.person_ids()) == {"default": "chest"}
    assert [str(w) for w in config_warnings(path, config) if "beats" in str(w)] == []
