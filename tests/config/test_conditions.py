"""Rule conditions as `check` reads them: a `signal` condition whose `above` is not below its
`below` can never hold (both must), so it is refused at its line, as a trigger's and a
`wait_for`'s thresholds are."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient

from ambient.config import ConfigError, load_config

RULE = """\
people: [{{id: alex}}]
store: {{path: null}}
{connections}rules:
  - id: calm
    person: alex
    triggers: [{{trigger: signal, signal: stress_score, above: 70}}]
    conditions:
      - {{condition: signal, signal: hr, {thresholds}}}
    actions:
      - action: log
        message: calmer
"""


def _load(tmp_path: Path, thresholds: str, connections: str = "") -> None:
    path = tmp_path / "ambient.yaml"
    text = RULE.format(thresholds=thresholds, connections=connections)
    path.write_text(text, encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize(("above", "below"), [(60, 40), (50, 50)])
def test_a_signal_condition_above_a_level_not_below_its_other_level_is_refused(
    tmp_path: Path, above: int, below: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"above: {above}, below: {below}")
    [issue] = caught.value.issues
    assert issue.line == 8, str(issue)
    assert issue.path == "rules[0].conditions[0]", str(issue)
    assert issue.message == f"`above` ({above}) must be less than `below` ({below})"


def test_check_names_the_line_of_a_signal_condition_that_can_never_hold(tmp_path: Path) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(RULE.format(thresholds="above: 60, below: 40", connections=""))
    result = run_ambient("check", "--config", str(path))
    assert result.returncode == 1, result.stdout
    line = f"{path}:8:9: rules[0].conditions[0]: `above` (60) must be less than `below` (40)"
    assert line in result.stderr


def test_a_signal_condition_between_two_levels_is_taken(tmp_path: Path) -> None:
    _load(tmp_path, "above: 50, below: 90")


def test_a_signal_condition_with_an_entity_threshold_is_left_to_run_time(tmp_path: Path) -> None:
    """An HA entity's value is only known when HA sends it: nothing to compare at load."""
    home_assistant = "homeassistant: {url: 'http://127.0.0.1:8123', token: t}\n"
    _load(tmp_path, "above: 60, below: input_number.calm_level", home_assistant)


def test_a_signal_conditions_person_is_read_as_an_id_as_a_rules_is(tmp_path: Path) -> None:
    """A name written for an id (`Sam Smith`) is said to be no id at its line, as a rule's
    and a sensor's `person:` are, not only later as an unknown person."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "above: 50, person: Sam Smith")
    [issue] = caught.value.issues
    assert issue.path == "rules[0].conditions[0].person", str(issue)
    assert issue.line == 8, str(issue)
    assert issue.message.startswith("expected an id: lower-case letters"), str(issue)
