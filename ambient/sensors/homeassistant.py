"""An HA entity's state or attribute as readings (the companion app's heart rate, a sleep
sensor, steps, presence), through the shared client's entity subscription.

``unknown`` / ``unavailable`` give no reading (unknown is unknown, never a made-up number). A
state that is not a number, or a number outside the configured (or physiological) range, is
an error naming the entity, counted under ``ha:<entity_id>``. HA keeps a heart rate's last
value when the watch goes quiet: a ``hr`` or ``rr`` state HA last updated more than
``STALE_AFTER_S`` (or the sensor's own longer ``stale_after``) ago (first seen at start, or
changed while HA was unreachable) is not a reading now, and is counted ``stale``; one updated
more than the signals' ``stale_after`` ago keeps its time; past the sensor's ``stale_after``
it reads stale, not current, and is counted ``behind_clock`` and said. An entity
HA removes while ambient runs (renamed, its integration deleted) is said once and counted
``removed_entity``: the readings stop for a reason.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import Any

from ambient.clock import Clock
from ambient.config.sensors import DEFAULT_PERSON, HomeAssistantSensorConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.ports import ReadingSink
from ambient.readings import HR, HR_ZERO, RR, VALID_RANGE, Reading, out_of_range_text
from ambient.sensors.cadence import SampledHeartRate

_LOGGER = logging.getLogger(__name__)

NO_VALUE = frozenset({"unknown", "unavailable", "none", ""})
#: States of binary sensors, presence and trackers, as numbers.
BOOLEAN_STATES = {
    "on": 1.0,
    "off": 0.0,
    "home": 1.0,
    "not_home": 0.0,
    "true": 1.0,
    "false": 0.0,
    "detected": 1.0,
    "clear": 0.0,
}
#: A heart-rate state HA last updated longer ago than this is old news, not a reading (as the
#: MQTT sensors' ``max_retained_age`` default).
STALE_AFTER_S = 300.0
#: Metrics that are samples of the heart, not states that hold (``in_bed``, presence).
_SAMPLED = frozenset({HR, RR})


class BadHaValue(ValueError):
    """A state that is no reading; ``reason`` is its counter name (``unparseable``,
    ``out_of_range``, ``hr_zero``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_value(config: HomeAssistantSensorConfig, state: Mapping[str, Any]) -> float | None:
    """The reading value in ambient's units, ``None`` when HA does not know it; raises
    :class:`BadHaValue` for a value that cannot be right."""
    where = f"{config.entity_id}" + (f" attribute {config.attribute}" if config.attribute else "")
    if config.attribute:
        raw = (state.get("attributes") or {}).get(config.attribute)
        if raw is None:
            return None
    else:
        raw = state.get("state")
    if isinstance(raw, (bool, int, float)):
        try:
            value = float(raw)
        except OverflowError:  # an attribute's integer beyond the float range
            value = math.inf
    elif isinstance(raw, str):
        text = raw.strip().lower()
        if text in NO_VALUE:
            return None
        if text in BOOLEAN_STATES:
            value = BOOLEAN_STATES[text]
        else:
            try:
                value = float(text)
            except ValueError:
                raise BadHaValue("unparseable", f"{where}: the state is not a number") from None
    else:
        raise BadHaValue(
            "unparseable", f"{where}: value of type {type(raw).__name__} is not a number"
        )
    if not math.isfinite(value):
        raise BadHaValue("unparseable", f"{where}: {value} is not a finite number")
    if config.unit == "s" and config.metric == RR:
        value *= 1000.0
    low, high = VALID_RANGE.get(config.metric, (-math.inf, math.inf))
    low = config.minimum if config.minimum is not None else low
    high = config.maximum if config.maximum is not None else high
    if not low <= value <= high:
        if value == 0.0 and config.metric == HR:
            # what a watch off the wrist or a strap without contact reports, as over Bluetooth
            raise BadHaValue(HR_ZERO, f"{where}: heart rate 0, the device has no reading")
        said = out_of_range_text(config.metric, low, high, config.unit, value)
        raise BadHaValue("out_of_range", f"{where}: {said}")
    return value


class HomeAssistantSensor:
    """Satisfies :class:`ambient.ports.Sensor`."""

    def __init__(
        self,
        config: HomeAssistantSensorConfig,
        client: HomeAssistantClient,
        clock: Clock,
        counters: Counters,
        *,
        name: str,
        stale_after_s: float = 15.0,
    ) -> None:
        """``stale_after_s``: the signals' ``stale_after``, past which a heart reading HA
        updated that long ago is one of then; past the sensor's own ``stale_after`` (when it
        has one) also counted and said."""
        self.config = config
        self.client = client
        self.clock = clock
        #: HA's times are the world's: read against a real clock also under ``--speed``.
        self._wall_clock = clock.for_outside_links()
        self.counters = counters
        self.name = name
        self.person = config.person or DEFAULT_PERSON
        self.readings = 0
        self.last_error: str | None = None
        self._throttle = Throttle(60.0)
        #: Within this of now, HA's time is taken as now (the two clocks' tolerance).
        self._behind_after_s = stale_after_s
        self._stale_after_s = config.stale_after or stale_after_s
        #: A heart reading older than this is old news (a sparse watch's, after its span).
        self._old_news_s = max(STALE_AFTER_S, self._stale_after_s)
        #: Says once when its heart rate, without a span of its own, comes minutes apart.
        self._sampled = (
            SampledHeartRate(name, stale_after_s, _LOGGER)
            if config.metric == HR and config.stale_after is None
            else None
        )
        #: What the age warnings add for a heart rate without a span of its own: most such
        #: entities are a watch's, whose last sample is minutes old at every start.
        self._watch_hint = (
            "; a watch that measures every few minutes: give the sensor `stale_after:` a "
            "little over its interval (docs/signals.md#every-kind-of-source)"
            if self._sampled is not None
            else ""
        )

    async def run(self, sink: ReadingSink) -> None:
        self.client.watch_entities(
            [self.config.entity_id], lambda _e, new, old: self._on_state(sink, new, old)
        )
        await asyncio.Event().wait()

    def _on_state(
        self, sink: ReadingSink, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        if new is None:
            if old is not None:  # renamed or deleted in HA: say why the readings stop
                self.counters.increment(f"ha:{self.config.entity_id}", "removed_entity")
                self._throttle.log(
                    _LOGGER,
                    logging.WARNING,
                    f"{self.config.entity_id}:removed",
                    "Sensor %s: Home Assistant removed %s (renamed or deleted?); no readings "
                    "from it until it is back",
                    self.name,
                    self.config.entity_id,
                )
            return
        try:
            value = parse_value(self.config, new)
        except BadHaValue as exc:
            self.counters.increment(f"ha:{self.config.entity_id}", exc.reason)
            if exc.reason == HR_ZERO:  # the device working as made: counted, not a problem
                _LOGGER.debug("Sensor %s: %s", self.name, exc)
                return
            self.last_error = str(exc)
            self._throttle.log(
                _LOGGER, logging.WARNING, self.config.entity_id, "Sensor %s: %s", self.name, exc
            )
            return
        if value is None:
            return
        if old is not None and _attribute_unchanged(self.config.attribute, new, old):
            return  # another attribute changed: not a new reading
        age_s = self._age_s(new) if self.config.metric in _SAMPLED else None
        if age_s is not None and age_s > self._old_news_s:
            self.counters.increment(f"ha:{self.config.entity_id}", "stale")
            # A warning, held to one a minute: if every state is old, HA's clock (or the
            # Pi's) is the likely cause, and nothing else would say why no reading comes.
            self._throttle.log(
                _LOGGER,
                logging.WARNING,
                f"{self.config.entity_id}:stale",
                "Sensor %s: %s was last updated more than %.0f min ago; not taken as now "
                "(if every state is, check the clocks of HA and of this machine)%s",
                self.name,
                self.config.entity_id,
                self._old_news_s / 60,
                self._watch_hint,
            )
            return
        now = self.clock.now()
        if age_s is not None and age_s > self._behind_after_s:
            now -= age_s  # a reading of then: current only for what is left of its span
            if age_s > self._stale_after_s:  # past it: read stale, and said
                self._behind(age_s)
        _LOGGER.debug("Sensor %s: %s = %s", self.name, self.config.metric, value)
        self.readings += 1
        sink.put_nowait(Reading(now, self.person, self.config.metric, value, self.name))
        if self._sampled is not None:
            self._sampled.seen(self.person, now)

    def _age_s(self, state: Mapping[str, Any]) -> float | None:
        """How long ago HA last updated ``state`` (None: no time to judge by)."""
        updated = state.get("last_updated")
        if not isinstance(updated, int | float) or isinstance(updated, bool):
            return None
        return self._wall_clock.now() - float(updated)

    def _behind(self, age_s: float) -> None:
        """Counted, and said at most once a minute without the value (health data)."""
        self.counters.increment(f"ha:{self.config.entity_id}", "behind_clock")
        self._throttle.log(
            _LOGGER,
            logging.WARNING,
            f"{self.config.entity_id}:behind",
            "Sensor %s: %s was last updated %.0f s ago, past stale_after (%.0f s): taken as "
            "a reading of then, so it reads stale (counted behind_clock)%s",
            self.name,
            self.config.entity_id,
            age_s,
            self._stale_after_s,
            self._watch_hint,
        )

    def diagnostics(self) -> Mapping[str, Any]:
        return {
            "entity_id": self.config.entity_id,
            "readings": self.readings,
            "last_error": self.last_error,
            "connection": self.client.status,
        }


def _attribute_unchanged(
    attribute: str | None, new: Mapping[str, Any], old: Mapping[str, Any]
) -> bool:
    """In attribute mode, a change elsewhere in the entity is not a new reading."""
    if attribute is None:
        return False
    new_value = (new.get("attributes") or {}).get(attribute)
    return bool(new_value == (old.get("attributes") or {}).get(attribute))
