"""Routes each action to the actuator for its kind, with a per-attempt timeout, retries with
backoff inside the action's time-to-live, and nothing performed after it (a breathing prompt an
hour late is worse than none). In report-only mode (simulate, analyze) nothing is performed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ambient.actuators.log import fill_named, fill_reported, render_data
from ambient.asyncutil import ClockTimeout, result_or_clock_timeout
from ambient.clock import Clock
from ambient.config.actions import BUILTIN_ACTIONS, LeafActionConfig, MqttPublishActionConfig
from ambient.connections.errors import NotConnected
from ambient.messages import ActionContext, ActionResult
from ambient.ports import Actuator
from ambient.stage_times import STAGE

_LOGGER = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0


def action_kind(action: LeafActionConfig) -> str:
    """The dispatch key: the built-in kind, or ``service_call`` for any HA ``domain.service``."""
    kind = getattr(action, "action", None)
    if not isinstance(kind, str):
        return type(action).__name__
    return kind if kind in BUILTIN_ACTIONS else "service_call"


def describe(action: LeafActionConfig) -> str:
    """A one-line summary of an action for timelines and traces."""
    kind = getattr(action, "action", type(action).__name__)
    fields = action.model_dump(
        exclude={"action", "alias", "timeout", "ttl"}, exclude_defaults=True, by_alias=True
    )
    details = " ".join(f"{key}={value}" for key, value in fields.items())
    return f"{kind} {details}".strip()


def reported(action: LeafActionConfig, context: ActionContext, extra: str | None = None) -> str:
    """What the action would do, filled as its actuator fills it when performed: a
    publish's placeholders as the JSON it sends (``true``, ``null``, ``{episode}`` too); any
    other's message, title and data as the message it sends (``on``, ``unknown``, ``{{``
    read as ``{``), the rest of its summary as written. ``extra`` (a session's script) is
    filled as a message's words."""
    if isinstance(action, MqttPublishActionConfig):
        from ambient.actuators.mqtt import template_fields  # loads the broker's client

        summary = describe(action)
        return fill_named(f"{summary}; {extra}" if extra else summary, template_fields(context))
    event = "recovered" if context.recovery else "fired"
    sent = {
        key: render_data(getattr(action, key), context, event)
        for key in ("message", "title", "data")
        if getattr(action, key, None) is not None
    }
    summary = describe(action.model_copy(update=sent))
    return f"{summary}; {fill_reported(extra, context)}" if extra else summary


class ActionDispatcher:
    """Satisfies :class:`ambient.ports.ActionPerformer` for the rule engine."""

    def __init__(
        self,
        clock: Clock,
        actuators: Iterable[Actuator],
        *,
        report_only: bool = False,
        timeout_clock: Clock | None = None,
        preview: Callable[[LeafActionConfig, ActionContext], str | None] | None = None,
    ) -> None:
        self.clock = clock
        #: In report-only mode, adds what an action would do to its summary (a session script).
        self.preview = preview
        #: What per-attempt timeouts are measured on (TTLs always use ``clock``).
        self.timeout_clock = timeout_clock or clock
        self.report_only = report_only
        self._by_kind: dict[str, Actuator] = {}
        for actuator in actuators:
            for kind in actuator.kinds:
                self._by_kind[kind] = actuator

    async def perform(self, action: LeafActionConfig, context: ActionContext) -> ActionResult:
        if STAGE is not None:
            STAGE("run")
        kind = action_kind(action)
        if self.report_only:
            extra = self.preview(action, context) if self.preview is not None else None
            detail = reported(action, context, extra)  # only here: a model dump takes time
            return ActionResult(kind, True, detail, performed=False)
        actuator = self._by_kind.get(kind)
        if actuator is None:
            return ActionResult(kind, False, f"no actuator configured for `{kind}`")
        ttl_s = float(getattr(action, "ttl", 120.0))
        timeout_s = float(getattr(action, "timeout", 10.0))
        deadline = context.deadline if context.deadline is not None else context.time + ttl_s
        delay_s = RETRY_FIRST_S
        last_error = ""
        while True:
            if self.clock.now() > deadline:
                why = last_error or "too late"
                _LOGGER.warning(
                    "Dropped %s for rule %s: not delivered within its time-to-live (%s)",
                    kind,
                    context.rule,
                    why,
                )
                return ActionResult(kind, False, f"dropped: time-to-live passed ({why})")
            try:
                return await result_or_clock_timeout(
                    self.timeout_clock, actuator.perform(action, context), timeout_s
                )
            except (NotConnected, ClockTimeout) as exc:
                last_error = str(exc) or type(exc).__name__
            wait_s = min(delay_s, max(0.0, deadline - self.clock.now()))
            delay_s = min(delay_s * 2, RETRY_MAX_S)
            await self.clock.sleep(wait_s + 0.001)

    async def pause(self) -> None:
        """Stop what actuators are doing right now (sessions, ramps): ambient was paused."""
        if self.report_only:
            return
        for actuator in {id(a): a for a in self._by_kind.values()}.values():
            pause = getattr(actuator, "pause", None)
            if pause is not None:
                try:
                    await pause()
                except Exception:
                    _LOGGER.exception("Actuator %s failed to pause", type(actuator).__name__)

    async def settle_episodes(self, live: set[str]) -> None:
        """Tell actuators which episodes the rules still own; they end every other one."""
        if self.report_only:
            return
        for actuator in {id(a): a for a in self._by_kind.values()}.values():
            settle = getattr(actuator, "settle_episodes", None)
            if settle is not None:
                try:
                    await settle(live)
                except Exception:
                    _LOGGER.exception(
                        "Actuator %s failed to settle episodes", type(actuator).__name__
                    )

    async def end_episode(self, context: ActionContext) -> None:
        if self.report_only:
            return
        for actuator in {id(a): a for a in self._by_kind.values()}.values():
            try:
                await actuator.end_episode(context)
            except Exception:
                _LOGGER.exception("Actuator %s failed to end episode", type(actuator).__name__)
