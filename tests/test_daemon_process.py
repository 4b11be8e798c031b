"""A real `ambient run` process: SIGTERM/SIGINT stop it cleanly within 2 s; SIGHUP reloads the
config, and an invalid new config is reported while the running one stays."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, clean_env, run_ambient

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "ambient" / "data" / "resting-hour.csv"

CONFIG = """\
people:
  - id: alex
sensors:
  - type: recording
    path: {recording}
    person: alex
    loop: true
rules:
  - id: {rule_id}
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
    actions:
      - action: log
store:
  path: {store}
"""


def start_daemon(config: Path) -> AmbientProcess:
    """``ambient run`` on ``config`` at ten times real speed."""
    return AmbientProcess("run", "--config", str(config), "--speed", "10")


def with_a_second_rule(store: Path) -> str:
    """The config with its rule and a second one (reloading it says ``2 rules``)."""
    second_rule = (
        "  - id: second\n    triggers:\n      - trigger: signal\n        signal: hr\n"
        "        above: 150\n    actions:\n      - action: log\nstore:"
    )
    return CONFIG.format(recording=RECORDING, store=store, rule_id="calm").replace(
        "store:", second_rule
    )


@pytest.fixture
def write_config(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    config = tmp_path / "ambient.yaml"
    store = tmp_path / "state" / "ambient.db"
    config.write_text(CONFIG.format(recording=RECORDING, store=store, rule_id="calm"))
    yield config, store


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_shuts_down_cleanly(write_config: tuple[Path, Path], signum: int) -> None:
    """How fast is a speed target for bench/, not a wall-clock limit here (a busy machine would
    make it flake); the generous wait only keeps a hung process from hanging the suite."""
    config, store = write_config
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    daemon.process.send_signal(signum)
    returncode = daemon.process.wait(timeout=30)
    assert returncode == 0
    assert store.exists()
    assert oct(store.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_is_one_info_line_naming_it_and_how_long_it_ran(
    write_config: tuple[Path, Path], signum: signal.Signals
) -> None:
    """A systemd stop or a reboot reads in the journal as a stop, not as a crash or silence;
    the line holds no heart data (the recording's values are nowhere in it)."""
    config, _ = write_config
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    daemon.process.send_signal(signum)
    assert daemon.process.wait(timeout=30) == 0
    lines = daemon.stderr.all_lines()
    stopped = [line for line in lines if "Stopped" in line]
    assert len(stopped) == 1, "".join(lines)
    assert "INFO" in stopped[0]
    # Nothing after the uptime: no reading, no signal value.
    assert re.search(rf"Stopped on {signum.name} after (\d+(h|min|s))+$", stopped[0]), stopped[0]


def test_recordings_that_run_out_end_the_run_with_one_info_line_saying_so(tmp_path: Path) -> None:
    """A `run` whose recordings do not loop stops when they end: the journal says so, as it
    does for a signal, rather than ending on the last reading as a crash would."""
    recording = tmp_path / "short.csv"
    beats = "".join(f"{0.8 * n:.1f},rr,800,alex\n" for n in range(1, 21))  # 16 s of beats
    recording.write_text("t,metric,value,person\n" + beats, encoding="utf-8")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        CONFIG.format(recording=recording, store=tmp_path / "ambient.db", rule_id="calm").replace(
            "loop: true", "loop: false"
        )
    )
    done = run_ambient("run", "--config", str(config), "--speed", "10")
    assert done.returncode == 0, done.stderr
    stopped = [line for line in done.stderr.splitlines() if "Stopped" in line]
    assert len(stopped) == 1, done.stderr
    assert "INFO" in stopped[0]
    assert re.search(r"Stopped: its recordings ended after (\d+(h|min|s))+$", stopped[0])


def test_sigcont_after_sigstop_tells_insights_the_pause_counts_nothing(
    write_config: tuple[Path, Path],
) -> None:
    """A `kill -STOP` (or Ctrl-Z) and `kill -CONT`: both clocks ran on over the stop, so
    the SIGCONT handler is what keeps the held stress score from counting over the pause."""
    config, store = write_config
    on_every_beat = CONFIG.format(recording=RECORDING, store=store, rule_id="beat")
    config.write_text(on_every_beat.replace("stress_score", "hr").replace("above: 70", "above: 1"))
    daemon = start_daemon(config)
    daemon.stdout.wait_for("fired")  # an update came: the insights hold its values
    daemon.process.send_signal(signal.SIGSTOP)
    _, status = os.waitpid(daemon.process.pid, os.WUNTRACED)  # until it is stopped
    assert os.WIFSTOPPED(status)
    daemon.process.send_signal(signal.SIGCONT)
    line = daemon.stderr.wait_for("Resumed after a stop (SIGCONT)")
    assert "since the last update of alex not counted in the daily minutes" in line
    daemon.process.terminate()
    assert daemon.process.wait(timeout=30) == 0


def test_sighup_reloads_a_valid_config(write_config: tuple[Path, Path]) -> None:
    config, _ = write_config
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    reload_a_valid_config_and_stop(daemon, config)


