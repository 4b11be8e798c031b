"""`ambient check` warns of a rule id Home Assistant's **Active rule** sensor cannot show: its
state is the active rule's id, `none` when no rule is active, and HA reads `unknown` and
`unavailable` as no state at all; such a rule's episodes would not be seen in HA."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.actuators.mqtt_discovery import NO_RULE
from ambient.config import config_warnings, load_config
from ambient.config.rule_advice import NO_ACTIVE_RULE

CONFIG = """\
people: [{{id: alex}}]
store: {{path: null}}
{mqtt}
rules:
  - id: {rule_id}
    person: alex
    triggers: [{{trigger: signal, signal: stress_score, above: 70}}]
    actions: [{{action: log, message: calm}}]
"""
MQTT = "mqtt: {host: localhost}"


def warnings(tmp_path: Path, rule_id: str, mqtt: str = MQTT) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG.format(rule_id=rule_id, mqtt=mqtt), encoding="utf-8")
    return [str(issue).split(": ", 1)[1] for issue in config_warnings(path, load_config(path))]


def test_none_is_what_the_sensor_shows_with_no_rule_active(tmp_path: Path) -> None:
    assert warnings(tmp_path, "none") == [
        "rules[0].id: HA's Active rule sensor shows `none` when no rule is active, so this "
        "rule's episodes would look like none there; choose another id"
    ]


@pytest.mark.parametrize("rule_id", ["unknown", "unavailable"])
def test_states_home_assistant_reads_as_no_state(tmp_path: Path, rule_id: str) -> None:
    assert warnings(tmp_path, rule_id) == [
        f"rules[0].id: Home Assistant reads the state `{rule_id}` as no state, so the Active "
        "rule sensor would show this rule's episodes as no value; choose another id"
    ]


def test_other_ids_and_configs_without_discovery_are_not_warned_of(tmp_path: Path) -> None:
    assert warnings(tmp_path, "calm_alex") == []
    assert warnings(tmp_path, "none", mqtt="") == []
    assert warnings(tmp_path, "unknown", mqtt="mqtt: {host: localhost, discovery: false}") == []


def test_none_is_the_value_the_sensor_is_given_with_no_rule_active() -> None:
    assert NO_ACTIVE_RULE == NO_RULE
