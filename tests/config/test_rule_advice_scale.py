"""`ambient check` warns of a threshold a signal with a bounded scale can never pass:
`stress_confidence` and `quality` are shares from 0 to 1, so `above: 30` (a percentage) is
never met and the rule never fires; a count or a heart rate is never below 0."""

from __future__ import annotations

from pathlib import Path

from ambient.config import config_warnings, load_config

CONFIG = """\
people: [{{id: alex}}]
store: {{path: null}}
rules:
  - id: r
    person: alex
    triggers: [{{trigger: signal, signal: hr, above: 100}}]
    conditions: [{{condition: signal, signal: {signal}, {side}: {limit}}}]
    actions: [{{action: log, message: x}}]
"""


def warnings(tmp_path: Path, signal: str, side: str, limit: float) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG.format(signal=signal, side=side, limit=limit), encoding="utf-8")
    return [str(issue).split(": ", 1)[1] for issue in config_warnings(path, load_config(path))]


def test_a_percentage_on_a_share_is_never_met(tmp_path: Path) -> None:
    assert warnings(tmp_path, "stress_confidence", "above", 30) == [
        "rules[0].conditions[0].above: `stress_confidence` runs 0–1, so `above: 30` is never "
        "met; did you mean 0.3?"
    ]


def test_a_threshold_at_the_end_of_the_scale_is_never_met(tmp_path: Path) -> None:
    assert warnings(tmp_path, "quality", "above", 1) == [
        "rules[0].conditions[0].above: `quality` runs 0–1, so `above: 1` is never met"
    ]
    assert warnings(tmp_path, "hr", "below", 0) == [
        "rules[0].conditions[0].below: `hr` is never below 0, so `below: 0` is never met"
    ]


def test_thresholds_on_the_scale_are_not_warned_of(tmp_path: Path) -> None:
    assert warnings(tmp_path, "quality", "above", 0.8) == []
    assert warnings(tmp_path, "stress_confidence", "below", 0.5) == []
    assert warnings(tmp_path, "hr", "below", 50) == []
    assert warnings(tmp_path, "ln_rmssd_z", "below", -2) == []
