"""Small field types shared by the config models."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ambient.readings import METRIC_NAME_PATTERN

ID_PATTERN = r"^[a-z0-9][a-z0-9_]{0,63}$"
ENTITY_ID_PATTERN = r"^[a-z_][a-z0-9_]*\.[a-z0-9_]+$"
TIME_OF_DAY_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"

#: Ids of people, rules and sensors: what appears in topics, entity ids and traces.
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
#: A metric name: a built-in (hr, rr, contact, activity, steps) or a user-named one.
MetricName = Annotated[str, StringConstraints(pattern=METRIC_NAME_PATTERN)]
#: A Home Assistant entity id such as ``light.bed_light``.
EntityId = Annotated[str, StringConstraints(pattern=ENTITY_ID_PATTERN)]
#: A Home Assistant ``domain.service`` name.
ServiceName = Annotated[str, StringConstraints(pattern=ENTITY_ID_PATTERN)]
#: A local time of day written ``HH:MM`` or ``HH:MM:SS``.
TimeOfDay = Annotated[str, StringConstraints(pattern=TIME_OF_DAY_PATTERN)]

#: What each pattern means, for error messages (a user should never read a regular expression).
PATTERN_MEANINGS = {
    ID_PATTERN: "an id: lower-case letters, digits and `_` (no spaces), such as `alex_smith`",
    METRIC_NAME_PATTERN: "a metric name: lower-case letters, digits and `_`, such as `hr`",
    ENTITY_ID_PATTERN: "a Home Assistant id such as `input_number.stress_threshold`",
    TIME_OF_DAY_PATTERN: "a time of day from 00:00 to 23:59, written HH:MM or HH:MM:SS",
}
