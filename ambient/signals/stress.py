"""The stress score: a wellness heuristic from how far HRV is below and HR above one's norm.

    combined = (w · (−z_lnRMSSD) + (1 − w) · z_HR) / √(w² + (1 − w)²)     basis hrv+hr
    combined = z_HR                                                      basis hr
    smoothed = exponential average of combined from 0 (rest), time constant `smoothing`
    stress_score = 100 / (1 + exp(−(smoothed − midpoint) / scale))

z_lnRMSSD = (ln RMSSD − norm mean) / norm SD and z_HR likewise; w = hrv_weight. Dividing by
√(w² + (1 − w)²) keeps the combined figure a z-score (SD 1 at rest when the two are
independent), so both bases mean the same on the same scale. The score is strictly decreasing
in z_lnRMSSD and increasing in z_HR (for 0 < w < 1), and bounded 0–100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

from ambient.config.signals import StressConfig
from ambient.signals.average import ExponentialAverage

HRV_HR_BASIS: Final = "hrv+hr"
HR_BASIS: Final = "hr"


class StressParams(Protocol):
    """What the score is worked out with: a :class:`StressConfig` or its
    :class:`StressNumbers`."""

    @property
    def hrv_weight(self) -> float: ...

    @property
    def midpoint(self) -> float: ...

    @property
    def scale(self) -> float: ...


@dataclass(frozen=True, slots=True)
class StressNumbers:
    """A :class:`StressConfig`'s numbers as plain attributes, for the signal engine's update
    (every person, every 2 s): a config model's attribute is read through pydantic's
    ``__getattr__`` hook, which the interpreter does not specialise (some hundreds of machine
    instructions a read, where a slot takes a few)."""

    hrv_weight: float
    midpoint: float
    scale: float

    @classmethod
    def of(cls, config: StressConfig) -> StressNumbers:
        return cls(hrv_weight=config.hrv_weight, midpoint=config.midpoint, scale=config.scale)


def z_score(value: float, mean: float, sd: float) -> float:
    return (value - mean) / sd


def combined_z(ln_rmssd_z: float | None, hr_z: float, config: StressParams) -> float:
    """The standardised evidence of stress: HRV and HR when there is HRV, else HR alone."""
    if ln_rmssd_z is None:
        return hr_z
    w = config.hrv_weight
    hr_weight = 1.0 - w  # (1.0: an int beside a float is not a specialised operation)
    return (w * -ln_rmssd_z + hr_weight * hr_z) / math.sqrt(w * w + hr_weight * hr_weight)


def score_of(combined: float, config: StressParams) -> float:
    """0–100 from a combined z: 50 at ``midpoint``, logistic with ``scale``."""
    exponent = -(combined - config.midpoint) / config.scale
    if exponent > 700.0:  # exp overflow: the score is 0 to any precision shown
        return 0.0
    return 100.0 / (1.0 + math.exp(exponent))


def stress_score(ln_rmssd_z: float, hr_z: float, config: StressParams) -> float:
    """The unsmoothed score of one moment (basis hrv+hr)."""
    return score_of(combined_z(ln_rmssd_z, hr_z, config), config)


class StressSmoother:
    """The combined z averaged over time, and the score of that average.

    A 60 s RMSSD and a 15 s HR swing from window to window even when stress is steady; the
    average takes the swings out while still following a rise within about a time constant.
    It starts from rest (z 0, the person's own norm by definition) after a start or a reset,
    and each reading weighs for the time since the one before it (the first for a second): one
    reading, often a watch's wrong first one, is seconds of evidence, not the whole average.
    """

    def __init__(self, time_constant_s: float) -> None:
        self._average = ExponentialAverage(time_constant_s, start=0.0)
        self._since = 0.0  # (the time the first reading stands from: a second before it)

    @property
    def combined(self) -> float | None:
        """The averaged combined z, None before the first update or after a reset."""
        return self._average.value

    @property
    def evidence(self) -> float | None:
        """The readings' own mean z since the start, weighted as in the average but without
        its lean to rest (the average divided by the weight the readings hold in it): what
        keeps a stressed minute out of the baseline, where one wrongly learnt as rest costs
        weeks, as a false alarm does not. None when the average is."""
        value = self._average.value
        tau = self._average.time_constant_s
        if value is None or tau <= 0:
            return value
        return value / -math.expm1(-(self._average.last_time - self._since) / tau)

    def reset(self) -> None:
        """Start afresh (after exercise or lost data: old evidence is not carried over)."""
        self._average.reset()

    def held(self, config: StressParams) -> float:
        """The score as it stands, nothing new heard (the average must hold a value)."""
        value = self._average.value
        assert value is not None
        return score_of(value, config)

    def score(self, now: float, combined: float, config: StressParams) -> float:
        if self._average.value is None:
            self._since = now - 1.0
        return score_of(self._average.add(now, combined), config)
