"""How the loader words a value out of its bounds: a duration's bound is a duration, however
the value was written; a count's bound stays a number."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config


def problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (issue,) = caught.value.issues
    return f"{issue.path}: {issue.message}"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("retention:\n  traces: 30\n", "retention.traces: should be at least 1h (got 30 s)"),
        ("retention:\n  interval: 10\n", "retention.interval: should be at least 1min (got 10 s)"),
        (
            "rules:\n  - id: calm\n    triggers: [{trigger: signal, signal: hr, above: 90}]\n"
            "    actions:\n      - {action: calm_lights, target: light.desk, transition: 600}\n",
            "rules[0].actions[0].transition: should be at most 5min (got 600 s)",
        ),
    ],
)
def test_a_duration_written_as_seconds_has_its_bound_said_as_a_duration(
    tmp_path: Path, text: str, said: str
) -> None:
    """`traces: 30` said "Input should be greater than or equal to 3600": the bound was worded
    as a duration only for a value written with a unit."""
    assert problem(tmp_path, text) == said


def test_a_count_keeps_its_bound_as_a_number(tmp_path: Path) -> None:
    assert problem(tmp_path, "insights:\n  keep_days: 10\n") == (
        "insights.keep_days: Input should be greater than or equal to 70"
    )
