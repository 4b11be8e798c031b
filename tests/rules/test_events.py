"""HA entity states (thresholds that re-evaluate, state triggers with `for`), MQTT triggers,
text-signal state triggers, and what the engine asks the HA and MQTT clients to watch."""

from __future__ import annotations

from typing import Any

from rules.rule_doubles import Harness, log, make_config

from ambient.rules.engine import topic_matches

HA = {"homeassistant": {"token": "t"}}


def _threshold_rule() -> dict[str, Any]:
    return {
        "id": "helper",
        "person": "alex",
        "triggers": [
            {
                "trigger": "signal",
                "signal": "stress_score",
                "above": "input_number.stress_threshold",
            }
        ],
        "actions": [log("x")],
    }


async def test_entity_threshold_unknown_never_fires_and_a_change_re_evaluates() -> None:
    h = await Harness(make_config([_threshold_rule()], **HA)).start()
    await h.push(0, stress_score=65.0)
    assert h.kinds() == []
    await h.event(10, "ha_state", "input_number.stress_threshold", state="70.0")
    assert h.kinds() == []
    # Lowering the helper re-evaluates at once (HA would wait for the next signal change).
    await h.event(20, "ha_state", "input_number.stress_threshold", state="60.0")
    assert h.events() == [(20, "fired", "stress_score 65 above input_number.stress_threshold")]
    await h.event(30, "ha_state", "input_number.stress_threshold", state="unavailable")
    await h.push(40, stress_score=20.0)
    assert h.kinds() == ["fired"]  # unknown threshold: neither fires nor recovers


async def test_state_trigger_with_from_to_and_for() -> None:
    rule = {
        "id": "home",
        "triggers": [
            {
                "trigger": "state",
                "entity_id": "person.alex",
                "from": "not_home",
                "to": "home",
                "for": "5min",
            }
        ],
        "actions": [log("welcome")],
    }
    h = await Harness(make_config([rule], **HA)).start()
    await h.event(0, "ha_state", "person.alex", state="not_home")
    await h.event(10, "ha_state", "person.alex", state="home")
    await h.event(100, "ha_state", "person.alex", state="not_home")
    await h.run_until(1000)
    assert h.kinds() == []
    await h.event(1000, "ha_state", "person.alex", state="home")
    await h.run_until(1300)
    assert h.events() == [(1300, "fired", "person.alex changed from unknown to home for 5min")]
    assert h.traces[0].person is None  # the rule reads no person's signals


async def test_text_signal_state_trigger_per_person() -> None:
    rule = {
        "id": "rest",
        "triggers": [
            {"trigger": "state", "signal": "activity_state", "to": "rest", "id": "resting"}
        ],
        "actions": [log("rest")],
    }
    h = await Harness(make_config([rule])).start()
    await h.push(0, "alex", activity_state="active")
    await h.push(10, "alex", activity_state="rest")
    await h.push(20, "sam", activity_state="rest")
    assert [(t.person, t.reason) for t in h.traces] == [
        ("alex", "activity_state changed from active to rest"),
        ("sam", "activity_state changed from unknown to rest"),
    ]


async def test_mqtt_trigger_with_wildcards_and_payload() -> None:
    rule = {
        "id": "button",
        "triggers": [{"platform": "mqtt", "topic": "home/+/button", "payload": "press"}],
        "actions": [log("pressed")],
    }
    h = await Harness(make_config([rule], mqtt={"host": "localhost"})).start()
    await h.event(0, "mqtt", "home/hall/button", payload="release")
    await h.event(1, "mqtt", "home/hall/button", payload=b"press")
    await h.event(2, "mqtt", "home/hall/door", payload="press")
    assert h.events() == [(1, "fired", "mqtt message on home/hall/button with payload 'press'")]
    assert h.engine.mqtt_topics_used() == {"home/+/button"}


def test_topic_matching() -> None:
    assert topic_matches("a/#", "a/b/c")
    assert topic_matches("a/+/c", "a/b/c")
    assert not topic_matches("a/+", "a/b/c")
    assert not topic_matches("a/b", "a/b/c")


async def test_entities_used_lists_thresholds_states_and_conditions() -> None:
    rule = _threshold_rule() | {
        "conditions": [
            {
                "condition": "not",
                "conditions": [{"condition": "state", "entity_id": "person.sam", "state": "home"}],
            }
        ],
        "actions": [
            {
                "if": [{"condition": "state", "entity_id": "media_player.lounge", "state": "off"}],
                "then": [log("x")],
            }
        ],
    }
    h = Harness(make_config([rule], **HA))
    assert h.engine.entities_used() == {
        "input_number.stress_threshold",
        "person.sam",
        "media_player.lounge",
    }


async def test_state_trigger_takes_the_first_state_since_the_start_as_it_was_not_a_change() -> None:
    """At a start or reload HA sends each entity's current state: Alex home all evening is not
    Alex coming home, so `to: home` does not fire (as reloading HA's automations does not);
    the next change does."""
    rules = [
        {
            "id": "welcome",
            "triggers": [{"trigger": "state", "entity_id": "person.alex", "to": "home"}],
            "actions": [log("welcome")],
        },
        {
            "id": "settled",
            "triggers": [
                {"trigger": "state", "entity_id": "person.alex", "to": "home", "for": "5min"}
            ],
            "actions": [log("settled")],
        },
        {
            "id": "any_change",
            "triggers": [{"trigger": "state", "entity_id": "person.alex"}],
            "actions": [log("changed")],
        },
    ]
    h = await Harness(make_config(rules, **HA)).start()
    await h.event(5, "ha_state", "person.alex", state="home", last_changed=h.t0 - 7200)
    await h.run_until(1000)
    assert h.kinds() == []
    await h.event(1000, "ha_state", "person.alex", state="not_home")
    await h.event(1010, "ha_state", "person.alex", state="home")
    await h.run_until(1310)
    assert [(t, rule) for t, _, rule in _events_by_rule(h)] == [
        (1000, "any_change"),
        (1010, "welcome"),
        (1010, "any_change"),
        (1310, "settled"),
    ]


def _events_by_rule(h: Harness) -> list[tuple[float, str, str]]:
    return [(round(t.time - h.t0, 3), t.event, t.rule) for t in h.traces]
