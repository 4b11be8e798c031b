"""Small field types shared by the config models."""

from __future__ import annotations

import difflib
import re
from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from ambient.readings import METRIC_NAME_PATTERN

ID_PATTERN = r"^[a-z0-9][a-z0-9_]{0,63}$"
ENTITY_ID_PATTERN = r"^[a-z_][a-z0-9_]*\.[a-z0-9_]+$"
TIME_OF_DAY_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"


#: What an id YAML read as true or false is told, before the example of what to write.
YAML_BOOLEAN_ID = "YAML reads an unquoted on, off, yes or no as true or false: quote the id"


def quote_the_id(example: str | None = None) -> str:
    """The hint for an id YAML read as true or false, with ``example`` (``person: "on"``, in
    the word written) when the file tells it: the validator alone sees only true or false, not
    whether ``on`` or ``yes`` was written, nor whether the id is a list's item."""
    shown = f" (`{example}`)" if example else ""
    return f"{YAML_BOOLEAN_ID}{shown} or choose another"


def not_a_yaml_boolean(value: object) -> object:
    """For an id, as ``BeforeValidator(not_a_yaml_boolean)``: YAML reads an unquoted ``on``,
    ``off``, ``yes`` or ``no`` as true or false, which no id is. It says so, and to quote it
    (the loader adds the word as written), instead of pydantic's "Input should be a valid
    string", which leaves the user looking at a word that looks like text."""
    if isinstance(value, bool):
        raise ValueError(quote_the_id())
    return value


#: Ids of people, rules and sensors: what appears in topics, entity ids and traces. An unquoted
#: ``on`` is refused by name wherever an id is read (see :func:`not_a_yaml_boolean`).
Identifier = Annotated[
    str, BeforeValidator(not_a_yaml_boolean), StringConstraints(pattern=ID_PATTERN)
]
#: A metric name: a built-in (hr, rr, contact, activity, steps) or a user-named one.
MetricName = Annotated[str, StringConstraints(pattern=METRIC_NAME_PATTERN)]


def no_placeholder(value: object) -> object:
    """An entity id names one entity: a household reaching for ``person.{person}`` in a rule
    for anyone (or ``sensor.{person}_heart_rate`` in one sensor for all) is told so, and what
    to write instead, not only that the id is malformed."""
    if isinstance(value, str):
        found = re.search(r"\{[a-z_]*\}", value)
        if found:
            example = value.replace(found.group(), "alex")
            raise ValueError(
                f"`{found.group()}` is not filled in an entity id: it names one entity. For "
                "each person's own, give each person their own rule or sensor (`person: alex` "
                f"with `entity_id: {example}`)"
            )
    return value


#: A Home Assistant entity id such as ``light.bed_light``.
EntityId = Annotated[
    str, BeforeValidator(no_placeholder), StringConstraints(pattern=ENTITY_ID_PATTERN)
]
#: A file as a shell reads its name: ``~/…`` is in the user's home (not a folder named ``~``).
UserPath = Annotated[Path, AfterValidator(Path.expanduser)]
#: A Home Assistant ``domain.service`` name.
ServiceName = Annotated[str, StringConstraints(pattern=ENTITY_ID_PATTERN)]
#: HA's service for notify entities: it needs a target entity and takes no ``data``, so HA
#: refuses every call that names only the service (a notify action, check-ins, the report).
NOTIFY_ENTITY_SERVICE = "notify.send_message"


def _not_the_notify_entity_service(service: str) -> str:
    if service == NOTIFY_ENTITY_SERVICE:
        raise ValueError(
            f"`{NOTIFY_ENTITY_SERVICE}` sends to a notify entity, which cannot be named here "
            "(HA refuses the call without one): name the device's own service "
            "(notify.mobile_app_<device>), or use a service call: "
            f"`action: {NOTIFY_ENTITY_SERVICE}` with `target: {{entity_id: notify.<entity>}}`"
        )
    return service


