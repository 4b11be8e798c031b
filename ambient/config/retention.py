"""How long ambient keeps each kind of personal data before it is purged.

Each field names a data class of :mod:`ambient.privacy.data_classes`; ``null`` keeps that class
until it is forgotten by hand. The defaults keep enough to learn from (a baseline needs weeks)
without keeping a heart history forever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.types import UserPath
from ambient.config.yaml_source import KeyPath

DAY_S = 86_400.0

#: A retention limit: at least an hour, or ``null`` for "until forgotten".
Limit = Annotated[Duration, Field(ge=3600.0)] | None


class RetentionConfig(ConfigModel):
    recordings: Limit = Field(
        default=30 * DAY_S, title="Recording files (beats) in `recordings_dir`, by last change"
    )
    traces: Limit = Field(default=30 * DAY_S, title="Rule traces (also capped per rule)")
    episodes: Limit = Field(default=365 * DAY_S, title="Measured calming episodes")
    check_ins: Limit = Field(default=365 * DAY_S, title="Mood check-ins and episode feedback")
    daily_summaries: Limit = Field(default=730 * DAY_S, title="Daily summaries per person")
    day_minutes: Limit = Field(
        default=70 * DAY_S,
        title="Per-minute heart rate, HRV and stress of the recent days; default: "
        "`insights.keep_minutes_days`",
    )
    recordings_dir: UserPath | None = Field(
        default=None,
        title="Where `ambient record` output is kept and purged; default: `recordings` beside "
        "the store",
    )
    interval: Duration = Field(default=3600.0, ge=60.0, title="How often the purge runs")

    def limit_s(self, data_class: str) -> float | None:
        """The limit for the data class named ``data_class`` (a field of this model)."""
        value = getattr(self, data_class)
        assert value is None or isinstance(value, float)
        return value

    def following_insights(self, keep_minutes_days: int) -> RetentionConfig:
        """This config with an unset ``day_minutes`` taken from ``insights.keep_minutes_days``:
        the minute bins are insights' history, and a fixed default would cut it for whoever
        raised that setting."""
        if "day_minutes" in self.model_fields_set:
            return self
        return self.model_copy(update={"day_minutes": keep_minutes_days * DAY_S})

    def recordings_path(self, store_path: Path | None) -> Path | None:
        """The recordings directory: as configured, else beside the store, else none."""
        if self.recordings_dir is not None:
            return self.recordings_dir
        return None if store_path is None else store_path.parent / "recordings"


def minute_bins_advice(
    config: RetentionConfig, keep_minutes_days: int
) -> list[tuple[KeyPath, str]]:
    """A ``day_minutes`` shorter than insights' ``keep_minutes_days`` deletes minute bins
    insights still keep to recompute a summary: allowed (the user's word), but said."""
    limit_s = config.limit_s("day_minutes")
    if "day_minutes" not in config.model_fields_set or limit_s is None:
        return []
    if limit_s >= keep_minutes_days * DAY_S:
        return []
    return [
        (
            ("retention", "day_minutes"),
            f"the minute bins go after {limit_s / DAY_S:g} days, before the {keep_minutes_days} "
            "days `insights.keep_minutes_days` keeps them to recompute a summary; leave "
            "`day_minutes` out to follow it",
        )
    ]
