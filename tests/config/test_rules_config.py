"""Rule YAML: HA's spellings (platform:, service:), every trigger and condition kind, and
precise file:line errors for mistakes, including cross-checks one model cannot see."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from ambient.config import ConfigError, load_config
from ambient.config.actions import (
    BreathingActionConfig,
    CalmLightsActionConfig,
    ServiceCallActionConfig,
)
from ambient.config.conditions import (
    NotConditionConfig,
    TimeConditionConfig,
    TriggerConditionConfig,
)
from ambient.config.triggers import (
    CronTriggerConfig,
    MqttTriggerConfig,
    SignalTriggerConfig,
    StateTriggerConfig,
    TimeTriggerConfig,
)

FULL = """\
timezone: Europe/Berlin
people: [{id: alex}]
homeassistant: {token: abc}
mqtt: {host: localhost}
quiet_hours: {start: "22:30", end: "07:00"}
pause: false
rules:
  - id: calm_living_room
    alias: Calm the living room when Alex is stressed
    person: alex
    triggers:
      - platform: signal
        signal: stress_score
        above: input_number.stress_threshold
        for: 3min
        hysteresis: 10
        id: stressed
      - trigger: state
        entity_id: person.alex
        to: home
        for: 00:05:00
      - trigger: time
        at: ["21:30", "07:15"]
      - trigger: cron
        cron: "*/15 8-22 * * mon-fri"
      - trigger: mqtt
        topic: home/alex/button
        payload: press
    conditions:
      - condition: time
        after: "07:00"
        before: "23:00"
      - condition: not
        conditions:
          - condition: state
            entity_id: person.alex
            state: not_home
      - condition: signal
        signal: quality
        above: 0.79
      - condition: trigger
        id: stressed
    mode: queued
    max: 3
    cooldown: 45min
    actions:
      - service: light.turn_on
        target: {entity_id: light.living_room}
      - delay: 2min
      - wait_for: {signal: stress_score, below: 50}
        timeout: 10min
      - if: [{condition: signal, signal: activity_state, state: rest}]
        then: [{action: log, message: resting}]
        else: [{action: log, message: moving}]
      - choose:
          - conditions: [{condition: trigger, id: stressed}]
            sequence: [{action: log}]
        default: [{action: log}]
    on_recovery: [{action: log, message: better}]
    escalate:
      - after: 10min
        actions: [{action: notify, service: notify.sam, message: "Alex is still stressed"}]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ambient.yaml"
    path.write_text(dedent(text))
    return path


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    return [str(issue) for issue in caught.value.issues]


def test_full_rule_with_ha_spellings_loads(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, FULL))
    rule = config.rules[0]
    kinds = [type(t) for t in rule.triggers]
    assert kinds == [
        SignalTriggerConfig,
        StateTriggerConfig,
        TimeTriggerConfig,
        CronTriggerConfig,
        MqttTriggerConfig,
    ]
    signal = rule.triggers[0]
    assert isinstance(signal, SignalTriggerConfig)
    assert signal.above == "input_number.stress_threshold" and signal.for_ == 180.0
    state = rule.triggers[1]
    assert isinstance(state, StateTriggerConfig) and state.for_ == 300.0
    assert isinstance(rule.conditions[0], TimeConditionConfig)
    assert isinstance(rule.conditions[1], NotConditionConfig)
    service_call = rule.actions[0]
    assert isinstance(service_call, ServiceCallActionConfig)
    assert service_call.action == "light.turn_on"
    assert config.quiet_hours is not None and config.quiet_hours.start == "22:30"


def _rule(body: str) -> str:
    """One rule (id r, one log action) whose remaining keys are ``body``, indented 4."""
    return "people: [{id: alex}]\nrules:\n  - id: r\n    actions: [{action: log}]\n" + body


