"""Trends that warn early, and never from a gap.

The HRV trend (HRV4Training style, with Plews et al.'s minimum-data gates) is a pure function
of the stored daily ln RMSSD values, recomputed from scratch each day: a restart cannot make
or lose a trend, and days without data are simply absent.

- Normal band: the mean ± ``band_sd`` SDs of the daily values in the 60-day range, leaving
  out the latest ``mean_days`` (so a drop does not pull its own reference down).
- ``low`` is entered when a one-sided CUSUM on the daily z-scores (allowance ``cusum_k``)
  passes ``cusum_h``; each day's z-score is against the range's days before the CUSUM's
  current run above zero (at most the latest ``mean_days`` left out), so a drop never pulls
  its own reference down and an ordinary day is scored against every day up to yesterday.
  Days are not independent (good and bad spells last a few days): each day is scored as the
  error of its AR(1) prediction from the day before, the carry-over estimated from the
  person's stored days (prewhitening, as for CUSUM charts of autocorrelated data: Lu and
  Reynolds 2001), so the CUSUM adds up independent surprises, as its threshold assumes.
  ``low`` is held while the CUSUM stays above ``cusum_release`` or the 7-day mean
  stays under the band; ``high`` when the 7-day mean is above the band. A 7-day mean under
  the band does not enter ``low`` on its own: at the same false-alert rate the CUSUM warns
  sooner, and letting the band in too costs false alerts without shortening the warning
  (bench/bench_early_warning.py has the figures).
- No trend (unknown, with the reason) with fewer than ``min_days_per_week`` valid days in the
  last 7 or ``min_range_days`` in the range. A gap longer than ``max_gap_days`` restarts the
  CUSUM from zero.
- One source only (:func:`comparable_days`): a night mean and a daytime quietest 5 minutes
  are not interchangeable (night HRV runs higher), and a mix of the two would read as drops.

The stress slope: a least-squares slope (points per minute) of the stress score over a
window, unknown unless the points cover half the window without a gap over two minutes.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, Protocol

from ambient.insights.summaries import DaySummary

TrendState = Literal["low", "normal", "high"]


class TrendSettings(Protocol):
    """What the trend reads of ``insights.trend`` (a ``TrendConfig``; the weekly page's
    drawing process has the same numbers without loading the config models)."""

    @property
    def mean_days(self) -> int: ...
    @property
    def range_days(self) -> int: ...
    @property
    def min_days_per_week(self) -> int: ...
    @property
    def min_range_days(self) -> int: ...
    @property
    def band_sd(self) -> float: ...
    @property
    def cusum_k(self) -> float: ...
    @property
    def cusum_h(self) -> float: ...
    @property
    def cusum_release(self) -> float: ...
    @property
    def max_gap_days(self) -> int: ...


#: Floor of the daily SD (ln units), so a very steady person is not alarmed by a wobble.
MIN_SD = 0.03
#: Consecutive days the carry-over from day to day is estimated from, at least (fewer: none).
MIN_PAIRS = 10
#: Most carry-over from day to day assumed, so a prediction never stands for a measurement.
MAX_CARRY_OVER = 0.8
#: Days the carry-over is estimated from, at most.
CARRY_OVER_DAYS = 180


@dataclass(frozen=True)
class HrvTrend:
    state: TrendState | None
    why: str
    mean_7d: float | None = None
    band_low: float | None = None
    band_high: float | None = None
    cusum: float = 0.0
    cusum_alarm: bool = False
    valid_days_7d: int = 0
    valid_days_range: int = 0
    #: How much the person's days carry over (φ, 0 to 0.8): what the day before leads to
    #: expect of a day, which the CUSUM scores each day against; None (not known yet) with
    #: fewer than MIN_PAIRS pairs of consecutive days, when each day is scored on its own.
    carry_over: float | None = None

    def attributes(self) -> dict[str, object]:
        return {
            "trend": self.state,
            "why": self.why,
            "mean_7d": _r(self.mean_7d),
            "band_low": _r(self.band_low),
            "band_high": _r(self.band_high),
            "cusum": round(self.cusum, 2),
            "valid_days_7d": self.valid_days_7d,
            "valid_days_range": self.valid_days_range,
            "carry_over": None if self.carry_over is None else round(self.carry_over, 2),
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def hrv_trend(daily: Mapping[date, float], today: date, config: TrendSettings) -> HrvTrend:
    """The trend as of the end of ``today`` from daily ln RMSSD values (valid days only)."""
    series = _Series(daily)
    week = series.values(today - timedelta(days=config.mean_days - 1), today)
    reference = _reference(series, today, config)
    cusum, alarm, held = _cusum(series, today, config)
    carry_over = _carry_over(series, today, config)
    if reference[0] < config.min_range_days:
        why = f"{reference[0]} days with HRV in the normal range; {config.min_range_days} needed"
        return HrvTrend(
            None, why, valid_days_7d=len(week), valid_days_range=reference[0], carry_over=carry_over
        )
    if len(week) < config.min_days_per_week:
        why = (
            f"{len(week)} days with HRV in the last {config.mean_days}; "
            f"{config.min_days_per_week} needed"
        )
        return HrvTrend(
            None, why, valid_days_7d=len(week), valid_days_range=reference[0], carry_over=carry_over
        )
    _, mean, sd = reference
    low, high = mean - config.band_sd * sd, mean + config.band_sd * sd
    mean_7d = statistics.fmean(week)
    band = f"normal band {low:.2f}–{high:.2f}"
    state: TrendState
    if alarm:
        state = "low"
        why = f"ln RMSSD has stayed below normal (CUSUM {cusum:.1f} > {config.cusum_h:g} SD)"
    elif held:
        state = "low"
        why = f"{config.mean_days}-day ln RMSSD mean {mean_7d:.2f} still below the {band}"
    elif mean_7d < low:
        state = "normal"
        why = (
            f"{config.mean_days}-day ln RMSSD mean {mean_7d:.2f} below the {band}, "
            f"not a sustained drop (CUSUM {cusum:.1f} of {config.cusum_h:g} SD)"
        )
    elif mean_7d > high:
        state, why = "high", f"{config.mean_days}-day ln RMSSD mean {mean_7d:.2f} above the {band}"
    else:
        state, why = "normal", f"{config.mean_days}-day ln RMSSD mean {mean_7d:.2f} in the {band}"
    return HrvTrend(
        state, why, mean_7d, low, high, cusum, alarm, len(week), reference[0], carry_over
    )


def comparable_days(
    summaries: Mapping[date, DaySummary], today: date, config: TrendSettings
) -> dict[date, float]:
    """The daily ln RMSSD values up to ``today`` from the one source most days of the range
    have (``night`` on a tie): the trend compares like with like."""
    first = today - timedelta(days=config.range_days - 1)
    counts = {"night": 0, "quietest_5min": 0}
    for day, summary in summaries.items():
        if first <= day <= today and summary.ln_rmssd is not None and summary.ln_rmssd_source:
            counts[summary.ln_rmssd_source] += 1
    source = "night" if counts["night"] >= counts["quietest_5min"] else "quietest_5min"
    return {
        day: summary.ln_rmssd
        for day, summary in summaries.items()
        if day <= today and summary.ln_rmssd is not None and summary.ln_rmssd_source == source
    }


class _Series:
    """Daily values sorted by day, with prefix sums: any range's count, mean and SD at once."""

    def __init__(self, daily: Mapping[date, float]) -> None:
        self.days = sorted(daily)
        self.by_day = daily
        self._sum = [0.0]
        self._sq = [0.0]
        # Pairs of consecutive days, by the later day: count, Σ x_t x_{t-1}, Σ x_t, Σ x_{t-1}.
        self._pairs = [(0, 0.0, 0.0, 0.0)]
        for i, day in enumerate(self.days):
            value = daily[day]
            self._sum.append(self._sum[-1] + value)
            self._sq.append(self._sq[-1] + value * value)
            n, xy, x, before = self._pairs[-1]
            if i and (day - self.days[i - 1]).days == 1:
                previous = daily[self.days[i - 1]]
                n, xy, x, before = n + 1, xy + value * previous, x + value, before + previous
            self._pairs.append((n, xy, x, before))

    def span(self, first: date, last: date) -> tuple[int, int]:
        return bisect.bisect_left(self.days, first), bisect.bisect_right(self.days, last)

    def values(self, first: date, last: date) -> list[float]:
        lo, hi = self.span(first, last)
        return [self.by_day[d] for d in self.days[lo:hi]]

    def count_sum(self, first: date, last: date) -> tuple[int, float]:
        lo, hi = self.span(first, last)
        return hi - lo, self._sum[hi] - self._sum[lo]

    def stats(self, first: date, last: date) -> tuple[int, float, float]:
        """(count, mean, SD floored at MIN_SD) of the values in [first, last]."""
        lo, hi = self.span(first, last)
        n = hi - lo
        if n < 2:
            return n, 0.0, MIN_SD
        total, squares = self._sum[hi] - self._sum[lo], self._sq[hi] - self._sq[lo]
        mean = total / n
        variance = max(0.0, (squares - n * mean * mean) / (n - 1))
        return n, mean, max(math.sqrt(variance), MIN_SD)

    def carry_over(self, first: date, last: date) -> float | None:
        """How much one day's deviation carries into the next over [first, last]: the lag-1
        autocorrelation of the pairs of consecutive days there (against the days' own mean
        and variance, not the floored SD of the scores: a steady person's carry-over is not
        shrunk by the floor), corrected for its small-sample bias (+(1 + 4r)/n, that of the
        Yule-Walker estimate with an estimated mean: Shaman and Stine 1988), shrunk towards 0
        by its sampling variance (positive-part shrinkage: r·max(0, 1 - 1/(pairs·r²)), 0
        unless r is over one standard error) and kept within [0, MAX_CARRY_OVER]; None (not
        known) with fewer than MIN_PAIRS pairs."""
        lo, hi = self.span(first + timedelta(days=1), last)
        n0, xy0, x0, before0 = self._pairs[lo]
        n1, xy1, x1, before1 = self._pairs[hi]
        pairs = n1 - n0
        if pairs < MIN_PAIRS:
            return None
        lo, hi = self.span(first, last)
        count = hi - lo
        mean = (self._sum[hi] - self._sum[lo]) / count
        variance = ((self._sq[hi] - self._sq[lo]) - count * mean * mean) / (count - 1)
        if variance <= 0.0:
            return 0.0  # the same value every day: nothing carries over that can be told
        # Σ (x_t - mean)(x_{t-1} - mean) over the pairs, each pair's share against the variance
        products = (xy1 - xy0) - mean * ((x1 - x0) + (before1 - before0)) + pairs * mean * mean
        r = products / pairs / variance
        r += (1 + 4 * r) / count
        # Shrunk towards independent days by its own uncertainty (its variance is about
        # 1/pairs): a few weeks of days give a carry-over of ±0.2 by chance alone, which
        # would cost a new user sensitivity or add false alerts; a real one stays.
        if r <= 0.0 or r * r * pairs <= 1.0:
            return 0.0  # days swinging back the next day are no pattern of the body: chance
        return min(r * (1.0 - 1.0 / (r * r * pairs)), MAX_CARRY_OVER)


