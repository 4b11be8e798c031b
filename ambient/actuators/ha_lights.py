"""calm_lights: snapshot, warm and dim, restore on recovery — unless someone took a light over.

A change to a calmed light counts as someone else's when its HA context names another user
(the HA app or dashboard), or when it has no user and switches the light on/off (a wall switch,
a remote). Attribute-only updates without a user (a light reporting its fade) are not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ambient.actuators.ha_episode import Episode, LightSnapshot, slug
from ambient.actuators.ha_outcome import NothingDone
from ambient.config.actions import CalmLightsActionConfig
from ambient.connections.homeassistant import HomeAssistantClient

_LOGGER = logging.getLogger(__name__)


#: What ambient leaves a light it calmed or paced as: the "before" a light's state is judged
#: against when ambient did not see the change itself (it was not running, or HA was away).
AS_AMBIENT_LEFT_IT: dict[str, Any] = {"state": "on"}


class CalmLights:
    def __init__(
        self,
        client: HomeAssistantClient,
        episodes: Callable[[], list[Episode]],
        changed: Callable[[Episode], None] = lambda episode: None,
    ) -> None:
        self.client = client
        self.episodes = episodes
        self.changed = changed  # told after each new snapshot or takeover (to persist it)
        self._watched: set[str] = set()

    async def snapshot(
        self, episode: Episode, lights: list[str], *, restore: bool, transition_s: float = 0.0
    ) -> None:
        """Remember the lights' state (once per episode) in a scene HA holds for us; episodes
        calming the same light share the first one's."""
        for entity_id in lights:
            if entity_id in episode.lights:
                continue
            held = self._held_elsewhere(entity_id, episode)
            if held is not None:
                # Already calmed by another episode: its snapshot is of the state before that
                # episode; a new one would be of ambient's calm state.
                scene_entity_id = held.scene_entity_id
            else:
                scene_id = f"ambient_{slug(episode.id)}_{slug(entity_id)}"
                await self.client.call_service(
                    "scene", "create", {"scene_id": scene_id, "snapshot_entities": [entity_id]}
                )
                scene_entity_id = f"scene.{scene_id}"
            episode.lights[entity_id] = LightSnapshot(
                entity_id, scene_entity_id, restore, transition_s=transition_s
            )
            self.changed(episode)
            self.watch([entity_id])

    async def calm(
        self, episode: Episode, action: CalmLightsActionConfig, unavailable: Sequence[str] = ()
    ) -> str:
        """Warm and dim the target's lights, but those someone took over and those HA has
        ``unavailable`` (HA would skip them silently; the detail names them)."""
        reachable = [e for e in action.target if e not in unavailable]
        await self.snapshot(
            episode, reachable, restore=action.restore, transition_s=float(action.transition)
        )
        lights = episode.active_lights(reachable)
        away = f" (unavailable: {', '.join(unavailable)})" if unavailable else ""
        if not lights:
            raise NothingDone(
                "left alone: every light was changed by someone during this episode" + away
            )
        await self.client.call_service(
            "light",
            "turn_on",
            {
                "color_temp_kelvin": action.color_temp_kelvin,
                "brightness_pct": action.brightness_pct,
                "transition": float(action.transition),
            },
            {"entity_id": lights},
        )
        skipped = sorted(set(reachable) - set(lights))
        detail = f"{', '.join(lights)} at {action.color_temp_kelvin} K {action.brightness_pct}%"
        return detail + (f" (left alone: {', '.join(skipped)})" if skipped else "") + away

    async def restore(self, episode: Episode) -> list[str]:
        """Put back what ambient changed; lights someone took over stay as they are. A light
        another episode still holds is left to it (they share the snapshot from before the
        first of them): the last episode to end restores it."""
        restored = []
        for snapshot in episode.lights.values():
            if snapshot.overridden_by is not None or not snapshot.restore:
                continue
            if self._held_elsewhere(snapshot.entity_id, episode) is not None:
                _LOGGER.info(
                    "%s is still calmed by another episode: restored when that ends",
                    snapshot.entity_id,
                )
                continue
            fade = {"transition": snapshot.transition_s} if snapshot.transition_s else {}
            await self.client.call_service(
                "scene", "turn_on", fade, {"entity_id": snapshot.scene_entity_id}
            )
            restored.append(snapshot.entity_id)
        shared = {
            s.scene_entity_id
            for other in self.episodes()
            if other is not episode
            for s in other.lights.values()
        }
        scenes = [
            s.scene_entity_id for s in episode.lights.values() if s.scene_entity_id not in shared
        ]
        if scenes:
            await self.client.call_service("scene", "delete", {}, {"entity_id": scenes})
        return restored

    def _held_elsewhere(self, entity_id: str, episode: Episode) -> LightSnapshot | None:
        """The snapshot of ``entity_id`` in another episode that nobody has taken it from."""
        for other in self.episodes():
            held = other.lights.get(entity_id)
            if other is not episode and held is not None and held.overridden_by is None:
                return held
        return None

    async def judge_current(self, episode: Episode) -> None:
        """For an episode ambient did not watch throughout (carried over a restart, or ended
        while HA was away): a light whose last change was someone else's is theirs now."""
        for snapshot in list(episode.lights.values()):
            if snapshot.overridden_by is None:
                state = await self.client.get_state(snapshot.entity_id)
                if state is not None:
                    self._judge(snapshot.entity_id, state, AS_AMBIENT_LEFT_IT, [episode])

    def watch(self, entity_ids: list[str]) -> None:
        for entity_id in entity_ids:
            if entity_id not in self._watched:
                self._watched.add(entity_id)
                self.client.watch_entities([entity_id], self._on_change)

    def _on_change(
        self, entity_id: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        if new is None:
            return
        if old is None:
            # The first state seen since ambient started: only episodes carried over a restart
            # can have missed a change, and ambient left their lights on.
            recovered = [e for e in self.episodes() if e.recovered]
            self._judge(entity_id, new, AS_AMBIENT_LEFT_IT, recovered)
        else:
            self._judge(entity_id, new, old, self.episodes())

    def _judge(
        self,
        entity_id: str,
        new: dict[str, Any],
        old: dict[str, Any],
        episodes: list[Episode],
    ) -> None:
        who = self._changed_by_someone_else(new, old)
        if who is None:
            return
        for episode in episodes:
            snapshot = episode.lights.get(entity_id)
            if snapshot is not None and snapshot.overridden_by is None:
                snapshot.overridden_by = who
                self.changed(episode)
                _LOGGER.info(
                    "%s was changed by someone else during episode %s: leaving it alone",
                    entity_id,
                    episode.id,
                )

    def _changed_by_someone_else(self, new: dict[str, Any], old: dict[str, Any]) -> str | None:
        context = new.get("context") or {}
        user_id = context.get("user_id")
        if user_id is not None:
            return None if user_id == self.client.user_id else str(user_id)
        if context.get("parent_id") is None and new.get("state") != old.get("state"):
            return "device"
        return None
