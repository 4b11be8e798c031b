"""`ambient check` on a household's config, as two people write it: what they are told when
they reach for one rule that would read each person's own Home Assistant entity."""

from __future__ import annotations

from pathlib import Path

from fixtures.ambient_process import run_ambient

HOUSEHOLD = """\
people:
  - {id: alex, name: Alex}
  - {id: sam, name: Sam}
homeassistant: {url: "http://127.0.0.1:8123", token: x}
store: {path: null}
rules:
  - id: calm_anyone
    triggers:
      - {trigger: signal, signal: hr, above: 100, for: 1min}
    conditions:
      - {condition: state, entity_id: "person.{person}", state: home}
    actions:
      - {action: calm_lights, target: [light.living_room]}
"""


def test_a_placeholder_in_an_entity_id_is_refused_with_one_rule_per_person_to_write(
    tmp_path: Path,
) -> None:
    """`person.{person}` in an anyone rule was refused as not 'a Home Assistant id such as
    `input_number.stress_threshold`', which says nothing of why: entity ids take no
    placeholders. The refusal now says so, and what a household writes instead."""
    path = tmp_path / "ambient.yaml"
    path.write_text(HOUSEHOLD)

    result = run_ambient("check", "--config", str(path))

    assert result.returncode == 1
    assert f"{path}:11:28: rules[0].conditions[0].entity_id:" in result.stderr
    assert "`{person}` is not filled in an entity id" in result.stderr
    assert (
        "give each person their own rule or sensor (`person: alex` with "
        "`entity_id: person.alex`)" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_each_sensor_is_listed_with_whose_readings_it_takes(tmp_path: Path) -> None:
    """`check` lists a sensor with its `person:`; one that takes the person from its topic
    (`home/+/heart_rate` for the household) or a satellite's batches was listed with nothing,
    as one reading for no one would be. It now says where the person comes from."""
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "people:\n  - {id: alex}\n  - {id: sam}\n"
        "mqtt: {host: 127.0.0.1}\n"
        "sensors:\n"
        "  - {type: mqtt, id: everyone, topic: home/+/heart_rate, person_topic_level: 1,"
        " metric: hr}\n"
        "  - {type: mqtt, id: sam_watch, topic: watch/sam, metric: hr, person: sam}\n"
        "  - {type: satellite, id: bedroom}\n"
        "store: {path: null}\n"
    )

    result = run_ambient("check", "--config", str(path))

    assert result.returncode == 0, result.stderr
    assert "  everyone  (mqtt) for the person topic level 1 names\n" in result.stdout
    assert "  sam_watch  (mqtt) for sam\n" in result.stdout
    assert "  bedroom  (satellite) for the people its batches name\n" in result.stdout


def test_person_under_a_trigger_says_a_trigger_reads_the_rules_person(tmp_path: Path) -> None:
    """A household writing `person: sam` in a signal trigger (or a `wait_for`) was told only
    that `person` is an unknown key there; it is told where whose signals are chosen."""
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "people:\n  - {id: alex}\n  - {id: sam}\n"
        "store: {path: null}\n"
        "rules:\n"
        "  - id: sam_racing\n"
        "    triggers:\n"
        "      - {trigger: signal, signal: hr, above: 100, person: sam}\n"
        "    actions:\n"
        "      - wait_for: {signal: hr, below: 90, person: sam}\n"
        "        timeout: 5min\n"
    )

    result = run_ambient("check", "--config", str(path))

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    for where in ("rules[0].triggers[0].person", "rules[0].actions[0].wait_for.person"):
        (line,) = [x for x in lines if f"{where}: unknown key `person`" in x]
        assert "it reads the rule's person: give the rule `person: sam`" in line, line


COPIED_SENSOR = """\
people:
  - {id: alex}
  - {id: sam}
mqtt: {host: 127.0.0.1}
sensors:
  - {type: mqtt, id: alex_hr, topic: home/alex/hr, metric: hr, person: alex}
  - {type: mqtt, id: sam_hr, topic: home/sam/hr, metric: hr, person: alex}
store: {path: null}
rules:
  - id: calm_sam
    person: sam
    triggers:
      - {trigger: signal, signal: hr, above: 100}
    actions:
      - {action: log, message: x}
"""


