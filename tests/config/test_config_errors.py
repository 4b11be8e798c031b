"""A broken config is reported precisely: file:line:column, key path, what is wrong, what is
allowed — and every problem at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient

from ambient.config import ConfigError, load_config

VALID_RULE = """\
rules:
  - id: calm
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
    actions:
      - action: log
"""

# (name, config text, expected line, expected path, expected words in the message)
CASES = [
    (
        "yaml_syntax",
        "people:\n  - id: alex\n   name: Alex\n",
        3,
        "",
        ["YAML syntax"],
    ),
    (
        "unknown_top_level_key",
        "peple:\n  - id: alex\n",
        1,
        "peple",
        ["unknown key `peple`", "did you mean `people`?"],
    ),
    (
        "unknown_key_without_a_likeness_still_lists_the_allowed_ones",
        "mqtt_password: x\n",
        1,
        "mqtt_password",
        ["unknown key `mqtt_password`; allowed keys: check_ins, homeassistant,"],
    ),
    (
        "unknown_rule_key_suggests",
        VALID_RULE + "    cooldwn: 5min\n",
        9,
        "rules[0].cooldwn",
        ["unknown key `cooldwn`", "did you mean `cooldown`?"],
    ),
    (
        "wrong_type",
        "people:\n  - id: alex\n    age: old\n",
        3,
        "people[0].age",
        ["valid integer"],
    ),
    (
        "bad_duration",
        VALID_RULE.replace("above: 70", "above: 70\n        for: 3 fortnights"),
        7,
        "rules[0].triggers[0].for",
        ["fortnights", "90s, 5min, 1h30m, 00:05:00"],
    ),
    (
        "negative_duration",
        VALID_RULE + "    cooldown: -5\n",
        9,
        "rules[0].cooldown",
        ["cannot be negative"],
    ),
    (
        "unknown_trigger_kind",
        VALID_RULE.replace("trigger: signal", "trigger: signl"),
        4,
        "rules[0].triggers[0]",
        ["unknown trigger `signl`", "did you mean `signal`?"],
    ),
    (
        "unknown_action_kind",
        VALID_RULE.replace("action: log", "action: lgo"),
        8,
        "rules[0].actions[0]",
        ["unknown action `lgo`", "did you mean `log`?", "domain.service"],
    ),
    (
        "unknown_sensor_type",
        "sensors:\n  - type: bluetooth\n    address: AA\n",
        2,
        "sensors[0]",
        ["unknown type `bluetooth`", "Allowed: recording, ble"],
    ),
    (
        "unknown_trigger_kind_far_from_any",
        VALID_RULE.replace("trigger: signal", "trigger: foo"),
        4,
        "rules[0].triggers[0]",
        ["unknown trigger `foo`; allowed: signal, state, time, cron, mqtt"],
    ),
    (
        "empty_list",
        "rules:\n  - id: calm\n    triggers: []\n    actions:\n      - action: log\n",
        3,
        "rules[0].triggers",
        ["`triggers` is an empty list: write at least one entry under it"],
    ),
    (
        "missing_required_key",
        "sensors:\n  - type: mqtt\n    metric: hr\n",
        2,
        "sensors[0].topic",
        ["required key `topic` is missing"],
    ),
    (
        "unknown_signal",
        VALID_RULE.replace("signal: stress_score", "signal: stres_score"),
        5,
        "rules[0].triggers[0].signal",
        ["unknown signal `stres_score`", "did you mean `stress_score`?"],
    ),
    (
        "bad_metric_name",
        "sensors:\n  - type: mqtt\n    topic: a/b\n    metric: Heart Rate\n",
        4,
        "sensors[0].metric",
        ["expected a metric name", "lower-case letters"],
    ),
    (
        "person_id_with_spaces",
        "people:\n  - id: alex smith\n",
        2,
        "people[0].id",
        ["expected an id", "no spaces"],
    ),
    (
        "time_of_day_out_of_range",
        "quiet_hours:\n  start: '25:00'\n  end: '07:00'\n",
        2,
        "quiet_hours.start",
        ["expected a time of day from 00:00 to 23:59"],
    ),
    (
        "duplicate_rule_id",
        VALID_RULE + VALID_RULE.removeprefix("rules:\n"),
        9,
        "rules[1].id",
        ["duplicate id `calm`", "rules[0]"],
    ),
    (
        "duplicate_yaml_key",
        "people:\n  - id: alex\n    id: sam\n",
        3,
        "people[0].id",
        ["duplicate key `id`"],
    ),
    (
        "unknown_person",
        "people:\n  - id: alex\n" + VALID_RULE + "    person: sam\n",
        11,
        "rules[0].person",
        ["unknown person `sam`", "people are: alex"],
    ),
    (
        "unknown_person_of_a_signal_condition",
        "people:\n  - id: alex\n  - id: sam\n"
        + VALID_RULE.replace(
            "    actions:",
            "    conditions:\n"
            "      - {condition: signal, signal: stress_score, above: 70, person: samm}\n"
            "    actions:",
        ),
        11,
        "rules[0].conditions[0].person",
        ["unknown person `samm`", "did you mean `sam`?", "people are: alex, sam"],
    ),
    (
        "trigger_without_threshold",
        VALID_RULE.replace("        above: 70\n", ""),
        4,
        "rules[0].triggers[0]",
        ["give `above`, `below` or both"],
    ),
    (
        "ha_action_without_ha",
        VALID_RULE.replace("action: log", "action: light.turn_on"),
        8,
        "rules[0].actions[0]",
        ["needs a `homeassistant:` section"],
    ),
    (
        "password_without_username",
        "mqtt:\n  host: localhost\n  password: hunter2\n",
        1,
        "mqtt",
        ["`password` must be given with a `username`"],
    ),
    (
        "unknown_tag",
        "mqtt:\n  host: !vault broker\n",
        2,
        "mqtt.host",
        ["unknown tag `!vault`", "!secret, !env"],
    ),
    (
        "a_duration_below_its_bound_is_said_as_a_duration",
        "retention:\n  traces: 30min\n",
        2,
        "retention.traces",
        ["should be at least 1h (got 30min)"],
    ),
    (
        "a_duration_above_its_bound_is_said_as_a_duration",
        VALID_RULE.replace(
            "      - action: log\n",
            "      - action: calm_lights\n        target: light.desk\n        transition: 10min\n",
        ),
        10,
        "rules[0].actions[0].transition",
        ["should be at most 5min (got 10min)"],
    ),
    (
        "an_unquoted_clock_duration_below_its_bound_is_said_as_written",
        "retention:\n  traces: 30:00\n",  # YAML reads the number 1800 (base 60)
        2,
        "retention.traces",
        ["should be at least 1h (got 30:00)"],
    ),
    (
        "an_unquoted_time_of_day_says_to_quote_it",
        "quiet_hours: {start: 22:30, end: '07:00'}\n",
        1,
        "quiet_hours.start",
        ["YAML reads an unquoted 22:30 as the number 1350 (base 60)", 'in quotes, "22:30"'],
    ),
    (
        "not_a_mapping",
        "- just\n- a list\n",
        1,
        "",
        ["must be a mapping of sections"],
    ),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ambient.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "key_path", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_broken_config_is_reported_where_it_is(
    tmp_path: Path, text: str, line: int, key_path: str, words: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    issue = caught.value.issues[0]
    assert issue.file == str(path)
    assert issue.line == line, str(issue)
    assert issue.path == key_path, str(issue)
    for word in words:
        assert word in issue.message, str(issue)
    assert str(issue).startswith(f"{path}:{line}")


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID_RULE.replace("action: log", "action: lgo") + "    cooldwn: 5min\n    mode: singel\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    paths = sorted(issue.path for issue in caught.value.issues)
    assert paths == ["rules[0].actions[0]", "rules[0].cooldwn", "rules[0].mode"]


def test_missing_secret_names_the_secret_and_the_file(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("mqtt_password: s3cret\n")
    path = write(tmp_path, "mqtt:\n  username: ambient\n  password: !secret mqtt_pasword\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    issue = caught.value.issues[0]
    assert (issue.line, issue.path) == (3, "mqtt.password")
    assert "secret `mqtt_pasword` is not in" in issue.message
    assert "mqtt_password" in issue.message  # lists the names it has …
    assert "s3cret" not in str(caught.value)  # … never the values


def test_missing_secrets_file(tmp_path: Path) -> None:
    path = write(tmp_path, "mqtt:\n  username: ambient\n  password: !secret mqtt_password\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "secrets.yaml, which does not exist" in caught.value.issues[0].message


def test_missing_env_var_without_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMBIENT_TEST_BROKER", raising=False)
    path = write(tmp_path, "mqtt:\n  host: !env AMBIENT_TEST_BROKER\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    issue = caught.value.issues[0]
    assert (issue.line, issue.path) == (2, "mqtt.host")
    assert "environment variable `AMBIENT_TEST_BROKER` is not set" in issue.message


def test_secret_value_never_shows_in_errors_or_repr(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("mqtt_password: s3cret\n")
    path = write(tmp_path, "mqtt:\n  username: ambient\n  password: !secret mqtt_password\n")
    config = load_config(path)
    assert config.mqtt is not None and config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)
    assert "s3cret" not in str(config.model_dump())
    bad = write(
        tmp_path,
        "mqtt:\n  username: ambient\n  password: !secret mqtt_password\n"
        "  port: !secret mqtt_password\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "s3cret" not in str(caught.value)


def test_env_var_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMBIENT_TEST_HOST", "broker.lan")
    monkeypatch.delenv("AMBIENT_TEST_PORT", raising=False)
    path = write(
        tmp_path, "mqtt:\n  host: !env AMBIENT_TEST_HOST\n  port: !env AMBIENT_TEST_PORT 8883\n"
    )
    config = load_config(path)
    assert config.mqtt is not None
    assert (config.mqtt.host, config.mqtt.port) == ("broker.lan", 8883)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert "cannot read" in str(caught.value)


def test_problems_are_listed_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID_RULE.replace("action: log", "action: lgo").replace(
            "  - id: calm\n", "  - id: calm\n    cooldwn: 5min\n"
        ),
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = [issue.line or 0 for issue in caught.value.issues]
    assert lines == sorted(lines) and len(lines) == 2


def test_no_message_shows_a_regular_expression(tmp_path: Path) -> None:
    path = write(tmp_path, "people:\n  - id: Alex Smith\nquiet_hours:\n  start: '25:00'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "pattern" not in text
    assert "^" not in text and "\\d" not in text


def test_a_value_fitting_no_member_of_a_union_is_one_problem(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_RULE.replace("above: 70", "above: hundred"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(issue) for issue in caught.value.issues] == [
        f"{path}:6:9: rules[0].triggers[0].above: expected a number or a Home Assistant id "
        "such as `input_number.stress_threshold`"
    ]


def test_a_recording_sensor_needs_its_file(tmp_path: Path) -> None:
    path = write(tmp_path, "sensors:\n  - type: recording\n    path: nothere.csv\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(issue) for issue in caught.value.issues] == [
        f"{path}:3:5: sensors[0].path: recording {tmp_path / 'nothere.csv'} does not exist"
    ]
    (tmp_path / "nothere.csv").write_text("t,metric,value\n")
    assert load_config(path).sensors[0].type == "recording"


def test_the_actions_inside_choose_calming_options_are_checked_too(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        people:
          - id: alex
        rules:
          - id: calm
            triggers:
              - trigger: signal
                signal: stress_score
                above: 70
            actions:
              - choose_calming:
                  options:
                    - id: note
                      actions:
                        - action: log
                          message: "reserve at {hrr}"
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (issue,) = caught.value.issues
    assert "rules[0].actions[0].choose_calming.options[0].actions[0].message" in str(issue)
    assert "hrr" in str(issue)


EMPTY_TEXT = """\
homeassistant: {{url: "http://127.0.0.1:8123", token: not-a-real-token}}
people: [{{id: alex}}]
rules:
  - id: calm
    triggers: [{{trigger: signal, signal: stress_score, above: 70}}]
    actions:
      - {action}
