"""A person's known heart rates: a resting rate at or above the maximum is refused at its line
(the HR reserve between them would be empty or negative, and activity never seen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config


def _load(tmp_path: Path, person: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(f"people:\n  - {person}\nstore: {{path: null}}\n", encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize("resting_hr", [110, 100])
def test_a_resting_heart_rate_not_below_the_maximum_is_refused(
    tmp_path: Path, resting_hr: int
) -> None:
    with pytest.raises(ConfigError, match=r"people\[0\]: `resting_hr` .* must be below `max_hr`"):
        _load(tmp_path, f"{{id: alex, resting_hr: {resting_hr}, max_hr: 100}}")


def test_a_resting_heart_rate_below_the_maximum_is_taken(tmp_path: Path) -> None:
    _load(tmp_path, "{id: alex, resting_hr: 58, max_hr: 185}")


@pytest.mark.parametrize("word", ["on", "off", "yes", "no"])
def test_a_person_id_yaml_reads_as_true_or_false_says_to_quote_it(
    tmp_path: Path, word: str
) -> None:
    """`id: on` reaches the model as true, and pydantic said "Input should be a valid
    string": why, and what to write, as a rule's id says it."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"{{id: {word}}}")
    [issue] = caught.value.issues
    assert issue.path == "people[0].id"
    assert "YAML reads an unquoted on, off, yes or no as true or false" in issue.message
    assert f'quote the id (`id: "{word}"`)' in issue.message
    assert "valid string" not in issue.message


def _warnings(tmp_path: Path, sensors: str) -> list[str]:
    from ambient.config import config_warnings

    path = tmp_path / "ambient.yaml"
    path.write_text(
        "people: [{id: alex}, {id: sam}]\nstore: {path: null}\n"
        "homeassistant: {url: 'http://ha.local:8123', token: t}\nsensors:\n" + sensors,
        encoding="utf-8",
    )
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_one_wearable_given_to_two_people_is_a_warning(tmp_path: Path) -> None:
    """A strap or an HA heart-rate entity pasted under both people, and `check` said nothing.
    An HA entity is read by both entries (one heart counted as two people's); a strap by the
    entry that connects first only, so the warning says that, not a double count."""
    found = _warnings(
        tmp_path,
        "  - {type: ble, address: 'A0:9E:1A:12:34:56', person: alex}\n"
        "  - {type: ble, address: 'a0:9e:1a:12:34:56', person: sam}\n"
        "  - {type: ble, name: Polar H10 1234ABCD, person: alex}\n"
        "  - {type: ble, name: Polar H10 1234ABCD, person: sam}\n"
        "  - {type: homeassistant, entity_id: sensor.watch_hr, metric: hr, person: alex}\n"
        "  - {type: homeassistant, entity_id: sensor.watch_hr, metric: hr, person: sam}\n",
    )
    assert [warning.split(": ", 1)[1] for warning in found] == [
        "sensors[1]: reads the device of sensors[0] (address A0:9E:1A:12:34:56) for sam, "
        "sensors[0] for alex: `run` lets whichever entry connects first read the strap, for its "
        "person, and the other keeps looking (read_by_another); keep it under the person who "
        "wears it",
        "sensors[3]: reads the device of sensors[2] (name Polar H10 1234ABCD) for sam, "
        "sensors[2] for alex: `run` lets whichever entry connects first read the strap, for its "
        "person, and the other keeps looking (read_by_another); keep it under the person who "
        "wears it",
        "sensors[5]: reads the device of sensors[4] (entity sensor.watch_hr) for sam, "
        "sensors[4] for alex: one heart would count as both people's; keep it under the person "
        "who wears it",
    ]


def test_each_person_with_their_own_wearable_is_no_warning(tmp_path: Path) -> None:
    found = _warnings(
        tmp_path,
        "  - {type: ble, address: 'A0:9E:1A:12:34:56', person: alex}\n"
        "  - {type: ble, address: 'A0:9E:1A:65:43:21', person: sam}\n"
        "  - {type: homeassistant, entity_id: sensor.watch_hr, metric: hr, person: alex}\n"
        "  - {type: homeassistant, entity_id: sensor.watch_hr, attribute: rr, metric: rr,"
        " person: alex}\n"
        "  - {type: homeassistant, entity_id: sensor.sams_watch_hr, metric: hr, person: sam}\n",
    )
    assert found == []


