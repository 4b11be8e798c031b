"""Who ambient looks after: ids used everywhere else, and what helps the signals (age, HR)."""

from __future__ import annotations

from pydantic import Field, model_validator

from ambient.config.base import ConfigModel
from ambient.config.types import Identifier


class PersonConfig(ConfigModel):
    id: Identifier = Field(title="Id used in rules, topics and entity ids")
    name: str | None = Field(default=None, title="Display name")
    age: int | None = Field(default=None, ge=5, le=120, title="Age, for the default max HR")
    resting_hr: float | None = Field(
        default=None, ge=25, le=120, title="Known resting HR (bpm); measured when omitted"
    )
    max_hr: float | None = Field(
        default=None, ge=100, le=240, title="Known max HR (bpm); 208 - 0.7 x age when omitted"
    )

    @model_validator(mode="after")
    def _rest_below_max(self) -> PersonConfig:
        """Activity is read from the HR reserve between the two: none, and it is never seen."""
        rest, top = self.resting_hr, self.max_hr
        if rest is not None and top is not None and rest >= top:
            raise ValueError(f"`resting_hr` ({rest:g} bpm) must be below `max_hr` ({top:g} bpm)")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id
