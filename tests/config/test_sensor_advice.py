"""`ambient check`'s warnings on sensors and the rules that read them."""

from __future__ import annotations

from pathlib import Path

from ambient.clock import VirtualClock
from ambient.config import config_warnings, load_config
from ambient.config import sensors as sensors_config
from ambient.connections import Connections
from ambient.counters import Counters
from ambient.sensors import factory

WATCH = """\
people: [{id: alex}]
homeassistant: {url: 'http://ha.local:8123', token: t}
sensors:
  - {type: homeassistant, id: alex_watch, entity_id: sensor.watch_heart_rate, metric: hr,
     person: alex, stale_after: 20min}
rules:
  - id: calm
    person: alex
    triggers: [{trigger: signal, signal: stress_score, above: 70, for: FOR}]
    actions: [{action: log, message: calm}]
"""


def warnings(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_a_for_shorter_than_a_sampling_watchs_stale_after_is_a_warning(tmp_path: Path) -> None:
    """A watch that samples every 15 minutes holds each sample 20 minutes: `for: 2min` fires
    two minutes after one high sample (a walk up the stairs), which the user did not mean."""
    [warning] = warnings(tmp_path, WATCH.replace("FOR", "2min"))
    assert "rules[0].triggers[0].for" in warning
    assert (
        "alex_watch" in warning
        and "`stale_after` (20min)" in warning
        and "so one sample above 70 fires this rule" in warning
    )
    assert warnings(tmp_path, WATCH.replace("FOR", "16min")) == []


def test_the_warning_says_the_for_as_written(tmp_path: Path) -> None:
    """`for: 1.5s` was quoted back as `for: 2s`, a value the config does not hold."""
    [warning] = warnings(tmp_path, WATCH.replace("FOR", "1.5s"))
    assert "`for: 1.5s` is well under the `stale_after` (20min)" in warning


def test_the_warning_names_the_triggers_own_side_of_its_threshold(tmp_path: Path) -> None:
    """A rule on a slow heart (`hr below 50`) is fired by one low sample, not a high one."""
    slow = WATCH.replace("FOR", "2min").replace(
        "signal: stress_score, above: 70", "signal: hr, below: 50"
    )
    [warning] = warnings(tmp_path, slow)
    assert "each holds `hr` until the next, so one sample below 50 fires this rule" in warning
    assert "high" not in warning


def test_no_warning_while_a_streaming_source_of_the_person_has_no_span_of_its_own(
    tmp_path: Path,
) -> None:
    """A strap worn beside the watch sends every second: `for: 2min` then means two minutes."""
    strap = WATCH.replace("FOR", "2min").replace(
        "rules:", "  - {type: ble, person: alex, name: Polar H10 1234ABCD}\nrules:"
    )
    assert warnings(tmp_path, strap) == []


def test_a_strap_without_a_person_leaves_alexs_watch_warned_of(tmp_path: Path) -> None:
    """It gives `default`'s readings: alex's are the watch's alone, so `for: 2min` is still
    fired by one of its samples."""
    strap = WATCH.replace("FOR", "2min").replace(
        "rules:", "  - {type: ble, name: Polar H10 1234ABCD}\nrules:"
    )
    assert [w for w in warnings(tmp_path, strap) if "rules[0].triggers[0].for" in w] != []


def test_the_warning_names_a_sensor_without_an_id_as_status_and_check_do(tmp_path: Path) -> None:
    """One name for a sensor: the config layer's, which the sensors' layer gives its own."""
    unnamed = WATCH.replace("FOR", "2min").replace("id: alex_watch, ", "")
    [warning] = warnings(tmp_path, unnamed)
    assert "of sensor `homeassistant0`" in warning


EACH_KIND = """\
people: [{id: alex}]
mqtt: {host: localhost}
homeassistant: {url: 'http://ha.local:8123', token: t}
sensors:
  - {type: recording, path: alex.csv}
  - {type: ble, name: Polar H10 1234ABCD}
  - {type: mqtt, topic: watch/hr, metric: hr}
  - {type: satellite, instances: [bedroom]}
  - {type: homeassistant, entity_id: sensor.watch_heart_rate, metric: hr}
  - {type: homeassistant, id: alex_watch, entity_id: sensor.watch_rr, metric: rr}
  - {type: ble, address: 'A0:9E:1A:12:34:56', adapter: hci1}
"""


def test_check_and_the_running_sensors_name_each_kind_of_sensor_alike(tmp_path: Path) -> None:
    """What `check` calls a sensor is what the daemon's sensor goes by in `status`, the log
    and its counters: its id, else a strap's configured name or address (as the user wrote
    it and `ambient scan` prints it), else its type and place. A strap without an id was
    `ble1` in `check` but `Polar H10 1234ABCD` in `status`."""
    path = tmp_path / "ambient.yaml"
    path.write_text(EACH_KIND, encoding="utf-8")
    (tmp_path / "alex.csv").write_text("t,metric,value\n0,hr,60\n", encoding="utf-8")
    config = load_config(path)
    connections = Connections(config, VirtualClock(0.0), Counters())
    checked = [sensors_config.sensor_name(s, index) for index, s in enumerate(config.sensors)]
    running = [
        factory.build_sensor(s, index, connections).name for index, s in enumerate(config.sensors)
    ]
    assert checked == running
    assert running == [
        "recording0",
        "Polar H10 1234ABCD",
        "mqtt2",
        "satellite3",
        "homeassistant4",
        "alex_watch",
        "A0:9E:1A:12:34:56",
    ]


def test_two_straps_of_one_name_without_ids_are_named_once_each(tmp_path: Path) -> None:
    """A strap without an id goes by the name it searches for: the warning says that name
    once, not once more after each entry."""
    [warning] = warnings(
        tmp_path,
        "people: [{id: alex}]\nsensors:\n"
        "  - {type: ble, person: alex, name: HRM-Dual}\n"
        "  - {type: ble, person: alex, name: HRM-Dual}\n",
    )
    assert (
        "sensors[1].name: sensors[1] searches for the name of sensors[0], `HRM-Dual`: `run` "
        in warning
    )
