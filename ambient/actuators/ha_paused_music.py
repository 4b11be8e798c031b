"""The person's music a breathing session with ``interrupt: true`` speaks over: a player that
cannot announce would replace the music with the cue and never resume it, so the session pauses
it before its first words and plays it again once it is over, however it ends (its last words
said, recovery or a pause cutting it short, HA's reply failing). Someone who changed the player
meanwhile (another HA user: they stopped it, or chose something else) keeps it as they left it;
music playing again already is left to play. Music HA could not be asked to play again (the link
dropped, ambient stopped) is owed until the session's planned end plus :data:`GRACE_S`: later
it would come back long after the moment it was paused for, so it is left paused."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ambient.actuators.ha_breathing import (
    IN_USE_STATES,
    MEDIA_ANNOUNCE,
    CallService,
    has_voice,
    saying_tts,
    supported_features,
)
from ambient.actuators.ha_entities import unavailable
from ambient.config.actions import BreathingActionConfig
from ambient.connections.errors import NotConnected
from ambient.connections.homeassistant import HomeAssistantError

_LOGGER = logging.getLogger(__name__)

#: MediaPlayerEntityFeature.PAUSE and PLAY: what pausing and playing again need.
PAUSE = 1
PLAY = 1 << 14

#: How long after a session's planned end music it paused is still played again: HA (or
#: ambient) restarting on a Pi takes a few minutes; music back an hour later is a surprise.
GRACE_S = 600.0


def episode_started_at(episode_id: str) -> float | None:
    """When the episode began (the clock's time its id ends with, ``rule:person:time``),
    which is before any music its session paused; None for an id that names no time."""
    try:
        return float(episode_id.rsplit(":", 1)[-1])
    except ValueError:
        return None


def music_cut_off(action: BreathingActionConfig, states: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the session's voice would cut off music: ``interrupt: true`` on a player in use
    that cannot announce over it."""
    player = action.media_player
    if not action.interrupt or player is None or not has_voice(action):
        return False
    state = states.get(player, {})
    if unavailable({player: state}) or supported_features(state) & MEDIA_ANNOUNCE:
        return False
    return state.get("state") in IN_USE_STATES and not saying_tts(state)


@dataclass
class PausedMusic:
    """Music ambient paused on ``player`` for a session, owed back when it ends."""

    player: str
    call_service: CallService
    #: The player's state read from HA now (with the context of its last change): the copy
    #: followed over the WebSocket may not have seen ambient's own pause yet.
    read_state: Callable[[str], Awaitable[Mapping[str, Any] | None]]
    user_id: str | None  # ambient's own HA user: its pause and cues are no one else's change
    episode_id: str
    owed: bool = True  # not played again yet (nor left to someone)

    @classmethod
    async def pause(
        cls,
        action: BreathingActionConfig,
        states: Mapping[str, Mapping[str, Any]],
        call_service: CallService,
        read_state: Callable[[str], Awaitable[Mapping[str, Any] | None]],
        user_id: str | None,
        episode_id: str,
    ) -> tuple[PausedMusic | None, str]:
        """Pause the music the session would cut off; the paused music (``None``: none, or
        it cannot be paused and played again) and the note for the action's timeline."""
        player = action.media_player
        if player is None or not music_cut_off(action, states):
            return None, ""
        if supported_features(states[player]) & (PAUSE | PLAY) != PAUSE | PLAY:
            return None, (
                f" (music on {player} cannot be paused and played again: "
                "the session's voice ends it)"
            )
        await call_service("media_player", "media_pause", {}, {"entity_id": player})
        paused = cls(player, call_service, read_state, user_id, episode_id)
        return paused, f" (music on {player} paused for the session, played again after)"

    async def play_again(self) -> bool:
        """The session is over: play the music again, unless someone else has changed the
        player since, or it plays already. Said once in the journal. False while HA cannot be
        reached: the music is still owed (played again once HA is back)."""
        if not self.owed:
            return True
        self.owed = False
        try:
            state = await self.read_state(self.player) or {}
            who = (state.get("context") or {}).get("user_id")
            if who is not None and who != self.user_id:
                _LOGGER.info(
                    "Breathing session of episode %s over: %s left as someone set it "
                    "(its music not played again)",
                    self.episode_id,
                    self.player,
                )
                return True
            if state.get("state") in IN_USE_STATES and not saying_tts(state):
                return True  # playing again already (the speaker's own buttons)
            await self.call_service("media_player", "media_play", {}, {"entity_id": self.player})
        except NotConnected as exc:
            self.owed = True
            _LOGGER.warning(
                "Breathing session of episode %s over: music on %s to be played again when "
                "Home Assistant is back (%s)",
                self.episode_id,
                self.player,
                exc,
            )
            return False
        except HomeAssistantError as exc:
            _LOGGER.warning(
                "Breathing session of episode %s over: music on %s could not be played again: %s",
                self.episode_id,
                self.player,
                exc,
            )
            return True
        _LOGGER.info(
            "Breathing session of episode %s over: music on %s played again",
            self.episode_id,
            self.player,
        )
        return True
