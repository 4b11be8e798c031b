"""calm_lights: snapshot, warm and dim (never brighter, never switching a light on unless asked),
restore on recovery — unless someone took a light over.

A change to a calmed light counts as someone else's when its HA context names another user
(the HA app or dashboard), or when it has no user and switches the light on/off (a wall switch,
a remote), or reports a brightness outside every level ambient has had it at (a wall dimmer:
:class:`~ambient.actuators.ha_light_state.BrightnessSpan`). Other attribute-only updates without
a user (a light reporting its fade) are not. The same goes for a light a calm left off: switched
on by someone else, it is theirs for the episode. A change without a user that ambient did not
see (its link to HA was down, or it was not running) is judged once it knows whether HA itself
restarted meanwhile: if it did, that is HA setting the light afresh (to its default, for a light
it cannot read back), not a hand, and the light is still put back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ambient.actuators.ha_entities import unavailable
from ambient.actuators.ha_episode import Episode, LightLeftOff, LightSnapshot, slug
from ambient.actuators.ha_holds import SharedHolds
from ambient.actuators.ha_light_state import (
    BrightnessSpan,
    brightness_when_on,
    left_off,
    notes,
    restorable,
)
from ambient.actuators.ha_outcome import NothingDone
from ambient.config.actions import CalmLightsActionConfig
from ambient.connections.errors import NotConnected
from ambient.connections.homeassistant import HomeAssistantClient, HomeAssistantError

_LOGGER = logging.getLogger(__name__)


#: What ambient leaves a light it calmed or paced as: the "before" a light's state is judged
#: against when ambient did not see the change itself (it was not running, or HA was away).
AS_AMBIENT_LEFT_IT: dict[str, Any] = {"state": "on"}

#: The same for a light a calm left off.
AS_AMBIENT_FOUND_IT: dict[str, Any] = {"state": "off"}

#: States that say nothing of the light: HA cannot reach it (or does not know yet).
NO_NEWS = frozenset({"unavailable", "unknown"})
#: Two readings of a state's ``last_updated`` (the link's seconds, REST's ISO text) this close
#: are of one write.
SAME_WRITE_S = 0.001

#: The colour modes HA can set a colour temperature in (on a colour light it emulates one).
WARMABLE_COLOR_MODES = frozenset({"color_temp", "hs", "xy", "rgb", "rgbw", "rgbww"})


@dataclass
class CalmPlan:
    """What one calm_lights does to each light, from its current state. ``brightness_pct`` is
    a ceiling, so a calm never wakes a room: a light at or below it keeps its brightness, and
    one that is off stays off unless the action says ``turn_on_lights``."""

    dimmed: list[str] = field(default_factory=list)  # warm white at brightness_pct
    warmed: list[str] = field(default_factory=list)  # warm white, brightness kept
    already_dim: list[str] = field(default_factory=list)  # dim and cannot be warmed: untouched
    left_off: list[str] = field(default_factory=list)  # off (or unknown): untouched

    @classmethod
    def of(
        cls,
        action: CalmLightsActionConfig,
        states: Mapping[str, Mapping[str, Any]],
        entity_ids: list[str],
    ) -> CalmPlan:
        plan = cls()
        ceiling = round(255 * action.brightness_pct / 100)  # HA's brightness runs 0-255
        for entity_id in entity_ids:
            state = states.get(entity_id, {})
            brightness = brightness_when_on(state)
            if left_off(state, action.turn_on_lights):
                plan.left_off.append(entity_id)
            elif brightness is not None and brightness <= ceiling:
                modes = (state.get("attributes") or {}).get("supported_color_modes")
                warmable = modes is None or bool(WARMABLE_COLOR_MODES.intersection(modes))
                (plan.warmed if warmable else plan.already_dim).append(entity_id)
            else:
                plan.dimmed.append(entity_id)
        return plan

    def detail(self, action: CalmLightsActionConfig, skipped: list[str], away: list[str]) -> str:
        """The timeline's line; :class:`NothingDone` when no light was changed."""
        done = []
        if self.dimmed:
            done.append(
                f"{', '.join(self.dimmed)} at {action.color_temp_kelvin} K {action.brightness_pct}%"
            )
        if self.warmed:
            done.append(
                f"{', '.join(self.warmed)} at {action.color_temp_kelvin} K, brightness kept "
                f"(at or below {action.brightness_pct}%)"
            )
        left_as_they_are = notes(
            (
                ("already dim", self.already_dim),
                ("left off", self.left_off),
                ("left alone", skipped),
                ("unavailable", away),
            )
        )
        if done:
            return "; ".join(done) + left_as_they_are
        if self.already_dim or self.left_off:
            raise NothingDone("nothing to calm" + left_as_they_are)
        raise NothingDone(
            "left alone: every light was changed by someone during this episode"
            + notes((("unavailable", away),))
        )


