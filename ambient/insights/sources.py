"""Where sleep comes from: the HA entities and MQTT topics a person's `insights.sleep` maps."""

from __future__ import annotations

import logging
from typing import Any

from ambient.config.root import AmbientConfig
from ambient.insights.service import Insights

_LOGGER = logging.getLogger(__name__)
_TO_HOURS = {"h": 1.0, "min": 1 / 60, "s": 1 / 3600}


def connect_sleep(insights: Insights, config: AmbientConfig, connections: Any) -> None:
    """Watch every mapped entity and topic (``connections``: the daemon's shared ones)."""
    for source in config.insights.sleep:
        scale = _TO_HOURS[source.duration_unit]
        for kind, entity, topic, factor in (
            ("hours", source.duration_entity, source.duration_topic, scale),
            ("score", source.score_entity, source.score_topic, 1.0),
        ):
            take = _taker(insights, source.person, kind, factor)
            if entity is not None and config.homeassistant is not None:
                connections.homeassistant().watch_entities(
                    [entity], lambda _id, new, _old, take=take: take((new or {}).get("state"))
                )
            if topic is not None and config.mqtt is not None:
                connections.mqtt().subscribe(
                    topic, lambda message, take=take: take(message.payload.decode(errors="replace"))
                )


def _taker(insights: Insights, person: str, kind: str, factor: float) -> Any:
    def take(raw: object) -> None:
        try:
            value = float(str(raw).strip())
        except ValueError:
            _LOGGER.debug("sleep %s of %s: not a number", kind, person)
            return
        insights.on_sleep(person, kind, value * factor)

    return take
