"""`catch_up` on time and cron triggers: optional (rules written before it load unchanged, with
the default), a duration, 0 turns it off; `ambient check` names the line of a wrong one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient

from ambient.config import ConfigError, load_config
from ambient.config.triggers import DEFAULT_CATCH_UP_S, CronTriggerConfig, TimeTriggerConfig

RULE = """\
people: [{{id: alex}}]
rules:
  - id: bedtime
    actions: [{{action: log}}]
    triggers:
      - trigger: time
        at: "22:30"
{time_extra}      - trigger: cron
        cron: "*/15 8-22 * * *"
{cron_extra}"""


def _config_text(time_extra: str = "", cron_extra: str = "") -> str:
    return RULE.format(time_extra=time_extra, cron_extra=cron_extra)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _triggers(tmp_path: Path, text: str) -> tuple[TimeTriggerConfig, CronTriggerConfig]:
    time, cron = load_config(_write(tmp_path, text)).rules[0].triggers
    assert isinstance(time, TimeTriggerConfig) and isinstance(cron, CronTriggerConfig)
    return time, cron


def test_rules_without_catch_up_get_the_default(tmp_path: Path) -> None:
    time, cron = _triggers(tmp_path, _config_text())
    assert time.catch_up == cron.catch_up == DEFAULT_CATCH_UP_S == 300.0


def test_catch_up_is_a_duration_and_0_is_off(tmp_path: Path) -> None:
    text = _config_text("        catch_up: 2min\n", "        catch_up: 0\n")
    time, cron = _triggers(tmp_path, text)
    assert (time.catch_up, cron.catch_up) == (120.0, 0.0)


@pytest.mark.parametrize(
    ("value", "words"),
    [("soon", "`soon` is not a duration like 90s, 5min"), ("-300", "cannot be negative")],
)
def test_a_wrong_catch_up_names_its_line(tmp_path: Path, value: str, words: str) -> None:
    text = _config_text(f"        catch_up: {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    (issue,) = [str(issue) for issue in caught.value.issues]
    assert issue.startswith(f"{tmp_path / 'ambient.yaml'}:8:9: rules[0].triggers[0].catch_up: ")
    assert words in issue


def test_ambient_check_refuses_a_wrong_catch_up(tmp_path: Path) -> None:
    path = _write(tmp_path, _config_text(cron_extra="        catch_up: a while\n"))
    result = run_ambient("check", "--config", str(path))
    assert result.returncode == 1
    assert "ambient.yaml:10:9: rules[0].triggers[1].catch_up: `a while` is not" in result.stderr
    assert "Traceback" not in result.stderr


def test_catch_up_only_belongs_to_time_and_cron_triggers(tmp_path: Path) -> None:
    text = (
        "people: [{id: alex}]\nrules:\n  - id: r\n    actions: [{action: log}]\n"
        "    triggers:\n      - {trigger: signal, signal: hr, above: 100, catch_up: 1min}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    assert "catch_up" in str(caught.value.issues[0])
