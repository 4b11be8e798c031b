"""`ambient check` warns of a breathing session inside `choose_calming` that is still going at
+5 minutes, where the episode's response starts being measured: its own paced breathing would
be read as the body's answer."""

from __future__ import annotations

from pathlib import Path

from ambient.config import config_warnings, load_config
from ambient.config.calming_advice import AFTER_START_S
from ambient.interventions.response import AFTER_S

CONFIG = """\
people: [{{id: alex}}]
homeassistant: {{url: "http://ha.local:8123", token: t}}
rules:
  - id: evening_calm
    person: alex
    triggers: [{{trigger: signal, signal: stress_score, above: 70}}]
    actions:
      - choose_calming:
          options:
            - id: long_breath
              actions:
                - {{action: log, message: start}}
                - {{delay: {delay}}}
                - {{action: breathing, preset: resonance, cycles: {cycles}, lights: [light.desk]}}
            - id: music
              actions: [{{action: log, message: music}}]
"""


def warnings(tmp_path: Path, cycles: int, delay: str = "0s") -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG.format(cycles=cycles, delay=delay), encoding="utf-8")
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_a_breathing_session_past_five_minutes_in_an_option_is_a_warning(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, cycles=30)  # 30 cycles of 11 s: 5.5 min
    assert ":14:19: rules[0].actions[0].choose_calming.options[0].actions[2]: " in warning
    assert (
        "rule 'evening_calm', option 'long_breath': this breathing session lasts until about "
        "+5.5 min after the option's first action, into the +5 to +20 min span its response is "
        "measured in, so its own paced breathing is read as the response; keep it under 5 min "
        "(e.g. cycles: 27 or fewer)"
    ) in warning


def test_a_delay_between_the_first_action_and_the_session_counts(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, cycles=20, delay="2min")  # 2 min + 220 s
    assert "lasts until about +5.7 min" in warning


def test_a_session_that_ends_before_five_minutes_gives_no_warning(tmp_path: Path) -> None:
    assert warnings(tmp_path, cycles=27) == []  # 297 s


def test_the_span_warned_of_is_the_one_the_recorder_measures() -> None:
    assert AFTER_S[0] == AFTER_START_S
