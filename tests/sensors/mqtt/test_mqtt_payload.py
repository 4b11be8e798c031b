"""Parsing MQTT payloads: every way a payload can be wrong has its own reason."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import astuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ambient.payload_fields import (
    MAX_NESTING,
    MAX_PAYLOAD_BYTES,
    NO_VALUE_TEXTS,
    PayloadError,
    decode,
    load_json,
    lookup,
    to_number,
    to_numbers,
    to_timestamp,
)
from ambient.sensors.mqtt_payload import ParsedPayload, beat_times, parse_payload


def reason_of(payload: bytes, value: str | None = None, timestamp: str | None = None) -> str:
    with pytest.raises(PayloadError) as caught:
        parse_payload(payload, value, timestamp)
    return caught.value.reason


def test_plain_numbers() -> None:
    assert parse_payload(b"72").values == (72.0,)
    assert parse_payload(b" 72.5\n").values == (72.5,)
    assert parse_payload(b"[800, 812]").values == (800.0, 812.0)


def test_dotted_json_path_through_objects_and_lists() -> None:
    payload = b'{"heart": {"bpm": 64, "rr": [900, 910]}}'
    assert parse_payload(payload, "heart.bpm").values == (64.0,)
    assert parse_payload(payload, "heart.rr").values == (900.0, 910.0)
    assert parse_payload(payload, "heart.rr.1").values == (910.0,)
    assert parse_payload(b'{"hr": "71"}', "hr").values == (71.0,)  # ESPHome-style text


BOM = "\ufeff".encode()


def test_a_leading_byte_order_mark_is_not_part_of_the_payload() -> None:
    # what Windows PowerShell's Out-File and some editors write before UTF-8 text
    assert parse_payload(BOM + b"72\r\n").values == (72.0,)
    assert parse_payload(BOM + b'{"hr": 72, "ts": 1764180000}\n', "hr", "ts") == parse_payload(
        b'{"hr": 72, "ts": 1764180000}', "hr", "ts"
    )
    assert parse_payload(BOM + b"[800, 812]").values == (800.0, 812.0)
    assert reason_of(BOM + BOM + b"72") == "not_a_number"  # one mark, at the start


@pytest.mark.parametrize(
    ("payload", "value", "reason"),
    [
        (b"high", None, "not_a_number"),
        (b"", None, "no_value"),
        (b"NaN", None, "nan"),
        (b"nan", None, "nan"),
        (b"inf", None, "not_finite"),
        (b'{"hr": NaN}', "hr", "nan"),
        (b'{"hr": true}', "hr", "not_a_number"),
        (b'{"hr": null}', "hr", "no_value"),
        (b'{"hr": {"x": 1}}', "hr", "not_a_number"),
        (b'{"hr": []}', "hr", "not_a_number"),
        (b'{"hr": 72', "hr", "bad_json"),
        (b"[800, ", None, "bad_json"),
        (b'{"heart": {}}', "heart.bpm", "missing_path"),
        (b'{"rr": [1]}', "rr.3", "missing_path"),
        (b"\xff\xfe72", None, "bad_encoding"),
        (b"7" * (MAX_PAYLOAD_BYTES + 1), None, "oversized"),
    ],
)
def test_bad_payloads_have_precise_reasons(payload: bytes, value: str | None, reason: str) -> None:
    assert reason_of(payload, value) == reason


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        (b"None", None),  # ESPHome with publish_nan_as_none, HA's MQTT idiom, ambient's own
        (b"unknown", None),  # HA's mqtt_statestream
        (b"unavailable\n", None),
        (b"", None),  # a retained message being cleared
        (b'{"heart_rate": null, "linkquality": 96}', "heart_rate"),  # Zigbee2MQTT
        (b'{"hr": "unknown"}', "hr"),
        # with a path too: Zigbee2MQTT empties a device's retained message when it is removed
        # or renamed, HA's statestream says `unavailable` for a JSON attribute's state
        (b"", "heart_rate"),
        (b" \n", "heart_rate"),
        (b"unavailable", "hr"),
        (b"null", "heart.bpm"),
    ],
)
def test_a_device_saying_it_has_no_value_is_no_value(payload: bytes, value: str | None) -> None:
    assert reason_of(payload, value) == "no_value"


@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "\n", "\r\n", " ", "\t\n"]),
    st.booleans(),
)
def test_any_finite_number_in_the_shapes_publishers_send_reads_as_itself(
    number: float, trailer: str, byte_order_mark: bool
) -> None:
    """A plain number, a JSON number, a number as JSON text, with a trailing newline or a byte
    order mark: the value read is the number sent."""
    start = BOM if byte_order_mark else b""
    shapes = [
        (repr(number), None),
        (json.dumps([number]), None),
        (json.dumps({"hr": number}), "hr"),
        (json.dumps({"hr": repr(number)}), "hr"),
        (json.dumps({"heart": {"bpm": [number]}}), "heart.bpm.0"),
    ]
    for text, path in shapes:
        assert parse_payload(start + (text + trailer).encode(), path).values == (number,)


@pytest.mark.parametrize(
    ("payload", "value"), [(b"72 bpm", None), (b"72bpm\n", None), (b'{"hr": "0.8 s"}', "hr")]
)
def test_a_number_with_its_unit_says_to_send_the_number_alone(
    payload: bytes, value: str | None
) -> None:
    """A phone automation sending `72 bpm` (a sensor's `unit: bpm` read as the payload's) was
    only "text, not a number": the line says what is wrong, without the value."""
    with pytest.raises(PayloadError) as refused:
        parse_payload(payload, value)
    assert refused.value.reason == "not_a_number"
    assert "a number followed by text (a unit?" in refused.value.detail
    assert "72" not in refused.value.detail and "0.8" not in refused.value.detail


def test_a_json_object_without_a_value_path_says_to_give_one() -> None:
    # a Zigbee2MQTT device's message, configured as if it were a plain number
    for timestamp in (None, "last_seen"):
        with pytest.raises(PayloadError) as caught:
            parse_payload(b'{"heart_rate": 72, "last_seen": 1764180000}', None, timestamp)
        assert caught.value.reason == "not_a_number"
        assert "JSON object" in caught.value.detail
        assert "`value:`" in caught.value.detail


def test_timestamps_in_seconds_milliseconds_and_iso() -> None:
    assert parse_payload(b'{"v": 1, "t": 1700000000}', "v", "t").timestamp == 1700000000.0
    assert parse_payload(b'{"v": 1, "t": 1700000000500}', "v", "t").timestamp == 1700000000.5
    iso = b'{"v": 1, "t": "2023-11-14T22:13:20+00:00"}'
    assert parse_payload(iso, "v", "t").timestamp == 1700000000.0


def test_an_iso_time_without_a_zone_is_in_the_configured_zone() -> None:
    """In Docker and the HA add-on the process's zone is UTC: a publisher's local time must be
    read in the config's `timezone`, summer time included."""
    berlin = ZoneInfo("Europe/Berlin")
    winter = parse_payload(b'{"v": 1, "t": "2023-11-14T23:13:20"}', "v", "t", zone=berlin)
    assert winter.timestamp == 1700000000.0  # UTC+1
    summer = parse_payload(b'{"v": 1, "t": "2025-07-01T12:00:00"}', "v", "t", zone=berlin)
    assert summer.timestamp == 1751364000.0  # 10:00 UTC
    zoned = parse_payload(b'{"v": 1, "t": "2023-11-14T22:13:20Z"}', "v", "t", zone=berlin)
    assert zoned.timestamp == 1700000000.0  # a time with its zone keeps it


