"""A sensor's own ``stale_after``: a watch whose heart rate comes every 15 minutes (through HA,
MQTT or a recording of it) keeps its readings current for its own span, while every other
sensor's go stale after the signals' ``stale_after``."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from ambient.config import load_config
from ambient.simulate import simulate

#: A watch's heart rate every 15 minutes for an hour, and nothing else.
WATCH_ROWS = "t,metric,value,person\n" + "".join(
    f"{minute * 60},hr,{70 + minute % 2},alex\n" for minute in range(0, 60, 15)
)
LAST_S = 45 * 60.0


#: The watch's recording sensor, with its id or without, after another sensor (then named
#: `recording1` by its place among the sensors, as `run` names it).
NAMED = "{type: recording, id: watch, path: watch.csv, person: alex"
UNNAMED = "{type: homeassistant, entity_id: sensor.steps, metric: steps}, " + (
    "{type: recording, path: watch.csv, person: alex"
)


def _config(tmp_path: Path, sensor_stale_after: str, sensors: str) -> Path:
    (tmp_path / "watch.csv").write_text(WATCH_ROWS)
    path = tmp_path / "ambient.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            people: [{{id: alex}}]
            store: {{path: null}}
            homeassistant: {{url: "http://localhost:8123", token: abc}}
            sensors: [{sensors}{sensor_stale_after}}}]
            rules:
              - id: fast
                triggers: [{{trigger: signal, signal: hr, above: 100}}]
                actions: [{{action: log, message: fast}}]
            """
        )
    )
    return path


def _hr_known_share(tmp_path: Path, sensor_stale_after: str, sensors: str = NAMED) -> float:
    """The share of the time from the first reading to the last that `hr` was known."""
    config = load_config(_config(tmp_path, sensor_stale_after, sensors))
    result = asyncio.run(simulate(config, None, keep_signals=True))
    changes = [
        (u.time - result.start, u.values["hr"].value) for u in result.signals if "hr" in u.values
    ]
    known_s = 0.0
    for (t, value), (next_t, _) in zip(changes, [*changes[1:], (LAST_S, None)], strict=True):
        if value is not None:
            known_s += min(next_t, LAST_S) - t
    return known_s / LAST_S


@pytest.mark.parametrize("sensors", [NAMED, UNNAMED])
def test_a_sensor_with_its_own_stale_after_keeps_its_heart_rate_current_between_samples(
    tmp_path: Path, sensors: str
) -> None:
    assert _hr_known_share(tmp_path, ", stale_after: 20min", sensors) > 0.99


def test_without_it_a_sparse_heart_rate_is_known_for_moments(tmp_path: Path) -> None:
    assert _hr_known_share(tmp_path, "") < 0.02


def _firings(tmp_path: Path, heart_rates: list[int]) -> dict[str, list[float]]:
    """Per rule, the minutes it fired at, for a watch's heart rate every 15 minutes."""
    rows = "".join(f"{i * 900},hr,{hr},alex\n" for i, hr in enumerate(heart_rates))
    (tmp_path / "watch.csv").write_text("t,metric,value,person\n" + rows)
    path = tmp_path / "ambient.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            people: [{id: alex, resting_hr: 65}]
            store: {path: null}
            sensors:
              - {type: recording, path: watch.csv, person: alex, stale_after: 20min}
            rules:
              - id: one_sample
                triggers: [{trigger: signal, signal: stress_score, above: 60, for: 2min}]
                actions: [{action: log, message: high}]
              - id: two_samples
                triggers: [{trigger: signal, signal: stress_score, above: 60, for: 16min}]
                actions: [{action: log, message: high}]
            """
        )
    )
    result = asyncio.run(simulate(load_config(path), None))
    fired: dict[str, list[float]] = {"one_sample": [], "two_samples": []}
    for trace in result.traces:
        if trace.event == "fired":
            fired[trace.rule].append(round((trace.time - result.start) / 60))
    return fired


def test_a_watch_score_holds_its_sample_so_a_rule_for_longer_than_the_interval_needs_two(
    tmp_path: Path,
) -> None:
    """HR alone every 15 minutes: the score is the latest sample's, held until the next; a
    `for:` shorter than the interval fires on one high sample, one longer than it on two in a
    row (as docs/homeassistant.md says)."""
    assert _firings(tmp_path, [68, 70, 69, 71, 95, 72, 70]) == {
        "one_sample": [62],
        "two_samples": [],
    }
    assert _firings(tmp_path, [68, 70, 69, 71, 95, 97, 72, 70]) == {
        "one_sample": [62],
        "two_samples": [76],
    }


def test_a_bluetooth_sensor_is_known_by_the_source_name_its_readings_carry() -> None:
    """Its own `stale_after` and its place among a person's sources follow its readings: its
    id, else the device's name, else its address."""
    from ambient.clock import VirtualClock
    from ambient.config.sensors import BleSensorConfig
    from ambient.counters import Counters
    from ambient.sensors.ble import BleSensor
    from ambient.sensors.factory import sensor_name

    for fields, source in (
        ({"id": "strap", "name": "Polar H10 1234ABCD"}, "strap"),
        ({"name": "Polar H10 1234ABCD"}, "Polar H10 1234ABCD"),
        ({"address": "A0:9E:1A:12:34:56"}, "A0:9E:1A:12:34:56"),
    ):
        config = BleSensorConfig.model_validate({"type": "ble", **fields})
        assert sensor_name(config, 3) == source
        assert BleSensor(config, VirtualClock(), Counters()).name == source
