"""The floors of the BLE dependencies in pyproject.toml are the versions these tests run with.
ambient's sensor needs bleak 3 (the BlueZ ``adapter`` argument in ``bleak.args.bluez``, and
``bluez=`` on ``BleakClient``): a lower floor would let pip keep an older bleak, or an older
bleak-retry-connector made for it, and the sensor would fail at its first connection."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def floor_of(name: str) -> Version:
    """The ``>=`` version pyproject.toml's dependencies give ``name``."""
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    for line in dependencies:
        requirement = Requirement(line)
        if requirement.name == name:
            (floor,) = [s.version for s in requirement.specifier if s.operator == ">="]
            return Version(floor)
    raise AssertionError(f"{name} is not a dependency")


@pytest.mark.parametrize("name", ["bleak", "bleak-retry-connector"])
def test_the_floor_is_in_the_tested_major_and_not_above_the_tested_version(name: str) -> None:
    floor, tested = floor_of(name), Version(version(name))
    assert floor.major == tested.major, f"{name}>={floor}, tested with {tested}"
    assert floor <= tested