def test_timestamps_in_microseconds_and_nanoseconds() -> None:
    # what time.time_ns() (and InfluxDB / Telegraf style publishers) and some ESP32 clocks give
    micros = parse_payload(b'{"v": 1, "t": 1700000000250000}', "v", "t")
    assert micros.timestamp == pytest.approx(1700000000.25)
    nanos = parse_payload(b'{"v": 1, "t": 1700000000250000000}', "v", "t")
    assert nanos.timestamp == pytest.approx(1700000000.25)
    assert parse_payload(b'{"v": 1, "t": "1700000000250000"}', "v", "t") == micros


def test_bad_and_missing_timestamps() -> None:
    assert reason_of(b'{"v": 1, "t": "yesterday"}', "v", "t") == "bad_timestamp"
    assert reason_of(b'{"v": 1, "t": null}', "v", "t") == "bad_timestamp"
    assert reason_of(b'{"v": 1}', "v", "t") == "missing_path"


def test_error_details_never_contain_the_value() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(b'{"hr": "seventy-two"}', "hr")
    assert "seventy" not in str(caught.value)


def test_beat_times_end_at_the_timestamp() -> None:
    times = beat_times(100.0, [1000.0, 500.0, 250.0])
    assert [round(t, 3) for t in times] == [99.25, 99.75, 100.0]
    assert not any(math.isnan(t) for t in times)


