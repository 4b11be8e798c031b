"""A rule: triggers, conditions, mode, cooldown, actions, recovery and escalation; and the
global quiet hours that hold every rule's actions back."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, Field, model_validator

from ambient.config.actions import ActionConfig
from ambient.config.base import ConfigModel
from ambient.config.conditions import ConditionConfig
from ambient.config.durations import Duration
from ambient.config.triggers import TriggerConfig
from ambient.config.types import Identifier, TimeOfDay


class EscalationConfig(ConfigModel):
    after: Duration = Field(gt=0, title="Still triggered this long after firing")
    actions: Annotated[list[ActionConfig], BeforeValidator(_one_as_a_list)] = Field(min_length=1)


def _one_person(value: object) -> object:
    """``person: [alex, sam]`` is what a rule without ``person:`` already does, per person."""
    if isinstance(value, list):
        raise ValueError(
            "one person's id: a rule without `person:` runs for each person on their own (each "
            "with their own `for` and cooldown); for some of them, give each a rule of their own"
        )
    return value


def _one_as_a_list(value: object) -> object:
    """One trigger, condition or action written without a list, as HA takes it (its older
    automations often give `trigger:` a single mapping)."""
    return [value] if isinstance(value, dict) else value


#: HA's automations name these keys in the singular (its newer ones as ambient does).
HA_SINGULAR = {"triggers": "trigger", "conditions": "condition", "actions": "action"}


class RuleConfig(ConfigModel):
    id: Identifier
    alias: str | None = None
    description: str | None = Field(default=None, title="Free text, as in HA")
    person: Annotated[Identifier | None, BeforeValidator(_one_person)] = Field(
        default=None, title="Default: every person"
    )
    triggers: Annotated[list[TriggerConfig], BeforeValidator(_one_as_a_list)] = Field(
        min_length=1, validation_alias=AliasChoices("triggers", "trigger")
    )
    conditions: Annotated[list[ConditionConfig], BeforeValidator(_one_as_a_list)] = Field(
        default_factory=list, validation_alias=AliasChoices("conditions", "condition")
    )
    mode: Literal["single", "restart", "queued", "parallel"] = "single"
    max: int = Field(default=10, ge=1, title="Runs at once (queued / parallel)")
    cooldown: Duration = 0.0
    actions: Annotated[list[ActionConfig], BeforeValidator(_one_as_a_list)] = Field(
        default_factory=list, validation_alias=AliasChoices("actions", "action")
    )
    on_recovery: list[ActionConfig] = Field(default_factory=list)
    escalate: list[EscalationConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        if not isinstance(data, dict | BaseModel):
            # pydantic's "a valid dictionary or instance of RuleConfig" names a class.
            raise ValueError(
                f"a rule is a mapping of `id`, `triggers` and `actions`, not {_kind_of(data)}"
            )
        if isinstance(data, dict):
            for plural, singular in HA_SINGULAR.items():
                if plural in data and singular in data:
                    raise ValueError(f"give `{plural}` or Home Assistant's `{singular}`, not both")
        return data

    @model_validator(mode="after")
    def _escalation_order(self) -> RuleConfig:
        afters = [level.after for level in self.escalate]
        if afters != sorted(afters) or len(set(afters)) != len(afters):
            raise ValueError("`escalate` levels must have increasing `after` times")
        return self


class QuietHoursConfig(ConfigModel):
    """Local hours in which no rule acts (firings are traced as suppressed); ``start`` later
    than ``end`` crosses midnight."""

    start: TimeOfDay
    end: TimeOfDay


def _kind_of(data: Any) -> str:
    """What a rule written as something else is, in YAML's words."""
    if data is None:
        return "nothing (an empty `-` item)"
    if isinstance(data, list):
        return "a list (one `-` too many?)"
    return f"`{data}`"