def _reference(series: _Series, day: date, config: TrendSettings) -> tuple[int, float, float]:
    """(count, mean, SD) of the range before ``day``, leaving out the latest week."""
    first = day - timedelta(days=config.range_days - 1)
    return series.stats(first, day - timedelta(days=config.mean_days))


def _cusum(series: _Series, today: date, config: TrendSettings) -> tuple[float, bool, bool]:
    """The one-sided (downward) CUSUM over the range in SDs, whether it is in alarm, and
    whether ``low`` holds: entered by an alarm, kept while the 7-day mean is under the band.

    Each day is scored against the range's days before the current run of the CUSUM above
    zero (where a drop it is tracking began: its maximum-likelihood change point), or before
    the latest week once the run is older than that. So a drop never pulls its own reference
    down, and on ordinary days the reference holds every day up to yesterday instead of
    leaving a week out: a surer mean and SD, most of all for someone with few weeks of data.
    """
    total, alarm, low = 0.0, False, False
    previous: date | None = None
    run_start: date | None = None  # first day of the current run above zero
    lo, hi = series.span(today - timedelta(days=config.range_days - 1), today)
    for index in range(lo, hi):
        day = series.days[index]
        if previous is not None and (day - previous).days > config.max_gap_days:
            total, alarm, low, run_start = 0.0, False, False, None
        previous = day
        first = day - timedelta(days=config.range_days - 1)
        if series.count_sum(first, day - timedelta(days=config.mean_days))[0] < (
            config.min_range_days
        ):
            continue  # the same gate as for telling a trend at all
        last = day - timedelta(days=1)
        if run_start is not None:
            last = max(run_start - timedelta(days=1), day - timedelta(days=config.mean_days))
        _, mean, sd = series.stats(first, last)
        phi = _carry_over(series, day, config) or 0.0  # not known yet: independent days
        total = max(0.0, total - _surprise(series, index, phi, mean, sd) - config.cusum_k)
        if total <= 0.0:
            run_start = None
        elif run_start is None:
            run_start = day
        if total > config.cusum_h:
            alarm = True
        elif total <= config.cusum_release:
            alarm = False
        low = alarm or (low and _under_band(series, day, mean - config.band_sd * sd, config))
    if previous is not None and (today - previous).days > config.max_gap_days:
        return 0.0, False, False
    return total, alarm, low


