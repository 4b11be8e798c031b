"""A person's resting ln(RMSSD) and HR, HRV4Training style: a 7-day mean against a 60-day range.

Samples are resting windows of good quality. They are kept as per-day sums (count, sum, sum
of squares), so 60 days cost 60 small rows, and the whole thing is one JSON value in the
store. Until there is enough data the population prior stands in, flagged not ready.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from ambient.config.signals import BaselineConfig

_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()


def local_day(time: float, zone: tzinfo) -> int:
    """The day number of ``time`` (days since 1970-01-01) by the calendar of ``zone``: a day
    ends at local midnight, and is 23 or 25 hours long when the clocks change."""
    return datetime.fromtimestamp(time, zone).toordinal() - _EPOCH_ORDINAL


@dataclass(frozen=True, slots=True)
class Norm:
    """Mean and SD of resting ln(RMSSD) and HR, and whether they are personal (ready)."""

    ln_rmssd_mean: float
    ln_rmssd_sd: float
    hr_mean: float
    hr_sd: float
    ready: bool


class Baseline:
    """Per-day sums of resting samples: ``[n, Σln, Σln², Σhr, Σhr²]`` by local day number
    (days in the configured time ``zone``)."""

    def __init__(
        self, config: BaselineConfig, resting_hr: float | None = None, zone: tzinfo = UTC
    ) -> None:
        self.config = config
        self.resting_hr = resting_hr  # from the person's config: wins over measured HR
        self.zone = zone
        self._days: dict[int, list[float]] = {}
        self.dirty = False
        self._norm: Norm | None = None

    def add(self, time: float, ln_rmssd: float, hr: float) -> None:
        day = local_day(time, self.zone)
        sums = self._days.setdefault(day, [0.0, 0.0, 0.0, 0.0, 0.0])
        sums[0] += 1
        sums[1] += ln_rmssd
        sums[2] += ln_rmssd * ln_rmssd
        sums[3] += hr
        sums[4] += hr * hr
        for old in [d for d in self._days if d <= day - self.config.range_days]:
            del self._days[old]
        self.dirty = True
        self._norm = None

    def norm(self, time: float) -> Norm:
        """The norm today: personal when ready, else the prior (``ready`` False)."""
        if self._norm is None:
            self._norm = self._compute(local_day(time, self.zone))
        return self._norm

    def _compute(self, today: int) -> Norm:
        c = self.config
        in_range = {d: s for d, s in self._days.items() if today - c.range_days < d <= today}
        total = sum(s[0] for s in in_range.values())
        days_with_data = sum(1 for s in in_range.values() if s[0] > 0)
        prior_hr = self.resting_hr if self.resting_hr is not None else c.prior_resting_hr
        if total < c.min_samples or days_with_data < c.min_days:
            return Norm(c.prior_ln_rmssd, c.prior_ln_rmssd_sd, prior_hr, c.prior_hr_sd, False)
        recent = [s for d, s in in_range.items() if d > today - c.mean_days]
        recent_n = sum(s[0] for s in recent)
        pool = recent if recent_n else list(in_range.values())
        pool_n = recent_n or total
        ln_mean = sum(s[1] for s in pool) / pool_n
        hr_mean = sum(s[3] for s in pool) / pool_n
        ln_sd = _sd(
            total, sum(s[1] for s in in_range.values()), sum(s[2] for s in in_range.values())
        )
        hr_sd = _sd(
            total, sum(s[3] for s in in_range.values()), sum(s[4] for s in in_range.values())
        )
        return Norm(
            ln_mean,
            max(ln_sd, c.min_ln_rmssd_sd),
            self.resting_hr if self.resting_hr is not None else hr_mean,
            max(hr_sd, c.min_hr_sd),
            True,
        )

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "days": {str(d): s for d, s in sorted(self._days.items())}}

    def load_json(self, data: Any) -> bool:
        """Take saved state; False (and nothing changed) when it is not a baseline we wrote."""
        if not isinstance(data, dict) or data.get("version") != 1:
            return False
        days = data.get("days")
        if not isinstance(days, dict):
            return False
        loaded: dict[int, list[float]] = {}
        for key, sums in days.items():
            if not (isinstance(sums, list) and len(sums) == 5):
                return False
            if not all(isinstance(x, int | float) and math.isfinite(x) for x in sums):
                return False
            loaded[int(key)] = [float(x) for x in sums]
        self._days = loaded
        self._norm = None
        return True


def _sd(n: float, total: float, total_sq: float) -> float:
    if n < 2:
        return 0.0
    mean = total / n
    return math.sqrt(max(0.0, (total_sq - n * mean * mean) / (n - 1)))
