"""The Heart Rate Measurement parser against real captures, vendor vectors and fuzzing; and the
beats and readings made from it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ambient.readings import CONTACT, HR, RR
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
            assert 250 <= reading.value <= 2500
            assert reading.time <= 1000.0
        if reading.metric == CONTACT:
            assert reading.value in (0.0, 1.0)


def test_beats_are_back_computed_from_the_notification_time() -> None:
    beats, dropped = back_computed_beats([800.0, 51.8, 900.0], notified_at=50.0)
    assert dropped == [51.8]
    assert [(b.time, b.rr_ms) for b in beats] == [(pytest.approx(49.1), 800.0), (50.0, 900.0)]


def test_readings_drop_and_count_what_is_not_physiological() -> None:
    dropped: list[str] = []
    make = MeasurementReadings("alex", "strap", dropped.append)
    assert make.readings(parse_measurement(bytes.fromhex("00 00")), 1.0) == []
    assert make.readings(parse_measurement(bytes.fromhex("01 80 80")), 2.0) == []
    assert make.readings(parse_measurement(bytes.fromhex("10 3c ff ff")), 3.0)[0].metric == HR
    assert dropped == ["hr_zero", "hr_out_of_range", "rr_out_of_range"]


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
