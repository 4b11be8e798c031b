"""Field types shared by the config models: a path starting with ``~`` is in the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient
from fixtures.mosquitto import make_tls_files

from ambient.config import ConfigError, load_config
from ambient.config.sensors import RecordingSensorConfig


def test_a_path_with_a_tilde_is_in_the_users_home_not_a_folder_named_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`store: {path: ~/ambient/state.db}` made a folder named `~` where ambient ran; a
    recording `~/…` was looked for beside the config."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (home / "session.csv").write_text("t,metric,value\n0,hr,60\n")
    ca_pem = make_tls_files(tmp_path).ca_file.read_bytes()
    for certificate in ("ca.pem", "ha-ca.pem"):  # loaded, as any file named is checked
        (home / certificate).write_bytes(ca_pem)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    config_file = config_dir / "ambient.yaml"
    config_file.write_text(
        "people: [{id: alex}]\n"
        "sensors: [{type: recording, path: ~/session.csv, person: alex}]\n"
        "mqtt: {host: localhost, tls: {ca_file: ~/ca.pem}}\n"
        "homeassistant: {token: t, ca_file: ~/ha-ca.pem}\n"
        "store: {path: ~/ambient/state.db}\n"
    )
    config = load_config(config_file)
    recording = config.sensors[0]
    assert isinstance(recording, RecordingSensorConfig)
    assert recording.path == home / "session.csv"
    assert config.store.path == home / "ambient" / "state.db"
    assert config.mqtt is not None and config.mqtt.tls is not None
    assert config.mqtt.tls.ca_file == home / "ca.pem"
    assert config.homeassistant is not None and config.homeassistant.ca_file == home / "ha-ca.pem"


def test_every_file_and_folder_the_config_names_takes_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's key file, the weekly report's folder and the recordings' folder too."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(
        "people: [{id: alex}]\n"
        "store: {path: ~/state.db, encryption: {key_file: ~/store.key}}\n"
        "insights: {report: {folder: ~/www/ambient}}\n"
        "retention: {recordings_dir: ~/recordings}\n"
    )
    config = load_config(config_file)
    assert config.store.encryption is not None
    assert config.store.encryption.key_file == home / "store.key"
    assert config.insights.report is not None
    assert config.insights.report.folder == home / "www" / "ambient"
    assert config.retention.recordings_dir == home / "recordings"


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("rr[0]", "write `rr.0`"),
        ("$.heart.bpm", "write `heart.bpm`"),
        ("value_json.heart_rate", "write `heart_rate`"),
        ("{{ value_json.hr }}", "write `hr`"),
        ("heart..bpm", "a dotted path has no empty part"),
        ("", "a dotted path has no empty part"),
    ],
)
@pytest.mark.parametrize("where", ["sensor_value", "sensor_timestamp", "trigger_value"])
def test_a_json_path_no_payload_can_have_is_refused_with_what_to_write(
    tmp_path: Path, path: str, said: str, where: str
) -> None:
    """Read as dotted keys: a JSONPath, an array index in brackets or an HA template matched no
    message, and every one was dropped as `missing_path` while `check` said OK."""
    entry = {
        "sensor_value": f"sensors: [{{type: mqtt, topic: a/b, metric: hr, value: '{path}'}}]",
        "sensor_timestamp": (
            f"sensors: [{{type: mqtt, topic: a/b, metric: hr, value: hr, timestamp: '{path}'}}]"
        ),
        "trigger_value": (
            "rules: [{id: r, actions: [{action: log, message: hi}], triggers: "
            f"[{{trigger: mqtt, topic: a/b, payload: 'on', value: '{path}'}}]}}]"
        ),
    }[where]
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(f"mqtt: {{}}\nstore: {{path: null}}\n{entry}\n")
    with pytest.raises(ConfigError) as error:
        load_config(config_file)
    assert said in str(error.value)


@pytest.mark.parametrize("path", ["hr", "heart.bpm", "rr.0", "data.heart rate"])
def test_a_dotted_json_path_is_taken(tmp_path: Path, path: str) -> None:
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(
        "mqtt: {}\nstore: {path: null}\n"
        f"sensors: [{{type: mqtt, topic: a/b, metric: hr, value: '{path}'}}]\n"
    )
    load_config(config_file)


ID_AS_A_YAML_BOOLEAN = """\
people: [{{id: alex}}]
store: {{path: null}}
sensors: [{{type: mqtt, topic: watch/alex/hr, metric: hr, person: {sensor_person}}}]
mqtt: {{host: localhost}}
rules:
  - id: calm
    person: {rule_person}
    triggers: [{{trigger: signal, signal: stress_score, above: 70}}]
    conditions: [{{condition: signal, signal: hr, above: 90, person: {condition_person}}}]
    actions: [{{action: log, message: calmer}}]