def test_a_rule_for_someone_no_sensor_reads_for_is_warned_of(tmp_path: Path) -> None:
    """Alex's sensor copied for Sam with `person: alex` left in it: Sam's heart counted as
    Alex's, and Sam's rule could never fire, while `check` said OK and nothing else."""
    path = tmp_path / "ambient.yaml"
    path.write_text(COPIED_SENSOR)

    result = run_ambient("check", "--config", str(path))

    assert result.returncode == 0, result.stderr
    assert (
        f"Warning: {path}:11:5: rules[0].person: no sensor reads for `sam` (each names "
        "another `person:`): sam's signals stay unknown, so this rule's signal triggers "
        "never fire; give sam's wearable `person: sam`"
    ) in result.stdout


def test_a_sensor_that_takes_the_person_from_its_topic_may_read_for_anyone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(
        COPIED_SENSOR.replace(
            "  - {type: mqtt, id: sam_hr, topic: home/sam/hr, metric: hr, person: alex}\n",
            "  - {type: mqtt, id: all_hr, topic: all/+/hr, person_topic_level: 1, metric: hr}\n",
        )
    )

    result = run_ambient("check", "--config", str(path))

    assert result.returncode == 0, result.stderr
    assert "no sensor reads for" not in result.stdout


def test_a_sensor_given_a_person_that_its_topic_or_rows_override_may_read_for_anyone(
    tmp_path: Path,
) -> None:
    """Sam's heart from a topic level of a sensor that also says `person: alex` (the topic
    level decides), or from the rows of a recording whose `person: alex` is only the default
    for rows naming no one: sam's rule fires, and check warned that it never would."""
    recording = tmp_path / "household.csv"
    recording.write_text("t,metric,value,person\n1795723200,hr,70,alex\n1795723201,hr,72,sam\n")
    for sensor in (
        "{type: mqtt, id: all_hr, topic: all/+/hr, person_topic_level: 1, metric: hr, "
        "person: alex}",
        f"{{type: recording, id: both, path: {recording}, person: alex}}",
    ):
        path = tmp_path / "ambient.yaml"
        path.write_text(
            COPIED_SENSOR.replace(
                "  - {type: mqtt, id: sam_hr, topic: home/sam/hr, metric: hr, person: alex}\n",
                f"  - {sensor}\n",
            )
        )

        result = run_ambient("check", "--config", str(path))

        assert result.returncode == 0, result.stderr
        assert "no sensor reads for" not in result.stdout, sensor


def test_a_placeholder_in_a_sensors_entity_id_is_refused_with_a_sensor_of_their_own_to_write(
    tmp_path: Path,
) -> None:
    """One HA sensor for everyone, `sensor.{person}_heart_rate`: the refusal told them to give
    each person their own rule with `entity_id: person.alex`, which a sensor has no use for."""
    path = tmp_path / "ambient.yaml"
    path.write_text(
        HOUSEHOLD.replace(
            "store: {path: null}\n",
            "store: {path: null}\nsensors:\n"
            '  - {type: homeassistant, entity_id: "sensor.{person}_heart_rate", metric: hr}\n',
        ).replace('entity_id: "person.{person}"', "entity_id: person.alex")
    )

    result = run_ambient("check", "--config", str(path))

    assert result.returncode == 1
    (line,) = [x for x in result.stderr.splitlines() if "sensors[0].entity_id" in x]
    assert line.endswith(
        "`{person}` is not filled in an entity id: it names one entity. For each person's own, "
        "give each person their own rule or sensor (`person: alex` with "
        "`entity_id: sensor.alex_heart_rate`)"
    ), line


def test_person_under_a_state_or_time_trigger_is_not_said_to_read_the_rules_person(
    tmp_path: Path,
) -> None:
    """A state trigger reads its entity and a time trigger the clock: the refusal of a
    `person:` there said 'it reads the rule's person', which neither does."""
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "people:\n  - {id: alex}\n  - {id: sam}\n"
        'homeassistant: {url: "http://127.0.0.1:8123", token: x}\n'
        "store: {path: null}\n"
        "rules:\n"
        "  - id: sam_home\n"
        "    triggers:\n"
        "      - {trigger: state, entity_id: person.sam, to: home, person: sam}\n"
        '      - {trigger: time, at: "08:00", person: sam}\n'
        "    actions:\n"
        "      - {action: log, message: x}\n"
    )

    result = run_ambient("check", "--config", str(path))

    assert result.returncode == 1
    lines = [x for x in result.stderr.splitlines() if "unknown key `person`" in x]
    assert len(lines) == 2, result.stderr
    assert not [x for x in lines if "reads the rule's person" in x], lines
