"""`ambient check` warns of a Home Assistant template in an action's text: ambient fills
`{placeholders}` and reads `{{` as a literal brace, so `{{ states('sensor.x') }}` copied from an
HA automation was sent as `{ states('sensor.x') }`, and loaded without a word."""

from __future__ import annotations

from pathlib import Path

from ambient.config import config_warnings, load_config

CONFIG = """\
people: [{id: alex}]
homeassistant: {token: t}
mqtt: {host: localhost}
store: {path: null}
rules:
  - id: r
    person: alex
    triggers: [{trigger: signal, signal: stress_score, above: 70}]
    actions:
      - action: notify
        service: notify.mobile_app_sam
        title: "{{ trigger.to_state.name }}"
        message: "Alex at {stress_score}, literal {{hr}}"
      - action: light.turn_on
        target: {entity_id: light.desk}
        data: {brightness: "{{ states('input_number.level') | int }}"}
      - action: log
        message: "{{hr}} is {stress_score}"
      - action: mqtt.publish
        topic: desk/state
        payload: '{"stress": {stress_score}, "note": {{ "a": 1 }}}'
"""


def test_home_assistant_templates_in_action_texts_are_warned_of_where_they_are(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    found = [str(issue).split(": ", 1)[1] for issue in config_warnings(path, load_config(path))]
    said = [line for line in found if "Home Assistant template" in line]
    assert said == [
        "rules[0].actions[0].title: `{{ trigger.to_state.name }}` is a Home Assistant template, "
        "which ambient does not run: it sends `{ trigger.to_state.name }` as written; ambient "
        "fills placeholders such as `{person}` or `{stress_score}` (docs/rules.md)",
        "rules[0].actions[1].data.brightness: `{{ states('input_number.level') | int }}` is a "
        "Home Assistant template, which ambient does not run: it sends `{ "
        "states('input_number.level') | int }` as written; ambient fills placeholders such as "
        "`{person}` or `{stress_score}` (docs/rules.md)",
    ]  # `{{hr}}` is a literal `{hr}`; an MQTT payload's braces are JSON's
