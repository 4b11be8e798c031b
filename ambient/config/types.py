"""Small field types shared by the config models."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ambient.readings import METRIC_NAME_PATTERN

#: Ids of people, rules and sensors: what appears in topics, entity ids and traces.
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$")]
#: A metric name: a built-in (hr, rr, contact, activity, steps) or a user-named one.
MetricName = Annotated[str, StringConstraints(pattern=METRIC_NAME_PATTERN)]
#: A Home Assistant entity id such as ``light.bed_light``.
EntityId = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*\.[a-z0-9_]+$")]
#: A Home Assistant ``domain.service`` name.
ServiceName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*\.[a-z0-9_]+$")]
#: A local time of day written ``HH:MM`` or ``HH:MM:SS``.
TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")]
