"""play_calming: start calming media quietly and ramp the volume up on the clock; never cut
into something already playing unless asked; stop and restore the volume on recovery — by the
last of the episodes playing on a player (if any of them asked to stop it), to the volume from
before the first.

The user wins, as with lights: a change to the player in a context whose user is not ambient's
(the HA app, a dashboard), or a volume ambient did not set reported without a user (the
speaker's buttons, its own app), takes the player over: the ramp stops, and recovery neither
stops it nor resets its volume.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ambient.actuators.ha_episode import Episode, MediaTakeover
from ambient.actuators.ha_holds import SharedHolds
from ambient.actuators.ha_outcome import NothingDone
from ambient.clock import Clock
from ambient.config.actions import PlayCalmingActionConfig
from ambient.connections.errors import LinkError, LostInCall, NotConnected
from ambient.connections.homeassistant import HomeAssistantClient, HomeAssistantError

_LOGGER = logging.getLogger(__name__)

#: One volume step this often during the ramp.
RAMP_STEP_S = 2.0
#: A volume reported this close to one ambient set is ambient's (speakers round it).
VOLUME_TOLERANCE = 0.02


class PlayCalming(SharedHolds[MediaTakeover]):
    def __init__(
        self,
        client: HomeAssistantClient,
        clock: Clock,
        episodes: Callable[[], list[Episode]] = list,
        changed: Callable[[Episode], None] = lambda episode: None,
    ) -> None:
        super().__init__(client, episodes, changed)
        self.clock = clock
        #: The volumes ambient asked each player for while it holds it: a report of one of
        #: them is no takeover. A new hold (no other episode on the player) starts it afresh.
        self._volumes_set: dict[str, list[float]] = {}
        #: (episode, player) of a play HA did not answer: a retry carries on with that hold.
        self._unanswered: set[tuple[str, str]] = set()

    def volumes_set(self, player: str) -> list[float]:
        """The volumes ambient set on ``player`` since it last took it (none held it)."""
        return list(self._volumes_set.get(player, []))

    async def play(
        self, episode: Episode, action: PlayCalmingActionConfig, state: dict[str, Any]
    ) -> str:
        """Play on ``action.target`` (HA has it, available), from its current ``state``. The
        player is held by the episode before its volume is touched: an attempt HA does not
        answer (the attempt's timeout, the link dropping) may still play, so the episode's end
        stops it and puts the volume back, and a retry carries on from the volume before."""
        player = action.target
        key = (episode.id, player)
        retry = key in self._unanswered
        mine = episode.media.get(player)
        if mine is not None and not retry:
            raise NothingDone(f"already playing on {player}")
        if mine is not None and mine.overridden_by is not None:
            self._unanswered.discard(key)
            raise NothingDone(f"left alone: someone changed {player} meanwhile")
        if state.get("state") == "playing" and not action.interrupt and not retry:
            raise NothingDone(f"left alone: {player} is already playing")
        held = self.held_elsewhere(player, episode)
        if mine is None:
            if held is None:
                self._volumes_set[player] = []  # the volumes of episodes over are no one's now
            # A player another episode already plays on: its volume now is ambient's.
            previous = (
                held.previous_volume if held else state.get("attributes", {}).get("volume_level")
            )
            mine = MediaTakeover(
                player,
                float(previous) if isinstance(previous, (int, float)) else None,
                action.stop_on_recovery,
            )
            episode.media[player] = mine
            self.changed(episode)
        start_volume = min(action.start_volume, action.volume)
        ramping = float(action.ramp) > 0 and start_volume < action.volume
        first_volume = start_volume if ramping else action.volume
        self.watch([player])
        touched = retry  # whether HA may have been asked anything for this hold yet
        try:
            await self._set_volume(player, first_volume)
            touched = True
            await self.client.call_service(
                "media_player",
                "play_media",
                {
                    "media_content_id": action.media_content_id,
                    "media_content_type": action.media_content_type,
                },
                {"entity_id": player},
            )
        except HomeAssistantError:
            # Nothing plays, so nothing will be stopped on recovery: the volume goes back now.
            await self._let_go(episode, mine, put_back_volume=held is None)
            raise
        except NotConnected as exc:
            if touched or isinstance(exc, LostInCall):
                self._unanswered.add(key)  # the player was changed, or may play yet
            else:
                await self._let_go(episode, mine, put_back_volume=False)  # nothing was sent
            raise
        except asyncio.CancelledError:
            self._unanswered.add(key)  # the attempt's timeout: HA may play it yet
            raise
        self._unanswered.discard(key)
        if ramping:
            episode.start_task(asyncio.create_task(self._ramp(action, start_volume, mine)))
        return f"{action.media_content_id} on {player}, volume to {action.volume:g}"

    async def _let_go(
        self, episode: Episode, mine: MediaTakeover, *, put_back_volume: bool
    ) -> None:
        """An attempt that plays nothing: the episode no longer holds the player, and (unless
        another episode plays on it) its volume goes back now."""
        self._unanswered.discard((episode.id, mine.entity_id))
        del episode.media[mine.entity_id]
        self.changed(episode)
        if put_back_volume and mine.previous_volume is not None:
            try:
                await self._set_volume(mine.entity_id, mine.previous_volume)
            except LinkError as exc:
                _LOGGER.warning(
                    "%s not put back at volume %g: %s", mine.entity_id, mine.previous_volume, exc
                )

    async def _ramp(
        self, action: PlayCalmingActionConfig, start_volume: float, takeover: MediaTakeover
    ) -> None:
        steps = max(1, round(float(action.ramp) / RAMP_STEP_S))
        begin = self.clock.now()
        for index in range(1, steps + 1):
            await self.clock.sleep_until(begin + index * float(action.ramp) / steps)
            if takeover.overridden_by is not None:
                _LOGGER.info("Volume ramp on %s stopped: someone took it over", action.target)
                return
            volume = start_volume + (action.volume - start_volume) * index / steps
            try:
                await self._set_volume(action.target, round(volume, 3))
            except NotConnected:
                _LOGGER.warning("Volume ramp on %s stopped: HA not connected", action.target)
                return
            except HomeAssistantError as exc:  # the episode's end still stops and resets it
                self.client.counters.increment(f"ha:{action.target}", "service_error")
                _LOGGER.warning(
                    "Volume ramp on %s stopped: Home Assistant said %s", action.target, exc
                )
                return

    async def _set_volume(self, player: str, volume: float) -> None:
        self._volumes_set.setdefault(player, []).append(volume)
        await self.client.call_service(
            "media_player", "volume_set", {"volume_level": volume}, {"entity_id": player}
        )

    async def stop(self, episode: Episode) -> list[str]:
        stopped = []
        for takeover in episode.media.values():
            self._unanswered.discard((episode.id, takeover.entity_id))
            if takeover.overridden_by is not None:
                continue
            if self.left_to_others(takeover, episode):
                continue  # another episode still plays on it: the last one stops it
            if not takeover.stop_on_recovery:
                continue
            try:
                await self._stop_one(takeover)
            except HomeAssistantError as exc:
                # A player that does not answer: the others, and the lights, are still undone.
                self.client.counters.increment(f"ha:{takeover.entity_id}", "service_error")
                _LOGGER.warning(
                    "%s could not be stopped after episode %s: Home Assistant said %s",
                    takeover.entity_id,
                    episode.id,
                    exc,
                )
                continue
            stopped.append(takeover.entity_id)
        return stopped

    async def _stop_one(self, takeover: MediaTakeover) -> None:
        """Stop the calming media, then put the volume from before back (not while it plays)."""
        await self.client.call_service(
            "media_player", "media_stop", {}, {"entity_id": takeover.entity_id}
        )
        if takeover.previous_volume is not None:
            await self._set_volume(takeover.entity_id, takeover.previous_volume)

    def holds(self, episode: Episode) -> dict[str, MediaTakeover]:
        return episode.media

    def wants_put_back(self, held: MediaTakeover) -> bool:
        return held.stop_on_recovery

    def want_put_back(self, held: MediaTakeover) -> None:
        held.stop_on_recovery = True

    def _on_change(
        self, entity_id: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        if new is None or old is None:
            return
        who = self._changed_by_someone_else(entity_id, new, old)
        if who is not None:
            self.take_over(entity_id, who, self.episodes())

    def _changed_by_someone_else(
        self, entity_id: str, new: dict[str, Any], old: dict[str, Any]
    ) -> str | None:
        context = new.get("context") or {}
        user_id = context.get("user_id")
        if user_id is not None:
            return None if user_id == self.client.user_id else str(user_id)
        if context.get("parent_id") is not None:
            return None  # caused by something else in HA (an automation, a script)
        volume = new.get("attributes", {}).get("volume_level")
        if not isinstance(volume, (int, float)) or volume == old.get("attributes", {}).get(
            "volume_level"
        ):
            return None
        ours = self._volumes_set.get(entity_id, [])
        return None if any(abs(volume - v) <= VOLUME_TOLERANCE for v in ours) else "device"
