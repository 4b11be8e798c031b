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


async def test_scan_with_nothing_around_says_what_to_try(air: EmulatedAir) -> None:
    out = io.StringIO()
    assert await scan(None, 0.05, out, backend=air.backend) == NOTHING_FOUND
    assert "no heart-rate devices" in out.getvalue()


async def test_scan_on_an_unusable_adapter_explains(air: EmulatedAir) -> None:
    air.fail_next_scans(1, BLUEZ_ERROR_NOT_READY)
    out = io.StringIO()
    assert await scan("hci0", 0.05, out, backend=air.backend) == BLUETOOTH_ERROR
    assert "NotReady" in out.getvalue()
    assert "bluetooth` group" in out.getvalue()
