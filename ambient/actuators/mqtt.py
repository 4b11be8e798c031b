"""The ``mqtt.publish`` action: a message to any topic, templated with the rule's signals.

Placeholders are ``{name}`` with a lower-case name: ``{rule}``, ``{person}``, ``{event}``
(``fired``/``recovered``), ``{episode}``, ``{trigger}``, ``{time}``, any signal the rule saw
(``{hr}``, ``{stress_score}``) and ``{signals}`` (all of them as a JSON object). Other braces are
left alone, so JSON payloads need no escaping: ``{"hr": {hr}}``. Values are JSON literals
(``72.4``, ``true``, ``null`` for unknown) except text, which is inserted as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Final

from ambient.config.actions import LeafActionConfig, MqttPublishActionConfig
from ambient.connections.mqtt import MqttConnection
from ambient.messages import ActionContext, ActionResult, SignalScalar

_PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class TemplateError(ValueError):
    pass


def _literal(value: SignalScalar | None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return json.dumps(round(value, 3))
    return json.dumps(value)


def template_fields(context: ActionContext) -> dict[str, str]:
    signals: Mapping[str, SignalScalar | None] = context.signals
    fields = {key: _literal(value) for key, value in signals.items()}
    fields.update(
        rule=context.rule,
        person=context.person or "",
        name=context.name or "",
        event="recovered" if context.recovery else "fired",
        episode=context.episode,
        trigger=context.trigger or "",
        time=_literal(round(context.time, 3)),
        signals=json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in signals.items()},
            separators=(",", ":"),
        ),
    )
    return fields


def render(template: str, fields: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fields:
            raise TemplateError(f"unknown placeholder {{{name}}}")
        return fields[name]

    return _PLACEHOLDER.sub(replace, template)


class MqttActuator:
    kinds = frozenset({"mqtt.publish"})

    def __init__(self, connection: MqttConnection) -> None:
        self._connection = connection

    async def perform(self, action: LeafActionConfig, context: ActionContext) -> ActionResult:
        """Publish; raises NotConnected while the broker is away (the dispatcher
        retries within the action's TTL)."""
        assert isinstance(action, MqttPublishActionConfig)
        fields = template_fields(context)
        try:
            topic = render(action.topic, fields)
            payload = render(action.payload, fields)
        except TemplateError as exc:
            return ActionResult("mqtt.publish", False, str(exc))
        if not topic or "+" in topic or "#" in topic:
            return ActionResult("mqtt.publish", False, f"cannot publish to topic {topic!r}")
        await self._connection.publish(topic, payload, qos=action.qos, retain=action.retain)
        return ActionResult("mqtt.publish", True, f"published to {topic}")

    async def end_episode(self, context: ActionContext) -> None:
        return None
