"""`mqtt.statistics`: which health entities HA keeps long-term statistics of (for ever). A name
that is none of them is refused at its line: it would keep nothing, silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config
from ambient.config.mqtt import HA_STATISTICS_KEYS
from ambient.config.root import AmbientConfig


def _load(tmp_path: Path, statistics: str) -> AmbientConfig:
    path = tmp_path / "ambient.yaml"
    path.write_text(
        f"mqtt: {{host: localhost, statistics: {statistics}}}\nstore: {{path: null}}\n",
        encoding="utf-8",
    )
    return load_config(path)


def test_all_none_or_a_list_of_health_entities_is_taken(tmp_path: Path) -> None:
    assert _load(tmp_path, "true").mqtt is not None
    for statistics in ("false", "[]", "[day_resting_hr, day_sleep_hours]"):
        config = _load(tmp_path, statistics)
        assert config.mqtt is not None
        assert not config.mqtt.keeps_statistics("heart_rate")
    config = _load(tmp_path, "[day_resting_hr]")
    assert config.mqtt is not None and config.mqtt.keeps_statistics("day_resting_hr")


def test_the_default_keeps_them_all_as_before(tmp_path: Path) -> None:
    config = AmbientConfig.model_validate({"mqtt": {"host": "localhost"}})
    assert config.mqtt is not None and config.mqtt.keeps_statistics("heart_rate")


@pytest.mark.parametrize(
    ("statistics", "said"),
    [
        ("[hr]", "`hr` is not a health entity ambient announces with statistics; these are: "),
        ("[battery]", "`battery` is not a health entity"),
        ("heart_rate", "write `true`, `false` or a list of entities: `[heart_rate]`"),
    ],
)
def test_a_name_that_is_no_health_entity_is_refused_at_its_line(
    tmp_path: Path, statistics: str, said: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, statistics)
    (issue,) = raised.value.issues
    assert issue.line == 1
    assert said in str(issue)


EXAMPLES = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize("example", ["ambient.example.yaml", "ambient.watch.example.yaml"])
def test_the_example_configs_keep_only_the_one_a_day_summaries(example: str) -> None:
    """What users copy suggests the private choice: no hour-by-hour heart rate, RMSSD or
    stress score kept in HA for ever, only the last day's values that a trend card reads."""
    mqtt = load_config(EXAMPLES / example).mqtt
    assert mqtt is not None
    kept = {key for key in HA_STATISTICS_KEYS if mqtt.keeps_statistics(key)}
    assert kept == {key for key in HA_STATISTICS_KEYS if key.startswith("day_")}
