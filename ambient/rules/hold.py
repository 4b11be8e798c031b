"""The global hold on actions: `pause` (from the config, HA, MQTT or a command; it survives a
restart) and `quiet_hours` (an action with ``quiet_hours: ignore`` goes through them). Firings
still happen and are traced as suppressed with the reason."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import tzinfo
from typing import Any

from ambient.clock import Clock
from ambient.config.actions import ActionConfig, LeafActionConfig, walk_action_steps
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import walk_steps
from ambient.config.rules import RuleConfig
from ambient.config.types import parse_time_of_day
from ambient.config.yaml_source import KeyPath
from ambient.rules.timeofday import in_window
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

META_NAMESPACE = "rules_meta"


class ActionHold:
    """Whether actions may run right now, and if not, why."""

    def __init__(self, config: AmbientConfig, clock: Clock, zone: tzinfo, store: Store) -> None:
        self.clock = clock
        self._zone = zone
        self._store = store
        quiet = config.quiet_hours
        self._quiet = (
            (parse_time_of_day(quiet.start), parse_time_of_day(quiet.end), quiet) if quiet else None
        )
        self._paused = config.pause
        self._pause_source = "config"

    def restore(self) -> None:
        """Take up the pause as it was saved (it outlives the config's `pause`)."""
        pause = self._store.get(META_NAMESPACE, "pause")
        if isinstance(pause, dict):
            self._paused = bool(pause.get("paused"))
            self._pause_source = str(pause.get("source", "store"))

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool, source: str) -> None:
        """Hold back every rule's actions (firings are traced as suppressed) until resumed."""
        if paused != self._paused:
            _LOGGER.info("Rules %s by %s", "paused" if paused else "resumed", source)
        self._paused = paused
        self._pause_source = source
        self._store.put(META_NAMESPACE, "pause", {"paused": paused, "source": source})

    def _quiet_now(self) -> bool:
        if self._quiet is None:
            return False
        start, end, _ = self._quiet
        now = self.clock.local(self._zone).time().replace(tzinfo=None)
        return in_window(now, start, end)

    def held_back_of(self, rule: RuleConfig) -> str | None:
        """What holds ``rule``'s actions back now, as its status says it: quiet hours name the
        actions that still go through (``quiet_hours: ignore``)."""
        why = self.held_back()
        if why is None or self._paused:
            return why
        if _goes_through_quiet_hours(walk_steps(rule, ())):
            return f"{why}, but not its actions with quiet_hours: ignore"
        return why

    def held_back(self, steps: Sequence[ActionConfig] = ()) -> str | None:
        """Why actions may not run right now (pause, quiet hours), or None. Quiet hours let
        ``steps`` through when one of their actions says ``quiet_hours: ignore`` (a message to
        a trusted person at night); the pause holds every action."""
        if self._paused:
            return f"paused (by {self._pause_source})"
        if self._quiet is not None and self._quiet_now():
            if _goes_through_quiet_hours(walk_action_steps(steps, ())):
                return None
            return f"quiet hours {self._quiet[2].start}–{self._quiet[2].end}"
        return None


def _goes_through_quiet_hours(walked: Iterable[tuple[KeyPath, Any]]) -> bool:
    """Whether one of the steps ``walked`` is an action with ``quiet_hours: ignore``."""
    return any(
        isinstance(step, LeafActionConfig) and step.quiet_hours == "ignore" for _, step in walked
    )
