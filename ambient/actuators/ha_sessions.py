"""Breathing sessions in Home Assistant, from the action that starts one to its end: the script
(the template's, or the assistant's checked words), its paced lights snapshotted, the music it
would cut off paused and played again after (also after a restart in the session), a stop once
its ``while`` no longer holds (its lights put back), and what it does after its action returned
said in the rule's trace. The session itself (cues and lights on the clock) is
:class:`~ambient.actuators.ha_breathing.BreathingSession`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any

from ambient.actuators.ha_assistant import assistant_script
from ambient.actuators.ha_breathing import (
    FIXED_TEXT,
    BreathingSession,
    PacedLights,
    addressee,
    breaths_per_minute,
    moment_of,
    nothing_to_do,
    pattern_of,
    speaking_s,
    template_script,
    while_broken,
    why_silent,
)
from ambient.actuators.ha_episode import Episode
from ambient.actuators.ha_lights import CalmLights
from ambient.actuators.ha_outcome import NothingDone
from ambient.actuators.ha_paused_music import GRACE_S, PausedMusic, episode_started_at
from ambient.clock import Clock
from ambient.config.actions import BreathingActionConfig
from ambient.connections.errors import NotConnected
from ambient.connections.homeassistant import HomeAssistantClient, HomeAssistantError
from ambient.messages import ActionContext, TraceRecord

_LOGGER = logging.getLogger(__name__)


class BreathingSessions:
    """The HA actuator's breathing sessions: started in an episode, seen through to its end."""

    def __init__(
        self,
        client: HomeAssistantClient,
        clock: Clock,
        lights: CalmLights,
        save: Callable[[Episode], None],
        tracked: Callable[[str], Episode | None],
        *,
        names: Mapping[str, str] | None = None,
        zone: tzinfo | None = None,
        trace: Callable[[TraceRecord], None] | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.lights = lights
        self.save = save  # an episode's record, after its paused music changed
        #: The episode of an id while it is open or owed (an undone one keeps no record).
        self.tracked = tracked
        #: Display names by person id, and the home's zone: what session scripts address.
        self.names = dict(names or {})
        self.zone = zone
        #: Where what a running session does later goes (the rules' traces), if anywhere.
        self.trace = trace
        #: Music sessions had paused when ambient stopped, or when HA went away in them, by
        #: episode: played again once HA is connected (the sessions are not resumed)...
        self.music_from_before: dict[str, list[str]] = {}
        #: ... if it is by then (the clock's time, by episode; none: no limit known).
        self.music_owed_until: dict[str, float] = {}

    def carried_over(self, episodes: list[Episode]) -> None:
        """Episodes read back after a restart: the music their sessions had paused is owed."""
        for episode in episodes:
            if episode.paused_music:
                self.music_from_before[episode.id] = list(episode.paused_music)
                if episode.paused_music_until is not None:
                    self.music_owed_until[episode.id] = episode.paused_music_until

    async def start(
        self,
        episode: Episode,
        action: BreathingActionConfig,
        context: ActionContext,
        states: dict[str, dict[str, Any]],
    ) -> str:
        """Start a session (once HA has taken its opening words); the action's detail."""
        if episode.breathing is not None and not episode.breathing.done():
            raise NothingDone("a breathing session is already running")
        away = while_broken(action, states.get)
        if away is not None:
            raise NothingDone(f"left alone: {away}")
        lights = PacedLights.of(action, states)
        silent = why_silent(action, states)
        nothing_to_do(action, lights, silent, states)
        moment = moment_of(action, context, addressee(self.names, context.person), self.zone)
        script = template_script(action, moment)
        if action.script is not None and action.script.assistant is not None:
            script = await assistant_script(
                self.client.call_service,
                action.script.assistant,
                moment,
                script,
                self.clock.for_outside_links(),
                self.client.counters,
            )
        if lights.levels:
            await self.lights.snapshot(episode, list(lights.levels), restore=True, states=states)
            for entity_id, levels_pct in lights.levels.items():
                self.lights.set_levels(entity_id, *levels_pct)
        music, music_note = await PausedMusic.pause(
            action,
            states,
            self.client.call_service,
            self.client.get_state,
            self.client.user_id,
            episode.id,
        )
        session = BreathingSession(
            action,
            script,
            self.clock,
            self.client.call_service,
            lights,
            lambda: episode.active_lights(list(lights.levels)),
            speak=silent is None,
            entity_state=self.client.state,
            episode_id=episode.id,
            said=lambda what: self._said(context, what),
        )
        if music is not None:  # kept, so a restart in the session still plays it again
            episode.paused_music.append(music.player)
            planned_s = session.steps[-1].offset_s + speaking_s(script.closing)
            episode.paused_music_until = self.clock.now() + planned_s + GRACE_S
            self.save(episode)
        try:
            await session.open()
        except BaseException:
            if music is not None:
                await self._music_back(episode, music)
            raise
        episode.breathing = asyncio.create_task(self._run(session, episode, music))
        episode.start_task(episode.breathing)
        if music is not None:  # also when the session is cancelled before it ran
            episode.after_tasks.append(lambda: self._music_back(episode, music))
        detail = (
            f"breathing {pattern_of(action)}, {script.cycles} cycles at "
            f"{breaths_per_minute(script.phases):.1f}/min (~{session.steps[-1].offset_s:.0f} s)"
        )
        detail += "" if script.source == FIXED_TEXT else f"; script: {script.source}"
        notes = lights.notes() + (f" (not spoken: {silent})" if silent else "") + music_note
        return detail + notes

    async def play_music_from_before(self) -> None:
        """Music a session paused before ambient stopped: played again now, with the same
        checks as at a session's end; music owed for too long (HA, or ambient, away past the
        session's planned end and its grace) is left paused."""
        for episode_id, players in list(self.music_from_before.items()):
            if not self.client.connected:
                return  # gone again: the next connect tries the rest
            del self.music_from_before[episode_id]
            until = self.music_owed_until.pop(episode_id, None)
            started = episode_started_at(episode_id)
            if started is not None and self.clock.now() < started:
                # A Pi booted with its clock behind (its saved time) before NTP set it: the
                # time cannot tell whether the music is still owed, and hours late is worse.
                _LOGGER.info(
                    "Breathing session of episode %s: music on %s left paused (the clock "
                    "shows a time before the session started: it cannot tell how long ago "
                    "that was)",
                    episode_id,
                    ", ".join(players),
                )
                self._forget_all_paused(episode_id, players)
                continue
            if until is not None and self.clock.now() > until:
                # (whichever was away, HA or ambient itself: the line blames neither)
                _LOGGER.info(
                    "Breathing session of episode %s long over: music on %s left paused "
                    "(the session ended %.0f min ago; music it paused is played again only "
                    "within %.0f min of its end)",
                    episode_id,
                    ", ".join(players),
                    (self.clock.now() - until + GRACE_S) / 60,
                    GRACE_S / 60,
                )
                self._forget_all_paused(episode_id, players)
                continue
            for player in players:
                played = await PausedMusic(
                    player,
                    self.client.call_service,
                    self.client.get_state,
                    self.client.user_id,
                    episode_id,
                ).play_again()
                if not played:
                    self._owe(episode_id, player, until)
                    continue
                episode = self.tracked(episode_id)
                if episode is not None:
                    self._forget_paused(episode, player)

    async def _run(
        self, session: BreathingSession, episode: Episode, music: PausedMusic | None
    ) -> None:
        try:
            await session.run()
            if session.stopped is not None:
                await self._stop(session, episode)
            elif music is not None:
                await self.clock.sleep(speaking_s(session.script.closing))  # let it be said
        except NotConnected as exc:
            # Never resumed late: a breathing cue after HA comes back would be out of step.
            _LOGGER.warning("Breathing session of episode %s stopped: %s", episode.id, exc)
            session.said(f"stopped: {exc}")  # its action returned ok long ago
        except HomeAssistantError as exc:
            self.client.counters.increment(
                f"ha:{session.action.media_player or 'breathing'}", "service_error"
            )
            _LOGGER.error("Breathing session of episode %s stopped: HA said %s", episode.id, exc)
            session.said(f"stopped: Home Assistant said {exc}")
        finally:
            if music is not None:
                await self._music_back(episode, music)

    async def _stop(self, session: BreathingSession, episode: Episode) -> None:
        """A session whose ``while`` no longer holds (the person left): its lights are put back
        now, not when the episode ends; said once in the journal and the rule's trace."""
        restored = await self.lights.restore_now(episode, list(session.lights.levels))
        what = f"stopped: {session.stopped}" + ("; its lights put back" if restored else "")
        _LOGGER.info("Breathing session of episode %s %s", episode.id, what)
        session.said(what)

    def _said(self, context: ActionContext, what: str) -> None:
        """A later turn of a running session (it went quiet, it stopped), in its rule's trace:
        a `continued` trace, as a run's later stretch gets, since its action returned long
        ago."""
        if self.trace is None:
            return
        self.trace(
            TraceRecord(
                time=self.clock.now(),
                rule=context.rule,
                event="continued",
                reason=f"breathing session {what}",
                person=context.person,
                trigger=context.trigger,
            )
        )

    async def _music_back(self, episode: Episode, music: PausedMusic) -> None:
        """Play the music a session paused again (once), and stop keeping it as owed; HA
        unreachable (the session broke off as it went away): owed (and kept so) until it is
        connected again."""
        if music.player in self.music_from_before.get(episode.id, ()):
            return  # already owed until HA is back
        if await music.play_again():
            self._forget_paused(episode, music.player)
        else:
            music.owed = False  # handed over: played again once HA is connected
            self._owe(episode.id, music.player, episode.paused_music_until)

    def _owe(self, episode_id: str, player: str, until: float | None) -> None:
        owed = self.music_from_before.setdefault(episode_id, [])
        if player not in owed:
            owed.append(player)
        if until is not None:
            self.music_owed_until[episode_id] = until

    def _forget_all_paused(self, episode_id: str, players: list[str]) -> None:
        episode = self.tracked(episode_id)
        if episode is not None:
            for player in players:
                self._forget_paused(episode, player)

    def _forget_paused(self, episode: Episode, player: str) -> None:
        if player in episode.paused_music:
            episode.paused_music.remove(player)
            if self.tracked(episode.id) is episode:  # an episode undone keeps no record
                self.save(episode)
