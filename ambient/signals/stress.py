"""The stress score: a wellness heuristic from how far HRV is below and HR above one's norm.

    combined = w · (−z_lnRMSSD) + (1 − w) · z_HR
    stress_score = 100 / (1 + exp(−(combined − midpoint) / scale))

z_lnRMSSD = (ln RMSSD − norm mean) / norm SD and z_HR likewise; w = hrv_weight. The score is
strictly decreasing in z_lnRMSSD and increasing in z_HR (for 0 < w < 1), and bounded 0–100.
"""

from __future__ import annotations

import math

from ambient.config.signals import StressConfig


def z_score(value: float, mean: float, sd: float) -> float:
    return (value - mean) / sd


def stress_score(ln_rmssd_z: float, hr_z: float, config: StressConfig) -> float:
    combined = config.hrv_weight * -ln_rmssd_z + (1 - config.hrv_weight) * hr_z
    exponent = -(combined - config.midpoint) / config.scale
    if exponent > 700:  # exp overflow: the score is 0 to any precision shown
        return 0.0
    return 100.0 / (1.0 + math.exp(exponent))
