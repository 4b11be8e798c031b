"""`ambient check` warns of a hysteresis that takes a trigger's clear level past the end of its
signal's scale: `quality above 0.7` with `hysteresis: 10` (the stress score's units) would clear
only at -9.3, which a share of 0–1 never reaches, so the rule fires once and then never again,
and its `on_recovery` never runs."""

from __future__ import annotations

from pathlib import Path

from ambient.config import config_warnings, load_config

CONFIG = """\
people: [{{id: alex}}]
store: {{path: null}}
rules:
  - id: r
    person: alex
    triggers: [{{trigger: signal, signal: {signal}, {side}: {limit}, hysteresis: {hysteresis}}}]
    actions: [{{action: log, message: x}}]
"""


def warnings(tmp_path: Path, signal: str, side: str, limit: float, hysteresis: float) -> list[str]:
    path = tmp_path / "ambient.yaml"
    text = CONFIG.format(signal=signal, side=side, limit=limit, hysteresis=hysteresis)
    path.write_text(text, encoding="utf-8")
    return [str(issue).split(": ", 1)[1] for issue in config_warnings(path, load_config(path))]


def test_a_clear_level_below_the_scale_is_a_warning(tmp_path: Path) -> None:
    assert warnings(tmp_path, "quality", "above", 0.7, 10) == [
        "rules[0].triggers[0].hysteresis: never clears: `quality` is never below 0, so "
        "`above: 0.7` with `hysteresis: 10` clears only at or below -9.3: the trigger fires "
        "once and then waits for ever (no `on_recovery`, no second firing); give the "
        "hysteresis in the units of `quality`"
    ]


def test_a_clear_level_above_the_scale_is_a_warning(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, "stress_score", "below", 30, 80)
    assert warning.startswith(
        "rules[0].triggers[0].hysteresis: never clears: `stress_score` is never above 100, so "
        "`below: 30` with `hysteresis: 80` clears only at or above 110"
    )


def test_a_clear_level_on_the_scale_is_not(tmp_path: Path) -> None:
    assert warnings(tmp_path, "quality", "above", 0.7, 0.2) == []
    assert warnings(tmp_path, "stress_score", "above", 70, 10) == []
    assert warnings(tmp_path, "hr", "above", 100, 100) == []  # clears at 0: possible in form
    assert warnings(tmp_path, "ln_rmssd_z", "above", 1, 5) == []  # a z-score goes below 0
