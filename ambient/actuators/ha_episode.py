"""What the HA actuator did in one episode, so recovery can undo exactly that (and nothing a
person changed in the meantime) — kept in the store too, because an episode can outlive the
process: the rule engine carries an open episode across a restart, and its recovery must still
find the lights' snapshot scenes and the media ambient took over."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ambient.actuators.ha_light_state import BrightnessSpan
from ambient.privacy.data_classes import DataClass, register
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

#: Store namespace of the episodes' records (key: the episode id, ``rule:person:time``).
NAMESPACE = "ha.episodes"


def hand_over_forgotten(store: Store, person: str) -> str | None:
    """Forget's step for ``person``'s records: an episode of theirs not yet undone (the daemon
    stopped mid-calm) is kept, ended, under a key naming neither them nor the time, so the next
    start puts back what it changed (and deletes its snapshot scenes, whose ids still name them
    until then) instead of leaving the home calmed for good. The line for forget's report."""
    owed = {
        key: record
        for key, record in store.items(NAMESPACE).items()
        if key.split(":")[1:2] == [person]
    }
    for key, record in owed.items():
        rule = key.split(":", 1)[0]
        ended = {**record, "ended": True} if isinstance(record, dict) else record
        store.put(NAMESPACE, f"{rule}:-:forgotten-{uuid.uuid4().hex[:12]}", ended)
    if not owed:
        return None
    return (
        f"Home Assistant: {len(owed)} calming episode(s) of {person}'s still to undo, kept "
        "(ended, under a key without their name) for the next start to put back the lights and "
        f"volumes they changed; their snapshot scenes' ids name {person} until then: start "
        "ambient once"
    )


# Export and forget cover the records: their key names the person (``-`` for none), and so do
# the snapshot scenes' ids. Nothing ages them: each goes as its episode recovers. Forget hands
# an episode still to undo over to the next start (``hand_over_forgotten``).
_AFTER_RULE = "substr(key, instr(key, ':') + 1)"
register(
    DataClass(
        name="ha_undo",
        table="kv",
        where=f"namespace = '{NAMESPACE}'",
        person=f"substr({_AFTER_RULE}, 1, instr({_AFTER_RULE}, ':') - 1)",
        time=None,
        retention=None,
        description="what an open calming episode changed in Home Assistant, to undo it: the "
        "snapshot scenes of the lights, the media players' previous volumes, the players whose "
        "music a breathing session paused",
        json_columns=("value",),
        hand_over=hand_over_forgotten,
    )
)


