"""Who ambient looks after: ids used everywhere else, and what helps the signals (age, HR)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from ambient.config.base import ConfigModel
from ambient.config.mqtt import HA_DAEMON_ENTITY_KEYS, HA_PERSON_ENTITY_KEYS
from ambient.config.types import Identifier

if TYPE_CHECKING:
    from ambient.config.root import AmbientConfig
    from ambient.config.yaml_source import KeyPath


class PersonConfig(ConfigModel):
    id: Identifier = Field(title="Id used in rules, topics and entity ids")
    name: str | None = Field(default=None, title="Display name")
    age: int | None = Field(default=None, ge=5, le=120, title="Age, for the default max HR")
    resting_hr: float | None = Field(
        default=None, ge=25, le=120, title="Known resting HR (bpm); measured when omitted"
    )
    max_hr: float | None = Field(
        default=None, ge=100, le=240, title="Known max HR (bpm); 208 - 0.7 x age when omitted"
    )

    @model_validator(mode="after")
    def _rest_below_max(self) -> PersonConfig:
        """Activity is read from the HR reserve between the two: none, and it is never seen."""
        rest, top = self.resting_hr, self.max_hr
        if rest is not None and top is not None and rest >= top:
            raise ValueError(f"`resting_hr` ({rest:g} bpm) must be below `max_hr` ({top:g} bpm)")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id


def devices_given_to_two_people(config: AmbientConfig) -> Iterator[tuple[KeyPath, str]]:
    """``ambient check``'s warning for one wearable listed under two people (a strap's address
    or name, an HA entity and attribute). An HA entity is read by both entries, so each of its
    readings would count as both people's and an episode of one be acted on for the other too;
    a strap takes one connection, so ``run`` lets whichever entry connects first read it, for
    its person, and the other keeps looking (``read_by_another``). MQTT sensors reading one
    value twice are warned of with every other double reading (``advice``)."""
    first: dict[tuple[str, ...], int] = {}
    for index, sensor in enumerate(config.sensors):
        device = _device(sensor)
        if device is None or sensor.person is None:
            continue
        seen = first.setdefault(device, index)
        other = config.sensors[seen]
        if seen == index or other.person == sensor.person:
            continue
        yield (
            ("sensors", index),
            f"reads the device of sensors[{seen}] ({device[0]} {device[-1]}) for "
            f"{sensor.person}, sensors[{seen}] for {other.person}: {_WHAT_RUN_DOES[device[0]]}; "
            "keep it under the person who wears it",
        )


_ONE_STRAP_READER = (
    "`run` lets whichever entry connects first read the strap, for its person, and the other "
    "keeps looking (read_by_another)"
)
# What ``run`` does with the device, by what names it (``_device``'s first item).
_WHAT_RUN_DOES = {
    "address": _ONE_STRAP_READER,
    "name": _ONE_STRAP_READER,
    "entity": "one heart would count as both people's",
}


def _device(sensor: object) -> tuple[str, ...] | None:
    """What names the device a sensor reads, as written first (None: nothing to compare)."""
    kind = getattr(sensor, "type", None)
    if kind == "ble":
        address, name = getattr(sensor, "address", None), getattr(sensor, "name", None)
        if address:
            return ("address", address.upper())
        return ("name", name) if name else None
    if kind == "homeassistant":
        attribute = getattr(sensor, "attribute", None) or ""
        return ("entity", attribute, getattr(sensor, "entity_id", ""))
    return None


def people_sharing_entity_ids(config: AmbientConfig) -> Iterator[tuple[KeyPath, str]]:
    """``ambient check``'s refusal of a person id that gives one of their Home Assistant
    entities the unique id of another (``mqtt`` + ``reconnects`` is the daemon's
    ``mqtt_reconnects``; ``alex_day_ln`` + ``rmssd`` is alex's ``day_ln_rmssd``): HA keeps one
    entity per unique id and drops the other. Only where discovery announces them."""
    mqtt = config.mqtt
    if mqtt is None or not mqtt.discovery or config.role != "standalone":
        return
    owners = {key: f"the daemon's `{key}`" for key in HA_DAEMON_ENTITY_KEYS}
    for index, person in enumerate(config.people):
        theirs = {f"{person.id}_{key}": key for key in HA_PERSON_ENTITY_KEYS}
        shared = next((suffix for suffix in theirs if suffix in owners), None)
        if shared is None:
            owners.update({suffix: f"`{person.id}`'s `{key}`" for suffix, key in theirs.items()})
            continue
        yield (
            ("people", index, "id"),
            f"`{person.id}` would give their `{theirs[shared]}` entity the unique id of "
            f"{owners[shared]} in Home Assistant (ambient_{config.instance}_{shared}), which "
            "keeps only one of the two: choose another id",
        )


def people_not_listed(config: AmbientConfig) -> Iterator[tuple[KeyPath, str]]:
    """``ambient check``'s warning for a check-in or sleep entry of an id ``people:`` lacks (a
    typo, someone removed): nobody would be asked through it, the sleep would be nobody's.
    A sensor or rule naming one is refused (``checks``); these only ever add to a person."""
    listed = config.person_ids()
    if not listed:
        return  # whoever the sensors read for
    known = f"`people:` ({', '.join(listed)})"
    for person in config.check_ins.people if config.check_ins is not None else ():
        if person not in listed:
            yield (
                ("check_ins", "people", person),
                f"no person `{person}` in {known}: nobody is asked through it",
            )
    for index, sleep in enumerate(config.insights.sleep):
        if sleep.person not in listed:
            yield (
                ("insights", "sleep", index, "person"),
                f"no person `{sleep.person}` in {known}: this sleep is nobody's",
            )
