"""The ``log`` action: says what ambient would do. The default when no HA is configured."""

from __future__ import annotations

import logging
from typing import Any

from ambient.config.actions import LeafActionConfig, LogActionConfig
from ambient.messages import ActionContext, ActionResult

_LOGGER = logging.getLogger("ambient.actions")


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_message(template: str, context: ActionContext, event: str) -> str:
    """Fill ``{rule}``, ``{person}``, ``{event}``, ``{name}`` and any signal name, leaving
    unknowns as-is."""
    fields = _Fields(context.signals)
    fields.update(
        rule=context.rule, person=context.person or "", event=event, name=context.name or ""
    )
    for key, value in context.signals.items():
        if value is None:
            fields[key] = "unknown"  # as `ambient simulate` shows it, never Python's None
        elif isinstance(value, float):
            fields[key] = f"{value:.1f}"
    return template.format_map(fields)


class LogActuator:
    kinds = frozenset({"log"})

    async def perform(self, action: LeafActionConfig, context: ActionContext) -> ActionResult:
        assert isinstance(action, LogActionConfig)
        message = render_message(
            action.message, context, "recovered" if context.recovery else "fired"
        )
        _LOGGER.info("%s", message)
        return ActionResult("log", True, message)

    async def end_episode(self, context: ActionContext) -> None:
        return None
