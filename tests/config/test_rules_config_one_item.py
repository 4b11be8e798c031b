"""Rule YAML: a rule's triggers, conditions and actions given as one item, not a list, as Home
Assistant takes them (its older automations often write `trigger:` with a single mapping)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config
from ambient.config.actions import LogActionConfig
from ambient.config.conditions import TimeConditionConfig
from ambient.config.triggers import SignalTriggerConfig

ONE_OF_EACH = """\
people: [{id: alex}]
rules:
  - id: r
    trigger:
      platform: signal
      signal: hr
      above: 100
    condition:
      condition: time
      after: "07:00"
    action:
      service: log
      message: fast
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ambient.yaml"
    path.write_text(text)
    return path


def test_one_trigger_condition_and_action_without_a_list_load_as_in_home_assistant(
    tmp_path: Path,
) -> None:
    """`trigger:` with a single mapping was refused with "Input should be a valid list"."""
    rule = load_config(_write(tmp_path, ONE_OF_EACH)).rules[0]
    assert len(rule.triggers) == 1 and isinstance(rule.triggers[0], SignalTriggerConfig)
    assert len(rule.conditions) == 1 and isinstance(rule.conditions[0], TimeConditionConfig)
    assert len(rule.actions) == 1 and isinstance(rule.actions[0], LogActionConfig)


def test_the_plural_keys_take_one_item_too(tmp_path: Path) -> None:
    text = ONE_OF_EACH.replace("trigger:\n", "triggers:\n").replace("action:\n", "actions:\n")
    rule = load_config(_write(tmp_path, text)).rules[0]
    assert len(rule.triggers) == 1 and len(rule.actions) == 1


def test_a_mistake_in_a_single_trigger_is_reported_at_its_line(tmp_path: Path) -> None:
    text = ONE_OF_EACH.replace("above: 100", "above: 100\n      for: 5 fortnights")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    errors = [str(issue) for issue in caught.value.issues]
    assert len(errors) == 1 and ":8:7: rules[0].trigger.for: " in errors[0]
