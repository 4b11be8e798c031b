"""`ambient check` warns of a state test on a text signal with a value the signal never takes:
`activity_state` is `rest`, `active` or `recovering`, so `to: resting` never fires and
`state: idle` never holds, which loaded without a word."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from ambient.config import config_warnings, load_config
from ambient.config.rule_advice import TEXT_SIGNAL_VALUES
from ambient.insights.trends import TrendState
from ambient.signals.activity import ACTIVE, RECOVERING, REST
from ambient.signals.baseline import BaselineState
from ambient.signals.stress import HR_BASIS, HRV_HR_BASIS

CONFIG = """\
people: [{id: alex}]
store: {path: null}
rules:
  - id: r
    person: alex
    triggers:
      - {trigger: state, signal: activity_state, to: resting}
      - {trigger: state, signal: hrv_trend, from: Normal, to: low}
    conditions:
      - {condition: signal, signal: activity_state, state: [rest, idle]}
      - {condition: signal, signal: contact, state: "yes"}
    actions: [{action: log, message: x}]
"""


def test_values_a_text_signal_never_takes_are_warned_of_with_the_ones_it_does(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    found = [str(issue).split(": ", 1)[1] for issue in config_warnings(path, load_config(path))]
    assert found == [
        "rules[0].triggers[0].to: `activity_state` is never `resting` (did you mean `rest`?); "
        "its values are: rest, active, recovering",
        "rules[0].triggers[1].from: `hrv_trend` is never `Normal` (did you mean `normal`?); "
        "its values are: low, normal, high",
        "rules[0].conditions[0].state: `activity_state` is never `idle`; its values are: rest, "
        "active, recovering",
        "rules[0].conditions[1].state: `contact` is never `yes`; its values are: on, off",
    ]


def test_the_values_are_the_ones_the_signals_take() -> None:
    assert TEXT_SIGNAL_VALUES["activity_state"] == (REST, ACTIVE, RECOVERING)
    assert TEXT_SIGNAL_VALUES["baseline_state"] == get_args(BaselineState)
    assert TEXT_SIGNAL_VALUES["stress_basis"] == (HRV_HR_BASIS, HR_BASIS)
    assert TEXT_SIGNAL_VALUES["hrv_trend"] == get_args(TrendState)
