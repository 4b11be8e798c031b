"""The Heart Rate Measurement parser against real captures, vendor vectors and fuzzing; and the
beats and readings made from it."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ambient.readings import CONTACT, HR, RR, VALID_RANGE
from ambient.sensors.ble_backoff import Backoff
from ambient.sensors.ble_beats import MeasurementReadings, back_computed_beats
from ambient.sensors.heart_rate import (
    HeartRateMeasurement,
    MalformedPacket,
    parse_battery_level,
    parse_body_sensor_location,
    parse_measurement,
)

VECTORS = Path(__file__).resolve().parents[1] / "data" / "hrm-vectors.tsv"


def _rows() -> list[tuple[str, str, int, str, str, str]]:
    rows = []
    for line in VECTORS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        device, hex_bytes, hr, contact, energy, rr_raw, *_ = line.split("\t")
        rows.append((device, hex_bytes, int(hr), contact, energy, rr_raw))
    return rows


ROWS = _rows()


def test_the_vector_table_is_all_there() -> None:
    assert len(ROWS) == 29


@pytest.mark.parametrize(("device", "hex_bytes", "hr", "contact", "energy", "rr_raw"), ROWS)
def test_every_captured_vector_decodes_as_recorded(
    device: str, hex_bytes: str, hr: int, contact: str, energy: str, rr_raw: str
) -> None:
    measurement = parse_measurement(bytes.fromhex(hex_bytes))
    assert measurement.hr == hr
    assert measurement.contact == {"unsupported": None, "no": False, "yes": True}[contact]
    assert measurement.energy_kj == (None if energy == "-" else int(energy))
    expected_rr = () if rr_raw == "-" else tuple(int(v) * 1000 / 1024 for v in rr_raw.split(","))
    assert measurement.rr_ms == pytest.approx(expected_rr)


def test_energy_expended_comes_before_the_rr_values() -> None:
    # flags: energy + RR; HR 70; energy 300 kJ; RR 1024 and 512
    measurement = parse_measurement(bytes.fromhex("18 46 2c 01 00 04 00 02"))
    assert measurement == HeartRateMeasurement(
        hr=70, contact=None, energy_kj=300, rr_ms=(1000.0, 500.0)
    )


def test_nine_rr_values_reserved_bits_and_a_trailing_odd_byte() -> None:
    packet = bytes([0xF0, 60]) + bytes.fromhex("0004") * 9 + b"\x07"
    measurement = parse_measurement(packet)
    assert measurement.rr_ms == (1000.0,) * 9
    assert measurement.contact is None


def test_rr_flag_with_no_rr_bytes_is_no_beats() -> None:
    assert parse_measurement(b"\x10\x3c").rr_ms == ()


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (b"", "empty"),
        (b"\x00", "too_short"),
        (b"\x01\x50", "too_short"),
        (b"\x08\x50\x01", "too_short"),
        (b"\x09\x50\x00\x01", "too_short"),
    ],
)
def test_too_short_packets_raise_a_specific_value_error(packet: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket) as raised:
        parse_measurement(packet)
    assert raised.value.reason == reason
    assert isinstance(raised.value, ValueError)


def test_battery_and_body_sensor_location() -> None:
    assert parse_battery_level(b"\x57") == 87
    with pytest.raises(MalformedPacket):
        parse_battery_level(b"\x65")
    with pytest.raises(MalformedPacket):
        parse_battery_level(b"")
    assert parse_body_sensor_location(b"\x01") == "chest"
    assert parse_body_sensor_location(b"\x02") == "wrist"
    assert parse_body_sensor_location(b"\x09") == "reserved_9"


@given(st.binary(max_size=40))
def test_any_bytes_give_a_measurement_or_the_documented_error(data: bytes) -> None:
    try:
        measurement = parse_measurement(data)
    except MalformedPacket as exc:
        assert exc.reason in {"empty", "too_short"}
        return
    assert 0 <= measurement.hr <= 0xFFFF
    assert all(0 <= rr <= 65535 * 1000 / 1024 for rr in measurement.rr_ms)
    assert len(measurement.rr_ms) <= len(data) // 2


@given(st.binary(max_size=40))
def test_no_bytes_ever_become_a_heart_rate_of_zero(data: bytes) -> None:
    try:
        measurement = parse_measurement(data)
    except MalformedPacket:
        return
    readings = MeasurementReadings("alex", "strap", lambda reason: None).readings(
        measurement, 1000.0
    )
    for reading in readings:
        if reading.metric == HR:
            assert 20 <= reading.value <= 250
        if reading.metric == RR:
            assert VALID_RANGE[RR][0] <= reading.value <= VALID_RANGE[RR][1]
            assert reading.time <= 1000.0
        if reading.metric == CONTACT:
            assert reading.value in (0.0, 1.0)


def test_beats_are_back_computed_from_the_notification_time() -> None:
    """A dropped interval is still time the strap measured: the beat before it ended that much
    earlier (a 64 s "interval" after a dropout put the beat before it 64 s too late)."""
    beats, dropped = back_computed_beats([800.0, 51.8, 900.0], notified_at=50.0)
    assert dropped == [51.8]
    assert [(b.time, b.rr_ms) for b in beats] == [(pytest.approx(49.0482), 800.0), (50.0, 900.0)]
    beats, dropped = back_computed_beats([800.0, 64_000.0, 900.0], notified_at=100.0)
    assert dropped == [64_000.0]
    assert [(b.time, b.rr_ms) for b in beats] == [(pytest.approx(35.1), 800.0), (100.0, 900.0)]


def test_readings_drop_and_count_what_is_not_physiological() -> None:
    dropped: list[str] = []
    make = MeasurementReadings("alex", "strap", dropped.append)
    assert make.readings(parse_measurement(bytes.fromhex("00 00")), 1.0) == []
    assert make.readings(parse_measurement(bytes.fromhex("01 80 80")), 2.0) == []
    assert make.readings(parse_measurement(bytes.fromhex("10 3c ff ff")), 3.0)[0].metric == HR
    assert dropped == ["hr_zero", "hr_out_of_range", "rr_out_of_range"]


def test_a_strap_keeps_the_intervals_every_other_source_keeps() -> None:
    """One RR range for every source (readings.VALID_RANGE): a 220 ms interval (an extra
    detection the beat cleaner merges into the next, keeping time) and a 2.8 s pause reach
    the signals over Bluetooth as over MQTT, HA and satellites; beyond the range they do not."""
    low, high = VALID_RANGE[RR]
    beats, dropped = back_computed_beats([low, 220.0, 2800.0, high], 100.0)
    assert [b.rr_ms for b in beats] == [low, 220.0, 2800.0, high]
    assert dropped == []
    beats, dropped = back_computed_beats([low - 1, 800.0, high + 1], 100.0)
    assert [b.rr_ms for b in beats] == [800.0]
    assert dropped == [low - 1, high + 1]


def test_backoff_doubles_with_jitter_caps_and_resets() -> None:
    backoff = Backoff(1.0, 8.0, random.Random(1))
    ceilings = []
    for _ in range(6):
        ceilings.append(backoff.ceiling_s())
        delay = backoff.next_delay_s()
        assert ceilings[-1] / 2 <= delay <= ceilings[-1]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.ceiling_s() == 1.0


# -- parse_measurement against packets built from their fields ----------------------------------
# An independent reading of the Heart Rate Measurement layout (Bluetooth SIG Heart Rate Service
# 1.0, characteristic 0x2A37): the fields a device chose, written out as it would send them.


@dataclass(frozen=True)
class _Fields:
    hr: int
    hr_as_uint16: bool
    contact_supported: bool
    contact_detected: bool
    energy_kj: int | None
    rr_units: tuple[int, ...] | None  # None: the RR flag is off; () is "on, no values"
    reserved_bits: int  # bits 5..7 of the flags
    trailing_odd_byte: bool


def _packet(fields: _Fields) -> bytes:
    flags = fields.reserved_bits << 5
    flags |= 0x01 if fields.hr_as_uint16 else 0
    flags |= 0x02 if fields.contact_detected else 0
    flags |= 0x04 if fields.contact_supported else 0
    flags |= 0x08 if fields.energy_kj is not None else 0
    flags |= 0x10 if fields.rr_units is not None else 0
    body = struct.pack("<H" if fields.hr_as_uint16 else "<B", fields.hr)
    if fields.energy_kj is not None:
        body += struct.pack("<H", fields.energy_kj)
    for units in fields.rr_units or ():
        body += struct.pack("<H", units)
    if fields.rr_units is not None and fields.trailing_odd_byte:
        body += b"\xa5"  # half an RR value: not a value
    return bytes([flags]) + body


@st.composite
def _fields(draw: st.DrawFn) -> _Fields:
    as_uint16 = draw(st.booleans())
    hr = draw(st.integers(0, 0xFFFF if as_uint16 else 0xFF))
    energy = draw(st.none() | st.integers(0, 0xFFFF))
    # a notification holds at most 20 bytes on the default ATT MTU, and devices with a larger
    # one may send more: up to 12 values here
    rr = draw(st.none() | st.lists(st.integers(0, 0xFFFF), max_size=12).map(tuple))
    return _Fields(
        hr=hr,
        hr_as_uint16=as_uint16,
        contact_supported=draw(st.booleans()),
        contact_detected=draw(st.booleans()),
        energy_kj=energy,
        rr_units=rr,
        reserved_bits=draw(st.integers(0, 7)),
        trailing_odd_byte=draw(st.booleans()),
    )


@given(_fields())
def test_every_field_combination_decodes_to_the_fields_it_was_built_from(fields: _Fields) -> None:
    measurement = parse_measurement(_packet(fields))
    assert measurement.hr == fields.hr
    # bit 1 says something only when bit 2 says contact detection is supported
    expected_contact = fields.contact_detected if fields.contact_supported else None
    assert measurement.contact is expected_contact
    assert measurement.energy_kj == fields.energy_kj
    expected_rr_ms = tuple(units / 1024 * 1000 for units in fields.rr_units or ())
    assert measurement.rr_ms == pytest.approx(expected_rr_ms, abs=1e-9)


@given(_fields(), st.data())
def test_a_packet_cut_inside_its_announced_fields_is_too_short(
    fields: _Fields, data: st.DataObject
) -> None:
    packet = _packet(fields)
    announced = 1 + (2 if fields.hr_as_uint16 else 1) + (2 if fields.energy_kj is not None else 0)
    cut = data.draw(st.integers(1, announced - 1))
    with pytest.raises(MalformedPacket) as raised:
        parse_measurement(packet[:cut])
    assert raised.value.reason == "too_short"


@given(_fields())
def test_readings_of_any_measurement_follow_the_documented_rules(fields: _Fields) -> None:
    """docs/ble.md: HR 0 and HR outside 20-250 are no reading; RR outside 200-3000 ms dropped;
    nothing but the contact reading while a supporting device reports no contact."""
    measurement = parse_measurement(_packet(fields))
    dropped: list[str] = []
    readings = MeasurementReadings("alex", "strap", dropped.append).readings(measurement, 500.0)
    by_metric = {metric: [r for r in readings if r.metric == metric] for metric in (HR, RR)}
    contact_lost = fields.contact_supported and not fields.contact_detected
    contact_readings = [r.value for r in readings if r.metric == CONTACT]
    assert contact_readings == (
        [] if not fields.contact_supported else [0.0 if contact_lost else 1.0]
    )
    rr_ms = [units / 1024 * 1000 for units in fields.rr_units or ()]
    if contact_lost:
        assert by_metric[HR] == by_metric[RR] == []
        return
    assert [r.value for r in by_metric[HR]] == (
        [float(fields.hr)] if 20 <= fields.hr <= 250 else []
    )
    kept = [rr for rr in rr_ms if VALID_RANGE[RR][0] <= rr <= VALID_RANGE[RR][1]]
    assert [r.value for r in by_metric[RR]] == pytest.approx(kept)
    # The last interval ends at the notification; each beat kept ends before it by every
    # interval sent after it, the dropped ones too (they are time the strap measured).
    ends = [500.0 - sum(rr_ms[i + 1 :]) / 1000 for i, rr in enumerate(rr_ms) if rr in kept]
    assert [r.time for r in by_metric[RR]] == pytest.approx(ends)
    assert dropped.count("rr_out_of_range") == len(rr_ms) - len(kept)
    assert dropped.count("hr_zero") == (fields.hr == 0)
