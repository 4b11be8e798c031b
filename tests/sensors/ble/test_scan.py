"""``ambient scan`` through real bleak against emulated devices: config lines ready to paste."""

from __future__ import annotations

import io

import yaml
from bleak.backends.bluezdbus.defs import BLUEZ_ERROR_NOT_READY
from sensors.ble.ble_harness import air
from sensors.ble.bumble_backend import EmulatedAir
from sensors.ble.strap import EmulatedStrap

from ambient.config.sensors import BleSensorConfig
from ambient.sensors.scan import BLUETOOTH_ERROR, FOUND, NOTHING_FOUND, scan

__all__ = ["air"]


async def test_scan_lists_heart_rate_devices_as_valid_config(air: EmulatedAir) -> None:
    for name, address, is_hr in [
        ("Polar H10 8C4A2B1D", "F4:00:00:00:00:01", True),
        ("HRM-Dual:123", "F4:00:00:00:00:02", True),
        ("Kitchen scale", "F4:00:00:00:00:03", False),
    ]:
        await EmulatedStrap(air, name=name, address=address, advertise_heart_rate=is_hr).start()
    out = io.StringIO()

    assert await scan("hci1", 0.2, out, backend=air.backend) == FOUND

    text = out.getvalue()
    entries = yaml.safe_load(text)["sensors"]
    configs = [BleSensorConfig.model_validate(entry) for entry in entries]
    assert {c.address for c in configs} == {"F4:00:00:00:00:01", "F4:00:00:00:00:02"}
    assert {c.name for c in configs} == {"Polar H10 8C4A2B1D", "HRM-Dual:123"}
    assert all(c.adapter == "hci1" for c in configs)
    assert "RSSI" in text
    assert "Kitchen scale" not in text


async def test_scan_with_nothing_around_says_what_to_try_in_one_line_on_stderr(
    air: EmulatedAir,
) -> None:
    """Only config lines go to stdout (`ambient scan >> ambient.yaml`); why there are none is
    said where the user sees it."""
    out, err = io.StringIO(), io.StringIO()
    assert await scan(None, 0.05, out, err=err, backend=air.backend) == NOTHING_FOUND
    assert out.getvalue() == ""
    [line] = err.getvalue().splitlines()
    assert line.startswith("ambient scan: no heart-rate devices seen on the default adapter")


async def test_scan_on_an_unusable_adapter_explains_in_one_line_on_stderr(
    air: EmulatedAir,
) -> None:
    air.fail_next_scans(1, BLUEZ_ERROR_NOT_READY)
    out, err = io.StringIO(), io.StringIO()
    assert await scan("hci0", 0.05, out, err=err, backend=air.backend) == BLUETOOTH_ERROR
    assert out.getvalue() == ""
    [line] = err.getvalue().splitlines()
    assert line.startswith("ambient scan: cannot scan on hci0: ")
    assert "NotReady" in line and "bluetooth` group" in line
