"""The ``log`` action: says what ambient would do. The default when no HA is configured."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Final

from ambient.config.actions import LeafActionConfig, LogActionConfig
from ambient.messages import ActionContext, ActionResult, SignalScalar

_LOGGER = logging.getLogger("ambient.actions")

_PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_message(template: str, context: ActionContext, event: str) -> str:
    """Fill ``{rule}``, ``{person}``, ``{event}``, ``{name}`` and any signal name, leaving
    unknowns as-is."""
    return template.format_map(_Fields(_message_fields(context, event)))


def render_data(data: Any, context: ActionContext, event: str) -> Any:
    """``data`` (an action's passthrough ``data``: text, mappings, lists) with each string in
    it filled as :func:`render_message` fills a message: what HA is sent, and what a replay
    reports it would send."""
    if isinstance(data, str):
        return render_message(data, context, event)
    if isinstance(data, dict):
        return {key: render_data(value, context, event) for key, value in data.items()}
    if isinstance(data, list):
        return [render_data(value, context, event) for value in data]
    return data


def _message_fields(context: ActionContext, event: str) -> dict[str, str]:
    """What a message's placeholders are filled with: each signal the rule read, and the
    rule, person, event and name."""
    fields = {key: placeholder_text(value) for key, value in context.signals.items()}
    fields.update(
        rule=context.rule, person=context.person or "", event=event, name=context.name or ""
    )
    return fields


def placeholder_text(value: SignalScalar | None) -> str:
    """A signal's value as a message shows it: numbers with one decimal, ``unknown``, and true
    and false as ``on`` and ``off`` (as the rules' reasons and states say them, and HA)."""
    if value is None:
        return "unknown"  # as `ambient simulate` shows it, never Python's None
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def fill_reported(text: str, context: ActionContext) -> str:
    """What an action only reported (simulate) would send: each ``{name}`` a performed
    action fills in (and ``{trigger}``) filled from ``context``, the values its run acts on
    (a later step's are still those of the firing); other braces left as they are, as an
    action's summary holds any text."""
    fields = _message_fields(context, "recovered" if context.recovery else "fired")
    fields["trigger"] = context.trigger or ""
    return fill_named(text, fields)


def fill_named(text: str, fields: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` of ``fields`` filled in; other braces left as they are."""
    return _PLACEHOLDER.sub(lambda match: fields.get(match.group(1), match.group(0)), text)


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
