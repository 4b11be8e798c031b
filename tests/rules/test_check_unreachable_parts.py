"""`ambient check` warns of rule parts that load but can never run: `escalate` and `on_recovery`
follow only a signal trigger (it opens the episode they escalate or end), quiet hours that
start when they end cover no time at all, and a cron whose day no month has never fires."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fixtures.ambient_process import run_ambient

CONFIG = """\
people: [{{id: alex}}]
store: {{path: null}}
{quiet}
rules:
  - id: bedtime
    triggers:
      - {trigger}
    actions: [{{action: log, message: dim}}]
    on_recovery: [{{action: log, message: undim}}]
    escalate:
      - after: 10min
        actions: [{{action: log, message: still}}]
"""
TIME = '{trigger: time, at: "22:30"}'
SIGNAL = "{trigger: signal, signal: stress_score, above: 70}"


def _check(tmp_path: Path, trigger: str, quiet: str = "") -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG.format(trigger=trigger, quiet=quiet), encoding="utf-8")
    return run_ambient("check", "--config", str(path))


def test_escalate_and_on_recovery_without_a_signal_trigger_are_warned_of(tmp_path: Path) -> None:
    result = _check(tmp_path, TIME)
    assert result.returncode == 0, result.stderr
    assert (
        ":9:5: rules[0].on_recovery: never runs: `on_recovery` follows a signal trigger "
        "clearing, and this rule has no `trigger: signal`"
    ) in result.stdout
    assert (
        ":10:5: rules[0].escalate: never runs: `escalate` follows a signal trigger "
        "staying active, and this rule has no `trigger: signal`"
    ) in result.stdout
    assert result.stdout.count("Warning:") == 2


def test_with_a_signal_trigger_they_are_not(tmp_path: Path) -> None:
    result = _check(tmp_path, SIGNAL)
    assert result.returncode == 0, result.stderr
    assert "Warning:" not in result.stdout


def test_quiet_hours_that_end_when_they_start_are_warned_of(tmp_path: Path) -> None:
    result = _check(tmp_path, SIGNAL, quiet='quiet_hours: {start: "22:00", end: "22:00"}')
    assert result.returncode == 0, result.stderr
    assert (
        ":3:1: quiet_hours: `start` and `end` are both 22:00, so there are no quiet hours "
        "(for a whole day without actions, use `pause`)"
    ) in result.stdout
    assert result.stdout.count("Warning:") == 1


KIND_CONFIG = """\
people: [{id: alex}]
store: {path: null}
rules:
  - id: mixed_up
    triggers:
      - {trigger: signal, signal: activity_state, above: 2}
      - {trigger: state, signal: hr, to: "70"}
    conditions:
      - {condition: signal, signal: contact, state: "on"}
      - {condition: signal, signal: contact, above: 0.5}
      - {condition: signal, signal: hrv_trend, state: low}
      - {condition: signal, signal: stress_score, state: high}
    actions:
      - wait_for: {signal: stress_basis, below: 1}
        timeout: 1min
"""


def test_a_number_test_on_a_text_signal_and_a_state_test_on_a_number_are_warned_of(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(KIND_CONFIG, encoding="utf-8")
    result = run_ambient("check", "--config", str(path))
    assert result.returncode == 0, result.stderr
    text = "is text, so a number test is never met; test it with `state:`"
    number = "is a number, so a state test compares its text (`72.0`); use `above` / `below`"
    assert f":6:51: rules[0].triggers[0].above: `activity_state` {text}" in result.stdout
    assert f":7:38: rules[0].triggers[1].to: `hr` {number}" in result.stdout
    assert f":12:51: rules[0].conditions[3].state: `stress_score` {number}" in result.stdout
    assert f":14:42: rules[0].actions[0].wait_for.below: `stress_basis` {text}" in result.stdout
    assert result.stdout.count("Warning:") == 4


def test_a_cron_on_a_day_no_month_has_is_warned_of_naming_its_rule(tmp_path: Path) -> None:
    result = _check(tmp_path, '{trigger: cron, cron: "0 9 30 2 *"}')
    assert result.returncode == 0, result.stderr
    assert (
        ":7:25: rules[0].triggers[0].cron: `0 9 30 2 *` never fires: day `30` of month `2` "
        "is no calendar day, so rule `bedtime` never runs on this trigger"
    ) in result.stdout


def test_an_action_ignoring_quiet_hours_without_quiet_hours_is_warned_of(tmp_path: Path) -> None:
    path = tmp_path / "ambient.yaml"
    text = CONFIG.format(trigger=SIGNAL, quiet="").replace(
        "message: dim}", "message: dim, quiet_hours: ignore}"
    )
    path.write_text(text, encoding="utf-8")
    result = run_ambient("check", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert (
        ":8:43: rules[0].actions[0].quiet_hours: `ignore` changes nothing: "
        "there are no `quiet_hours` to go through"
    ) in result.stdout
    assert result.stdout.count("Warning:") == 1
