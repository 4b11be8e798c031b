"""The Home Assistant actuator: calm_lights, play_calming, breathing, notify, logbook and any
``domain.service`` passthrough, over the shared :class:`HomeAssistantClient`.

Not connected → :class:`NotConnected` (the dispatcher retries within the action's TTL and
drops it after). HA rejecting a call, or not having an entity the action names (HA would
ignore it silently) → a failed result and one line naming the rule and the entity, counted
under ``ha:<entity_id>``, not retried. Long-running parts (the volume ramp, a breathing
session) run as tasks of the episode; ``end_episode`` stops them and restores what ambient
changed.

What an episode changed (snapshot scenes, taken-over lights, media) is also kept in the store
(``ha.episodes``), so an episode the rule engine carries across a restart is still undone; one
that ends while HA is unreachable is undone when HA is back, and one whose undo HA answers with
a server error (busy, a proxy in front of it) is tried again every minute and at each connect,
for up to an hour. So are notify's send times (``ha.notified``), so its ``min_interval``
outlasts a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import tzinfo
from typing import Any

from ambient.actuators.ha_entities import (
    KnownEntities,
    UnavailableEntity,
    UnknownEntity,
    unavailable,
)
from ambient.actuators.ha_episode import Episode, EpisodeRecords
from ambient.actuators.ha_lights import CalmLights
from ambient.actuators.ha_media import PlayCalming
from ambient.actuators.ha_notify import NotifyHistory
from ambient.actuators.ha_outcome import NothingDone, Unanswered
from ambient.actuators.ha_sessions import BreathingSessions
from ambient.actuators.log import render_data, render_message
from ambient.clock import Clock, TimerHandle
from ambient.config.actions import (
    BreathingActionConfig,
    CalmLightsActionConfig,
    LeafActionConfig,
    LogbookActionConfig,
    NotifyActionConfig,
    PlayCalmingActionConfig,
    ServiceCallActionConfig,
)
from ambient.connections.errors import LostInCall, NotConnected
from ambient.connections.homeassistant import HomeAssistantClient, HomeAssistantError
from ambient.counters import Counters
from ambient.messages import ActionContext, ActionResult, TraceRecord
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

#: How often an episode's undo that HA answered with a server error is tried again (also at
#: each connect), on the actuator's clock ...
UNDO_RETRY_S = 60.0
#: ... and for how long: HA (or its proxy) refusing reads for an hour is no passing load.
UNDO_RETRY_FOR_S = 3600.0


class HomeAssistantActuator:
    """Satisfies :class:`ambient.ports.Actuator`."""

    kinds = frozenset(
        {"calm_lights", "play_calming", "breathing", "notify", "logbook", "service_call"}
    )

    def __init__(
        self,
        client: HomeAssistantClient,
        clock: Clock,
        store: Store | None = None,
        *,
        names: Mapping[str, str] | None = None,
        zone: tzinfo | None = None,
        trace: Callable[[TraceRecord], None] | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.counters: Counters = client.counters
        self._episodes: dict[str, Episode] = {}
        #: Ended while HA was unreachable: undone as soon as HA is connected again.
        self._owed: dict[str, Episode] = {}
        #: Ended while an action of theirs was still under way in HA: still watched (a change
        #: by someone meanwhile is theirs), undone again once the action is over.
        self._finishing: dict[str, Episode] = {}
        self._settling: asyncio.Task[None] | None = None
        #: Episodes whose undo HA answered with a server error, since when (said once), and
        #: the next try's timer.
        self._undo_refused: dict[str, float] = {}
        self._undo_retry: TimerHandle | None = None
        self._records = EpisodeRecords(store)
        self._notified = NotifyHistory(store, clock.now())
        #: Messages whose call HA did not answer (the attempt's timeout, the link dropping), by
        #: the firing that sent them, with why and until when a retry can come (the action's
        #: deadline, as the dispatcher reckons it): HA may well have carried them out, so a
        #: retry does not send again. Past it no retry comes: forgotten at the next notify.
        self._unanswered: dict[tuple[str, ...], tuple[str, float]] = {}
        self.lights = CalmLights(client, self._every_episode, self._records.save)
        self.media = PlayCalming(client, clock, self._every_episode, self._records.save)
        self.entities = KnownEntities(client)
        self.sessions = BreathingSessions(
            client,
            clock,
            self.lights,
            self._records.save,
            self._tracked,
            names=names,
            zone=zone,
            trace=trace,
        )
        episodes, unreadable = self._records.load()
        for _ in unreadable:
            self.counters.increment("homeassistant", "bad_episode_record")
        self.sessions.carried_over(episodes)
        for episode in episodes:
            (self._owed if episode.ended else self._episodes)[episode.id] = episode
            self.lights.watch([*episode.lights, *episode.lights_left_off])
            self.media.watch(list(episode.media))
        if episodes:
            _LOGGER.info(
                "Home Assistant: %d episode(s) carried over from before the restart: %s",
                len(episodes),
                ", ".join(e.id for e in episodes),
            )
        client.on_status(self._on_status)
        if client.connected:
            self._on_status("connected")

    async def perform(self, action: LeafActionConfig, context: ActionContext) -> ActionResult:
        kind = _kind(action)
        try:
            detail = await self._perform(kind, action, context)
        except HomeAssistantError as exc:
            entities = entities_of(action)
            for scope in entities or [_service_of(action)]:
                self.counters.increment(f"ha:{scope}", "service_error")
            where = ", ".join(entities) or _service_of(action)
            _LOGGER.error(
                "Rule %s: Home Assistant rejected %s for %s: %s",
                context.rule,
                kind,
                where,
                exc.message,
            )
            return ActionResult(kind, False, f"HA rejected {kind} for {where}: {exc}")
        except UnknownEntity as exc:
            for entity_id in exc.entity_ids:
                self.counters.increment(f"ha:{entity_id}", exc.counter)
            _LOGGER.error("Rule %s: %s not performed: %s", context.rule, kind, exc)
            return ActionResult(kind, False, f"not performed: {exc}")
        except NothingDone as exc:
            return ActionResult(kind, True, str(exc), performed=False)
        except Unanswered as exc:
            _LOGGER.warning("Rule %s: %s", context.rule, exc)
            return ActionResult(kind, False, str(exc))
        return ActionResult(kind, True, detail)

    async def end_episode(self, context: ActionContext) -> None:
        """The episode is over: stop media and restore lights nobody took over. On recovery,
        sessions and ramps stop at once; at the natural end of a run (a trigger without
        recovery, the breathing button) a breathing session first finishes."""
        episode = self._episodes.get(context.episode)
        if episode is None:
            return
        if context.recovery:
            await episode.cancel_tasks()
        else:
            await episode.wait_tasks()
        if self._episodes.pop(context.episode, None) is episode:
            if episode.acting:
                self._finishing[episode.id] = episode
            await self._undo(episode)

    async def settle_episodes(self, live: set[str]) -> None:
        """End every episode carried over from before that no rule owns any more (its rule
        changed or was removed, or the breathing button started it): undone now if HA is
        connected, else as soon as it is."""
        for episode_id in [e for e in self._episodes if e not in live]:
            episode = self._episodes.pop(episode_id)
            _LOGGER.info("Episode %s belongs to no rule any more: ending it", episode_id)
            await episode.cancel_tasks()
            episode.ended = True
            self._owed[episode_id] = episode
            self._records.save(episode)
        if self.client.connected:
            self._on_status("connected")

    async def _undo(self, episode: Episode) -> None:
        """Undo one ended episode; HA unreachable → owed (and stored so) until it is back."""
        async with episode.undoing:
            await self._undo_now(episode)

    async def _undo_now(self, episode: Episode) -> None:
        try:
            if episode.recovered or episode.ended:
                await self.lights.judge_current(episode)
            stopped = await self.media.stop(episode)
            restored = await self.lights.restore(episode)
        except NotConnected as exc:
            _LOGGER.warning(
                "Could not undo episode %s yet (%s): will when Home Assistant is back",
                episode.id,
                exc,
            )
            episode.ended = True
            self._owed[episode.id] = episode
            self._records.save(episode)
            return
        except HomeAssistantError as exc:
            now = self.clock.now()
            since = self._undo_refused.setdefault(episode.id, now)
            if not _passing(exc) or now - since >= UNDO_RETRY_FOR_S:
                # Refused for good (a proxy forbidding the reads), or for an hour: given up.
                self._undo_refused.pop(episode.id, None)
                self._owed.pop(episode.id, None)
                self._records.delete(episode.id)
                _LOGGER.warning(
                    "Could not undo episode %s in Home Assistant: %s; given up, its lights and "
                    "media left as they are",
                    episode.id,
                    exc,
                )
                return
            # HA busy, or a proxy in front of it answering 502: still owed, or the home would
            # stay calmed for good. Said once per episode.
            _LOGGER.log(
                logging.DEBUG if since < now else logging.WARNING,
                "Could not undo episode %s yet: Home Assistant said %s; trying again every %.0f s",
                episode.id,
                exc,
                UNDO_RETRY_S,
            )
            episode.ended = True
            self._owed[episode.id] = episode
            self._records.save(episode)
            if self._undo_retry is None:
                self._undo_retry = self.clock.call_later(UNDO_RETRY_S, self._retry_undo)
            return
        self._undo_refused.pop(episode.id, None)
        self._owed.pop(episode.id, None)
        self._records.delete(episode.id)
        kept = [e for e, s in episode.lights.items() if s.overridden_by is not None]
        kept += [e for e, m in episode.media.items() if m.overridden_by is not None]
        _LOGGER.info(
            "Episode %s over: restored %s, stopped %s, left alone %s",
            episode.id,
            restored or "nothing",
            stopped or "nothing",
            kept or "nothing",
        )

    def _retry_undo(self) -> None:
        self._undo_retry = None
        if self._settling is not None and not self._settling.done():
            # Still undoing (a slow HA): this try comes after it, not never.
            self._undo_retry = self.clock.call_later(UNDO_RETRY_S, self._retry_undo)
        elif self.client.connected:
            self._on_status("connected")

    def _tracked(self, episode_id: str) -> Episode | None:
        """The episode of ``episode_id`` while it is open or owed."""
        return self._episodes.get(episode_id) or self._owed.get(episode_id)

    def _every_episode(self) -> list[Episode]:
        finishing = [e for e in self._finishing.values() if self._owed.get(e.id) is not e]
        return [*self._episodes.values(), *self._owed.values(), *finishing]

    def _on_status(self, status: str) -> None:
        idle = self._settling is None or self._settling.done()
        owed = self._owed or self.sessions.music_from_before
        if status == "connected" and owed and idle:
            self._settling = asyncio.get_running_loop().create_task(self._settle_owed())

    async def _settle_owed(self) -> None:
        await self.sessions.play_music_from_before()
        for episode in list(self._owed.values()):
            if not self.client.connected:
                return  # gone again: the next connect tries the rest
            await self._undo(episode)

    async def pause(self) -> None:
        """Stop every breathing session and volume ramp now (ambient paused); lights and media
        are restored when their episodes end."""
        for episode in self._episodes.values():
            await episode.cancel_tasks()

    def diagnostics(self) -> dict[str, Any]:
        return {
            episode.id: {
                # put_back: restored / stopped when the last episode holding it ends.
                "lights": self.lights.diagnostics(episode),
                "media": {
                    e: {"overridden_by": m.overridden_by, "put_back": self.media.put_back_owed(e)}
                    for e, m in episode.media.items()
                },
                "running": len(episode.tasks),
                "carried_over_restart": episode.recovered,
                "waiting_for_ha": episode.ended,
            }
            for episode in self._every_episode()
        }

    # -- kinds ---------------------------------------------------------------------------------

    async def _perform(self, kind: str, action: LeafActionConfig, context: ActionContext) -> str:
        if not self.client.connected:
            raise NotConnected(f"Home Assistant is not connected ({self.client.status})")
        event = "recovered" if context.recovery else "fired"
        if isinstance(action, CalmLightsActionConfig):
            states = await self.entities.require(action.target)
            away = unavailable(states)
            if set(away) >= set(action.target):
                raise UnavailableEntity(away)
            return await self._in_episode(context, lambda e: self.lights.calm(e, action, states))
        if isinstance(action, PlayCalmingActionConfig):
            states = await self.entities.require([action.target])
            if unavailable(states):
                raise UnavailableEntity([action.target])
            state = states[action.target]
            return await self._in_episode(context, lambda e: self.media.play(e, action, state))
        if isinstance(action, BreathingActionConfig):
            states = await self.entities.require(entities_of(action))
            return await self._in_episode(
                context, lambda e: self.sessions.start(e, action, context, states)
            )
        if isinstance(action, NotifyActionConfig):
            return await self._notify(action, context, event)
        if isinstance(action, LogbookActionConfig):
            data: dict[str, Any] = {
                "name": action.name,
                "message": render_message(action.message, context, event),
            }
            if action.entity_id:
                data["entity_id"] = action.entity_id
            await self.client.call_service("logbook", "log", data)
            return str(data["message"])
        if isinstance(action, ServiceCallActionConfig):
            domain, service = action.action.split(".", 1)
            data = render_data(action.data, context, event)
            await self.entities.require(_ids(action.target.get("entity_id", [])))
            await self.entities.require(_ids(data.get("entity_id", [])))
            await self.client.call_service(domain, service, data, dict(action.target) or None)
            return action.action
        raise TypeError(f"not a Home Assistant action: {kind}")

    async def _notify(self, action: NotifyActionConfig, context: ActionContext, event: str) -> str:
        # The same message about the same person is what repeats in a long episode; another
        # message (the all-clear, an escalation) or another person's is news.
        key = (action.service, action.message, action.title or "", context.person or "-")
        firing = (*key, context.episode, repr(context.time))
        if firing in self._unanswered:
            why, _ = self._unanswered.pop(firing)
            raise Unanswered(f"not sent again: {why} (the message may have arrived)")
        now = self.clock.now()
        for past in [f for f, (_, until) in self._unanswered.items() if until < now]:
            del self._unanswered[past]  # its retry never came, and none will now
        since_s = self._notified.since_last(*key, now, float(action.min_interval))
        if since_s is not None:
            raise NothingDone(f"not sent: {action.service} had this message {since_s:.0f} s ago")
        domain, service = action.service.split(".", 1)
        data: dict[str, Any] = {"message": render_message(action.message, context, event)}
        if action.title:
            data["title"] = render_message(action.title, context, event)
        if action.data:
            data["data"] = render_data(action.data, context, event)
        try:
            await self.client.call_service(domain, service, data)
        except (asyncio.CancelledError, LostInCall) as exc:  # sent, and no answer
            self._unanswered[firing] = (
                f"the link to Home Assistant dropped before {action.service} answered"
                if isinstance(exc, LostInCall)
                else f"{action.service} did not answer in time",  # or ambient stopping
                context.time + float(action.ttl) if context.deadline is None else context.deadline,
            )
            self._notified.sent(*key, now)  # it may have arrived: min_interval counts it
            raise
        self._notified.sent(*key, now)
        return f"sent via {action.service}"

    async def _in_episode(
        self, context: ActionContext, act: Callable[[Episode], Awaitable[str]]
    ) -> str:
        """``act`` in the episode of ``context``. One that ended while it ran (the person
        recovered while HA was still starting the music) is undone again once it is over:
        what it changed after the end would stay changed for good. It is watched until then,
        so what someone changes meanwhile stays theirs."""
        episode = self._episode(context)
        episode.acting += 1
        try:
            return await act(episode)
        finally:
            episode.acting -= 1
            if not episode.acting and self._finishing.get(episode.id) is episode:
                await episode.cancel_tasks()
                if self._owed.get(episode.id) is not episode:  # (owed: undone when HA is back)
                    # After the end's own undo; what someone changed since is theirs.
                    await self._undo(episode)
                if self._finishing.get(episode.id) is episode:
                    del self._finishing[episode.id]

    def _episode(self, context: ActionContext) -> Episode:
        episode = self._episodes.get(context.episode)
        if episode is None:
            episode = self._episodes[context.episode] = Episode(context.episode)
        return episode


def _passing(exc: HomeAssistantError) -> bool:
    """Whether HA's error answer may pass: a server error (HA busy, a proxy in front of it
    answering 502 while HA restarts) or too many requests, not a refusal (403)."""
    return exc.code.startswith("http_5") or exc.code == "http_429"


def _kind(action: LeafActionConfig) -> str:
    if isinstance(action, ServiceCallActionConfig):
        return "service_call"
    return str(getattr(action, "action", type(action).__name__))


def entities_of(action: LeafActionConfig) -> list[str]:
    """The entities an action is about, for error messages and counters."""
    if isinstance(action, CalmLightsActionConfig):
        return list(action.target)
    if isinstance(action, PlayCalmingActionConfig):
        return [action.target]
    if isinstance(action, BreathingActionConfig):
        found = [e for e in (action.tts_entity, action.media_player) if e]
        return found + list(action.lights) + ([action.while_.entity_id] if action.while_ else [])
    if isinstance(action, LogbookActionConfig) and action.entity_id:
        return [action.entity_id]
    if isinstance(action, ServiceCallActionConfig):
        return _ids(action.target.get("entity_id", action.data.get("entity_id", [])))
    return []


def _ids(entity_ids: Any) -> list[str]:
    """An ``entity_id`` field (one id, ids separated by commas, or a list) as a list."""
    if isinstance(entity_ids, str):
        return [e.strip() for e in entity_ids.split(",") if e.strip()]
    return [str(e) for e in entity_ids] if isinstance(entity_ids, list | tuple) else []


def _service_of(action: LeafActionConfig) -> str:
    if isinstance(action, NotifyActionConfig):
        return action.service
    if isinstance(action, ServiceCallActionConfig):
        return action.action
    return str(getattr(action, "action", "unknown"))
