"""`ambient check`: the shipped configs are valid; a broken one lists every problem, exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def ambient(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ambient", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", ["ambient.example.yaml", "demo.yaml"])
def test_shipped_configs_are_accepted(name: str) -> None:
    result = ambient("check", "--config", str(ROOT / "config" / name))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "alex" in result.stdout


def test_example_shows_people_sensors_and_rules() -> None:
    result = ambient("check", "--config", str(ROOT / "config" / "ambient.example.yaml"))
    assert "Rules (3):" in result.stdout
    assert "alex_h10  (ble) for alex" in result.stdout
    assert "Connections: homeassistant, mqtt" in result.stdout
    assert "paste-your" not in result.stdout + result.stderr  # secrets never printed


def test_broken_config_exits_1_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("peple: []\nlogging:\n  level: LOUD\n")
    result = ambient("check", "--config", str(path))
    assert result.returncode == 1
    assert "2 problems:" in result.stderr
    assert f"{path}:1:1: peple: unknown key `peple`; did you mean `people`?" in result.stderr
    assert f"{path}:3:3: logging.level:" in result.stderr


def test_version() -> None:
    from ambient import __version__

    result = ambient("--version")
    assert result.stdout.strip() == f"ambient {__version__}"
