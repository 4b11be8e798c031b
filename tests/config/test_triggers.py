"""Rule triggers as `check` reads them: a signal trigger's `above` not below its `below` can
never be met (the value must be between them), so it is refused at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config

RULE = """\
people: [{{id: alex}}]
store: {{path: null}}
rules:
  - id: calm
    triggers:
      - {{trigger: signal, signal: stress_score, {thresholds}}}
    actions: [{{action: log, message: calmer}}]
"""


def _load(tmp_path: Path, thresholds: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(RULE.format(thresholds=thresholds), encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize(("above", "below"), [(60, 40), (50, 50)])
def test_a_signal_trigger_above_a_level_not_below_its_other_level_is_refused(
    tmp_path: Path, above: int, below: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"above: {above}, below: {below}")
    [issue] = caught.value.issues
    assert issue.line == 6, str(issue)
    assert issue.path == "rules[0].triggers[0]", str(issue)
    assert issue.message == f"`above` ({above}) must be less than `below` ({below})"


def test_a_signal_trigger_between_two_levels_is_taken(tmp_path: Path) -> None:
    _load(tmp_path, "above: 40, below: 60")


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ("above: .nan", "`above` must be a finite number (got nan)"),
        ("above: .inf", "`above` must be a finite number (got inf)"),
        ("below: -.inf", "`below` must be a finite number (got -inf)"),
    ],
)
def test_a_threshold_no_value_can_pass_is_refused(
    tmp_path: Path, thresholds: str, message: str
) -> None:
    """No value is above `.inf` or `.nan`: the trigger loaded and never fired, without a word."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, thresholds)
    [issue] = caught.value.issues
    assert (issue.line, issue.path, issue.message) == (6, "rules[0].triggers[0]", message)


def test_an_endless_hysteresis_is_refused(tmp_path: Path) -> None:
    """`hysteresis: .inf` clears only at -inf: the trigger fired once and never again."""
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "above: 70, hysteresis: .inf")
    [issue] = caught.value.issues
    assert issue.path == "rules[0].triggers[0].hysteresis", str(issue)
    assert "finite" in issue.message
