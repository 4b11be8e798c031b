"""A `wait_for` step's thresholds: above one that is not below the other can never be met,
so the step would only ever time out; it is refused at its line, as a trigger's are."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config

RULE = """\
people: [{{id: alex}}]
store: {{path: null}}
rules:
  - id: calm
    person: alex
    triggers: [{{trigger: signal, signal: stress_score, above: 70}}]
    actions:
      - wait_for: {{signal: stress_score, {thresholds}}}
        timeout: 10min
      - action: log
        message: calmer
"""


def _load(tmp_path: Path, thresholds: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(RULE.format(thresholds=thresholds), encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize(("above", "below"), [(60, 40), (50, 50)])
def test_a_wait_above_a_level_not_below_its_other_level_is_refused(
    tmp_path: Path, above: int, below: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"above: {above}, below: {below}")
    [issue] = caught.value.issues
    assert issue.line == 8, str(issue)
    assert issue.path == "rules[0].actions[0].wait_for", str(issue)
    assert issue.message == f"`above` ({above}) must be less than `below` ({below})"


def test_a_wait_between_two_levels_is_taken(tmp_path: Path) -> None:
    _load(tmp_path, "above: 20, below: 50")
