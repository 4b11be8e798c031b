"""What the HA actuator did in one episode, so recovery can undo exactly that (and nothing a
person changed in the meantime)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any


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


@dataclass
class MediaTakeover:
    """A media player ambient started playing on, and the volume it had before."""

    entity_id: str
    previous_volume: float | None
    stop_on_recovery: bool


@dataclass
class Episode:
    id: str
    lights: dict[str, LightSnapshot] = field(default_factory=dict)
    media: dict[str, MediaTakeover] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    breathing: asyncio.Task[None] | None = None

    def active_lights(self, entity_ids: list[str]) -> list[str]:
        """Those of ``entity_ids`` nobody else has taken over in this episode."""
        return [
            e for e in entity_ids if e not in self.lights or self.lights[e].overridden_by is None
        ]

    def start_task(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def cancel_tasks(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
