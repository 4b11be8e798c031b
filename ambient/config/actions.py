"""Action steps, chosen by ``action:`` (HA's older ``service:`` is accepted) or, for flow steps,
by their key (``delay``, ``wait_for``, ``choose``, ``if``), as in HA scripts.

Built-in kinds have their own model; any other ``domain.service`` is passed through to HA.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from ambient.config.base import ConfigModel
from ambient.config.conditions import ConditionConfig
from ambient.config.durations import Duration
from ambient.config.triggers import Threshold
from ambient.config.types import EntityId, ServiceName


class ActionBase(ConfigModel):
    alias: str | None = Field(default=None, title="Shown in traces")
    timeout: Duration = Field(default=10.0, gt=0, title="Give up on one attempt after this")
    ttl: Duration = Field(default=120.0, gt=0, title="Drop, never perform late, after this")

    @model_validator(mode="before")
    @classmethod
    def _service_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "service" in data and "action" not in data:
            data = dict(data)
            data["action"] = data.pop("service")
        return data


class LogActionConfig(ActionBase):
    """Prints what it would do: the default when no HA is configured."""

    action: Literal["log"]
    message: str = "{rule} {event}"


class CalmLightsActionConfig(ActionBase):
    action: Literal["calm_lights"]
    target: list[EntityId] = Field(min_length=1, title="Lights to calm")
    color_temp_kelvin: int = Field(default=2400, ge=1500, le=6500)
    brightness_pct: int = Field(default=35, ge=1, le=100)
    transition: Duration = Field(default=20.0, title="Fade time")
    restore: bool = Field(default=True, title="Restore the snapshot on recovery")


class PlayCalmingActionConfig(ActionBase):
    action: Literal["play_calming"]
    target: EntityId = Field(title="Media player")
    media_content_id: str
    media_content_type: str = "playlist"
    volume: float = Field(default=0.25, gt=0, le=1, title="Volume ceiling of the ramp")
    ramp: Duration = Field(default=30.0, title="Time to ramp up to the ceiling")
    interrupt: bool = Field(default=False, title="Interrupt something already playing")


class BreathingPhase(ConfigModel):
    phase: Literal["inhale", "hold", "exhale", "hold_out"]
    seconds: float = Field(gt=0, le=30)


class BreathingActionConfig(ActionBase):
    action: Literal["breathing"]
    preset: Literal["box", "4-7-8", "resonance"] | None = "resonance"
    phases: list[BreathingPhase] | None = Field(default=None, title="Custom phases")
    cycles: int = Field(default=6, ge=1, le=60)
    media_player: EntityId | None = Field(default=None, title="Where cues are spoken")
    tts_entity: EntityId | None = Field(default=None, title="TTS entity for tts.speak")
    tts_service: ServiceName | None = Field(default=None, title="Legacy tts.*_say service")
    lights: list[EntityId] = Field(default_factory=list, title="Lights that pace the breath")
    ttl: Duration = Field(default=60.0, gt=0)


class NotifyActionConfig(ActionBase):
    action: Literal["notify"]
    service: ServiceName = Field(title="e.g. notify.mobile_app_sam_phone")
    message: str
    title: str | None = None
    min_interval: Duration = Field(default=3600.0, title="At most one message this often")


class LogbookActionConfig(ActionBase):
    action: Literal["logbook"]
    message: str = "{rule}: {event}"


class MqttPublishActionConfig(ActionBase):
    action: Literal["mqtt.publish"]
    topic: str
    payload: str = ""
    qos: Literal[0, 1, 2] = 1
    retain: bool = False


class ServiceCallActionConfig(ActionBase):
    """Any HA ``domain.service``, passed through with ``target`` and ``data``."""

    action: ServiceName
    target: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)


class DelayStepConfig(ConfigModel):
    delay: Duration
    alias: str | None = None


class WaitForStepConfig(ConfigModel):
    """Wait until a signal recovers (below / above), or the timeout passes."""

    class WaitFor(ConfigModel):
        signal: str
        above: Threshold | None = None
        below: Threshold | None = None

        @model_validator(mode="after")
        def _needs_threshold(self) -> WaitForStepConfig.WaitFor:
            if self.above is None and self.below is None:
                raise ValueError("give `above`, `below` or both")
            return self

    wait_for: WaitFor
    timeout: Duration | None = None
    continue_on_timeout: bool = True
    alias: str | None = None


class ChooseOption(ConfigModel):
    conditions: list[ConditionConfig] = Field(default_factory=list)
    sequence: list[ActionConfig]


class ChooseStepConfig(ConfigModel):
    choose: list[ChooseOption]
    default: list[ActionConfig] = Field(default_factory=list)
    alias: str | None = None


class IfStepConfig(ConfigModel):
    if_: list[ConditionConfig] = Field(alias="if")
    then: list[ActionConfig]
    else_: list[ActionConfig] = Field(default_factory=list, alias="else")
    alias: str | None = None


BUILTIN_ACTIONS = (
    "log",
    "calm_lights",
    "play_calming",
    "breathing",
    "notify",
    "logbook",
    "mqtt.publish",
)
FLOW_STEPS = ("delay", "wait_for", "choose", "if")


def _action_tag(data: Any) -> str | None:
    if isinstance(data, ConfigModel):
        data = data.model_dump(by_alias=True)
    if not isinstance(data, dict):
        return None
    for step in FLOW_STEPS:
        if step in data:
            return step
    kind = data.get("action", data.get("service"))
    if not isinstance(kind, str):
        return None
    if kind in BUILTIN_ACTIONS:
        return kind
    if "." in kind:
        return "service_call"
    return kind


ActionConfig = Annotated[
    Annotated[LogActionConfig, Tag("log")]
    | Annotated[CalmLightsActionConfig, Tag("calm_lights")]
    | Annotated[PlayCalmingActionConfig, Tag("play_calming")]
    | Annotated[BreathingActionConfig, Tag("breathing")]
    | Annotated[NotifyActionConfig, Tag("notify")]
    | Annotated[LogbookActionConfig, Tag("logbook")]
    | Annotated[MqttPublishActionConfig, Tag("mqtt.publish")]
    | Annotated[ServiceCallActionConfig, Tag("service_call")]
    | Annotated[DelayStepConfig, Tag("delay")]
    | Annotated[WaitForStepConfig, Tag("wait_for")]
    | Annotated[ChooseStepConfig, Tag("choose")]
    | Annotated[IfStepConfig, Tag("if")],
    Discriminator(_action_tag),
]

ChooseOption.model_rebuild()
ChooseStepConfig.model_rebuild()
IfStepConfig.model_rebuild()