class CalmLights(SharedHolds[LightSnapshot]):
    def __init__(
        self,
        client: HomeAssistantClient,
        episodes: Callable[[], list[Episode]],
        changed: Callable[[Episode], None] = lambda episode: None,
    ) -> None:
        super().__init__(client, episodes, changed)
        #: Each watched light's last state HA could reach it in: what one back from
        #: ``unavailable`` is judged against.
        self._last_reachable: dict[str, dict[str, Any]] = {}
        #: Whether the link to HA is up; when it drops, each watched light's state then. The
        #: first change after it came across the gap: HA itself may have restarted in it.
        self._link_up = client.connected
        self._before_drop: dict[str, dict[str, Any]] = {}
        #: Lights that went unreachable across the gap: back, they are judged as across it.
        self._unreachable_in_gap: set[str] = set()
        #: Changes ambient did not see (across the gap; ``None`` before: the first since it
        #: started), judged once it is known whether HA restarted meanwhile.
        self._across_gap: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
        self._judging: asyncio.Task[None] | None = None
        #: Snapshot scenes HA was last known to have (made here, or found): one of them gone
        #: after a gap in the link means HA restarted in it.
        self._scenes_alive: set[str] = set()
        client.on_status(self._on_link)

    def holds(self, episode: Episode) -> dict[str, LightSnapshot]:
        return episode.lights

    def wants_put_back(self, held: LightSnapshot) -> bool:
        return held.restore

    def want_put_back(self, held: LightSnapshot) -> None:
        held.restore = True

    async def snapshot(
        self,
        episode: Episode,
        lights: list[str],
        *,
        restore: bool,
        transition_s: float = 0.0,
        states: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Remember the lights' state (once per episode) in a scene HA holds for us; episodes
        calming the same light share the first one's. ``states``: the lights' states now,
        where the brightness they may report from ambient's hand starts."""
        for entity_id in lights:
            if entity_id in episode.lights or not episode.active_lights([entity_id]):
                continue  # already snapshotted, or left off and since taken over
            held = self.held_elsewhere(entity_id, episode)
            if held is not None:
                # Already calmed by another episode: its snapshot is of the state before that
                # episode; a new one would be of ambient's calm state.
                scene_entity_id = held.scene_entity_id
                span = replace(held.span) if held.span else None
                before = held.before
            else:
                scene_id = f"ambient_{slug(episode.id)}_{slug(entity_id)}"
                await self.client.call_service(
                    "scene", "create", {"scene_id": scene_id, "snapshot_entities": [entity_id]}
                )
                scene_entity_id = f"scene.{scene_id}"
                self._scenes_alive.add(scene_entity_id)
                state = (states or {}).get(entity_id) or {}
                span = BrightnessSpan.before(state)
                before = restorable(state)
            episode.lights[entity_id] = LightSnapshot(
                entity_id,
                scene_entity_id,
                restore,
                transition_s=transition_s,
                span=span,
                before=before,
            )
            episode.lights_left_off.pop(entity_id, None)  # ambient changes it now
            self.changed(episode)
            self.watch([entity_id])

    def set_levels(self, entity_id: str, *levels_pct: float) -> None:
        """Levels ambient sets ``entity_id`` to (a calm, a session's pacing): reports of them,
        and of the fades between, are ambient's, in every episode holding it."""
        for episode, held in self._holding(entity_id):
            if held.span is not None:
                held.span.add_pct(*levels_pct)
                self.changed(episode)

    def _span(self, entity_id: str) -> BrightnessSpan | None:
        """The brightness ``entity_id`` may report from ambient's hand, over the episodes
        holding it; ``None`` when none knows (judged on on/off alone)."""
        spans = [held.span for _, held in self._holding(entity_id) if held.span is not None]
        if not spans:
            return None
        return BrightnessSpan(min(s.low for s in spans), max(s.high for s in spans))

    async def calm(
        self,
        episode: Episode,
        action: CalmLightsActionConfig,
        states: dict[str, dict[str, Any]],
    ) -> str:
        """Warm the target's lights and dim them to at most ``brightness_pct``, from their
        current ``states``; but those someone took over, those off (unless ``turn_on_lights``)
        and those HA has unavailable (HA would skip them silently; the detail names them)."""
        away = unavailable(states)
        reachable = [e for e in action.target if e not in away]
        if episode.recovered:  # what changed while ambient was down may not have arrived yet
            for entity_id in reachable:
                self._judge_left_off(entity_id, states[entity_id], AS_AMBIENT_FOUND_IT, [episode])
        lights = episode.active_lights(reachable)
        plan = CalmPlan.of(action, states, lights)
        self.remember_left_off(episode, plan.left_off)
        await self.snapshot(
            episode,
            plan.dimmed + plan.warmed,
            restore=action.restore,
            transition_s=float(action.transition),
            states=states,
        )
        for entity_id in plan.dimmed:
            self.set_levels(entity_id, action.brightness_pct)
        warm_white: dict[str, Any] = {
            "color_temp_kelvin": action.color_temp_kelvin,
            "transition": float(action.transition),
        }
        if plan.dimmed:
            await self.client.call_service(
                "light",
                "turn_on",
                {**warm_white, "brightness_pct": action.brightness_pct},
                {"entity_id": plan.dimmed},
            )
        if plan.warmed:
            await self.client.call_service(
                "light", "turn_on", warm_white, {"entity_id": plan.warmed}
            )
        skipped = sorted(set(reachable) - set(lights))
        return plan.detail(action, skipped, away)

    def remember_left_off(self, episode: Episode, lights: list[str]) -> None:
        """Keep (and watch) the lights a calm left off that ambient has not changed in this
        episode, so that someone switching one on takes it over."""
        new = [e for e in lights if e not in episode.lights and e not in episode.lights_left_off]
        for entity_id in new:
            episode.lights_left_off[entity_id] = LightLeftOff(entity_id)
        if new:
            self.changed(episode)
            self.watch(new)

    def diagnostics(self, episode: Episode) -> dict[str, dict[str, Any]]:
        """Per light of ``episode``: who took it over, whether it will be put back
        (``put_back``: when the last episode holding it ends), and ``left_off`` for one a calm
        left off (nothing to put back)."""
        left_off = {
            e: {"overridden_by": o.overridden_by, "put_back": False, "left_off": True}
            for e, o in episode.lights_left_off.items()
        }
        return left_off | {
            e: {"overridden_by": s.overridden_by, "put_back": self.put_back_owed(e)}
            for e, s in episode.lights.items()
        }

    async def restore(self, episode: Episode) -> list[str]:
        """Put back what ambient changed; lights someone took over stay as they are. A light
        another episode still holds is left to it (they share the snapshot from before the
        first of them): the last episode to end restores it, if any of them wanted that."""
        await self.judged()
        gone = await self._scenes_gone(list(episode.lights.values()))
        restored = await self._put_back(episode, list(episode.lights.values()), gone)
        shared = {
            s.scene_entity_id
            for other in self.episodes()
            if other is not episode
            for s in other.lights.values()
        }
        scenes = [
            s.scene_entity_id
            for s in episode.lights.values()
            if s.scene_entity_id not in shared and s.scene_entity_id not in gone
        ]
        if scenes:
            await self._delete_scenes(episode, scenes)
        return restored

    async def _delete_scenes(self, episode: Episode, scenes: list[str]) -> None:
        """Delete the episode's snapshot scenes, its lights already put back. One left over is
        harmless (HA keeps created scenes in memory only: gone when it restarts), so a failed
        delete is said as that, not as the episode not undone."""
        try:
            await self.client.call_service("scene", "delete", {}, {"entity_id": scenes})
            self._scenes_alive.difference_update(scenes)
        except (NotConnected, HomeAssistantError) as exc:
            _LOGGER.info(
                "Episode %s: snapshot scene(s) %s may be left in Home Assistant (harmless, "
                "gone when it restarts): deleting them failed: %s",
                episode.id,
                ", ".join(scenes),
                exc,
            )

    async def restore_now(self, episode: Episode, lights: list[str]) -> list[str]:
        """Put back ``lights`` before the episode ends (a breathing session stopped because
        its person left); their snapshots stay until it ends, as do the other lights'."""
        await self.judged()
        snapshots = [episode.lights[e] for e in lights if e in episode.lights]
        return await self._put_back(episode, snapshots, await self._scenes_gone(snapshots))

    async def _scenes_gone(self, snapshots: list[LightSnapshot]) -> set[str]:
        """The snapshot scenes HA no longer has: it keeps created scenes in memory only, so
        they are gone once HA itself restarted (neither applied nor deleted then)."""
        scenes = {s.scene_entity_id for s in snapshots}
        gone = {s for s in sorted(scenes) if await self.client.get_state(s) is None}
        self._scenes_alive = (self._scenes_alive | scenes) - gone
        return gone

    async def _put_back(
        self, episode: Episode, snapshots: list[LightSnapshot], gone: set[str]
    ) -> list[str]:
        """Apply the snapshots nobody took over, no other episode still holds, and that were
        to be restored; the lights put back. A scene in ``gone`` is applied from the state
        ambient kept of the light (HA restarted since): ``scene.apply``."""
        restored = []
        for snapshot in snapshots:
            if snapshot.overridden_by is not None:
                continue
            if self.left_to_others(snapshot, episode):
                _LOGGER.info(
                    "%s is still calmed by another episode: left to it", snapshot.entity_id
                )
                continue
            if not snapshot.restore:
                continue
            if snapshot.scene_entity_id in gone and snapshot.before is None:
                _LOGGER.warning(
                    "%s cannot be put back: Home Assistant restarted since episode %s calmed "
                    "it and lost its snapshot scene %s",
                    snapshot.entity_id,
                    episode.id,
                    snapshot.scene_entity_id,
                )
                continue
            try:
                await self._apply(snapshot, snapshot.scene_entity_id in gone)
            except HomeAssistantError as exc:
                # One bulb out of reach: the episode's other lights are still put back.
                self.client.counters.increment(f"ha:{snapshot.entity_id}", "service_error")
                _LOGGER.warning(
                    "%s could not be put back after episode %s: Home Assistant said %s",
                    snapshot.entity_id,
                    episode.id,
                    exc,
                )
                continue
            restored.append(snapshot.entity_id)
        return restored

    async def _apply(self, snapshot: LightSnapshot, scene_gone: bool) -> None:
        """Put one light back: its snapshot scene, or (the scene lost as HA restarted) the
        state ambient kept of it."""
        fade = {"transition": snapshot.transition_s} if snapshot.transition_s else {}
        if not scene_gone:
            await self.client.call_service(
                "scene", "turn_on", fade, {"entity_id": snapshot.scene_entity_id}
            )
        else:
            entities = {snapshot.entity_id: snapshot.before}
            await self.client.call_service("scene", "apply", {"entities": entities, **fade})

    async def judge_current(self, episode: Episode) -> None:
        """For an episode ambient did not watch throughout (carried over a restart, or ended
        while HA was away): a light whose last change was someone else's is theirs now."""
        await self.judged()
        gone = await self._scenes_gone(list(episode.lights.values()))
        for snapshot in list(episode.lights.values()):
            if snapshot.overridden_by is None:
                state = await self.client.get_state(snapshot.entity_id)
                if state is None:
                    continue
                if (
                    snapshot.scene_entity_id in gone
                    and self._changed_by_someone_else(snapshot.entity_id, state, AS_AMBIENT_LEFT_IT)
                    == "device"
                ):
                    continue  # HA restarted since (it lost the scene): not a hand's change
                self._judge(snapshot.entity_id, state, AS_AMBIENT_LEFT_IT, [episode])

    def _on_link(self, status: str) -> None:
        """The link to HA went down: keep each watched light's state then (see
        :meth:`_on_change`)."""
        if status == "connected":
            self._link_up = True
        elif self._link_up:
            self._link_up = False
            self._before_drop = {
                e: state for e in self._watched if (state := self.client.state(e)) is not None
            }

    def _on_change(
        self, entity_id: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        across_gap = old is not None and old is self._before_drop.get(entity_id)
        if across_gap:
            del self._before_drop[entity_id]
        if new is None or new.get("state") in NO_NEWS:
            if across_gap:
                self._unreachable_in_gap.add(entity_id)
            return  # off its network for a while (a bulb out of reach, HA restarting)
        if old is not None and old.get("state") in NO_NEWS:
            # Back: judged against how it was before it dropped off (a bulb on a wall switch
            # comes back at a brightness of its own when someone switches it on again).
            old = self._last_reachable.get(entity_id, AS_AMBIENT_LEFT_IT)
            if entity_id in self._unreachable_in_gap:
                self._unreachable_in_gap.discard(entity_id)
                across_gap = True
        self._last_reachable[entity_id] = new
        if across_gap or (old is None and any(e.recovered for e in self.episodes())):
            # Changed unseen (the link was down, or ambient was not running: only episodes
            # carried over a restart can have missed that): judged once it is known whether
            # HA itself restarted meanwhile.
            self._across_gap[entity_id] = (new, old)
            if self._judging is None or self._judging.done():
                loop = asyncio.get_running_loop()
                self._judging = loop.create_task(self._judge_across_gap())
        elif old is not None:  # ambient saw the change: one judgement for held and left off
            self._judge_seen(entity_id, new, old)

    def _judge_seen(self, entity_id: str, new: dict[str, Any], old: dict[str, Any]) -> None:
        who = self._changed_by_someone_else(entity_id, new, old)
        if who is not None:
            episodes = self.episodes()
            self.take_over(entity_id, who, episodes)
            if new.get("state") == "on":
                self._take_left_off(entity_id, who, episodes)

    async def judged(self) -> None:
        """Until the changes across the last gap in the link are judged (HA reachable)."""
        if self._judging is not None and not self._judging.done() and self.client.connected:
            await asyncio.shield(self._judging)

    async def _judge_across_gap(self) -> None:
        """Judge the lights' changes across a gap in the link. HA restarting in it sets each
        light it cannot read back (one whose integration only assumes its state, a demo light)
        to its default, in a context with no user, as a wall switch's report would come: such a
        change is no one's hand, and the light is put back at the episode's end. HA restarted
        when it no longer has the snapshot scenes of the lights (it keeps them in memory) and
        no light came back from the gap untouched (:meth:`_ran_on`)."""
        await self.client.wait_connected()
        while self._across_gap:  # (changes coming in meanwhile are judged in the next round)
            changes, self._across_gap = self._across_gap, {}
            await self._judge_unseen(changes)

    async def _judge_unseen(
        self, changes: dict[str, tuple[dict[str, Any], dict[str, Any] | None]]
    ) -> None:
        held = [s for episode in self.episodes() for s in episode.lights.values()]
        # Across a gap: scenes HA had before it; since ambient started: those of the episodes
        # carried over (gone if HA restarted since they were made).
        in_gap = [s for s in held if s.scene_entity_id in self._scenes_alive]
        carried = [s for e in self.episodes() if e.recovered for s in e.lights.values()]
        olds = [old for _, old in changes.values()]
        try:
            restarted_in_gap = (
                any(o is not None for o in olds)
                and bool(await self._scenes_gone(in_gap))
                and not await self._ran_on()
            )
            restarted_since = None in olds and bool(await self._scenes_gone(carried))
        except (NotConnected, HomeAssistantError):
            restarted_in_gap = restarted_since = False  # cannot tell: judged as any change
        for entity_id, (new, old) in changes.items():
            restarted = restarted_in_gap if old is not None else restarted_since
            if restarted and self._set_afresh(entity_id, new, old or AS_AMBIENT_LEFT_IT):
                continue
            if old is not None:
                self._judge_seen(entity_id, new, old)
            else:
                # The first state seen since ambient started: only episodes carried over a
                # restart can have missed a change, and ambient left their lights on.
                recovered = [e for e in self.episodes() if e.recovered]
                self._judge(entity_id, new, AS_AMBIENT_LEFT_IT, recovered)
                self._judge_left_off(entity_id, new, AS_AMBIENT_FOUND_IT, recovered)

    async def _ran_on(self) -> bool:
        """Whether a light watched through the gap is back with its state not even written
        anew: HA restarting writes every state afresh, so HA ran on, whatever snapshot scenes
        it no longer has (reloading its scenes, as saving one in its editor does, drops those
        ``scene.create`` made too). Read over REST: the link's own copy may predate the gap."""
        for entity_id, before in list(self._before_drop.items()):
            then = _timestamp(before.get("last_updated"))
            if then is None:
                continue
            state = await self.client.get_state(entity_id)
            now = _timestamp((state or {}).get("last_updated"))
            if now is not None and abs(now - then) < SAME_WRITE_S:
                return True
        return False

    def _set_afresh(self, entity_id: str, new: dict[str, Any], old: dict[str, Any]) -> bool:
        """HA restarted: whether this unseen change is HA setting the light afresh (said once)
        rather than another user's (the app: theirs, restart or not)."""
        if self._changed_by_someone_else(entity_id, new, old) != "device":
            return False
        _LOGGER.info(
            "%s came back %s as Home Assistant restarted: taken for HA setting it afresh, "
            "not for someone's hand; put back when its episode ends",
            entity_id,
            new.get("state"),
        )
        return True

    def _judge(
        self,
        entity_id: str,
        new: dict[str, Any],
        old: dict[str, Any],
        episodes: list[Episode],
    ) -> None:
        who = self._changed_by_someone_else(entity_id, new, old)
        if who is not None:
            self.take_over(entity_id, who, episodes)

    def _judge_left_off(
        self,
        entity_id: str,
        new: dict[str, Any],
        old: dict[str, Any],
        episodes: list[Episode],
    ) -> None:
        """Switched on by someone else: theirs in each of ``episodes`` that left it off."""
        on = new.get("state") == "on"
        who = self._changed_by_someone_else(entity_id, new, old) if on else None
        if who is not None:
            self._take_left_off(entity_id, who, episodes)

    def _take_left_off(self, entity_id: str, who: str, episodes: list[Episode]) -> None:
        """``who`` switched ``entity_id`` on: it is theirs in each of ``episodes`` that left it
        off."""
        for episode in episodes:
            left = episode.lights_left_off.get(entity_id)
            if left is not None and left.overridden_by is None:
                left.overridden_by = who
                self.changed(episode)
                _LOGGER.info(
                    "%s, left off, was switched on by someone else during episode %s: "
                    "leaving it alone",
                    entity_id,
                    episode.id,
                )

    def _changed_by_someone_else(
        self, entity_id: str, new: dict[str, Any], old: dict[str, Any]
    ) -> str | None:
        if new.get("state") in NO_NEWS:
            return None  # unreachable is no one's hand
        context = new.get("context") or {}
        user_id = context.get("user_id")
        if user_id is not None:
            return None if user_id == self.client.user_id else str(user_id)
        if context.get("parent_id") is not None:
            return None  # caused by something else in HA (an automation, a script)
        if new.get("state") != old.get("state"):
            return "device"
        brightness = brightness_when_on(new)
        span = self._span(entity_id)
        if brightness is None or span is None or brightness == brightness_when_on(old):
            return None
        return None if span.covers(brightness) else "device"


def _timestamp(value: Any) -> float | None:
    """A state's time as HA gives it (seconds since the epoch over the link, ISO 8601 text
    over REST) in seconds; None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None