def test_nesting_is_refused_past_a_fixed_depth_on_every_python() -> None:
    """How deep json.loads goes before it fails differs between Python versions; the limit
    does not, and brackets inside strings do not count."""
    deep = "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1)
    with pytest.raises(PayloadError) as refused:
        load_json(deep)
    assert refused.value.reason == "too_deep"
    shallow = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert load_json(shallow) is not None
    bracket_text = '{"note": "' + "[" * 200 + '\\\\", "hr": 70}'
    assert load_json(bracket_text)["hr"] == 70


OBJECT_WITHOUT_PATH = "the payload is a JSON object; `value:` names the field holding the number"


def general_path(
    payload: bytes, value: str | None, timestamp: str | None
) -> tuple[tuple[float, ...], float | None]:
    """What a payload gives read the general way (``load_json`` of the whole text, then the
    fields): the short-object and plain-number shortcuts must give the same, reasons too."""
    text = decode(payload)
    if value is None and timestamp is None:
        stripped = text.strip()
        if stripped.startswith("["):
            return to_numbers(load_json(stripped), "the payload"), None
        if stripped.startswith("{"):
            load_json(stripped)  # bad JSON is bad_json; an object wants a `value:` path
            raise PayloadError("not_a_number", OBJECT_WITHOUT_PATH)
        return (to_number(stripped, "the payload"),), None
    if text.strip().lower() in NO_VALUE_TEXTS:  # an emptied retained message, HA's `unknown`
        raise PayloadError("no_value", "the payload says there is no value")
    document = load_json(text)
    if value is None:
        if isinstance(document, dict):
            raise PayloadError("not_a_number", OBJECT_WITHOUT_PATH)
        values = to_numbers(document, "the payload")
    else:
        values = to_numbers(lookup(document, value), f"`{value}`")
    found = (
        None if timestamp is None else to_timestamp(lookup(document, timestamp), f"`{timestamp}`")
    )
    return values, found


def outcome(read: Callable[[], tuple[tuple[float, ...], float | None]]) -> object:
    try:
        values, timestamp = read()
    except PayloadError as exc:
        return (exc.reason, exc.detail)
    return (tuple(repr(v) for v in values), timestamp)  # repr: -0.0 is not 0.0


SHORTCUT_PAYLOADS = [
    b"72",
    b" 72 ",
    b"72.5\n",
    b"-0",
    b"7_2",
    b"1e308",
    b"1e309",
    b"nan",
    b"-inf",
    b"0x10",
    b"\xc2\xa072",
    b"",
    b"  [800, 812]",
    b"[1e400]",
    b"high",
    b"\xff72",
    b'{"hr": 120}',
    b'{"hr": 120.5}',
    b'{"hr": -0.0}',
    b'{"hr": "71"}',
    b'{"hr": NaN}',
    b'{"hr": Infinity}',
    b'{"hr": 1e400}',
    b'{"hr": true}',
    b'{"hr": null}',
    b'{"hr": []}',
    b'{"hr": [900, 910]}',
    b'{"bpm": 60}',
    b'{"hr": 60, "hr": 61}',
    b'{"hr": 60} ',
    b' {"hr": 60}',
    b'{"hr": 60}{"hr": 1}',
    b'{"hr": 60}x',
    b'{"hr": 60',
    b"{}",
    b"{",
    b'\xef\xbb\xbf{"hr": 60}',
    b'{"heart": {"bpm": 64}}',
    b'{"hr": 60, "ts": 1700000000}',
    b'{"hr": 60, "ts": "x"}',
    b'{"hr": 60, "pad": "' + b"x" * 60 + b'"}',
    b"{" * 70 + b"}" * 70,
    b'{"hr": 1' + b"0" * 70 + b"}",
]


