"""Parts a config does not use cost nothing at start-up.

Each command runs in a fresh interpreter (a subprocess, so modules the test runner has already
imported do not hide an import) and reports every module it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo.yaml"

#: Libraries only the BLE, Home Assistant and MQTT parts, time/cron triggers and session-script
#: templates need (jinja2 alone is ~9 MiB in a daemon that may run on a 512 MB Pi).
OPTIONAL = ("bleak", "dbus_fast", "aiohttp", "aiomqtt", "paho", "apscheduler", "jinja2")

_REPORT = """\
import json, sys
from ambient.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def loaded_modules(tmp_path: Path, *argv: str, exit_code: int = 0) -> set[str]:
    """The modules ``ambient <argv>`` has loaded when it returns (with ``exit_code``)."""
    report = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", _REPORT, str(report), *argv],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=60,
    )
    result = json.loads(report.read_text())
    assert result["code"] == exit_code
    return set(result["modules"])


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_check_of_a_recording_only_config_loads_no_ble_ha_mqtt_or_scheduler(
    tmp_path: Path,
) -> None:
    loaded = packages(loaded_modules(tmp_path, "check", "--config", str(DEMO)))

    assert "pydantic" in loaded  # the report is real: the config was validated
    assert sorted(loaded.intersection(OPTIONAL)) == []


def test_check_loads_no_event_loop(tmp_path: Path) -> None:
    """Validating a config needs no asyncio (and with it ssl and libcrypto, ~9 MiB)."""
    loaded = loaded_modules(tmp_path, "check", "--config", str(DEMO))

    assert "ambient.config.root" in loaded
    assert "asyncio" not in loaded
    assert "ssl" not in loaded


def test_simulate_of_a_recording_only_config_loads_no_ble_ha_mqtt_or_scheduler(
    tmp_path: Path,
) -> None:
    """The daemon's wiring (sensors, signals, rules, actuators) for a config with a recording,
    a signal trigger and `log` actions, as `ambient run` would build it."""
    loaded = loaded_modules(tmp_path, "simulate", "--config", str(DEMO), "--json")

    assert "ambient.daemon" in loaded
    assert "ambient.rules.engine" in loaded
    assert sorted(packages(loaded).intersection(OPTIONAL)) == []


def test_simulate_without_a_plot_loads_no_envelope(tmp_path: Path) -> None:
    """The envelope a long picture is reduced to is loaded by drawing one or keeping hours of a
    replay's changes for it, not by every simulate."""
    loaded = loaded_modules(tmp_path, "simulate", "--config", str(DEMO), "--json")

    assert "ambient.evaluate.changes" in loaded  # the report is real: the replay's parts
    assert "ambient.evaluate.envelope" not in loaded


def test_a_time_trigger_loads_the_scheduler_when_the_rules_are_armed(tmp_path: Path) -> None:
    """The other side of the promise: what a config uses is still loaded."""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        DEMO.read_text()
        .replace("path: ../ambient/data/demo.csv", f"path: {ROOT / 'ambient/data/demo.csv'}")
        .replace("      - trigger: signal\n", "      - trigger: time\n        at: '07:00'\n", 1)
        .replace("        signal: stress_score\n        above: 70\n        for: 2min\n", "", 1)
        .replace("        hysteresis: 10\n", "", 1)
        .replace(" (score {stress_score})", "", 1)  # a time trigger reads no signal
    )

    loaded = loaded_modules(tmp_path, "simulate", "--config", str(config), "--json")

    assert "apscheduler.triggers.cron" in loaded


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_status_loads_no_daemon_and_no_ble_ha_mqtt(tmp_path: Path, extra: list[str]) -> None:
    """`ambient status` reads the config for the socket's place and asks over it: nothing else
    (it answers 'not running' here, which is enough to see what it loaded)."""
    config = tmp_path / "ambient.yaml"
    config.write_text(f"store:\n  path: {tmp_path / 'state' / 'ambient.db'}\n")

    loaded = loaded_modules(tmp_path, "status", "--config", str(config), *extra, exit_code=1)

    assert "ambient.status" in loaded
    assert "ambient.daemon" not in loaded
    assert "ambient.rules.engine" not in loaded
    assert "ambient.signals.engine" not in loaded
    assert sorted(packages(loaded).intersection(OPTIONAL)) == []
