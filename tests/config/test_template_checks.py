"""The placeholders `check` accepts are exactly the ones the actuators fill in: the lists in
ambient/config/template_checks.py against ambient/actuators (log and HA messages, mqtt.publish)
and the signals a built rule hands its actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.actuators.log import render_message
from ambient.actuators.mqtt import template_fields
from ambient.config import ConfigError, config_warnings, load_config
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
                },
                {"condition": "signal", "signal": "rmssd", "above": 20, "person": "sam"},
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
    # Sam's rmssd is read, but it is not what `{rmssd}` would be filled with.
    own = ("stress_score", "activity_state", "hr", "quality")
    assert signals_in_templates(rule) == build_rule(rule).own_signal_names == own
    read = ("stress_score", "activity_state", "hr", "rmssd", "quality")
    assert signals_in_templates(rule, named_persons=True) == build_rule(rule).signal_names == read


HOUSEHOLD = "people: [{id: alex}, {id: sam}]\nmqtt: {host: localhost}\nstore: {path: null}\n"


def warnings_of(tmp_path: Path, rules: str) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(HOUSEHOLD + rules)
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_person_in_a_rule_that_acts_for_no_one_is_a_warning_at_its_template(
    tmp_path: Path,
) -> None:
    """A time rule without `person:` reads no one's signals, so it acts for no one and
    `{person}` is filled with nothing: "Time for  to wind down" went out, and check was
    silent."""
    found = warnings_of(
        tmp_path,
        "rules:\n"
        "  - id: wind_down\n"
        "    triggers: [{trigger: time, at: '22:00'}]\n"
        "    actions:\n"
        "      - {action: log, message: 'Time for {person} to wind down'}\n"
        "      - {action: mqtt.publish, topic: 'home/{person}/wind', payload: 'x'}\n",
    )
    assert [warning.split(": ", 1)[1] for warning in found] == [
        f"rules[0].actions[{index}].{key}: `{{person}}` is filled with nothing here: the rule "
        "reads no one's signals, so it acts for no one in particular; give it `person: alex` "
        "(or write the name)"
        for index, key in ((0, "message"), (1, "topic"))
    ]


def test_person_in_a_rule_with_a_person_or_reading_signals_is_filled(tmp_path: Path) -> None:
    found = warnings_of(
        tmp_path,
        "rules:\n"
        "  - id: wind_down\n"
        "    person: sam\n"
        "    triggers: [{trigger: time, at: '22:00'}]\n"
        "    actions: [{action: log, message: 'Time for {person} to wind down'}]\n"
        "  - id: racing\n"
        "    triggers: [{trigger: time, at: '22:00'}]\n"
        "    conditions: [{condition: signal, signal: hr, above: 100}]\n"
        "    actions: [{action: log, message: '{person} races'}]\n",
    )
    assert found == []


def test_name_is_filled_with_the_persons_display_name_in_messages_and_publishes() -> None:
    named = ActionContext(rule="calm", person="sam", episode="e1", time=1.0, name="Sam")
    assert "name" in MESSAGE_FIELDS and "name" in PUBLISH_FIELDS
    assert render_message("{name} ({person})", named, "fired") == "Sam (sam)"
    assert template_fields(named)["name"] == "Sam"
    nobody = ActionContext(rule="calm", person=None, episode="e1", time=1.0)
    assert render_message("[{name}]", nobody, "fired") == "[]"


def test_name_in_a_rule_that_acts_for_no_one_is_a_warning_as_person_is(tmp_path: Path) -> None:
    found = warnings_of(
        tmp_path,
        "rules:\n"
        "  - id: wind_down\n"
        "    triggers: [{trigger: time, at: '22:00'}]\n"
        "    actions: [{action: log, message: 'Time for {name} to wind down'}]\n",
    )
    assert [warning.split(": ", 2)[2] for warning in found] == [
        "`{name}` is filled with nothing here: the rule reads no one's signals, so it acts for "
        "no one in particular; give it `person: alex` (or write the name)"
    ]


def errors_of(tmp_path: Path, rules: str) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(HOUSEHOLD + rules)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(issue).split(": ", 1)[1] for issue in caught.value.issues]


def test_a_placeholder_with_an_index_or_attribute_is_refused_as_it_fails_at_run_time(
    tmp_path: Path,
) -> None:
    """`{contact[0]}` passed check (its trial text has a first letter) and raised in the
    running daemon, a traceback per firing, when a true/false signal was no text; filled as
    text (`on`) it sends a letter, not what was meant. Values are text, so an index or
    attribute is refused, whatever the value."""
    bool_signal = ActionContext(
        rule="r", person="alex", episode="e1", time=1.0, signals={"contact": True}
    )
    assert render_message("{contact[0]}", bool_signal, "fired") == "o"
    errors = errors_of(
        tmp_path,
        "rules:\n"
        "  - id: r\n"
        "    person: alex\n"
        "    triggers: [{trigger: time, at: '22:00'}]\n"
        "    conditions: [{condition: signal, signal: contact, state: 'on'}]\n"
        "    actions:\n"
        "      - {action: log, message: 'strap {contact[0]}'}\n"
        "      - {action: log, message: 'hi {name.upper}'}\n",
    )
    assert errors == [
        "rules[0].actions[0].message: placeholder `{contact[0]}`: values are text, with no "
        "index or attribute; write `{contact}`",
        "rules[0].actions[1].message: placeholder `{name.upper}`: values are text, with no "
        "index or attribute; write `{name}`",
    ]