"""


@pytest.mark.parametrize(
    ("action", "path", "message"),
    [
        (
            '{action: play_calming, target: media_player.lounge, media_content_id: ""}',
            "rules[0].actions[0].media_content_id",
            "`media_content_id` is empty: write its value",
        ),
        (
            '{action: breathing, lights: [light.bed], script: {opening: ""}}',
            "rules[0].actions[0].script.opening",
            "`opening` is empty: write its value, or leave the key out",
        ),
        (
            "{action: breathing, lights: [light.bed], "
            'script: {assistant: {entity_id: ai_task.openai, task_name: ""}}}',
            "rules[0].actions[0].script.assistant.task_name",
            "`task_name` is empty: write its value, or leave the key out",
        ),
    ],
)
def test_an_empty_text_says_so_and_what_to_do(
    tmp_path: Path, action: str, path: str, message: str
) -> None:
    """pydantic said "String should have at least 1 character" for `media_content_id: ""`."""
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(EMPTY_TEXT.format(action=action))
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    [issue] = caught.value.issues
    assert (issue.line, issue.path, issue.message) == (7, path, message)


def test_check_says_an_empty_text_is_empty_at_its_line(tmp_path: Path) -> None:
    config_file = tmp_path / "ambient.yaml"
    action = '{action: play_calming, target: media_player.lounge, media_content_id: ""}'
    config_file.write_text(EMPTY_TEXT.format(action=action))
    result = run_ambient("check", "--config", str(config_file))
    assert result.returncode == 1, result.stdout
    where = f"{config_file}:7:61: rules[0].actions[0].media_content_id"
    assert f"{where}: `media_content_id` is empty: write its value\n" in result.stderr
    assert "String should have" not in result.stderr
