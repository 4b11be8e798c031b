"""Decoding of the standard Heart Rate Service characteristics (GATT 0x180D, 0x180F).

The parser reports exactly what the bytes say, HR 0 included; turning that into readings (and
never publishing HR 0 as a heart rate) is the BLE sensor's job. Layout of Heart Rate Measurement
(0x2A37), Bluetooth SIG Heart Rate Service 1.0:

    flags (uint8) | HR (uint8, or uint16 when bit 0) | energy expended kJ (uint16, bit 3)
    | RR intervals (uint16 each in 1/1024 s, bit 4; as many as fit)

Flag bit 2 means "contact detection supported"; bit 1 is only meaningful with it (so 0x10 is
"contact unknown", not "no contact"). Bits 5-7 are reserved and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HEART_RATE_SERVICE_UUID: Final = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT_UUID: Final = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID: Final = "00002a38-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"

_HR_UINT16: Final = 0x01
_CONTACT_DETECTED: Final = 0x02
_CONTACT_SUPPORTED: Final = 0x04
_ENERGY_PRESENT: Final = 0x08
_RR_PRESENT: Final = 0x10

#: RR intervals are sent in units of 1/1024 s.
RR_UNITS_PER_SECOND: Final = 1024

#: Body Sensor Location (0x2A38) values.
BODY_SENSOR_LOCATIONS: Final[dict[int, str]] = {
    0: "other",
    1: "chest",
    2: "wrist",
    3: "finger",
    4: "hand",
    5: "ear_lobe",
    6: "foot",
}


class MalformedPacket(ValueError):
    """The bytes cannot be a value of this characteristic; ``reason`` is a short counter key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One Heart Rate Measurement notification, decoded.

    ``contact`` is ``None`` when the device does not support contact detection;
    ``rr_ms`` holds the beat-to-beat intervals in milliseconds, oldest first.
    """

    hr: int
    contact: bool | None
    energy_kj: int | None
    rr_ms: tuple[float, ...]


def parse_measurement(data: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) notification.

    Raises :class:`MalformedPacket` (a ``ValueError``) when the packet is too short for what its
    flags announce. A trailing odd byte after the RR values is ignored, as are reserved flag bits.
    """
    raw = bytes(data)
    if not raw:
        raise MalformedPacket("empty", "empty heart rate measurement")
    flags = raw[0]
    offset = 1
    if flags & _HR_UINT16:
        if len(raw) < offset + 2:
            raise MalformedPacket(
                "too_short", f"heart rate measurement of {len(raw)} bytes lacks its uint16 HR"
            )
        hr = int.from_bytes(raw[offset : offset + 2], "little")
        offset += 2
    else:
        if len(raw) < offset + 1:
            raise MalformedPacket(
                "too_short", f"heart rate measurement of {len(raw)} bytes lacks its HR"
            )
        hr = raw[offset]
        offset += 1

    contact = bool(flags & _CONTACT_DETECTED) if flags & _CONTACT_SUPPORTED else None

    energy_kj: int | None = None
    if flags & _ENERGY_PRESENT:
        if len(raw) < offset + 2:
            raise MalformedPacket(
                "too_short",
                f"heart rate measurement of {len(raw)} bytes lacks its energy expended field",
            )
        energy_kj = int.from_bytes(raw[offset : offset + 2], "little")
        offset += 2

    rr_ms: tuple[float, ...] = ()
    if flags & _RR_PRESENT:
        end = offset + (len(raw) - offset) // 2 * 2
        rr_ms = tuple(
            int.from_bytes(raw[i : i + 2], "little") * 1000.0 / RR_UNITS_PER_SECOND
            for i in range(offset, end, 2)
        )
    return HeartRateMeasurement(hr=hr, contact=contact, energy_kj=energy_kj, rr_ms=rr_ms)


def parse_battery_level(data: bytes | bytearray | memoryview) -> int:
    """Battery Level (0x2A19): percent, 0-100."""
    raw = bytes(data)
    if not raw:
        raise MalformedPacket("empty", "empty battery level")
    if raw[0] > 100:
        raise MalformedPacket("battery_out_of_range", f"battery level {raw[0]} is above 100 %")
    return raw[0]


def parse_body_sensor_location(data: bytes | bytearray | memoryview) -> str:
    """Body Sensor Location (0x2A38) as a word (``chest``, ``wrist``...); unknown codes kept."""
    raw = bytes(data)
    if not raw:
        raise MalformedPacket("empty", "empty body sensor location")
    return BODY_SENSOR_LOCATIONS.get(raw[0], f"reserved_{raw[0]}")
