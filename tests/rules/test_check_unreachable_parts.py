"""`ambient check` warns of rule parts that load but can never run: `escalate` and `on_recovery`
follow only a signal trigger (it opens the episode they escalate or end), and quiet hours that
start when they end cover no time at all."""

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