def test_sighup_with_an_invalid_config_keeps_the_running_one(
    write_config: tuple[Path, Path],
) -> None:
    config, _ = write_config
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    config.write_text("rules:\n  - id: calm\n    cooldwn: 5min\n")
    os.kill(daemon.process.pid, signal.SIGHUP)
    daemon.stderr.wait_for("New config rejected, keeping the running one")
    daemon.stderr.wait_for("did you mean `cooldown`?")
    assert daemon.process.poll() is None
    reload_a_valid_config_and_stop(daemon, config)


def reload_a_valid_config_and_stop(daemon: AmbientProcess, config: Path) -> None:
    """The daemon reloads a valid config, and had never stopped before (after a rejected config
    its sensors and rules ran on: `Running:` only at the start and after the valid reload)."""
    store = config.parent / "state" / "ambient.db"
    config.write_text(with_a_second_rule(store))
    os.kill(daemon.process.pid, signal.SIGHUP)
    daemon.stderr.wait_for("Config reloaded")
    daemon.stderr.wait_for("Running: 1 sensor, 2 rules")
    daemon.process.terminate()
    assert daemon.process.wait(timeout=10) == 0
    lines = daemon.stderr.all_lines()
    assert sum("Running:" in line for line in lines) == 2, "".join(lines)
    assert not any("Traceback" in line for line in lines), "".join(lines)


HOSTILE_CONFIGS = {
    "control_character": "rules: []\ninstance: ho\x01me\n",
    "nul_byte": "rules: []\ninstance: ho\x00me\n",
    "recursive_alias": "people: &p\n  - id: alex\n    friends: *p\n",
    "nesting_3000_deep": "rules: " + "[" * 3000 + "]" * 3000 + "\n",
    "unknown_time_zone": "timezone: Mars/Olympus_Mons\n",
}


@pytest.mark.parametrize("content", HOSTILE_CONFIGS.values(), ids=HOSTILE_CONFIGS.keys())
def test_sighup_with_a_hostile_config_keeps_the_running_one(
    write_config: tuple[Path, Path], content: str
) -> None:
    config, _ = write_config
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    config.write_text(content, encoding="utf-8")
    os.kill(daemon.process.pid, signal.SIGHUP)
    rejected = daemon.stderr.wait_for("New config rejected, keeping the running one")
    assert "(1 problem):" in rejected
    assert daemon.process.poll() is None
    reload_a_valid_config_and_stop(daemon, config)


def test_sighup_with_a_config_whose_store_cannot_open_goes_back_to_the_running_one(
    write_config: tuple[Path, Path],
) -> None:
    """The trial wiring uses a store in memory, so a key file that is missing is found only when
    the new config is wired for real: the previous config is wired again, and serves."""
    config, store = write_config
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    missing_key = config.parent / "no-such-key"
    config.write_text(with_a_second_rule(store) + f"  encryption:\n    key_file: {missing_key}\n")
    os.kill(daemon.process.pid, signal.SIGHUP)
    daemon.stderr.wait_for("Config reloaded")
    line = daemon.stderr.wait_for("New config could not be started, going back to the previous one")
    assert f"{missing_key} does not exist" in line
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")  # the previous config: one rule
    daemon.process.terminate()
    assert daemon.process.wait(timeout=10) == 0
    assert not any("Traceback" in line for line in daemon.stderr.all_lines())


def test_going_back_to_the_running_config_keeps_its_store_its_own(
    write_config: tuple[Path, Path],
) -> None:
    """A new config on another store that cannot open sends the daemon back to the running
    one: a second daemon on that store is still refused (the socket moved back with it)."""
    config, store = write_config
    running_config = config.with_name("running.yaml")
    running_config.write_text(config.read_text())
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    missing_key = config.parent / "no-such-key"
    other_store = config.parent / "other" / "ambient.db"
    config.write_text(
        with_a_second_rule(other_store) + f"  encryption:\n    key_file: {missing_key}\n"
    )
    os.kill(daemon.process.pid, signal.SIGHUP)
    daemon.stderr.wait_for("going back to the previous one")
    daemon.stderr.wait_for("Running: 1 sensor, 1 rule")
    second = run_ambient("run", str(running_config), env=clean_env())
    daemon.process.terminate()
    assert daemon.process.wait(timeout=10) == 0
    assert second.returncode == 1
    assert f"it answers on {store.with_name('ambient.sock')}" in second.stderr


def test_a_config_without_sensors_keeps_its_rules_running(tmp_path: Path) -> None:
    """Rules on HA entities, times or MQTT triggers need no sensor: the daemon must not take
    "every sensor finished" for "nothing left to do" when there were none to begin with."""
    config = tmp_path / "ambient.yaml"
    store = tmp_path / "state" / "ambient.db"
    rules_only = (
        "rules:\n  - id: evening\n    triggers:\n      - trigger: time\n        at: '21:00'\n"
        f"    actions:\n      - action: log\nstore:\n  path: {store}\n"
    )
    config.write_text(rules_only)
    daemon = start_daemon(config)
    daemon.stderr.wait_for("Running: 0 sensors, 1 rule")
    os.kill(daemon.process.pid, signal.SIGHUP)
    daemon.stderr.wait_for("Config reloaded")
    daemon.stderr.wait_for("Running: 0 sensors, 1 rule")
    daemon.process.terminate()
    assert daemon.process.wait(timeout=10) == 0