def test_unknown_trigger_kind_names_the_line(tmp_path: Path) -> None:
    errors = _errors(tmp_path, _rule("    triggers:\n      - platform: numeric\n"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'ambient.yaml'}:6:")
    assert "numeric" in errors[0] and "signal" in errors[0]


def test_signal_trigger_needs_a_threshold(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path, _rule("    triggers:\n      - trigger: signal\n        signal: hr\n")
    )
    assert errors == [
        f"{tmp_path / 'ambient.yaml'}:6:9: rules[0].triggers[0]: give `above`, `below` or both"
    ]


def test_invalid_cron_names_the_field(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path, _rule("    triggers:\n      - trigger: cron\n        cron: '61 * * * *'\n")
    )
    assert len(errors) == 1 and ":7:" in errors[0]
    assert "rules[0].triggers[0].cron: invalid cron expression `61 * * * *`" in errors[0]


def test_condition_naming_an_unknown_trigger_id(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        _rule(
            "    triggers:\n"
            "      - {trigger: signal, signal: hr, above: 100, id: hr_high}\n"
            "    conditions:\n"
            "      - {condition: trigger, id: hr_hihg}\n"
        ),
    )
    assert len(errors) == 1
    assert (
        "rules[0].conditions[0].id: unknown trigger id `hr_hihg` (did you mean `hr_high`?)"
        in errors[0]
    )
    assert ":8:30:" in errors[0]


def test_signal_condition_and_wait_for_naming_unknown_signals(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        "people: [{id: alex}]\nrules:\n  - id: r\n"
        "    triggers: [{trigger: signal, signal: hr, above: 1}]\n"
        "    conditions:\n      - {condition: signal, signal: stres_score, above: 1}\n"
        "    actions:\n      - wait_for: {signal: qualty, above: 0.5}\n",
    )
    assert len(errors) == 2
    assert (
        "rules[0].conditions[0].signal: unknown signal `stres_score` (did you mean `stress_score`?)"
        in errors[0]
    )
    assert (
        "rules[0].actions[0].wait_for.signal: unknown signal `qualty` (did you mean `quality`?)"
        in errors[1]
    )


def test_entity_threshold_and_state_trigger_need_homeassistant(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        _rule(
            "    triggers:\n"
            "      - {trigger: signal, signal: hr, above: input_number.limit}\n"
            "      - {trigger: state, entity_id: person.alex}\n"
            "      - {trigger: mqtt, topic: a/b}\n"
        ),
    )
    assert [e.split(": ", 1)[1] for e in errors] == [
        "rules[0].triggers[0].above: a threshold read from an HA entity needs `homeassistant:`",
        "rules[0].triggers[1].entity_id: a state trigger on an entity needs `homeassistant:`",
        "rules[0].triggers[2].topic: an mqtt trigger needs an `mqtt:` section",
    ]


def test_state_trigger_needs_exactly_one_source(tmp_path: Path) -> None:
    errors = _errors(tmp_path, _rule("    triggers: [{trigger: state, to: home}]\n"))
    assert len(errors) == 1 and ":5:16: rules[0].triggers[0]: " in errors[0]
    assert errors[0].endswith("give exactly one of `entity_id` or `signal`")


def test_escalation_levels_in_order(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        _rule(
            "    triggers: [{trigger: signal, signal: hr, above: 100}]\n"
            "    escalate:\n"
            "      - {after: 20min, actions: [{action: log}]}\n"
            "      - {after: 10min, actions: [{action: log}]}\n"
        ),
    )
    assert len(errors) == 1
    assert errors[0].endswith("rules[0]: `escalate` levels must have increasing `after` times")


def test_quiet_hours_reject_bad_times(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "quiet_hours: {start: '25:00', end: '07:00'}\n")
    assert len(errors) == 1 and errors[0].split(": ", 1)[1].startswith("quiet_hours.start:")


def test_yaml_booleans_in_states_become_ha_text(tmp_path: Path) -> None:
    config = load_config(
        _write(
            tmp_path,
            "homeassistant: {token: t}\nrules:\n  - id: r\n    actions: [{action: log}]\n"
            "    triggers: [{trigger: state, entity_id: input_boolean.guest, to: on}]\n",
        )
    )
    trigger = config.rules[0].triggers[0]
    assert isinstance(trigger, StateTriggerConfig) and trigger.to == ["on"]


def test_lights_may_be_one_entity_or_a_list_as_in_home_assistant(tmp_path: Path) -> None:
    """`target: light.desk` is how HA writes one light; a list of one is the same."""
    config = load_config(
        _write(
            tmp_path,
            "homeassistant: {token: t}\nrules:\n  - id: r\n"
            "    triggers: [{trigger: time, at: '21:00'}]\n    actions:\n"
            "      - {action: calm_lights, target: light.desk}\n"
            "      - {action: calm_lights, target: [light.desk, light.hall]}\n"
            "      - {action: breathing, preset: box, lights: light.desk}\n",
        )
    )
    one, two, breathing = config.rules[0].actions
    assert isinstance(one, CalmLightsActionConfig) and one.target == ["light.desk"]
    assert isinstance(two, CalmLightsActionConfig) and two.target == ["light.desk", "light.hall"]
    assert isinstance(breathing, BreathingActionConfig) and breathing.lights == ["light.desk"]


def test_for_written_as_home_assistants_dictionary(tmp_path: Path) -> None:
    config = load_config(
        _write(
            tmp_path,
            _rule(
                "    triggers:\n"
                "      - trigger: signal\n        signal: hr\n        above: 100\n"
                "        for:\n          hours: 0\n          minutes: 5\n          seconds: 0\n"
            ),
        )
    )
    trigger = config.rules[0].triggers[0]
    assert isinstance(trigger, SignalTriggerConfig) and trigger.for_ == 300.0


@pytest.mark.parametrize(
    ("kind", "advice"),
    [
        ("numeric_state", "`numeric_state` is `trigger: signal` here"),
        ("template", "no templates"),
        ("time_pattern", "`time_pattern` is `trigger: cron` here"),
        ("zone", "a Home Assistant trigger that ambient does not have"),
    ],
)
def test_home_assistant_trigger_kinds_ambient_lacks_point_to_what_it_has(
    tmp_path: Path, kind: str, advice: str
) -> None:
    errors = _errors(tmp_path, _rule(f"    triggers:\n      - trigger: {kind}\n"))
    assert len(errors) == 1 and "rules[0].triggers[0]" in errors[0]
    assert advice in errors[0] and "did you mean" not in errors[0]
    assert "signal, state, time, cron, mqtt" in errors[0]


@pytest.mark.parametrize(
    ("condition", "advice"),
    [
        ("{condition: numeric_state}", "`numeric_state` is `condition: signal` here"),
        ("{condition: template}", "no templates"),
        ("\"{{ is_state('person.alex', 'home') }}\"", "no templates"),
        ("{condition: sun}", "a Home Assistant condition that ambient does not have"),
    ],
)
def test_home_assistant_condition_kinds_ambient_lacks_point_to_what_it_has(
    tmp_path: Path, condition: str, advice: str
) -> None:
    body = "    triggers: [{trigger: time, at: '07:00'}]\n"
    errors = _errors(tmp_path, _rule(body + f"    conditions:\n      - {condition}\n"))
    assert len(errors) == 1 and "rules[0].conditions[0]" in errors[0]
    assert advice in errors[0] and "did you mean" not in errors[0]


def test_trigger_ids_on_and_off_are_text_as_in_home_assistant(tmp_path: Path) -> None:
    """HA's automations often name their triggers `on` and `off`; YAML reads them unquoted
    as true and false, which HA turns back into text. So does ambient: `on` and `off`,
    in the trigger and in the condition that names it."""
    config = load_config(
        _write(
            tmp_path,
            _rule(
                "    triggers:\n"
                "      - {trigger: signal, signal: hr, above: 100, id: on}\n"
                "      - {trigger: signal, signal: hr, below: 60, id: off}\n"
                "    conditions: [{condition: trigger, id: [on, off]}]\n"
            ),
        )
    )
    rule = config.rules[0]
    assert [trigger.id for trigger in rule.triggers] == ["on", "off"]
    condition = rule.conditions[0]
    assert isinstance(condition, TriggerConditionConfig) and condition.id == ["on", "off"]


def test_a_rule_id_yaml_reads_as_true_or_false_says_to_quote_it(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        "people: [{id: alex}]\nrules:\n  - id: on\n    actions: [{action: log}]\n"
        "    triggers: [{trigger: time, at: '07:00'}]\n",
    )
    assert len(errors) == 1 and errors[0].endswith(
        "rules[0].id: YAML reads an unquoted on, off, yes or no as true or false: quote the "
        'id (`id: "on"`) or choose another'
    )


HA_CLASSIC = """\
people: [{id: alex}]
rules:
  - id: r
    description: what HA's editor calls it
    trigger:
      - platform: signal
        signal: hr
        above: 100
    condition:
      - {condition: time, after: "07:00"}
    action:
      - {service: log, message: fast}
"""


def test_home_assistants_singular_trigger_condition_and_action_keys_load(tmp_path: Path) -> None:
    """HA's automations say `trigger:`, `condition:` and `action:` (its newer ones the plural
    ambient uses) and carry a `description:`: such a rule loads as written."""
    rule = load_config(_write(tmp_path, HA_CLASSIC)).rules[0]
    assert isinstance(rule.triggers[0], SignalTriggerConfig)
    assert isinstance(rule.conditions[0], TimeConditionConfig)
    assert len(rule.actions) == 1
    assert rule.description == "what HA's editor calls it"


def test_a_mistake_under_a_singular_key_is_reported_at_its_line(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path, HA_CLASSIC.replace("above: 100", "above: 100\n        for: 5 fortnights")
    )
    assert len(errors) == 1
    assert ":9:9: rules[0].trigger[0].for: " in errors[0]


def test_both_spellings_of_one_key_are_refused(tmp_path: Path) -> None:
    text = HA_CLASSIC.replace(
        "    description", "    triggers: [{trigger: time, at: '07:00'}]\n    description"
    )
    errors = _errors(tmp_path, text)
    assert len(errors) == 1
    assert "rules[0]: give `triggers` or Home Assistant's `trigger`, not both" in errors[0]


def test_a_cross_check_under_a_singular_key_names_it_as_written(tmp_path: Path) -> None:
    text = HA_CLASSIC.replace('{condition: time, after: "07:00"}', "{condition: trigger, id: x}")
    errors = _errors(tmp_path, text)
    assert len(errors) == 1
    assert ":10:30: rules[0].condition[0].id: unknown trigger id `x`" in errors[0]


def test_a_rule_for_several_people_says_how_to_write_one(tmp_path: Path) -> None:
    """`person: [alex, sam]` was refused with "Input should be a valid string"."""
    errors = _errors(
        tmp_path,
        "people: [{id: alex}, {id: sam}]\nrules:\n  - id: r\n    person: [alex, sam]\n"
        "    triggers: [{trigger: signal, signal: hr, above: 100}]\n"
        "    actions: [{action: log}]\n",
    )
    assert len(errors) == 1 and errors[0].endswith(
        "rules[0].person: one person's id: a rule without `person:` runs for each person on "
        "their own (each with their own `for` and cooldown); for some of them, give each a "
        "rule of their own"
    )


def test_an_mqtt_payload_written_as_a_number_is_its_text(tmp_path: Path) -> None:
    """A button that sends `1`: `payload: 1` was refused with "Input should be a valid
    string"; it is the text `1`, as in HA."""
    config = load_config(
        _write(
            tmp_path,
            "people: [{id: alex}]\nmqtt: {host: localhost}\nrules:\n  - id: r\n"
            "    triggers: [{trigger: mqtt, topic: a/b, payload: 1}]\n"
            "    actions: [{action: log}]\n",
        )
    )
    trigger = config.rules[0].triggers[0]
    assert isinstance(trigger, MqttTriggerConfig) and trigger.payload == "1"


def test_an_mqtt_payload_yaml_reads_as_true_or_false_says_to_quote_it(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        "people: [{id: alex}]\nmqtt: {host: localhost}\nrules:\n  - id: r\n"
        "    triggers: [{trigger: mqtt, topic: a/b, payload: ON}]\n"
        "    actions: [{action: log}]\n",
    )
    assert len(errors) == 1 and errors[0].endswith(
        "rules[0].triggers[0].payload: YAML reads an unquoted on, off, yes, no, true or false "
        '(in any case) as true or false: quote the payload as the device sends it (`payload: "ON"`)'
    )


@pytest.mark.parametrize(
    ("item", "what"),
    [
        ("  -\n", "nothing (an empty `-` item)"),
        ("  - - id: calm\n", "a list (one `-` too many?)"),
        ("  - calm\n", "`calm`"),
    ],
)
def test_a_rule_that_is_not_a_mapping_says_what_a_rule_is(
    tmp_path: Path, item: str, what: str
) -> None:
    """It said "Input should be a valid dictionary or instance of RuleConfig": a class name."""
    path = tmp_path / "ambient.yaml"
    path.write_text("store: {path: null}\nrules:\n" + item, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert (issue.line, issue.path) == (3, "rules[0]"), str(issue)
    assert issue.message == f"a rule is a mapping of `id`, `triggers` and `actions`, not {what}"


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ("repeat: {count: 3, sequence: [{action: log}]}", "`repeat:` is a Home Assistant script"),
        ("parallel: [{action: log}]", "`parallel:` is a Home Assistant script step"),
        ("condition: template", "use `if:` with `then:`"),
        ("wait_for_trigger: [{trigger: state}]", "`wait_for_trigger:` is a Home Assistant"),
        ("scene: scene.evening", "use `action: scene.turn_on`"),
        ("{device_id: abc123, domain: light, type: turn_on}", "write the device action as"),
    ],
)
def test_a_home_assistant_script_step_ambient_lacks_is_named(
    tmp_path: Path, step: str, said: str
) -> None:
    """`repeat:` has no `action:`, and was refused as "missing action: every entry here needs
    one", which sends its writer looking for a typo in a step that is there."""
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "store: {path: null}\nrules:\n  - id: calm\n    triggers: [{trigger: time, at: '07:00'}]\n"
        f"    actions:\n      - {step}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert (issue.line, issue.path) == (6, "rules[0].actions[0]"), str(issue)
    assert said in issue.message
    assert "missing action" not in issue.message
