"""MQTT triggers: `value` picks the text `payload` is compared with out of a JSON payload, and a
message from the broker's backlog (queued while ambient was not running) fires only with a
readable, recent, not-future `timestamp`; live messages fire whatever time they carry."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from rules.rule_doubles import T0, Harness, log, make_config

MQTT = {"mqtt": {"host": "localhost"}}


def _desk_rule(**trigger: Any) -> dict[str, Any]:
    return {
        "id": "desk",
        "triggers": [
            {
                "trigger": "mqtt",
                "topic": "home/desk/button",
                "value": "action",
                "payload": "press",
                "timestamp": "ts",
            }
            | trigger
        ],
        "actions": [log("desk")],
    }


def _press(**fields: Any) -> str:
    return json.dumps({"action": "press"} | fields)


async def test_value_picks_the_compared_text_out_of_a_json_payload() -> None:
    h = await Harness(make_config([_desk_rule()], **MQTT)).start()
    await h.event(0, "mqtt", "home/desk/button", payload=_press())
    await h.event(1, "mqtt", "home/desk/button", payload=json.dumps({"action": "hold"}))
    await h.event(2, "mqtt", "home/desk/button", payload="press")  # not JSON: no `action`
    assert h.events() == [(0, "fired", "mqtt message on home/desk/button with payload 'press'")]


async def test_a_live_message_fires_whatever_time_it_carries() -> None:
    h = await Harness(make_config([_desk_rule()], **MQTT)).start()
    await h.event(0, "mqtt", "home/desk/button", payload=_press(ts=T0 - 86_400))
    assert h.kinds() == ["fired"]


async def test_the_default_max_age_is_one_minute() -> None:
    h = await Harness(make_config([_desk_rule()], **MQTT)).start()
    await h.event(0, "mqtt", "home/desk/button", payload=_press(ts=T0 - 60), backlog=True)
    await h.event(1, "mqtt", "home/desk/button", payload=_press(ts=T0 - 61), backlog=True)
    assert h.events() == [
        (
            0,
            "fired",
            "mqtt message on home/desk/button with payload 'press' "
            "(queued while ambient was not running, sent 1min ago)",
        ),
        (
            1,
            "suppressed",
            "mqtt message on home/desk/button with payload 'press' queued while ambient was "
            "not running: sent 1min2s ago, max_age 1min; skipped",
        ),
    ]


async def test_a_max_age_with_a_part_of_a_second_is_said_as_written() -> None:
    """A message 2s old under `max_age: 1.5s` was skipped as 'sent 2s ago, max_age 2s': the
    limit the config wrote was rounded as if measured."""
    h = await Harness(make_config([_desk_rule(max_age="1.5s")], **MQTT)).start()
    await h.event(0, "mqtt", "home/desk/button", payload=_press(ts=T0 - 2), backlog=True)
    assert [reason.split(": ", 1)[1] for _, _, reason in h.events()] == [
        "sent 2s ago, max_age 1.5s; skipped"
    ]


async def test_a_queued_message_without_a_readable_time_or_from_the_future_is_skipped() -> None:
    h = await Harness(make_config([_desk_rule(max_age="1h")], **MQTT)).start()
    await h.event(0, "mqtt", "home/desk/button", payload=_press(), backlog=True)
    await h.event(0, "mqtt", "home/desk/button", payload=_press(ts="soon"), backlog=True)
    await h.event(0, "mqtt", "home/desk/button", payload=_press(ts=T0 + 600), backlog=True)
    assert [reason.split(": ", 1)[1] for _, _, reason in h.events()] == [
        "no time in it (no `ts` in the payload (stopped at `ts`)); skipped",
        "no time in it (`ts` is not ISO 8601 nor a number); skipped",
        "`ts` is 10min in the future; skipped",
    ]
    assert h.kinds() == ["suppressed"] * 3
    assert h.performer.performed == []
    assert h.counters.scope("rules") == {
        "mqtt_backlog_without_time": 2,
        "mqtt_backlog_bad_time": 1,
    }


async def test_a_zoneless_time_is_read_in_the_configured_zone() -> None:
    """A button that stamps local time without a zone means the home's zone (the config's
    `timezone`), not the process's: in Docker and the HA add-on that is UTC, hours away."""
    config = make_config([_desk_rule()], timezone="America/New_York", **MQTT)
    h = await Harness(config).start()
    pressed = datetime.fromtimestamp(T0 - 30, ZoneInfo("America/New_York")).replace(tzinfo=None)
    await h.event(
        0, "mqtt", "home/desk/button", payload=_press(ts=pressed.isoformat()), backlog=True
    )
    assert h.events() == [
        (
            0,
            "fired",
            "mqtt message on home/desk/button with payload 'press' "
            "(queued while ambient was not running, sent 30s ago)",
        )
    ]


