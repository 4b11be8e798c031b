"""What rules read: numbers from signals and HA entity states, unknown when they are not."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ambient.payload_fields import PayloadError, to_timestamp


def numeric(value: object) -> float | None:
    """The number in a signal or entity value, or None (unknown, text, NaN)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return None if math.isnan(number) or math.isinf(number) else number
    return None


def value_text(value: object) -> str:
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:g}"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"
    return str(value)


def state_text(value: object) -> str:
    """A signal's value as a state: true and false are ``on`` and ``off``, as the config reads
    a state written `on` (YAML's boolean) and as HA says it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


UNAVAILABLE = frozenset({"unknown", "unavailable", "none", ""})


@dataclass(slots=True)
class EntityState:
    """The last state seen of one HA entity, with when it changed."""

    state: str | None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    changed_at: float = 0.0

    def value(self, attribute: str | None) -> str | None:
        if attribute is None:
            return self.state
        raw = self.attributes.get(attribute)
        if raw is None:
            return None
        if isinstance(raw, bool):
            return "on" if raw else "off"
        return str(raw)

    def number(self) -> float | None:
        if self.state is None or self.state.lower() in UNAVAILABLE:
            return None
        return numeric(self.state)


def entity_state_from_event(data: Mapping[str, Any], time: float) -> EntityState:
    """Read an ``ha_state`` event's data (``state``, ``attributes``; a nested ``new_state``
    object as HA sends it is accepted too)."""
    new = data.get("new_state", data.get("state"))
    attributes = data.get("attributes")
    if isinstance(new, Mapping):
        attributes = new.get("attributes", attributes)
        new = new.get("state")
    state = None if new is None else str(new)
    return EntityState(state, dict(attributes or {}), time)


def ha_time(value: object) -> float | None:
    """HA's ``last_changed`` (unix seconds, or ISO 8601 as its REST API sends it), or None."""
    try:
        return to_timestamp(value, "last_changed")
    except PayloadError:
        return None
