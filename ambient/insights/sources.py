"""Where sleep comes from: the HA entities and MQTT topics a person's `insights.sleep` maps.

An HA entity says when its value was set (``last_updated``) and in which unit: a value set
before the open day (last night's, seen when ambient starts a day later) is not counted again,
and an entity's own time unit wins over the configured ``duration_unit`` (Withings reports
seconds, Fitbit minutes). An MQTT payload is a bare number in the configured unit and counts
for the day it arrives. A value no night can have (not finite, below 0, over 24 hours or a
score over 100) is refused: it would stand in the day's summary and the weekly report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ambient.config.root import AmbientConfig
from ambient.insights.service import Insights

_LOGGER = logging.getLogger(__name__)
#: Hours per unit: the configurable ones and HA's other time units (``UnitOfTime``).
TO_HOURS = {"ms": 1 / 3_600_000, "s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0}

Take = Callable[[object, float, float | None], None]
#: The most a night can have of each kind (hours; the integrations' scores are 0-100).
MOST = {"hours": 24.0, "score": 100.0}


def connect_sleep(insights: Insights, config: AmbientConfig, connections: Any) -> None:
    """Watch every mapped entity and topic (``connections``: the daemon's shared ones)."""
    for source in config.insights.sleep:
        scale = TO_HOURS[source.duration_unit]
        for kind, entity, topic, factor in (
            ("hours", source.duration_entity, source.duration_topic, scale),
            ("score", source.score_entity, source.score_topic, 1.0),
        ):
            take = _taker(insights, source.person, kind)
            if entity is not None and config.homeassistant is not None:
                connections.homeassistant().watch_entities(
                    [entity], _entity_handler(take, factor, with_unit=kind == "hours")
                )
            if topic is not None and config.mqtt is not None:
                connections.mqtt().subscribe(
                    topic,
                    lambda message, take=take, factor=factor: take(
                        message.payload.decode(errors="replace"), factor, None
                    ),
                )


def _entity_handler(
    take: Take, factor: float, with_unit: bool
) -> Callable[[str, Mapping[str, Any] | None, Mapping[str, Any] | None], None]:
    def handle(_entity_id: str, new: Mapping[str, Any] | None, _old: object) -> None:
        if new is None:
            return  # the entity was removed
        unit = (new.get("attributes") or {}).get("unit_of_measurement")
        scale = TO_HOURS.get(unit, factor) if with_unit and isinstance(unit, str) else factor
        updated = new.get("last_updated")
        at = float(updated) if isinstance(updated, int | float) else None
        take(new.get("state"), scale, at)

    return handle


def _taker(insights: Insights, person: str, kind: str) -> Take:
    def take(raw: object, factor: float, at: float | None) -> None:
        try:
            value = float(str(raw).strip()) * factor
        except ValueError:
            _LOGGER.debug("sleep %s of %s: not a number", kind, person)
            return
        if not 0.0 <= value <= MOST[kind]:  # NaN fails the comparison too
            _LOGGER.debug("sleep %s of %s: %r is no night's value", kind, person, raw)
            return
        insights.on_sleep(person, kind, value, at)

    return take