def test_a_timestamp_with_a_payload_needs_the_value_it_is_compared_with() -> None:
    with pytest.raises(ValidationError, match="give `value`, the field `payload` is compared"):
        make_config([_desk_rule(value=None)], **MQTT)


async def test_an_unreadable_payload_is_counted_once_and_traced_for_each_rule_that_reads_it() -> (
    None
):
    rules = [
        _desk_rule(),
        {
            "id": "desk_light",
            "triggers": [{"trigger": "mqtt", "topic": "home/desk/button", "payload": "press"}],
            "actions": [log("light")],
        },
        {
            "id": "desk_seen",
            "triggers": [{"trigger": "mqtt", "topic": "home/desk/button", "value": "action"}],
            "actions": [log("seen")],
        },
    ]
    h = await Harness(make_config(rules, **MQTT)).start()
    await h.event(0, "mqtt", "home/desk/button", payload=b'{"action": "press\xff"}')
    refused = "mqtt message on home/desk/button not read: bad_encoding (not UTF-8 at byte 17)"
    assert [(t.rule, t.event, t.reason) for t in h.traces] == [
        ("desk", "suppressed", f"{refused}; skipped"),
        ("desk_light", "suppressed", f"{refused}; skipped"),
        # `value` without `payload` compares nothing: it fires on any message.
        ("desk_seen", "fired", "mqtt message on home/desk/button"),
    ]
    assert h.counters.scope("rules") == {"mqtt_bad_encoding": 1}


async def test_a_queued_message_too_large_to_read_its_time_is_refused_not_timed() -> None:
    h = await Harness(make_config([_desk_rule(max_age="1h")], **MQTT)).start()
    large = _press(ts=T0, pad="x" * 20_000)
    await h.event(0, "mqtt", "home/desk/button", payload=large.encode(), backlog=True)
    assert h.events() == [
        (
            0,
            "suppressed",
            f"mqtt message on home/desk/button not read: oversized ({len(large)} bytes, limit "
            "16384); skipped",
        )
    ]
    assert h.counters.scope("rules") == {"mqtt_oversized": 1}


async def test_a_payload_given_as_text_has_the_same_limits_in_utf8_bytes() -> None:
    h = await Harness(make_config([_desk_rule()], **MQTT)).start()
    wide = '{"action": "press", "pad": "' + "é" * 8_200 + '"}'  # 8,230 characters
    await h.event(0, "mqtt", "home/desk/button", payload=wide)
    lone_surrogate = '{"action": "press", "note": "\udcff"}'  # no UTF-8 for it
    await h.event(1, "mqtt", "home/desk/button", payload=lone_surrogate)
    assert [reason.split(" not read: ")[1] for _, _, reason in h.events()] == [
        "oversized (16430 bytes, limit 16384); skipped",
        "bad_encoding (not UTF-8 at byte 29); skipped",
    ]
    assert h.counters.scope("rules") == {"mqtt_oversized": 1, "mqtt_bad_encoding": 1}