def _carry_over(series: _Series, day: date, config: TrendSettings) -> float | None:
    """The person's carry-over from day to day as of ``day``: over the CARRY_OVER_DAYS
    before it (those the store has) with the latest week left out, so a drop under way does
    not pass for the person's usual spells. A trait of the person, not of this range: the
    more days, the surer (about ±0.14 from 50 days, ±0.08 from 170)."""
    first = day - timedelta(days=max(CARRY_OVER_DAYS, config.range_days) - 1)
    return series.carry_over(first, day - timedelta(days=config.mean_days))


def _surprise(series: _Series, index: int, phi: float, mean: float, sd: float) -> float:
    """How far the day at ``index`` is from what the reference (``mean``, ``sd``) and the day
    before expect of it, in SDs of that expectation: the AR(1) one-step prediction error
    (prewhitening). A day after a bad one is expected lower by the carry-over φ: after a gap
    of g days its prediction is mean + φ^g (x_prev - mean), within SD·√(1 - φ^2g). So the
    CUSUM adds up independent surprises, as its threshold assumes, and a spell of low days
    that is the person's usual carry-over is not read as a drop; with φ = 0 (independent
    days) it is the plain z-score. A drop is still told: after its first day it is expected
    to carry over only by φ of itself, so each day adds (1 - φ) of it."""
    value = series.by_day[series.days[index]]
    if phi <= 0.0 or index == 0:
        return (value - mean) / sd
    gap = (series.days[index] - series.days[index - 1]).days
    kept = phi**gap
    expected = mean + kept * (series.by_day[series.days[index - 1]] - mean)
    return (value - expected) / (sd * math.sqrt(1.0 - kept * kept))


