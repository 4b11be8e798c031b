"""The entities and services a config's Home Assistant actions name, looked up as soon as
ambient connects.

``ambient check`` cannot see HA, and an action finds a missing entity only when it runs: a
light renamed in HA (a bulb paired again comes back as ``light.bedroom_2``) would otherwise be
found at the first episode, perhaps at night, days later. Each connection (HA restarted after
the change) looks again; each missing entity or service (a service call's ``script.bedtime``,
a breathing's ``tts_service``) is one warning while it stays missing, naming the rules whose
actions name it, and one line when HA has it again (the journal's policy, docs/raspberry-pi.md);
a reload's new config warns again of what is still missing. The actions themselves still
check before they act. (Notify services have their own look-up:
:mod:`ambient.actuators.ha_notify_services`.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ambient.actuators.ha_connect_lookup import LookUpAtConnect, add_place, service_names
from ambient.actuators.homeassistant import entities_of
from ambient.config.actions import (
    BreathingActionConfig,
    LeafActionConfig,
    ServiceCallActionConfig,
)
from ambient.config.rule_checks import walk_steps
from ambient.connections.errors import LinkError

if TYPE_CHECKING:
    from ambient.config.root import AmbientConfig
    from ambient.connections.homeassistant import HomeAssistantClient

_LOGGER = logging.getLogger(__name__)

#: What a service call's ``entity_id`` may be that names no one entity (HA's
#: ``ENTITY_MATCH_ALL`` and ``ENTITY_MATCH_NONE``).
_NO_ENTITY = frozenset({"all", "none"})


def named_action_entities(config: AmbientConfig) -> dict[str, list[str]]:
    """Each entity a rule's HA action acts on or reads (its lights, players, TTS entity, a
    breathing's ``while`` entity, a service call's target) and the rules naming it. An id
    with a placeholder is filled only when the action runs, and ``all`` and ``none`` are HA's
    words for every entity and for none: not looked up."""
    named: dict[str, list[str]] = {}
    for rule in config.rules:
        for _path, step in walk_steps(rule, ()):
            if not isinstance(step, LeafActionConfig):
                continue
            for entity_id in entities_of(step):
                if "{" in entity_id or entity_id in _NO_ENTITY:
                    continue
                add_place(named, entity_id, f"rule {rule.id}")
    return named


def named_action_services(config: AmbientConfig) -> dict[str, list[str]]:
    """Each service a rule's action calls by name (a service call's ``domain.service``, a
    breathing's ``tts_service``) and the rules naming it."""
    named: dict[str, list[str]] = {}
    for rule in config.rules:
        for _path, step in walk_steps(rule, ()):
            if isinstance(step, ServiceCallActionConfig):
                service: str | None = step.action
            elif isinstance(step, BreathingActionConfig):
                service = step.tts_service
            else:
                continue
            if service is not None:
                add_place(named, service, f"rule {rule.id}")
    return named


class ActionEntityCheck(LookUpAtConnect):
    """Looks the ``named`` entities and ``services`` up at every connection; ``task``: the
    latest look-up."""

    def __init__(
        self,
        client: HomeAssistantClient,
        named: Mapping[str, list[str]],
        services: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.named = dict(named)
        self.services = dict(services or {})
        super().__init__(client)

    async def look_up(self) -> list[str]:
        """The named entities HA does not have (each warned of once while it is missing);
        none when HA cannot be asked now (the next connection asks again)."""
        missing = []
        try:
            for entity_id in self.named:
                if await self.client.get_state(entity_id) is None:
                    missing.append(entity_id)
            if self.services:
                known = set(service_names(await self.client.services()))
                missing += [service for service in self.services if service not in known]
        except LinkError as exc:
            _LOGGER.debug("Action entities not looked up: %s", exc)
            return []
        for entity_id in missing:
            if entity_id in self._warned:
                continue
            self._warned.add(entity_id)
            if entity_id in self.services:
                _LOGGER.warning(
                    "Home Assistant has no service %s (%s): its actions will fail until it is "
                    "there",
                    entity_id,
                    ", ".join(self.services[entity_id]),
                )
                continue
            _LOGGER.warning(
                "Home Assistant has no entity %s (%s): its actions will not be performed "
                "(renamed or removed in Home Assistant?)",
                entity_id,
                ", ".join(self.named[entity_id]),
            )
        self._say_back(missing, _LOGGER)
        _LOGGER.debug(
            "Home Assistant: %d action entities and services looked up, %d missing",
            len(self.named) + len(self.services),
            len(missing),
        )
        return missing
