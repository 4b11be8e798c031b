"""A breathing action's `script:` is checked when the config loads: a template that cannot
parse or names a variable it will not get is a config problem at its line (so `ambient check`
shows it), and an attempt always lasts long enough to fall back to the template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ambient.config import ConfigError, load_config
from ambient.config.actions import (
    ASSISTANT_MARGIN_S,
    SCRIPT_VARIABLES,
    BreathingActionConfig,
)
from ambient.interventions.script import ScriptContext

RULE = """\
homeassistant:
  url: http://127.0.0.1:8123
  token: not-a-real-token
people:
  - id: alex
    name: Alex
rules:
  - id: breathe
    person: alex
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
    actions:
      - action: breathing
        lights: [light.bed]
        script:
          opening: "{opening}"
"""


def load_with_opening(tmp_path: Path, opening: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(RULE.replace("{opening}", opening))
    load_config(path)


def test_a_template_that_cannot_parse_is_a_problem_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_with_opening(tmp_path, "Hello {{ name ")
    issue = caught.value.issues[0]
    assert (issue.line, issue.path) == (18, "rules[0].actions[0].script.opening")
    assert "template line 1" in issue.message


def test_a_misspelt_variable_is_a_problem_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_with_opening(tmp_path, "Hello {{ nme }}")
    message = caught.value.issues[0].message
    assert "unknown template variable(s) nme" in message
    assert "name, pattern" in message


def test_a_good_template_loads(tmp_path: Path) -> None:
    load_with_opening(tmp_path, "{{ greeting }}, {{ name }}: {{ pattern_words }}")


def test_templates_may_use_exactly_what_a_script_context_gives() -> None:
    context = ScriptContext("Alex", 9, 3, "resonance", (("inhale", 5.5), ("exhale", 5.5)))
    assert set(context.variables()) == SCRIPT_VARIABLES


def breathing(**fields: Any) -> BreathingActionConfig:
    return BreathingActionConfig.model_validate(
        {"action": "breathing", "lights": ["light.bed"], **fields}
    )


def test_an_attempt_lasts_the_assistants_wait_and_a_margin() -> None:
    action = breathing(script={"assistant": {"entity_id": "ai_task.openai", "timeout": "12s"}})
    assert action.timeout == 12 + ASSISTANT_MARGIN_S


def test_an_attempt_too_short_for_the_assistant_is_refused() -> None:
    with pytest.raises(ValueError, match="must end at least"):
        breathing(timeout="10s", script={"assistant": {"entity_id": "ai_task.openai"}})


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"opening": "Hi", "script": {}}, "`script.opening`"),
        ({"script": {"assistant": {"entity_id": "conversation.openai"}}}, "an ai_task entity"),
    ],
)
def test_scripts_are_given_one_way(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        breathing(**fields)


def test_without_a_script_the_fixed_words_stay() -> None:
    action = breathing(opening="Let's breathe.")
    assert (action.opening, action.script, action.timeout) == ("Let's breathe.", None, 10.0)
