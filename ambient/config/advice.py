"""What a valid config probably does not mean: shown by ``ambient check`` as warnings, never
fatal (a metric nothing reads may still be wanted in a recording)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Final

from pydantic import BaseModel

from ambient.config.actions import WaitForStepConfig
from ambient.config.calming_advice import calming_advice
from ambient.config.conditions import SignalConditionConfig
from ambient.config.insights import minutes_outlive_summaries_advice, report_notify_advice
from ambient.config.people import devices_given_to_two_people, people_not_listed
from ambient.config.retention import minute_bins_advice
from ambient.config.root import AmbientConfig
from ambient.config.rule_advice import (
    calming_in_quiet_hours,
    durations_read_from_a_clock,
    ha_templates_in_actions,
    hysteresis_past_the_scale,
    ids_home_assistant_cannot_show,
    signal_kind_mixups,
    thresholds_past_the_scale,
    unreachable_rule_parts,
)
from ambient.config.rule_checks import signal_tests, walk_steps
from ambient.config.sensor_advice import (
    ble_searches_that_collide,
    for_shorter_than_a_sample,
    forwarded_beats_of_no_one,
)
from ambient.config.sensors import DEFAULT_PERSON, names_its_people
from ambient.config.template_checks import person_never_filled, signals_in_templates
from ambient.config.triggers import SignalTriggerConfig, StateTriggerConfig
from ambient.config.yaml_source import KeyPath
from ambient.readings import BUILTIN_METRICS

Finding = tuple[KeyPath, str]

#: Names people give the built-in metrics.
_METRIC_SYNONYMS: Final = {
    "heartrate": "hr",
    "heart_rate": "hr",
    "heart": "hr",
    "pulse": "hr",
    "bpm": "hr",
    "rr_interval": "rr",
    "rr_intervals": "rr",
    "rri": "rr",
    "ibi": "rr",
    "step": "steps",
    "step_count": "steps",
    "stepcount": "steps",
}


#: Signals on a 0–100 scale, which people compare with a fraction (``above: 0.7``) by mistake.
_PERCENT_SIGNALS: Final = frozenset({"stress_score"})


def config_advice(config: AmbientConfig) -> list[Finding]:
    return [
        *_unread_metrics(config),
        *_publishers_naming_people(config),
        *_unused_on_a_satellite(config),
        *_sensors_for_nobody_listed(config),
        *_rules_for_someone_no_sensor_reads(config),
        *_broker_port_and_tls(config),
        *_certificates_unchecked(config),
        *_values_read_twice(config),
        *devices_given_to_two_people(config),
        *people_not_listed(config),
        *_thresholds_off_scale(config),
        *unreachable_rule_parts(config),
        *durations_read_from_a_clock(config),
        *ha_templates_in_actions(config),
        *ids_home_assistant_cannot_show(config),
        *hysteresis_past_the_scale(config),
        *thresholds_past_the_scale(config),
        *signal_kind_mixups(config),
        *for_shorter_than_a_sample(config),
        *ble_searches_that_collide(config),
        *forwarded_beats_of_no_one(config),
        *person_never_filled(config),
        *calming_advice(config),
        *calming_in_quiet_hours(config),
        *minute_bins_advice(config.retention, config.insights.keep_minutes_days),
        *minutes_outlive_summaries_advice(config.insights),
        *report_notify_advice(
            config.insights, config.person_ids(), config.homeassistant is not None
        ),
    ]


def _thresholds_off_scale(config: AmbientConfig) -> Iterator[Finding]:
    """``stress_score`` runs 0–100: ``above: 0.7`` is met at almost any score and ``above:
    100`` never; both load, so only a warning catches them."""
    for path, test in signal_tests(config):
        if not isinstance(test, StateTriggerConfig):
            yield from _off_scale(test, path)


def _off_scale(
    compared: SignalTriggerConfig | SignalConditionConfig | WaitForStepConfig.WaitFor,
    path: KeyPath,
) -> Iterator[Finding]:
    if compared.signal not in _PERCENT_SIGNALS:
        return
    for side in ("above", "below"):
        value = getattr(compared, side)
        if not isinstance(value, float):
            continue  # absent, or an HA entity's state
        if 0 < value <= 1:
            yield (
                (*path, side),
                f"`{compared.signal}` runs 0–100, so `{side}: {value:g}` is "
                f"{'met at almost any score' if side == 'above' else 'almost never met'}; "
                f"did you mean {value * 100:g}?",
            )
        elif value >= 100 if side == "above" else value > 100:
            yield (
                (*path, side),
                f"`{compared.signal}` runs 0–100, so `{side}: {value:g}` is "
                f"{'never met' if side == 'above' else 'always met'}",
            )


def _values_read_twice(config: AmbientConfig) -> Iterator[Finding]:
    """Two MQTT sensors on one topic reading one value make two readings of each message:
    one of them is a mistake (the other metric, or the other person)."""
    first: dict[tuple[str, str | None], int] = {}
    for index, sensor in enumerate(config.sensors):
        if sensor.type != "mqtt":
            continue
        key = (sensor.topic, sensor.value)
        if key not in first:
            first[key] = index
            continue
        field = f"`value: {sensor.value}`" if sensor.value else "the whole payload"
        yield (
            ("sensors", index),
            f"reads the same value of `{sensor.topic}` as sensors[{first[key]}] ({field}): "
            "each message would give two readings",
        )


#: The IANA ports of MQTT: plain and over TLS.
_MQTT_PORT: Final = 1883
_MQTT_TLS_PORT: Final = 8883


def _broker_port_and_tls(config: AmbientConfig) -> Iterator[Finding]:
    """A plain connect to the TLS port, or TLS to the plain one, fails every time; another
    port may be either, so only these two are judged."""
    mqtt = config.mqtt
    if mqtt is None:
        return
    if mqtt.port == _MQTT_TLS_PORT and mqtt.tls is None:
        yield (
            ("mqtt", "port"),
            f"{_MQTT_TLS_PORT} is MQTT over TLS, and there is no `tls:` section: "
            "add `tls: {}` (system CAs) or a `ca_file`, or use the broker's plain port",
        )
    elif mqtt.port == _MQTT_PORT and mqtt.tls is not None:
        yield (
            ("mqtt", "port"),
            f"{_MQTT_PORT} is plain MQTT, and there is a `tls:` section: use the "
            f"broker's TLS port (usually {_MQTT_TLS_PORT}), or drop `tls:`",
        )


def _certificates_unchecked(config: AmbientConfig) -> Iterator[Finding]:
    """Certificate checks turned off: what ambient sends (the token, the broker's password,
    heart data) goes to whoever answers in between, which the config does not say aloud."""
    home_assistant = config.homeassistant
    https = home_assistant is not None and home_assistant.url.startswith("https://")
    if home_assistant is not None and https and not home_assistant.verify_ssl:
        yield (
            ("homeassistant", "verify_ssl"),
            "false: Home Assistant's certificate is not checked, so whoever can answer in "
            "its place on the network gets ambient's token: give its CA in `ca_file` instead",
        )
    tls = config.mqtt.tls if config.mqtt is not None else None
    if tls is not None and tls.insecure:
        yield (
            ("mqtt", "tls", "insecure"),
            "true: the broker's certificate is not checked against its name, so any server "
            "with a certificate these CAs trust can take the broker's place, its password "
            "and the heart data: give the broker's own CA in `ca_file` and its name in `host`",
        )


def _sensors_for_nobody_listed(config: AmbientConfig) -> Iterator[Finding]:
    """A sensor that names nobody reads for ``default``: beside listed people, no rule for one
    of them sees its readings. (A recording's rows and a topic level or a satellite name
    their people themselves.)"""
    ids = config.person_ids()
    if not ids or DEFAULT_PERSON in ids:
        return
    suggestion = f"add `person: {ids[0]}`" if len(ids) == 1 else "add `person:`"
    for index, sensor in enumerate(config.sensors):
        if sensor.person is None and not names_its_people(sensor):
            yield (
                ("sensors", index),
                f"no `person:`, so its readings are for `{DEFAULT_PERSON}`, who is not under "
                f"`people:` ({', '.join(ids)}): no rule for them sees these; {suggestion}",
            )


def _rules_for_someone_no_sensor_reads(config: AmbientConfig) -> Iterator[Finding]:
    """A household copying one person's sensor for the next and leaving its ``person:``: the
    second person's heart counts as the first's, and a rule for them never fires. Only when
    every sensor names its one person (a topic level, a satellite or a recording's rows may
    name anyone, whatever its ``person:`` says) and there are sensors at all (``simulate
    --recording`` brings its own)."""
    if not config.sensors:
        return
    read_for: set[str] = set()
    for sensor in config.sensors:
        if sensor.person is None or names_its_people(sensor):
            return
        read_for.add(sensor.person)
    for index, rule in enumerate(config.rules):
        person = rule.person
        if person is None or person in read_for:
            continue
        if not any(getattr(trigger, "trigger", None) == "signal" for trigger in rule.triggers):
            continue
        yield (
            ("rules", index, "person"),
            f"no sensor reads for `{person}` (each names another `person:`): {person}'s "
            "signals stay unknown, so this rule's signal triggers never fire; give "
            f"{person}'s wearable `person: {person}`",
        )


def _unused_on_a_satellite(config: AmbientConfig) -> Iterator[Finding]:
    """A satellite runs its sensors and forwards their readings, nothing else: its rules,
    quiet hours and check-ins are never applied, and Home Assistant is only reached for an
    HA sensor."""
    if config.role != "satellite":
        return
    reads_ha = any(sensor.type == "homeassistant" for sensor in config.sensors)
    unused = [
        ("rules", bool(config.rules)),
        ("quiet_hours", config.quiet_hours is not None),
        ("check_ins", config.check_ins is not None),
        ("homeassistant", config.homeassistant is not None and not reads_ha),
    ]
    for section, given in unused:
        if given:
            yield (
                (section,),
                "a satellite only forwards its readings: this is never used here; put it in "
                "the central instance's config (or drop `role: satellite`)",
            )


def _publishers_naming_people(config: AmbientConfig) -> Iterator[Finding]:
    """A satellite sensor, or an MQTT sensor with ``person_topic_level``, takes only people
    listed under ``people:`` (or ``unlisted_people`` others): with none listed, it drops all."""
    if config.people:
        return
    for index, sensor in enumerate(config.sensors):
        names_people = sensor.type == "satellite" or (
            sensor.type == "mqtt" and sensor.person_topic_level is not None
        )
        if names_people and getattr(sensor, "unlisted_people", 0) == 0:
            yield (
                ("sensors", index, "type"),
                "this sensor takes only the people listed under `people:`, and none are: "
                "every reading will be dropped (`unknown_person`); list them, or accept "
                "others with `unlisted_people: N`",
            )


def _unread_metrics(config: AmbientConfig) -> Iterator[Finding]:
    """A sensor's user-named metric becomes a signal of that name; when no rule reads it, the
    readings go nowhere, which is most often a misnamed built-in (`heartrate` for `hr`)."""
    read = set(_metrics_the_signals_read(config.signals))
    for r_index, rule in enumerate(config.rules):
        read.update(signals_in_templates(rule, named_persons=True))
        for _, step in walk_steps(rule, ("rules", r_index)):
            if isinstance(step, WaitForStepConfig):
                read.add(step.wait_for.signal)
    builtins = ", ".join(sorted(BUILTIN_METRICS))
    for index, sensor in enumerate(config.sensors):
        metric = getattr(sensor, "metric", None)
        if not isinstance(metric, str) or metric in BUILTIN_METRICS or metric in read:
            continue
        close = _METRIC_SYNONYMS.get(metric) or next(
            iter(difflib.get_close_matches(metric, sorted(BUILTIN_METRICS), n=1, cutoff=0.6)),
            None,
        )
        hint = f"; did you mean `{close}`?" if close else ""
        yield (
            ("sensors", index, "metric"),
            f"no rule reads metric `{metric}` and ambient computes no signals from it "
            f"(built-in metrics: {builtins}){hint}",
        )


def _metrics_the_signals_read(model: BaseModel) -> Iterator[str]:
    """Metric names the signal settings name (``activity.movement_metric`` and the like)."""
    for name, value in model:
        if isinstance(value, BaseModel):
            yield from _metrics_the_signals_read(value)
        elif name.endswith("_metric") and isinstance(value, str):
            yield value