@pytest.mark.parametrize("payload", SHORTCUT_PAYLOADS)
@pytest.mark.parametrize(
    ("value", "timestamp"), [(None, None), ("hr", None), ("heart.bpm", None), ("hr", "ts")]
)
def test_the_shortcuts_give_what_the_general_path_gives(
    payload: bytes, value: str | None, timestamp: str | None
) -> None:
    expected = outcome(lambda: general_path(payload, value, timestamp))
    parsed = outcome(lambda: _values_and_time(parse_payload(payload, value, timestamp)))
    assert parsed == expected


def _values_and_time(parsed: ParsedPayload) -> tuple[tuple[float, ...], float | None]:
    values, timestamp, times = astuple(parsed)
    assert times is None  # no `*` in the paths: no times of their own
    return values, timestamp


#: A Health Auto Export upload of an Apple Watch's heart rate: several samples, each with its
#: own time, newest first here (the app's order is not promised).
BATCH = json.dumps(
    {
        "data": {
            "metrics": [
                {
                    "name": "heart_rate",
                    "units": "count/min",
                    "data": [
                        {"Avg": 66.5, "date": "2025-11-26 18:10:00 +0100"},
                        {"Avg": 64, "date": "2025-11-26 18:05:00 +0100"},
                        {"Avg": 61, "date": "2025-11-26 18:00:00 +0100"},
                    ],
                }
            ]
        }
    }
).encode()


def test_a_star_in_the_paths_reads_every_sample_of_a_batch_at_its_own_time() -> None:
    parsed = parse_payload(BATCH, "data.metrics.0.data.*.Avg", "data.metrics.0.data.*.date")
    assert parsed.values == (66.5, 64.0, 61.0)
    assert parsed.times == (1764177000.0, 1764176700.0, 1764176400.0)
    assert parsed.timestamp == 1764177000.0  # the newest judges the batch (max_age, retained)
    # one time for the whole list, as before: no times of their own
    one_time = parse_payload(BATCH, "data.metrics.0.data.*.Avg", "data.metrics.0.data.0.date")
    assert (one_time.values, one_time.times) == ((66.5, 64.0, 61.0), None)
    assert parse_payload(b'{"hr": 72, "ts": 1764180000}', "hr", "ts").times is None


def test_a_batch_whose_times_do_not_pair_with_its_values_is_refused() -> None:
    assert reason_of(BATCH, "data.metrics.0.data.0.Avg", "data.metrics.0.data.*.date") == (
        "bad_timestamp"
    )
    assert reason_of(BATCH, "data.metrics.0.data.*.Max", "data.metrics.0.data.*.date") == (
        "missing_path"
    )
    assert reason_of(BATCH, "data.*.Avg") == "missing_path"  # `data` is no list
    assert reason_of(b'{"data": []}', "data.*.Avg") == "not_a_number"  # an empty batch


def test_a_key_named_star_is_still_read_as_a_key() -> None:
    assert parse_payload(b'{"a": {"*": {"hr": 70}}}', "a.*.hr").values == (70.0,)


def detail_of(payload: bytes, value: str | None = None, timestamp: str | None = None) -> str:
    with pytest.raises(PayloadError) as caught:
        parse_payload(payload, value, timestamp)
    return caught.value.detail


def test_a_sample_missing_from_a_batch_names_the_configured_path_and_the_sample() -> None:
    """The warning names the sensor's path and which sample lacks it: `no `Max` in the
    payload` named neither, and read as though the whole payload had no such key."""
    assert detail_of(BATCH, "data.metrics.0.data.*.Max", "data.metrics.0.data.*.date") == (
        "no `data.metrics.0.data.*.Max` in the payload (`data.metrics.0.data.0` has no `Max`)"
    )
    one_lacks_its_time = b'[{"hr": 61, "ts": 1764180000}, {"hr": 62}]'
    assert detail_of(one_lacks_its_time, "*.hr", "*.ts") == (
        "no `*.ts` in the payload (element 1 has no `ts`)"
    )
    # A second `*` is a key (only the first stands for each element): said with the path.
    nested = b'{"m": [{"d": [{"hr": 61}]}]}'
    assert detail_of(nested, "m.*.d.*.hr") == (
        "no `m.*.d.*.hr` in the payload (`m.0` has no `d.*.hr`)"
    )
