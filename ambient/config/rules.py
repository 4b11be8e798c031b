"""A rule: triggers, conditions, mode, cooldown, actions, recovery and escalation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ambient.config.actions import ActionConfig
from ambient.config.base import ConfigModel
from ambient.config.conditions import ConditionConfig
from ambient.config.durations import Duration
from ambient.config.triggers import TriggerConfig
from ambient.config.types import Identifier


class EscalationConfig(ConfigModel):
    after: Duration = Field(title="Still triggered this long after firing")
    actions: list[ActionConfig]


class RuleConfig(ConfigModel):
    id: Identifier
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
