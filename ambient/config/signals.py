"""How readings become signals: windows, staleness, baseline, activity and stress settings.

Every field has a default, so an empty ``signals:`` section is a sound configuration; the
defaults and their references are explained in docs/signals.md.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, field_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration

#: The shortest HRV window: a shorter one holds too few beats for ``min_pairs`` (20 pairs at
#: rest take ~20 s). ``signals.windows`` and ``ambient analyze --window`` both refuse less.
MIN_HRV_WINDOW_S: Final = 10.0

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
        "baseline_state",
        "stress_basis",
        "stress_confidence",
        "coverage",
        "hrv_pairs",
    }
)


class BaselineConfig(ConfigModel):
    """The personal baseline: resting ln(RMSSD) and HR, HRV4Training style."""

    mean_days: int = Field(default=7, ge=1, le=60, title="Days in the rolling baseline mean")
    range_days: int = Field(default=60, ge=7, le=365, title="Days in the normal range (SD)")
    min_days: int = Field(default=3, ge=1, title="Days with resting data before it is ready")
    min_samples: int = Field(
        default=60, ge=1, title="Resting windows (in all) before the baseline is ready"
    )
    min_quality: float = Field(
        default=0.9,
        ge=0,
        le=1,
        title="Share of clean (uncorrected) beats a minute needs for a baseline HRV sample",
    )
    min_pairs: int = Field(
        default=30, ge=2, title="Successive differences a minute needs for a baseline HRV sample"
    )
    provisional_samples: int = Field(
        default=5, ge=1, title="Resting minutes before the baseline is provisional (not prior)"
    )
    provisional_ln_rmssd_sd: float = Field(
        default=0.3,
        gt=0,
        title="Prior spread of a person's resting ln(RMSSD), until days show their own",
    )
    provisional_hr_sd: float = Field(
        default=5.0, gt=0, title="Prior spread of a person's resting HR (bpm), until days show it"
    )
    prior_days: float = Field(
        default=2.0,
        ge=0,
        title="Days of data the prior spread is worth against the person's own day-to-day spread",
    )
    persist_every: Duration = Field(default=600.0, gt=0, title="Save the baseline this often")
    # Population prior, used (and flagged baseline_ready=false) until the baseline is ready.
    prior_ln_rmssd: float = Field(default=3.7, title="Prior mean ln(RMSSD); RMSSD ≈ 40 ms")
    prior_ln_rmssd_sd: float = Field(default=0.5, gt=0, title="Prior SD of ln(RMSSD)")
    prior_resting_hr: float = Field(default=70.0, ge=30, le=120, title="Prior resting HR (bpm)")
    prior_hr_sd: float = Field(default=8.0, gt=0, title="Prior SD of resting HR (bpm)")
    min_ln_rmssd_sd: float = Field(default=0.1, gt=0, title="Floor of the personal ln(RMSSD) SD")
    min_hr_sd: float = Field(default=2.0, gt=0, title="Floor of the personal HR SD (bpm)")


class ActivityConfig(ConfigModel):
    """When the body is working, a high HR or low HRV is not stress."""

    activity_threshold: float = Field(
        default=0.5, title="An `activity` reading at or above this means active"
    )
    steps_per_min: float = Field(
        default=60.0, gt=0, title="A step cadence at or above this means active"
    )
    steps_mode: Literal["cumulative", "interval"] = Field(
        default="cumulative", title="Whether `steps` readings are a running total or per reading"
    )
    hr_reserve: float = Field(
        default=0.4,
        gt=0,
        le=1,
        title="Without activity sensors: active at or above this share of the HR reserve",
    )
    default_max_hr: float = Field(
        default=185.0, ge=100, le=240, title="Max HR when a person gives neither max_hr nor age"
    )
    movement_metric: str = Field(
        default="movement",
        title="Metric holding accelerometer movement: mean of | |a| - 1 g | per reading, in g",
    )
    movement_active: float = Field(
        default=0.1, gt=0, title="Movement (g, averaged over movement_window) meaning active"
    )
    movement_window: Duration = Field(
        default=60.0, gt=0, title="Movement is averaged over this long before it is compared"
    )
    hold_off: Duration = Field(
        default=900.0, ge=0, title="After activity, `recovering` (no stress score) this long"
    )
    sensor_valid_for: Duration = Field(
        default=120.0,
        gt=0,
        title="A movement or activity reading decides activity this long; a step count does by "
        "its cadence since the count before: within this of it, active or still; further apart "
        "an average, which can only say active (a first count, or a count started again, says "
        "nothing)",
    )


class StressConfig(ConfigModel):
    """stress_score = 100 / (1 + exp(-(combined_z - midpoint) / scale)), see docs/signals.md."""

    hrv_weight: float = Field(
        default=0.5, ge=0, le=1, title="Weight of -ln(RMSSD) z; HR z gets the rest"
    )
    midpoint: float = Field(default=1.0, title="Combined z at which the score is 50")
    scale: float = Field(default=0.5, gt=0, title="Combined z per logistic unit")
    smoothing: Duration = Field(
        default=60.0, ge=0, title="Time constant of the average the combined z goes through"
    )


class SignalsConfig(ConfigModel):
    windows: list[Duration] = Field(
        default_factory=lambda: [60.0, 300.0],
        min_length=1,
        title="HRV windows over beats, by time; the first gives the signals",
    )
    stale_after: Duration = Field(
        default=15.0, gt=0, title="A signal whose input is older than this is unknown"
    )
    hr_window: Duration = Field(
        default=15.0, gt=0, title="Mean HR over beats of this window (the `hr` signal)"
    )
    min_quality: float = Field(
        default=0.0,
        ge=0,
        le=1,
        title="HRV signals are unknown below this window quality (0: pairs decide)",
    )
    min_pairs: int = Field(
        default=20,
        ge=2,
        title="HRV signals are unknown with fewer successive differences in the first window",
    )
    min_cleanliness: float = Field(
        default=0.8,
        ge=0,
        le=1,
        title="HRV signals are unknown when fewer of the window's beats are clean",
    )
    metric_stale_after: Duration = Field(
        default=600.0, gt=0, title="User-named metrics passed through go unknown after this"
    )
    rr_gap: Duration = Field(
        default=5.0, gt=0, title="A pause in beats longer than this restarts beat cleaning"
    )
    update_interval: Duration = Field(
        default=2.0,
        ge=0,
        le=30,
        title="Recompute a person's signals at most this often (0: on every reading)",
    )
    baseline: BaselineConfig = Field(default_factory=BaselineConfig)
    activity: ActivityConfig = Field(default_factory=ActivityConfig)
    stress: StressConfig = Field(default_factory=StressConfig)

    @field_validator("windows")
    @classmethod
    def _windows_long_enough(cls, windows: list[float]) -> list[float]:
        for seconds in windows:
            if seconds < MIN_HRV_WINDOW_S:
                raise ValueError(
                    f"an HRV window of {seconds:g}s is too short; 60s is the floor worth using"
                )
        return windows
