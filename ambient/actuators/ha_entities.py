"""Which entities Home Assistant has: checked before an action is said to be performed.

HA carries out a service call on an entity it does not know without complaint (it only logs a
warning of its own), so a typo in ``target`` would otherwise be reported as "light.bedrom at
2400 K 35%" while nothing happened. An entity is looked up (its watched state, else one REST
read); once found it is watched, so its state stays current without a round trip on the
action's path, and one HA loses later (removed, or renamed in HA's UI) fails the next action.
One HA gains later is found on the next action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the action's pure helpers below are read without aiohttp loaded
    from ambient.connections.homeassistant import HomeAssistantClient

#: ``entity_id`` values that are not entities (HA's "every entity of the domain" and "none").
_NOT_ENTITIES = frozenset({"all", "none"})


class UnknownEntity(Exception):
    """Home Assistant has none of ``entity_ids``; the action was not performed."""

    counter = "unknown_entity"  # counted under ``ha:<entity_id>``

    def __init__(self, entity_ids: Iterable[str]) -> None:
        self.entity_ids = list(entity_ids)
        super().__init__(f"Home Assistant has no entity {', '.join(self.entity_ids)}")


class UnavailableEntity(UnknownEntity):
    """Every one of ``entity_ids`` is ``unavailable`` in HA (a bulb without power, a speaker
    offline): HA would skip them without a word, so the action was not performed."""

    counter = "unavailable"

    def __init__(self, entity_ids: Iterable[str]) -> None:
        super().__init__(entity_ids)
        self.args = (f"Home Assistant has {', '.join(self.entity_ids)} unavailable",)


def unavailable(states: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The entities of ``states`` HA reports ``unavailable``: a call on them does nothing."""
    return [entity_id for entity_id, state in states.items() if state.get("state") == "unavailable"]


class KnownEntities:
    def __init__(self, client: HomeAssistantClient) -> None:
        self.client = client
        self._watched: set[str] = set()

    async def require(self, entity_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The states of ``entity_ids`` when HA has every one; else raise
        :class:`UnknownEntity` naming the missing ones (``NotConnected`` when HA cannot be
        asked)."""
        missing, states = [], {}
        for entity_id in entity_ids:
            if entity_id in _NOT_ENTITIES:
                continue
            state = self.client.state(entity_id)
            if state is None:
                state = await self.client.get_state(entity_id)
                if state is None:
                    missing.append(entity_id)
                    continue
                if entity_id not in self._watched:
                    self._watched.add(entity_id)
                    self.client.watch_entities([entity_id], _ignore_state)
            states[entity_id] = state
        if missing:
            raise UnknownEntity(missing)
        return states


def _ignore_state(entity_id: str, new: object, old: object) -> None:
    """Watching keeps the client's copy of the state current; the changes need no handling."""
