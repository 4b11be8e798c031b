"""`ambient check` warns of `quiet_hours: ignore` on an action inside a `choose_calming` option:
quiet hours would let it through, so a learned calming episode would start at night, where
the options are compared on sleep rather than on calming down."""

from __future__ import annotations

from pathlib import Path

from ambient.config import config_warnings, load_config

CONFIG = """\
people: [{{id: alex}}]
store: {{path: null}}
{quiet}
rules:
  - id: evening_calm
    person: alex
    triggers: [{{trigger: signal, signal: stress_score, above: 70}}]
    actions:
      - {{action: log, message: night light, quiet_hours: ignore}}
      - choose_calming:
          options:
            - id: music
              actions:
                - {{action: log, message: music, quiet_hours: {option_setting}}}
            - id: lights
              actions: [{{action: log, message: lights}}]
"""
QUIET = 'quiet_hours: {start: "22:00", end: "07:00"}'


def warnings(tmp_path: Path, option_setting: str, quiet: str = QUIET) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG.format(quiet=quiet, option_setting=option_setting), encoding="utf-8")
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_ignore_inside_a_calming_option_is_a_warning_naming_where(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, option_setting="ignore")
    assert ":14:49: rules[0].actions[1].choose_calming.options[0].actions[0].quiet_hours: " in (
        warning
    )
    assert (
        "rule 'evening_calm', option 'music': `ignore` lets a learned calming option act in "
        "quiet hours (22:00 to 07:00): an episode would start then and be learned from; put "
        "what must run in quiet hours outside `choose_calming`"
    ) in warning


def test_ignore_outside_the_options_and_hold_inside_give_no_warning(tmp_path: Path) -> None:
    assert warnings(tmp_path, option_setting="hold") == []


def test_without_quiet_hours_only_the_changes_nothing_warning_is_given(tmp_path: Path) -> None:
    found = warnings(tmp_path, option_setting="ignore", quiet="")
    assert len(found) == 2
    assert all("changes nothing: there are no `quiet_hours`" in w for w in found)
