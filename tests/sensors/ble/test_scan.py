"""``ambient scan`` through real bleak against emulated devices: config lines ready to paste."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from bleak.backends.bluezdbus.defs import BLUEZ_ERROR_IN_PROGRESS, BLUEZ_ERROR_NOT_READY
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)
from sensors.ble.ble_harness import air
from sensors.ble.bumble_backend import EmulatedAir, bluez_error
from sensors.ble.strap import EmulatedStrap

from ambient.config import ConfigError, load_config
from ambient.config.checks import SCAN_PERSON_PLACEHOLDER
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
    # a strap connected to a running ambient (or a phone) does not advertise
    assert "phone app" in line and "ambient run" in line
    # a watch advertises heart rate only while it broadcasts it (a mode turned on on the watch)
    assert "watch" in line and "broadcast" in line


async def test_scan_on_an_unusable_adapter_explains_in_one_line_on_stderr(
    air: EmulatedAir,
) -> None:
    air.fail_next_scans(1, BLUEZ_ERROR_NOT_READY)
    out, err = io.StringIO(), io.StringIO()
    assert await scan("hci0", 0.05, out, err=err, backend=air.backend) == BLUETOOTH_ERROR
    assert out.getvalue() == ""
    [line] = err.getvalue().splitlines()
    assert line.startswith("ambient scan: cannot scan on hci0: ")
    assert "NotReady" in line and "bluetoothctl power on" in line


_NOT_AVAILABLE = BleakBluetoothNotAvailableReason


@pytest.mark.parametrize(
    ("error", "said", "fix"),
    [
        (
            BleakBluetoothNotAvailableError(
                "No powered Bluetooth adapters found. Turn on Bluetooth and try again.",
                _NOT_AVAILABLE.POWERED_OFF,
            ),
            "No powered Bluetooth adapters found",
            "bluetoothctl power on",
        ),
        (bluez_error(BLUEZ_ERROR_NOT_READY), "NotReady", "bluetoothctl power on"),
        (
            BleakBluetoothNotAvailableError(
                "No Bluetooth adapters found.", _NOT_AVAILABLE.NO_BLUETOOTH
            ),
            "No Bluetooth adapters found",
            "bluetoothctl list",
        ),
        (BleakError("adapter 'hci1' not found"), "adapter 'hci1' not found", "bluetoothctl list"),
        (
            BleakDBusError(
                "org.freedesktop.DBus.Error.ServiceUnknown",
                ["The name org.bluez was not provided by any .service files"],
            ),
            "org.bluez was not provided",
            "systemctl start bluetooth",
        ),
        (
            BleakDBusError(
                "org.freedesktop.DBus.Error.AccessDenied",
                ["Rejected send message, 2 matched rules"],
            ),
            "AccessDenied",
            "`bluetooth` group",
        ),
        (
            BleakBluetoothNotAvailableError(
                "Authentication failed", _NOT_AVAILABLE.DENIED_BY_SYSTEM
            ),
            "Authentication failed",
            "`bluetooth` group",
        ),
        (bluez_error(BLUEZ_ERROR_IN_PROGRESS), "InProgress", "busy"),
        (TimeoutError(), "D-Bus not reachable (TimeoutError)", "system D-Bus"),
    ],
    ids=[
        "powered-off",
        "adapter-not-ready",
        "no-adapter",
        "no-such-adapter",
        "no-bluetoothd",
        "dbus-denied",
        "auth-denied",
        "busy",
        "dbus-timeout",
    ],
)
async def test_scan_says_why_bluetooth_cannot_be_used_and_the_fix_for_that_reason(
    air: EmulatedAir, error: Exception, said: str, fix: str
) -> None:
    """Powered off, no adapter, no bluetoothd, not allowed, busy: each its own fix, in bleak's
    words (not the repr of its exception's arguments)."""
    air.fail_next_scans(1, error)
    out, err = io.StringIO(), io.StringIO()
    assert await scan(None, 0.05, out, err=err, backend=air.backend) == BLUETOOTH_ERROR
    [line] = err.getvalue().splitlines()
    assert line.startswith("ambient scan: cannot scan on the default adapter: ")
    assert said in line and fix in line
    assert "Reason" not in line and "('" not in line
    # bleak's sentence and the fix are one line, not two sentences glued by ".;"
    assert ".;" not in line


async def test_scan_keeps_out_an_address_the_watch_changes_and_finds_it_by_name(
    air: EmulatedAir,
) -> None:
    """A watch broadcasting heart rate from a private (resolvable) address changes it every few
    minutes: an `address:` would match for minutes only, so the entry finds it by `name`, and
    shows the address as a comment saying why. A strap's static random address is kept."""
    await EmulatedStrap(air, name="Forerunner 255", address="5A:11:22:33:44:55").start()
    await EmulatedStrap(air, name="TICKR 1234", address="F4:00:00:00:00:07").start()
    out = io.StringIO()

    assert await scan(None, 0.2, out, backend=air.backend) == FOUND

    entries = {e["name"]: e for e in yaml.safe_load(out.getvalue())["sensors"]}
    assert "address" not in entries["Forerunner 255"]
    assert entries["TICKR 1234"]["address"] == "F4:00:00:00:00:07"
    [comment] = [line for line in out.getvalue().splitlines() if "5A:11:22:33:44:55" in line]
    assert comment.lstrip().startswith("#") and "changes" in comment
    assert all(BleSensorConfig.model_validate(entry) for entry in entries.values())


async def test_scan_writes_one_entry_for_a_name_seen_from_several_private_addresses(
    air: EmulatedAir,
) -> None:
    """Two watches of one model (two people), or one that changed its address meanwhile: an
    entry finds them by name, so one entry, saying both addresses and what to do; two identical
    entries would be two sensors for whichever is seen first."""
    await EmulatedStrap(air, name="Forerunner 255", address="5A:11:22:33:44:55").start()
    await EmulatedStrap(air, name="Forerunner 255", address="4B:11:22:33:44:66").start()
    out = io.StringIO()

    assert await scan(None, 0.2, out, backend=air.backend) == FOUND

    [entry] = yaml.safe_load(out.getvalue())["sensors"]
    assert entry["name"] == "Forerunner 255" and "address" not in entry
    [comment] = [line for line in out.getvalue().splitlines() if "private addresses" in line]
    assert "5A:11:22:33:44:55" in comment and "4B:11:22:33:44:66" in comment
    assert "its own name" in comment


async def test_scan_lists_a_device_of_a_steady_address_beside_a_private_one_of_its_name(
    air: EmulatedAir,
) -> None:
    """A strap whose address stays (static) and a watch advertising the same name from a
    private one: the entry by name stands for the private addresses only; the strap keeps its
    own entry, with its address, which tells it apart from the watch."""
    await EmulatedStrap(air, name="HRM-Dual", address="5A:11:22:33:44:55").start()
    await EmulatedStrap(air, name="HRM-Dual", address="F4:00:00:00:00:08").start()
    out = io.StringIO()

    assert await scan(None, 0.2, out, backend=air.backend) == FOUND

    entries = yaml.safe_load(out.getvalue())["sensors"]
    assert sorted(str(e.get("address")) for e in entries) == ["F4:00:00:00:00:08", "None"]
    assert all(e["name"] == "HRM-Dual" for e in entries)
    # each entry says the other is there: `name:` alone may find the strap
    assert (
        "    # also seen by this name from private addresses (5A:11:22:33:44:55): another "
        "device, whose entry is by name; `address:` keeps to this one\n"
    ) in out.getvalue()
    assert (
        "    # a device of a steady address (F4:00:00:00:00:08) advertises this name too, "
        "which `name:` may find instead (give this one its own name)\n"
    ) in out.getvalue()


async def test_scan_when_dbus_hangs_up_says_so_in_one_line_not_a_traceback(
    air: EmulatedAir,
) -> None:
    """dbus-fast raises EOFError when the bus closes the connection (a sensor counts it as a
    scan failure): `ambient scan` says so in its one line and exits 2."""
    air.fail_next_scans(1, EOFError())
    out, err = io.StringIO(), io.StringIO()
    assert await scan(None, 0.05, out, err=err, backend=air.backend) == BLUETOOTH_ERROR
    [line] = err.getvalue().splitlines()
    assert line.startswith("ambient scan: cannot scan on the default adapter: D-Bus closed")


def _pasted_under(people: list[str], snippet: str) -> str:
    """A config with ``people`` and the scan's lines as its sensors, as a user pastes them."""
    listed = "".join(f"  - id: {person}\n" for person in people)
    return f"people:\n{listed}{snippet}"


async def test_scan_for_a_config_of_one_person_writes_lines_check_accepts(
    air: EmulatedAir, tmp_path: Path
) -> None:
    """With the config's one person the entry is ready as printed (a `person: default` was
    refused by `ambient check` until changed by hand)."""
    await EmulatedStrap(air, name="Polar H10 8C4A2B1D", address="F4:00:00:00:00:01").start()
    out = io.StringIO()

    assert await scan(None, 0.2, out, backend=air.backend, people=["alex"]) == FOUND

    [entry] = yaml.safe_load(out.getvalue())["sensors"]
    assert entry["person"] == "alex"
    path = tmp_path / "ambient.yaml"
    path.write_text(_pasted_under(["alex"], out.getvalue()))
    load_config(path, environment=False)  # no problem


async def test_scan_for_several_people_writes_a_placeholder_check_explains(
    air: EmulatedAir, tmp_path: Path
) -> None:
    """Whose strap it is cannot be known: the entry says so, and `ambient check` names the
    placeholder as the scan's and lists the people to choose from."""
    await EmulatedStrap(air, name="Polar H10 8C4A2B1D", address="F4:00:00:00:00:01").start()
    out = io.StringIO()

    assert await scan(None, 0.2, out, backend=air.backend, people=["alex", "sam"]) == FOUND

    [entry] = yaml.safe_load(out.getvalue())["sensors"]
    assert entry["person"] == SCAN_PERSON_PLACEHOLDER
    [person_line] = [line for line in out.getvalue().splitlines() if "person:" in line]
    assert "alex, sam" in person_line
    path = tmp_path / "ambient.yaml"
    path.write_text(_pasted_under(["alex", "sam"], out.getvalue()))
    with pytest.raises(ConfigError) as refused:
        load_config(path, environment=False)
    [issue] = [str(issue) for issue in refused.value.issues]
    assert f"`{SCAN_PERSON_PLACEHOLDER}`" in issue and "ambient scan" in issue
    assert "alex, sam" in issue