#: A notify service that takes a message on its own (``notify.mobile_app_<device>``, a group).
NotifyServiceName = Annotated[ServiceName, AfterValidator(_not_the_notify_entity_service)]
#: A local time of day written ``HH:MM`` or ``HH:MM:SS``.
TimeOfDay = Annotated[str, StringConstraints(pattern=TIME_OF_DAY_PATTERN)]

#: What each pattern means, for error messages (a user should never read a regular expression).
PATTERN_MEANINGS = {
    ID_PATTERN: "an id: lower-case letters, digits and `_` (no spaces), such as `alex_smith`",
    METRIC_NAME_PATTERN: "a metric name: lower-case letters, digits and `_`, such as `hr`",
    ENTITY_ID_PATTERN: "a Home Assistant id such as `input_number.stress_threshold`",
    TIME_OF_DAY_PATTERN: "a time of day from 00:00 to 23:59, written HH:MM or HH:MM:SS",
}


def _known_time_zone(name: str) -> str:
    """An IANA zone this machine has: `run` needs it for every time trigger and quiet hours."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise ValueError(
            f"unknown time zone `{name}`{hint} (an IANA name such as `Europe/Berlin`)"
        ) from None
    return name


def topic_problem(topic: str, wildcards: bool) -> str | None:
    """What makes ``topic`` unusable as an MQTT topic filter (``wildcards``) or topic name,
    by the MQTT specification; None when it is fine. A broker refuses such a subscription."""
    if not topic:
        return "an MQTT topic must not be empty"
    if "\x00" in topic:
        return "an MQTT topic must not contain a NUL character"
    if len(topic.encode("utf-8")) > 65535:
        return "an MQTT topic is at most 65535 bytes"
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if not wildcards and ("+" in level or "#" in level):
            return f"`{topic}`: `+` and `#` are wildcards, only for subscribing, not here"
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return f"`{topic}`: `#` must be a whole level and the last one, as in `home/#`"
        if "+" in level and level != "+":
            return f"`{topic}`: `+` must be a whole level, as in `home/+/heart`"
    return None


def _topic_filter(topic: str) -> str:
    problem = topic_problem(topic, wildcards=True)
    if problem is not None:
        raise ValueError(problem)
    return topic


def _topic_name(topic: str) -> str:
    problem = topic_problem(topic, wildcards=False)
    if problem is not None:
        raise ValueError(problem)
    return topic


def _dotted_path(path: str) -> str:
    """A JSON path as ``payload_fields.lookup`` reads it: keys and array indexes joined by
    dots. The notations it is often copied in (JSONPath, brackets, an HA template) would match
    no payload, so each is refused with the dotted form."""
    inner = path.strip()
    if inner.startswith("{{") and inner.endswith("}}"):
        inner = inner[2:-2].strip()
    inner = re.sub(r"\[\s*['\"]?([^\]'\"]*?)['\"]?\s*\]", r".\1", inner)
    inner = re.sub(r"^(\$|value_json)\.", "", inner).lstrip(".")
    if inner != path:
        raise ValueError(f"a dotted path of JSON keys: write `{inner}`")
    if "" in path.split("."):
        raise ValueError(f"`{path}`: a dotted path has no empty part (e.g. `heart.bpm`, `rr.0`)")
    return path


#: A dotted JSON path (``heart.bpm``, ``rr.0``) into a payload.
JsonPath = Annotated[str, AfterValidator(_dotted_path)]
#: An IANA time zone name, such as ``Europe/Berlin``, that this machine knows.
TimeZoneName = Annotated[str, AfterValidator(_known_time_zone)]
#: An MQTT topic filter to subscribe to: ``+`` and ``#`` wildcards, each a whole level.
MqttTopicFilter = Annotated[str, AfterValidator(_topic_filter)]
#: An MQTT topic (or topic prefix) to publish to: no wildcards.
MqttTopicName = Annotated[str, AfterValidator(_topic_name)]


def parse_time_of_day(text: str) -> time:
    """A :data:`TimeOfDay` (``HH:MM`` or ``HH:MM:SS``, already validated) as a time."""
    parts = [int(p) for p in text.split(":")]
    return time(parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