def slug(text: str) -> str:
    """A string usable inside an HA object id (``scene.<slug>``)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


@dataclass
class LightSnapshot:
    """One light ambient changed: the scene holding its previous state, and whether someone
    has since taken it over (then it is neither touched nor restored)."""

    entity_id: str
    scene_entity_id: str
    restore: bool = True
    overridden_by: str | None = None  # HA user id, or "device" for a change with no user
    #: The fade back on restore: as long as the calm's own fade in.
    transition_s: float = 0.0
    #: The brightness it may report from ambient's hand (``None``: judged on on/off alone);
    #: kept, so a dimmer turned while ambient was not running is seen after it starts.
    span: BrightnessSpan | None = None
    #: The light's state and colour before ambient changed it (as HA's ``scene.apply`` takes
    #: them), for when the scene is gone: HA keeps created scenes in memory only, so a restart
    #: of HA loses them. ``None``: not known (a record from before it was kept).
    before: dict[str, Any] | None = None


@dataclass
class LightLeftOff:
    """A light a calm found off and left off: ambient changed nothing, so there is nothing to
    restore; but a person who switches it on during the episode has taken it over (then no
    later calm in the episode touches it)."""

    entity_id: str
    overridden_by: str | None = None  # HA user id, or "device" for a change with no user


@dataclass
class MediaTakeover:
    """A media player ambient started playing on, the volume it had before, and whether
    someone has since taken it over (then it is neither ramped, stopped nor reset)."""

    entity_id: str
    previous_volume: float | None
    stop_on_recovery: bool
    overridden_by: str | None = None  # HA user id, or "device" for a change with no user


@dataclass
class Episode:
    id: str
    lights: dict[str, LightSnapshot] = field(default_factory=dict)
    media: dict[str, MediaTakeover] = field(default_factory=dict)
    #: Lights a calm left off and ambient has not changed since (once changed: in ``lights``).
    lights_left_off: dict[str, LightLeftOff] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    breathing: asyncio.Task[None] | None = None
    #: Read back from the store after a restart: changes made while ambient was not running
    #: were never seen, so each light's current state is judged before it is touched again.
    recovered: bool = False
    #: The episode is over but HA was unreachable to undo it: undone when HA is back.
    ended: bool = False
    #: What must follow its tasks however they end, even cancelled before they ran (the music
    #: a breathing session paused, played again); each is awaited once, when they are over.
    after_tasks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    #: Players whose music a breathing session paused and has not played again yet: kept in
    #: the store, so music paused when ambient stopped is played again after it starts.
    paused_music: list[str] = field(default_factory=list)
    #: When that music stops being owed (the clock's time, seconds): its session's planned end
    #: plus a short grace. Played again hours later it would be a surprise, not a resume.
    #: ``None``: not known (a record from before it was kept): owed as before.
    paused_music_until: float | None = None
    #: Actions of the episode under way in HA (calm_lights, play_calming, breathing).
    acting: int = field(default=0, compare=False, repr=False)
    #: Held while the episode is undone: an action over after its end undoes it again only
    #: once the end's own undo is done.
    undoing: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False, repr=False)

    def active_lights(self, entity_ids: list[str]) -> list[str]:
        """Those of ``entity_ids`` nobody else has taken over in this episode."""
        held: dict[str, LightSnapshot | LightLeftOff] = {**self.lights_left_off, **self.lights}
        return [e for e in entity_ids if e not in held or held[e].overridden_by is None]

    def start_task(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def wait_tasks(self) -> None:
        """Until its sessions and ramps have run their course (cancelling the caller leaves
        them running)."""
        while self.tasks:
            await asyncio.wait(list(self.tasks))
        await self._after_tasks()

    async def cancel_tasks(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._after_tasks()

    async def _after_tasks(self) -> None:
        while self.after_tasks:
            await self.after_tasks.pop(0)()

    def to_record(self) -> dict[str, Any]:
        """What recovery needs, as JSON (running tasks are not kept: a breathing session or a
        volume ramp is never resumed late)."""
        return {
            "lights": {
                e: {
                    "scene_entity_id": s.scene_entity_id,
                    "restore": s.restore,
                    "overridden_by": s.overridden_by,
                    "transition_s": s.transition_s,
                    **({"brightness_span": [s.span.low, s.span.high]} if s.span else {}),
                    **({"before": dict(s.before)} if s.before is not None else {}),
                }
                for e, s in self.lights.items()
            },
            "media": {
                e: {
                    "previous_volume": m.previous_volume,
                    "stop_on_recovery": m.stop_on_recovery,
                    "overridden_by": m.overridden_by,
                }
                for e, m in self.media.items()
            },
            "ended": self.ended,
            # Only when there are any: a record without it reads as before.
            **(
                {
                    "lights_left_off": {
                        e: {"overridden_by": o.overridden_by}
                        for e, o in self.lights_left_off.items()
                    }
                }
                if self.lights_left_off
                else {}
            ),
            **({"paused_music": list(self.paused_music)} if self.paused_music else {}),
            **(
                {"paused_music_until": self.paused_music_until}
                if self.paused_music and self.paused_music_until is not None
                else {}
            ),
        }

    @classmethod
    def from_record(cls, episode_id: str, record: Any) -> Episode:
        """The inverse of :meth:`to_record`; ``ValueError`` naming the field if it is not."""
        ended = _mapping(record, "record").get("ended", False)
        if not isinstance(ended, bool):
            raise ValueError(f"ended is not true/false: {ended!r}")
        episode = cls(episode_id, recovered=True, ended=ended)
        lights = _mapping(record, "record").get("lights", {})
        for entity_id, light in _mapping(lights, "lights").items():
            where = f"lights.{entity_id}"
            light = _mapping(light, where)
            scene = light.get("scene_entity_id")
            restore = light.get("restore", True)
            if not isinstance(scene, str) or not scene.startswith("scene."):
                raise ValueError(f"{where}.scene_entity_id is not a scene: {scene!r}")
            if not isinstance(restore, bool):
                raise ValueError(f"{where}.restore is not true/false: {restore!r}")
            overridden_by = _overridden_by(light, where)
            transition_s = light.get("transition_s", 0.0)
            if isinstance(transition_s, bool) or not isinstance(transition_s, (int, float)):
                raise ValueError(f"{where}.transition_s is not a number: {transition_s!r}")
            episode.lights[entity_id] = LightSnapshot(
                entity_id,
                scene,
                restore,
                overridden_by,
                float(transition_s),
                _span(light, where),
                _before(light, where),
            )
        left_off = _mapping(record, "record").get("lights_left_off", {})
        for entity_id, light in _mapping(left_off, "lights_left_off").items():
            where = f"lights_left_off.{entity_id}"
            overridden_by = _overridden_by(_mapping(light, where), where)
            episode.lights_left_off[entity_id] = LightLeftOff(entity_id, overridden_by)
        paused = _mapping(record, "record").get("paused_music", [])
        if not isinstance(paused, list) or not all(isinstance(p, str) for p in paused):
            raise ValueError(f"paused_music is not a list of players: {paused!r}")
        episode.paused_music = list(paused)
        until = _mapping(record, "record").get("paused_music_until")
        if until is not None and (isinstance(until, bool) or not isinstance(until, int | float)):
            raise ValueError(f"paused_music_until is not a time: {until!r}")
        episode.paused_music_until = None if until is None else float(until)
        media = _mapping(record, "record").get("media", {})
        for entity_id, takeover in _mapping(media, "media").items():
            where = f"media.{entity_id}"
            takeover = _mapping(takeover, where)
            volume = takeover.get("previous_volume")
            stop = takeover.get("stop_on_recovery", True)
            if volume is not None and (
                isinstance(volume, bool) or not isinstance(volume, (int, float))
            ):
                raise ValueError(f"{where}.previous_volume is not a number: {volume!r}")
            if not isinstance(stop, bool):
                raise ValueError(f"{where}.stop_on_recovery is not true/false: {stop!r}")
            overridden_by = _overridden_by(takeover, where)
            episode.media[entity_id] = MediaTakeover(
                entity_id, None if volume is None else float(volume), stop, overridden_by
            )
        return episode


class EpisodeRecords:
    """The episodes' records in the store, written when a snapshot is taken, a light is left
    off, media is taken over or a light is taken over by someone (on change, never per tick).
    ``Store`` ``None``: memory only, as before."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self._written: dict[str, dict[str, Any]] = {}

    def save(self, episode: Episode) -> None:
        if self.store is None:
            return
        record = episode.to_record()
        if not (
            record["lights"] or record["media"] or episode.lights_left_off or episode.paused_music
        ):
            if episode.id in self._written:  # its paused music was played again: nothing left
                self.delete(episode.id)
            return  # nothing to undo or leave alone (notify, logbook): nothing to keep
        if self._written.get(episode.id) != record:
            self.store.put(NAMESPACE, episode.id, record)
            self._written[episode.id] = record

    def delete(self, episode_id: str) -> None:
        self._written.pop(episode_id, None)
        if self.store is not None:
            self.store.delete(NAMESPACE, episode_id)

    def load(self) -> tuple[list[Episode], list[str]]:
        """The stored episodes, and the keys of records that could not be read (deleted: an
        unreadable record can never be undone, and must not fail every start)."""
        if self.store is None:
            return [], []
        episodes, bad = [], []
        for episode_id, record in self.store.items(NAMESPACE).items():
            try:
                episode = Episode.from_record(episode_id, record)
            except ValueError as exc:
                _LOGGER.error(
                    "Store %s, record %s/%s: %s; dropped (its lights cannot be restored)",
                    self.store.path or "(memory)",
                    NAMESPACE,
                    episode_id,
                    exc,
                )
                self.store.delete(NAMESPACE, episode_id)
                bad.append(episode_id)
                continue
            self._written[episode_id] = episode.to_record()
            episodes.append(episode)
        return episodes, bad


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object: {type(value).__name__}")
    return value


