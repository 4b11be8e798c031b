"""How readings become signals: windows, staleness, baseline and stress settings."""

from __future__ import annotations

from typing import Final

from pydantic import Field

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration

#: Signals every person has; rules may also use any user-named metric as a signal.
SIGNAL_NAMES: Final = frozenset(
    {
        "hr",
        "hr_delta_rest",
        "rmssd",
        "ln_rmssd",
        "ln_rmssd_z",
        "sdnn",
        "pnn50",
        "stress_index",
        "stress_score",
        "activity_state",
        "quality",
        "contact",
        "rr_available",
        "baseline_ready",
    }
)


class SignalsConfig(ConfigModel):
    windows: list[Duration] = Field(
        default_factory=lambda: [60.0, 300.0], title="HRV windows over beats, by time"
    )
    stale_after: Duration = Field(
        default=15.0, gt=0, title="A signal whose input is older than this is unknown"
    )
