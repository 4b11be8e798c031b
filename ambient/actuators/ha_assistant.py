"""A session script written by the LLM the user already has in Home Assistant.

ambient asks HA's ``ai_task.generate_data`` (with a ``structure``, answer returned) and sends
only coarse context: a first name, the time of day, how many minutes the stress has lasted and
the suggested pattern — never a heart figure. The answer is checked (pacing clamped, length
bounded, no links, no medical claims); any error, a malformed answer or no answer within the
assistant's timeout gives the template script instead, and ``source`` says why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from ambient.asyncutil import ClockTimeout, result_or_clock_timeout
from ambient.clock import Clock
from ambient.config.actions import AssistantConfig
from ambient.connections.errors import LinkError
from ambient.counters import Counters
from ambient.interventions.script import (
    LLM_STRUCTURE,
    ScriptContext,
    ScriptRejected,
    SessionScript,
    from_llm,
    llm_instructions,
)

_LOGGER = logging.getLogger(__name__)


class ResponseCaller(Protocol):
    """``HomeAssistantClient.call_service``: a service call that can return its answer."""

    async def __call__(
        self,
        domain: str,
        service: str,
        data: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
        *,
        return_response: bool = False,
    ) -> dict[str, Any]: ...


def assistant_request(assistant: AssistantConfig, moment: ScriptContext) -> dict[str, Any]:
    """The service data of ``ai_task.generate_data``: everything the LLM is told."""
    return {
        "task_name": assistant.task_name,
        "entity_id": assistant.entity_id,
        "instructions": llm_instructions(moment),
        "structure": {key: dict(field) for key, field in LLM_STRUCTURE.items()},
    }


async def assistant_script(
    call_service: ResponseCaller,
    assistant: AssistantConfig,
    moment: ScriptContext,
    template: SessionScript,
    clock: Clock,
    counters: Counters,
) -> SessionScript:
    """The assistant's checked script, or ``template`` (its source saying why) on any doubt,
    counted under ``ha:<entity_id>`` as ``assistant_fallback``. ``clock`` times the wait: HA
    and its LLM answer in real time."""
    request = assistant_request(assistant, moment)
    _LOGGER.debug("Asking %s for a breathing script: %s", assistant.entity_id, request)
    try:
        result = await result_or_clock_timeout(
            clock,
            call_service("ai_task", "generate_data", request, return_response=True),
            float(assistant.timeout),
        )
    except ClockTimeout:
        return _fallback(template, "assistant timed out", assistant, counters)
    except LinkError as exc:  # HA down, or it (or the LLM behind it) said no
        return _fallback(template, f"assistant failed: {exc}", assistant, counters)
    response = result.get("response")
    answer = response.get("data") if isinstance(response, Mapping) else None
    try:
        script = from_llm(answer)
    except ScriptRejected as exc:
        return _fallback(template, f"assistant's answer rejected: {exc}", assistant, counters)
    _LOGGER.info("Breathing script written by %s and checked", assistant.entity_id)
    return script


def _fallback(
    template: SessionScript, why: str, assistant: AssistantConfig, counters: Counters
) -> SessionScript:
    counters.increment(f"ha:{assistant.entity_id}", "assistant_fallback")
    _LOGGER.warning("Breathing script from the template: %s (%s)", why, assistant.entity_id)
    return replace(template, source=f"{template.source} ({why})")