def _span(fields: dict[str, Any], where: str) -> BrightnessSpan | None:
    """A record's ``brightness_span`` (``[low, high]``, HA's 0-255), if it has one."""
    span = fields.get("brightness_span")
    if span is None:
        return None
    numbers = isinstance(span, list) and len(span) == 2
    if not numbers or any(isinstance(v, bool) or not isinstance(v, int | float) for v in span):
        raise ValueError(f"{where}.brightness_span is not [low, high]: {span!r}")
    return BrightnessSpan(float(span[0]), float(span[1]))


def _before(fields: dict[str, Any], where: str) -> dict[str, Any] | None:
    """A record's ``before`` (the light's state before ambient changed it), if it has one."""
    before = fields.get("before")
    if before is None:
        return None
    if not isinstance(before, dict) or before.get("state") not in ("on", "off"):
        raise ValueError(f"{where}.before is not a light's state: {before!r}")
    return before


def _overridden_by(fields: dict[str, Any], where: str) -> str | None:
    """A record's ``overridden_by``: who took the entity over (``None``: nobody)."""
    overridden_by = fields.get("overridden_by")
    if overridden_by is not None and not isinstance(overridden_by, str):
        raise ValueError(f"{where}.overridden_by is not a string: {overridden_by!r}")
    return overridden_by