def _under_band(series: _Series, day: date, band_low: float, config: TrendSettings) -> bool:
    count, total = series.count_sum(day - timedelta(days=config.mean_days - 1), day)
    return count >= config.min_days_per_week and total / count < band_low


class StressSlope:
    """The recent slope of one person's stress score, in points per minute.

    Running sums over the points in the window make each update O(1): the score changes every
    couple of seconds for every person.
    """

    #: Keep at most one point per this many seconds (60 points in a 10-minute window).
    SPACING_S = 10.0
    MAX_GAP_S = 120.0

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._points: deque[tuple[float, float]] = deque()
        self._origin = 0.0  # x is minutes since this, so the sums stay small
        self._sums = [0.0, 0.0, 0.0, 0.0]  # Σx, Σy, Σxy, Σx²

    def add(self, time: float, score: float | None) -> bool:
        """A new score (None: unknown, which ends the run of points: a gap is no trend).
        True when the slope may have changed (a point was kept or the run ended)."""
        points = self._points
        if score is None or (points and time - points[-1][0] > self.MAX_GAP_S):
            self._clear()
            if score is None:
                return True
        if points and time - points[-1][0] < self.SPACING_S:
            return False
        if not points:
            self._origin = time
        points.append((time, score))
        self._change(time, score, 1.0)
        self._expire(time)
        return True

    def slope(self, now: float) -> tuple[float | None, str]:
        """(points per minute, "") or (None, why not)."""
        self._expire(now)
        points = self._points
        if not points or now - points[-1][0] > self.MAX_GAP_S:
            return None, "no recent stress score"
        span = points[-1][0] - points[0][0]
        if span < self.window_s / 2 or len(points) < 3:
            # A category, the same all through the warm-up (unknown time is tallied by reason)
            needed = f"{self.window_s / 120:g} of {self.window_s / 60:g} min"
            return None, f"too few minutes of stress scores yet (needs {needed})"
        n = len(points)
        sx, sy, sxy, sxx = self._sums
        spread = sxx - sx * sx / n
        if spread <= 1e-9 or not math.isfinite(spread):
            return None, "no spread in time"
        return (sxy - sx * sy / n) / spread, ""

    def _expire(self, now: float) -> None:
        points = self._points
        while points and points[0][0] < now - self.window_s:
            time, score = points.popleft()
            self._change(time, score, -1.0)
        if not points:
            self._clear()

    def _change(self, time: float, score: float, sign: float) -> None:
        x = (time - self._origin) / 60
        sums = self._sums
        sums[0] += sign * x
        sums[1] += sign * score
        sums[2] += sign * x * score
        sums[3] += sign * x * x

    def _clear(self) -> None:
        self._points.clear()
        self._sums = [0.0, 0.0, 0.0, 0.0]