"""


@pytest.mark.parametrize(
    ("where", "path", "line"),
    [
        ("sensor_person", "sensors[0].person", 3),
        ("rule_person", "rules[0].person", 7),
        ("condition_person", "rules[0].conditions[0].person", 9),
    ],
)
@pytest.mark.parametrize("word", ["on", "off", "yes", "no"])
def test_a_person_yaml_reads_as_true_or_false_says_to_quote_it(
    tmp_path: Path, where: str, path: str, line: int, word: str
) -> None:
    """`person: on` reaches the model as true, and pydantic said "Input should be a valid
    string": why, and what to write, as a rule's and a person's own id say it."""
    people = {"sensor_person": "alex", "rule_person": "alex", "condition_person": "alex"}
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(ID_AS_A_YAML_BOOLEAN.format(**(people | {where: word})))
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    [issue] = caught.value.issues
    assert (issue.path, issue.line) == (path, line), str(issue)
    assert issue.message == (
        "YAML reads an unquoted on, off, yes or no as true or false: quote the id "
        f'(`person: "{word}"`) or choose another'
    )


@pytest.mark.parametrize("word", ["on", "No"])
def test_an_id_in_a_list_yaml_reads_as_true_or_false_is_shown_quoted_as_an_item(
    tmp_path: Path, word: str
) -> None:
    """The hint shows the word written, and for an item of a list the item itself, not a
    `key: "on"` the list has no place for."""
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(
        "people: [{id: alex}]\nstore: {path: null}\nmqtt: {host: localhost}\n"
        f"sensors: [{{type: satellite, instances: [kitchen, {word}]}}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    [issue] = caught.value.issues
    assert (issue.path, issue.line) == ("sensors[0].instances[1]", 4), str(issue)
    assert issue.message == (
        "YAML reads an unquoted on, off, yes or no as true or false: quote the id "
        f'(`"{word}"`) or choose another'
    )


def test_check_says_to_quote_a_rules_person_at_its_line(tmp_path: Path) -> None:
    config_file = tmp_path / "ambient.yaml"
    people = {"sensor_person": "alex", "rule_person": "on", "condition_person": "alex"}
    config_file.write_text(ID_AS_A_YAML_BOOLEAN.format(**people))
    result = run_ambient("check", "--config", str(config_file))
    assert result.returncode == 1, result.stdout
    assert (
        f"{config_file}:7:5: rules[0].person: YAML reads an unquoted on, off, yes or no as true "
        'or false: quote the id (`person: "on"`) or choose another'
    ) in result.stderr
    assert "valid string" not in result.stderr


def test_every_id_field_says_to_quote_a_yaml_boolean_also_a_sleep_sources_person(
    tmp_path: Path,
) -> None:
    """The rule holds for every id the config takes, not only those that were met first: the
    sleep source of `insights:` said "Input should be a valid string" for `person: on`."""
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(
        "people: [{id: alex}]\nstore: {path: null}\n"
        "insights:\n  sleep:\n    - {person: on, duration_entity: sensor.alex_sleep}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    [issue] = caught.value.issues
    assert (issue.path, issue.line) == ("insights.sleep[0].person", 5), str(issue)
    assert issue.message == (
        "YAML reads an unquoted on, off, yes or no as true or false: quote the id "
        '(`person: "on"`) or choose another'
    )


CHECK_IN_FOR = """\
people: [{{id: alex}}]
store: {{path: null}}
check_ins:
  people:
    {key}: {{}}
"""

REPORT_NOTIFY_FOR = """\
people: [{{id: alex}}]
store: {{path: null}}
insights:
  report:
    notify:
      alex: notify.mobile_app_alex
      {key}: notify.mobile_app_other
"""


@pytest.mark.parametrize(
    ("text", "path", "line", "column"),
    [
        (CHECK_IN_FOR, "check_ins.people.{key}", 5, 5),
        (REPORT_NOTIFY_FOR, "insights.report.notify.{key}", 7, 7),
    ],
    ids=["check_ins", "report_notify"],
)
@pytest.mark.parametrize(("key", "read"), [("on", "true"), ("no", "false")])
def test_an_id_key_yaml_reads_as_true_or_false_says_to_quote_it_at_its_line(
    tmp_path: Path, text: str, path: str, line: int, column: int, key: str, read: str
) -> None:
    """A person's id as a key (`on:` under `check_ins.people`) reached the checks as the text
    `True`: "check_ins.people.True: expected an id", and for a report's notify (one service or
    one per person) "Input should be a valid string" besides. One issue, at the key, in the
    words written (and the report's missing folder, still said)."""
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(text.format(key=key))
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    *others, issue = caught.value.issues
    assert [other.message for other in others] == (
        ["required key `folder` is missing"] if "report" in text else []
    ), str(caught.value)
    assert (issue.path, issue.line, issue.column) == (path.format(key=key), line, column), str(
        issue
    )
    assert issue.message == (
        f'YAML reads the unquoted key {key} as {read}, which is no id: quote it (`"{key}":`)'
    )
