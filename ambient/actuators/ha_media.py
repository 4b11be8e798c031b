"""play_calming: start calming media quietly and ramp the volume up on the clock; never cut
into something already playing unless asked; stop and restore the volume on recovery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ambient.actuators.ha_entities import UnknownEntity
from ambient.actuators.ha_episode import Episode, MediaTakeover
from ambient.clock import Clock
from ambient.config.actions import PlayCalmingActionConfig
from ambient.connections.errors import NotConnected
from ambient.connections.homeassistant import HomeAssistantClient

_LOGGER = logging.getLogger(__name__)

#: One volume step this often during the ramp.
RAMP_STEP_S = 2.0


class PlayCalming:
    def __init__(
        self,
        client: HomeAssistantClient,
        clock: Clock,
        changed: Callable[[Episode], None] = lambda episode: None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.changed = changed  # told after each takeover (to persist it)

    async def play(self, episode: Episode, action: PlayCalmingActionConfig) -> str:
        player = action.target
        state = await self.client.get_state(player)
        if state is None:
            raise UnknownEntity([player])
        if player in episode.media:
            return f"already playing on {player}"
        if state.get("state") == "playing" and not action.interrupt:
            return f"left alone: {player} is already playing"
        previous = state.get("attributes", {}).get("volume_level")
        start_volume = min(action.start_volume, action.volume)
        ramping = float(action.ramp) > 0 and start_volume < action.volume
        first_volume = start_volume if ramping else action.volume
        target = {"entity_id": player}
        await self.client.call_service(
            "media_player", "volume_set", {"volume_level": first_volume}, target
        )
        await self.client.call_service(
            "media_player",
            "play_media",
            {
                "media_content_id": action.media_content_id,
                "media_content_type": action.media_content_type,
            },
            target,
        )
        episode.media[player] = MediaTakeover(
            player,
            float(previous) if isinstance(previous, (int, float)) else None,
            action.stop_on_recovery,
        )
        self.changed(episode)
        if ramping:
            episode.start_task(asyncio.create_task(self._ramp(action, start_volume)))
        return f"{action.media_content_id} on {player}, volume to {action.volume:g}"

    async def _ramp(self, action: PlayCalmingActionConfig, start_volume: float) -> None:
        steps = max(1, round(float(action.ramp) / RAMP_STEP_S))
        begin = self.clock.now()
        for index in range(1, steps + 1):
            await self.clock.sleep_until(begin + index * float(action.ramp) / steps)
            volume = start_volume + (action.volume - start_volume) * index / steps
            try:
                await self.client.call_service(
                    "media_player",
                    "volume_set",
                    {"volume_level": round(volume, 3)},
                    {"entity_id": action.target},
                )
            except NotConnected:
                _LOGGER.warning("Volume ramp on %s stopped: HA not connected", action.target)
                return

    async def stop(self, episode: Episode) -> list[str]:
        stopped = []
        for takeover in episode.media.values():
            if not takeover.stop_on_recovery:
                continue
            target = {"entity_id": takeover.entity_id}
            await self.client.call_service("media_player", "media_stop", {}, target)
            if takeover.previous_volume is not None:
                await self.client.call_service(
                    "media_player", "volume_set", {"volume_level": takeover.previous_volume}, target
                )
            stopped.append(takeover.entity_id)
        return stopped
