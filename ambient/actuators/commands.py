"""Commands from Home Assistant's controls for ambient (the MQTT pause switch and breathing
button): pausing stops running sessions at once; the breathing button starts the first
breathing action the rules configure, and ends its episode when the session is over (the
lights it paced are restored)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from ambient.actuators.dispatch import ActionDispatcher
from ambient.clock import Clock
from ambient.config.actions import BreathingActionConfig
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import walk_steps
from ambient.messages import ActionContext, ExternalEvent

_LOGGER = logging.getLogger(__name__)


class CommandHandler:
    """Acts on ``command`` events; everything else passes by."""

    def __init__(self, config: AmbientConfig, clock: Clock, dispatcher: ActionDispatcher) -> None:
        self.clock = clock
        self.dispatcher = dispatcher
        self.breathing = first_breathing_action(config)
        self._tasks: set[asyncio.Task[Any]] = set()

    def on_event(self, event: ExternalEvent) -> None:
        if event.kind != "command":
            return
        if event.key == "pause" and event.data.get("paused", True):
            self._spawn(self.dispatcher.pause())
        elif event.key == "breathing":
            if self.breathing is None:
                _LOGGER.warning("Breathing button pressed, but no rule has a breathing action")
                return
            now = self.clock.now()
            context = ActionContext(
                rule="breathing_button", person=None, episode=f"button-{now:.0f}", time=now
            )
            self._spawn(self._breathe(self.breathing, context))

    async def _breathe(self, action: BreathingActionConfig, context: ActionContext) -> None:
        await self.dispatcher.perform(action, context)
        await self.dispatcher.end_episode(context)  # once the session has run its course

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def first_breathing_action(config: AmbientConfig) -> BreathingActionConfig | None:
    for rule in config.rules:
        for _, step in walk_steps(rule, ()):
            if isinstance(step, BreathingActionConfig):
                return step
    return None
