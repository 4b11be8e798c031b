"""What calm_lights and play_calming hold in Home Assistant across episodes: one mechanism.

Two episodes (two rules, two people's) may change the same light or speaker. The "before" that
counts is the first one's (its snapshot scene, the player's volume), and only the last episode
still holding the entity puts it back — if any of them wanted it put back (``restore``,
``stop_on_recovery``): an episode that ends while another holds the entity hands its wish on,
so the order they end in does not matter. A change by someone else takes the entity over in
every episode holding it: from then on none of them changes or restores it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ambient.actuators.ha_episode import Episode, LightSnapshot, MediaTakeover
from ambient.connections.homeassistant import HomeAssistantClient

_LOGGER = logging.getLogger(__name__)

Hold = TypeVar("Hold", LightSnapshot, MediaTakeover)


class SharedHolds(ABC, Generic[Hold]):
    def __init__(
        self,
        client: HomeAssistantClient,
        episodes: Callable[[], list[Episode]],
        changed: Callable[[Episode], None],
    ) -> None:
        self.client = client
        self.episodes = episodes
        self.changed = changed  # told after each new hold or takeover (to persist it)
        self._watched: set[str] = set()

    @abstractmethod
    def holds(self, episode: Episode) -> dict[str, Hold]:
        """This kind's holds in ``episode``, by entity id."""

    @abstractmethod
    def _on_change(
        self, entity_id: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        """A watched entity changed: judge whether someone else took it over."""

    @abstractmethod
    def wants_put_back(self, held: Hold) -> bool:
        """Whether this hold's episode puts the entity back when it ends."""

    @abstractmethod
    def want_put_back(self, held: Hold) -> None:
        """Make this hold put the entity back when its episode ends."""

    def put_back_owed(self, entity_id: str) -> bool:
        """Whether the entity will be put back: some episode holding it (nobody has taken it
        over) wants that."""
        return any(self.wants_put_back(held) for _, held in self._holding(entity_id))

    def left_to_others(self, held: Hold, episode: Episode) -> bool:
        """``episode`` is ending: whether other episodes still hold ``held``'s entity, so the
        last of them puts it back; if ``episode`` wanted that, they now owe it (persisted)."""
        others = self._holding(held.entity_id, besides=episode)
        if self.wants_put_back(held):
            for other, other_held in others:
                if not self.wants_put_back(other_held):
                    self.want_put_back(other_held)
                    self.changed(other)
        return bool(others)

    def held_elsewhere(self, entity_id: str, episode: Episode) -> Hold | None:
        """The hold on ``entity_id`` by another episode that nobody has taken from it."""
        return next((held for _, held in self._holding(entity_id, besides=episode)), None)

    def _holding(
        self, entity_id: str, besides: Episode | None = None
    ) -> list[tuple[Episode, Hold]]:
        """The episodes (but ``besides``) holding ``entity_id`` that nobody has taken it from,
        each with its hold."""
        return [
            (episode, held)
            for episode in self.episodes()
            if episode is not besides
            and (held := self.holds(episode).get(entity_id)) is not None
            and held.overridden_by is None
        ]

    def watch(self, entity_ids: list[str]) -> None:
        for entity_id in entity_ids:
            if entity_id not in self._watched:
                self._watched.add(entity_id)
                self.client.watch_entities([entity_id], self._on_change)

    def take_over(self, entity_id: str, who: str, episodes: list[Episode]) -> None:
        """``who`` changed ``entity_id``: it is theirs in each of ``episodes`` holding it."""
        for episode in episodes:
            held = self.holds(episode).get(entity_id)
            if held is not None and held.overridden_by is None:
                held.overridden_by = who
                self.changed(episode)
                _LOGGER.info(
                    "%s was changed by someone else during episode %s: leaving it alone",
                    entity_id,
                    episode.id,
                )
