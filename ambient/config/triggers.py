"""Rule triggers, chosen by ``trigger:`` (HA's older ``platform:`` is accepted)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration


class TriggerBase(ConfigModel):
    id: str | None = Field(default=None, title="Trigger id, for `condition: trigger`")


class SignalTriggerConfig(TriggerBase):
    """Like HA's numeric_state, on ambient's signals."""

    trigger: Literal["signal"]
    signal: str
    above: float | None = None
    below: float | None = None
    for_: Duration = Field(default=0.0, alias="for", title="Must hold this long")
    hysteresis: float = Field(default=0.0, ge=0, title="Clears only this far past the threshold")

    @model_validator(mode="after")
    def _needs_threshold(self) -> SignalTriggerConfig:
        if self.above is None and self.below is None:
            raise ValueError("give `above`, `below` or both")
        return self


TriggerConfig = Annotated[SignalTriggerConfig, Field(discriminator="trigger")]
