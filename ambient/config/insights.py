"""Insights: the daily summaries kept per person, the HRV trend, the rising-stress slope and
the weekly report. Every field has a default, so an empty ``insights:`` section is sound; the
choices and their references are explained in docs/insights.md."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, model_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.types import EntityId, Identifier, NotifyServiceName, TimeOfDay, UserPath
from ambient.config.yaml_source import KeyPath

#: A person's day summary, one signal per number.
DAY_SIGNAL_NAMES: Final = (
    "day_resting_hr",
    "day_ln_rmssd",
    "day_stress_minutes",
    "day_recovery_minutes",
    "day_active_minutes",
    "day_sleep_hours",
)

#: Signals the insights publish per person (rules may use them like any other signal).
INSIGHT_SIGNAL_NAMES: Final = frozenset({"hrv_trend", "hrv_low", "stress_slope", *DAY_SIGNAL_NAMES})


class StressLevelsConfig(ConfigModel):
    """Stress score bands (0–100) counted as minutes of low, medium and high stress."""

    low: float = Field(default=25.0, ge=0, le=100, title="Low stress from this score")
    medium: float = Field(default=50.0, ge=0, le=100, title="Medium stress from this score")
    high: float = Field(default=75.0, ge=0, le=100, title="High stress from this score")

    @model_validator(mode="after")
    def _ordered(self) -> StressLevelsConfig:
        if not self.low < self.medium < self.high:
            raise ValueError("give `low` < `medium` < `high`")
        return self


class TrendConfig(ConfigModel):
    """The HRV trend: a 7-day mean against the 60-day normal band, and a one-sided CUSUM."""

    mean_days: int = Field(default=7, ge=3, le=14, title="Days in the rolling mean")
    range_days: int = Field(default=60, ge=21, le=365, title="Days in the normal range")
    min_days_per_week: int = Field(
        default=3, ge=1, le=7, title="Valid days in the last 7 needed for a trend"
    )
    min_range_days: int = Field(
        default=14, ge=7, title="Valid days in the normal range before any trend is told"
    )
    band_sd: float = Field(
        default=0.75, gt=0, title="Normal band: 60-day mean ± this many daily SDs"
    )
    cusum_k: float = Field(default=0.5, ge=0, title="CUSUM allowance (SD per day)")
    cusum_h: float = Field(default=2.6, gt=0, title="CUSUM alarm threshold (SD)")
    cusum_release: float = Field(
        default=1.0, ge=0, title="A CUSUM alarm ends when the sum falls to this (SD)"
    )
    max_gap_days: int = Field(
        default=7, ge=1, title="A gap longer than this restarts the CUSUM from zero"
    )


class SleepConfig(ConfigModel):
    """Where a person's sleep comes from: HA entities (companion app, Withings, Oura, Fitbit
    integrations) and/or an MQTT topic; the last value seen in a day counts for that day."""

    person: Identifier
    duration_entity: EntityId | None = Field(default=None, title="HA entity: sleep duration")
    duration_unit: Literal["h", "min", "s"] = Field(
        default="h", title="Unit of the duration entity / topic"
    )
    score_entity: EntityId | None = Field(default=None, title="HA entity: sleep score (0–100)")
    duration_topic: str | None = Field(default=None, title="MQTT topic: sleep duration")
    score_topic: str | None = Field(default=None, title="MQTT topic: sleep score")


class ReportDeliveryConfig(ConfigModel):
    """The weekly report, written where HA serves files, with a notification linking to it."""

    folder: UserPath = Field(title="Folder for the reports (e.g. /config/www/ambient)")
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon", title="Day the last week's report is written"
    )
    at: TimeOfDay = Field(default="08:00", title="Local time it is written")
    notify: NotifyServiceName | dict[Identifier, NotifyServiceName] | None = Field(
        default=None,
        title="HA notify service told when a report is ready: one for all, or one per person",
    )
    url: str = Field(
        default="/local/ambient", title="Where HA serves `folder` (the link in the notification)"
    )


class InsightsConfig(ConfigModel):
    enabled: bool = Field(default=True, title="Keep daily summaries and publish the trends")
    stress_levels: StressLevelsConfig = Field(default_factory=StressLevelsConfig)
    recovery_below: float = Field(
        default=25.0, ge=0, le=100, title="Recovery: at rest with a stress score below this"
    )
    night_start: TimeOfDay = Field(default="00:00", title="Night window start (local)")
    night_end: TimeOfDay = Field(default="06:00", title="Night window end (local)")
    min_night_minutes: int = Field(
        default=30, ge=5, title="Resting minutes at night to use the night ln RMSSD"
    )
    keep_days: int = Field(default=400, ge=70, title="Days of daily summaries kept")
    keep_minutes_days: int = Field(
        default=70, ge=7, title="Days of minute bins kept (to recompute a summary)"
    )
    persist_every: Duration = Field(default=600.0, gt=0, title="Save the open day this often")
    stress_slope_window: Duration = Field(
        default=600.0, ge=120, title="Window of the stress score slope (points per minute)"
    )
    trend: TrendConfig = Field(default_factory=TrendConfig)
    sleep: list[SleepConfig] = Field(default_factory=list)
    report: ReportDeliveryConfig | None = Field(default=None, title="Scheduled weekly report")


def minutes_outlive_summaries_advice(config: InsightsConfig) -> list[tuple[KeyPath, str]]:
    """Minute bins kept longer than the daily summaries they make are per-minute heart data
    that nothing shows (``ambient report`` summarises only open days): allowed, but said."""
    if config.keep_minutes_days <= config.keep_days:
        return []
    return [
        (
            ("insights", "keep_minutes_days"),
            f"minute bins are kept {config.keep_minutes_days} days, longer than the "
            f"{config.keep_days} days of daily summaries they make (`keep_days`): the per-minute "
            f"heart data of the days between is kept but never shown; set it at most "
            f"{config.keep_days}",
        )
    ]


def report_notify_advice(
    config: InsightsConfig, person_ids: list[str], has_homeassistant: bool
) -> list[tuple[KeyPath, str]]:
    """One service for several people puts each one's page on one phone; a person of
    ``report.notify`` (one service per person) the config does not have is a typo whose person
    would get no link; without a ``homeassistant:`` section nothing is ever notified."""
    notify = config.report.notify if config.report is not None else None
    without_ha: list[tuple[KeyPath, str]] = []
    if notify is not None and not has_homeassistant:
        without_ha.append(
            (
                ("insights", "report", "notify"),
                "the weekly report's notification is an HA service call, and the config has no "
                "`homeassistant:` section: the pages are written, nobody is told",
            )
        )
    if isinstance(notify, str) and len(person_ids) > 1:
        return [
            *without_ha,
            (
                ("insights", "report", "notify"),
                f"every person's report link ({', '.join(person_ids)}) goes to {notify}: "
                "name each person's own service (`notify: {alex: notify.mobile_app_alex_phone, "
                "…}`), so nobody's health page reaches another's phone",
            ),
        ]
    if not isinstance(notify, dict):
        return without_ha
    return without_ha + [
        (
            ("insights", "report", "notify", person),
            f"`{person}` is no person of the config ({', '.join(person_ids) or 'none'}): "
            "nobody's report link goes to this service",
        )
        for person in notify
        if person not in person_ids
    ]