def test_check_ins_and_sleep_of_someone_not_listed_are_warnings(tmp_path: Path) -> None:
    """`samm` for `sam`: Sam was never asked on their phone, their sleep never counted, and
    `check` (which refuses such a typo in a sensor or a rule) said nothing."""
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "people: [{id: alex}, {id: sam}]\nstore: {path: null}\n"
        "homeassistant: {url: 'http://ha.local:8123', token: t}\n"
        "check_ins:\n  people:\n    alex: {notify: notify.mobile_app_alex}\n"
        "    samm: {notify: notify.mobile_app_sam}\n"
        "insights:\n  sleep:\n    - {person: alex, duration_entity: sensor.alex_sleep}\n"
        "    - {person: samm, duration_entity: sensor.sam_sleep}\n",
        encoding="utf-8",
    )
    from ambient.config import config_warnings

    found = [str(issue).split(": ", 1)[1] for issue in config_warnings(path, load_config(path))]

    assert found == [
        "check_ins.people.samm: no person `samm` in `people:` (alex, sam): nobody is asked "
        "through it",
        "insights.sleep[1].person: no person `samm` in `people:` (alex, sam): this sleep is "
        "nobody's",
    ]


def _load_with_discovery(tmp_path: Path, people: str, mqtt: str = "{host: localhost}") -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(
        f"instance: home\npeople: {people}\nmqtt: {mqtt}\nstore: {{path: null}}\n",
        encoding="utf-8",
    )
    load_config(path)


def test_a_person_id_giving_an_entity_the_daemons_unique_id_is_refused(tmp_path: Path) -> None:
    """``mqtt``'s Wearable reconnects would be ``ambient_home_mqtt_reconnects``, the daemon's
    MQTT reconnects: HA keeps one entity per unique id and drops the other."""
    with pytest.raises(ConfigError) as raised:
        _load_with_discovery(tmp_path, "[{id: alex}, {id: mqtt}]")
    (issue,) = raised.value.issues
    assert issue.path == "people[1].id"
    assert "`mqtt`" in issue.message and "ambient_home_mqtt_reconnects" in issue.message
    assert "\n" not in str(issue)


def test_two_people_whose_entities_would_share_a_unique_id_are_refused(tmp_path: Path) -> None:
    """``alex_day_ln``'s RMSSD would be ``alex``'s HRV ln RMSSD (last day)."""
    with pytest.raises(ConfigError) as raised:
        _load_with_discovery(tmp_path, "[{id: alex}, {id: alex_day_ln}]")
    (issue,) = raised.value.issues
    assert issue.path == "people[1].id"
    assert "ambient_home_alex_day_ln_rmssd" in issue.message and "`alex`" in issue.message


def test_such_ids_are_taken_where_nothing_is_announced_in_home_assistant(
    tmp_path: Path,
) -> None:
    _load_with_discovery(tmp_path, "[{id: mqtt}]", mqtt="{host: localhost, discovery: false}")
    _load(tmp_path, "{id: mqtt}")  # no mqtt: at all


def test_display_names_map_each_id_to_its_name_or_else_the_id(tmp_path: Path) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "people: [{id: alex, name: Alex}, {id: sam}]\nstore: {path: null}\n", encoding="utf-8"
    )
    assert load_config(path).display_names() == {"alex": "Alex", "sam": "sam"}


def test_the_first_person_is_the_first_under_people_and_none_without_people() -> None:
    """Whose the rows of a recording naming no person are, for simulate, evaluate and analyze
    alike: the config layer decides it, once."""
    from ambient.config import AmbientConfig

    two = AmbientConfig.model_validate({"people": [{"id": "sam"}, {"id": "alex"}]})
    assert two.first_person_id() == "sam"
    assert AmbientConfig().first_person_id() is None
