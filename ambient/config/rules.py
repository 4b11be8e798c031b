"""A rule: triggers, conditions, mode, cooldown, actions, recovery and escalation; and the
global quiet hours that hold every rule's actions back."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from ambient.config.actions import ActionConfig
from ambient.config.base import ConfigModel
from ambient.config.conditions import ConditionConfig
from ambient.config.durations import Duration
from ambient.config.triggers import TriggerConfig
from ambient.config.types import Identifier, TimeOfDay


class EscalationConfig(ConfigModel):
    after: Duration = Field(gt=0, title="Still triggered this long after firing")
    actions: list[ActionConfig] = Field(min_length=1)


def _not_a_yaml_boolean(value: object) -> object:
    """An unquoted ``on`` or ``no`` reaches the model as true or false, which no id is."""
    if isinstance(value, bool):
        raise ValueError(
            "YAML reads an unquoted on, off, yes or no as true or false: quote the id "
            '(`id: "on"`) or choose another'
        )
    return value


class RuleConfig(ConfigModel):
    id: Annotated[Identifier, BeforeValidator(_not_a_yaml_boolean)]
    alias: str | None = None
    person: Identifier | None = Field(default=None, title="Default: every person")
    triggers: list[TriggerConfig] = Field(min_length=1)
    conditions: list[ConditionConfig] = Field(default_factory=list)
    mode: Literal["single", "restart", "queued", "parallel"] = "single"
    max: int = Field(default=10, ge=1, title="Runs at once (queued / parallel)")
    cooldown: Duration = 0.0
    actions: list[ActionConfig] = Field(default_factory=list)
    on_recovery: list[ActionConfig] = Field(default_factory=list)
    escalate: list[EscalationConfig] = Field(default_factory=list)

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
