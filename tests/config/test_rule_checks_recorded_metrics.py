"""A rule may read a metric of its own name that only a recording sensor's file carries
(`garmin_stress` rows): the file's rows are its sensor's metrics, as an MQTT or HA sensor's
`metric:` is."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config

CONFIG = """\
people: [{{id: alex}}]
sensors:
  - {{type: recording, path: session.csv, person: alex}}
rules:
  - id: watch_says_stressed
    person: alex
    triggers: [{{trigger: signal, signal: {signal}, above: 75}}]
    actions: [{{action: log}}]
store: {{path: null}}
"""


def config_with(tmp_path: Path, rows: str, signal: str = "garmin_stress") -> Path:
    (tmp_path / "session.csv").write_text("t,metric,value,person\n" + rows, encoding="utf-8")
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG.format(signal=signal), encoding="utf-8")
    return path


def test_a_metric_the_recording_carries_is_a_signal_a_rule_may_read(tmp_path: Path) -> None:
    path = config_with(tmp_path, "0,hr,70,alex\n10,garmin_stress,80,alex\n20,hr,71,alex\n")
    assert load_config(path).rules[0].id == "watch_says_stressed"


def test_a_metric_the_recording_lacks_is_still_an_unknown_signal(tmp_path: Path) -> None:
    path = config_with(tmp_path, "0,hr,70,alex\n10,garmin_stres,80,alex\n")
    with pytest.raises(ConfigError, match="unknown signal `garmin_stress`"):
        load_config(path)


def test_rows_run_would_skip_do_not_make_a_signal(tmp_path: Path) -> None:
    """Rows of someone not under `people:` are skipped when the file plays."""
    path = config_with(tmp_path, "0,hr,70,alex\n10,garmin_stress,80,bob\n")
    with pytest.raises(ConfigError, match="unknown signal `garmin_stress`"):
        load_config(path)


def test_a_built_in_metric_in_a_recording_is_no_signal_of_its_name(tmp_path: Path) -> None:
    """Steps go to the activity tracker: there is no `steps` signal to read."""
    path = config_with(tmp_path, "0,hr,70,alex\n10,steps,800,alex\n", signal="steps")
    with pytest.raises(ConfigError, match="unknown signal `steps`"):
        load_config(path)


def test_a_file_out_of_time_order_is_looked_through_without_logging_its_bad_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The metric after the disorder is found; the bad row is `run`'s to log as it plays (and
    `check`'s, which reads the file as `run` will: once)."""
    rows = "20,hr,70,alex\n10,hr,-5,alex\n5,hr,71,alex\n30,garmin_stress,80,alex\n"
    path = config_with(tmp_path, rows)
    with caplog.at_level(logging.WARNING, logger="ambient.recordings"):
        load_config(path)
    assert "Skipped" not in caplog.text
    load_config(path, whole_recordings=True)
    assert caplog.text.count("Skipped a recording row") == 1
