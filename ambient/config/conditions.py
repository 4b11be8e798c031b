"""Rule conditions, chosen by ``condition:``; and / or / not nest."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ambient.config.base import ConfigModel
from ambient.config.types import TimeOfDay


class TimeConditionConfig(ConfigModel):
    condition: Literal["time"]
    after: TimeOfDay | None = None
    before: TimeOfDay | None = None


ConditionConfig = Annotated[TimeConditionConfig, Field(discriminator="condition")]
