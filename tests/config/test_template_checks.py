"""The placeholders `check` accepts are exactly the ones the actuators fill in: the lists in
ambient/config/template_checks.py against ambient/actuators (log and HA messages, mqtt.publish)
and the signals a built rule hands its actions."""

from __future__ import annotations

from ambient.actuators.log import render_message
from ambient.actuators.mqtt import template_fields
from ambient.config.rules import RuleConfig
from ambient.config.template_checks import (
    MESSAGE_FIELDS,
    PUBLISH_FIELDS,
    signals_in_templates,
)
from ambient.messages import ActionContext
from ambient.rules.rule import build_rule

CONTEXT = ActionContext(
    rule="calm", person="alex", episode="e1", time=1.0, trigger="t", signals={"hr": 72.0}
)


def test_message_fields_are_the_ones_a_message_fills_in() -> None:
    every = "".join(f"{{{name}}}" for name in MESSAGE_FIELDS)
    assert "{" not in render_message(every, CONTEXT, "fired")
    for other in set(PUBLISH_FIELDS) - set(MESSAGE_FIELDS):
        assert render_message(f"{{{other}}}", CONTEXT, "fired") == f"{{{other}}}"


def test_publish_fields_are_the_ones_mqtt_publish_fills_in() -> None:
    assert set(template_fields(CONTEXT)) == {*PUBLISH_FIELDS, "hr"}


def test_the_signals_a_rule_hands_its_actions_are_the_ones_check_allows() -> None:
    rule = RuleConfig.model_validate(
        {
            "id": "calm",
            "triggers": [
                {"trigger": "signal", "signal": "stress_score", "above": 70},
                {"trigger": "state", "signal": "activity_state", "to": "rest"},
            ],
            "conditions": [
                {
                    "condition": "or",
                    "conditions": [{"condition": "signal", "signal": "hr", "below": 150}],
                }
            ],
            "actions": [
                {
                    "if": [{"condition": "signal", "signal": "quality", "above": 0.5}],
                    "then": [{"action": "log"}],
                },
                {"wait_for": {"signal": "rmssd", "above": 20}},
            ],
        }
    )
    assert signals_in_templates(rule) == build_rule(rule).signal_names
