"""``ambient scan``: find nearby heart-rate devices and print ready-to-paste config lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from ambient.clock import Clock, RealClock
from ambient.config.checks import SCAN_PERSON_PLACEHOLDER
from ambient.sensors.ble import BleBackend, cannot_scan, changes_address
from ambient.sensors.heart_rate import HEART_RATE_SERVICE_UUID

#: Exit codes: found something / found nothing / Bluetooth unusable. Both failures are 1, as
#: every command's "cannot do it"; 2 is left to the parser's usage errors.
FOUND, NOTHING_FOUND, BLUETOOTH_ERROR = 0, 1, 1


async def scan(
    adapter: str | None,
    timeout_s: float,
    out: TextIO,
    *,
    err: TextIO | None = None,
    backend: type[BleBackend] | None = None,
    clock: Clock | None = None,
    people: Sequence[str] | None = None,
) -> int:
    """Listen ``timeout_s`` for devices advertising the Heart Rate Service; print one config
    entry per device (strongest signal first) to ``out`` and return an exit code. Why nothing
    was listed is one line on ``err`` (stderr), so ``out`` holds config lines only.
    ``people``: the ids under the config's ``people:`` (None: no config read), for whose
    heart each entry is (see :func:`person_line`)."""
    err = err or sys.stderr
    seen: dict[str, tuple[BLEDevice, AdvertisementData]] = {}

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        seen[device.address] = (device, adv)

    bluez: BlueZScannerArgs = {"adapter": adapter} if adapter else {}
    scanner = BleakScanner(
        on_advertisement,
        service_uuids=[HEART_RATE_SERVICE_UUID],
        bluez=bluez,
        backend=(backend or BleBackend).scanner,
    )
    where = adapter or "the default adapter"
    try:
        await scanner.start()
        try:
            await (clock or RealClock()).sleep(timeout_s)  # the scan's length
        finally:
            await scanner.stop()
    except (BleakError, OSError, EOFError) as exc:  # as a BLE sensor's scan failures
        err.write(f"ambient scan: {cannot_scan(adapter, exc)}\n")
        return BLUETOOTH_ERROR

    if not seen:
        err.write(
            f"ambient scan: no heart-rate devices seen on {where} in {timeout_s:g} s: wear the "
            "strap (most only advertise with skin contact) and make sure nothing is connected "
            "to it (a phone app, or `ambient run` reading it already); a watch advertises "
            "heart rate only while it broadcasts it (turn that on on the watch)\n"
        )
        return NOTHING_FOUND

    out.write("sensors:\n")
    ranked = sorted(seen.values(), key=lambda item: item[1].rssi, reverse=True)
    # entries found by name: one per name, however many private addresses it came from
    by_name: dict[str, list[str]] = {}
    steady: dict[str, list[str]] = {}  # the addresses that stay, by name
    for device, adv in ranked:
        name = adv.local_name or device.name
        if name:
            (by_name if changes_address(device) else steady).setdefault(name, []).append(
                device.address
            )
    for device, adv in ranked:
        name = adv.local_name or device.name
        # (a device whose address stays is an entry of its own, by its address)
        private = by_name.get(name) if name and changes_address(device) else None
        if private is not None and device.address != private[0]:
            continue  # its name's entry is written already
        out.write(f"  # {name or 'unnamed'}, RSSI {adv.rssi} dBm\n")
        out.write("  - type: ble\n")
        if private is not None and len(private) > 1:
            out.write(
                f"    # seen from {len(private)} private addresses ({', '.join(private)}): one "
                "device that changed it meanwhile, or several advertising this name, which `name:` "
                "cannot tell apart (give each its own name on the device)\n"
            )
        elif private is not None:
            out.write(
                f"    # address: {json.dumps(device.address)}  # private: the device changes "
                "it every few minutes, so it is found by name\n"
            )
        else:
            out.write(f"    address: {json.dumps(device.address)}\n")
        if private is None and name in by_name:
            others = ", ".join(by_name[name])
            out.write(
                f"    # also seen by this name from private addresses ({others}): another "
                "device, whose entry is by name; `address:` keeps to this one\n"
            )
        elif private is not None and name in steady:
            out.write(
                f"    # a device of a steady address ({', '.join(steady[name])}) advertises this "
                "name too, which `name:` may find instead (give this one its own name)\n"
            )
        if name:
            out.write(f"    name: {json.dumps(name)}\n")
        out.write(person_line(people))
        if adapter:
            out.write(f"    adapter: {adapter}\n")
    return FOUND


def person_line(people: Sequence[str] | None) -> str:
    """The entry's ``person:``: the config's one person, ready as printed; else a placeholder
    ``ambient check`` refuses, saying what to put (whose strap it is cannot be known)."""
    if people is not None and len(people) == 1:
        return f"    person: {people[0]}  # whose heart this is\n"
    choice = f"one of {', '.join(people)}" if people else "a person under `people:`"
    return f"    person: {SCAN_PERSON_PLACEHOLDER}  # whose heart this is: {choice}\n"
