"""Rule state of people no longer in the config, ended at a start (a restart or a reload).

Someone removed from ``people:`` never sends another reading, so their restored state would
stay for ever: a `for` window ending on "unknown person", a cooldown and an episode shown by
``ambient status``, and an open episode never recovering, its lights held. At the start their
state is dropped: an open episode (or a run) is traced as ``ended`` with the reason, and, no
rule owning it any more, the actuators undo it when the engine settles the episodes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ambient.config.root import AmbientConfig
from ambient.config.sensors import DEFAULT_PERSON
from ambient.rules.rule import Rule
from ambient.rules.state import person_of

_LOGGER = logging.getLogger(__name__)

#: ``(rule, person, reason)``: trace one ended episode.
TraceEnded = Callable[[Rule, str, str], None]


def people_kept(config: AmbientConfig) -> frozenset[str] | None:
    """The person ids whose rule state a start keeps; None keeps everyone's (no ``people:``
    listed, or a sensor accepts ids not listed with ``unlisted_people``)."""
    if not config.people:
        return None
    kept = set(config.person_ids())
    for sensor in config.sensors:
        if getattr(sensor, "unlisted_people", 0) > 0:
            return None
        kept.add(getattr(sensor, "person", None) or DEFAULT_PERSON)
    return frozenset(kept)


def drop_departed(rule: Rule, kept: frozenset[str], trace_ended: TraceEnded) -> bool:
    """Drop the state of ``rule`` for every person not in ``kept``, tracing each one who had
    an episode or a run open; True when anything was dropped."""
    departed = [key for key in rule.persons if person_of(key) is not None and key not in kept]
    for key in departed:
        state = rule.persons.pop(key)
        _LOGGER.info(
            "Rule %s: %s is not in the config's people; their state is dropped", rule.id, key
        )
        if state.episodes or state.runs:
            trace_ended(
                rule,
                key,
                f"{key} is not in the config's people: episode ended, what it changed put back",
            )
    return bool(departed)
