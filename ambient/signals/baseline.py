"""A person's resting ln(RMSSD) and HR, HRV4Training style: a 7-day mean against a 60-day range.

Samples are resting minutes: HR from any source, ln(RMSSD) only when the minute had enough
clean successive differences (an HR-only watch still gets a personal HR norm). They are kept
as per-day sums, so 60 days cost 60 small rows, and the whole thing is one JSON value in the
store. The norm is in one of three states:

- ``prior``: fewer than ``provisional_samples`` resting minutes; the population prior stands in.
- ``provisional``: the first quiet minutes of wear give the mean; the spread is not yet known
  from one sitting, so the typical within-person spread (``provisional_*_sd``) stands in.
- ``personal``: ``min_samples`` on ``min_days`` days: the mean is the person's own.

The spread of a resting minute has two parts: within a day (minute to minute), learned from
minutes, and from day to day (sleep, training, caffeine move a whole day's level), which only
days can show. The day-to-day part is a conjugate (scaled inverse-chi-square) posterior: the
prior's share of the spread (``provisional_*_sd``) worth ``prior_days`` days, plus the spread
of the days' means with one degree of freedom per day beyond the first (Gelman et al.,
*Bayesian Data Analysis*, 3rd ed., 2013, sections 2.6 and 3.3). So a few days that look alike
never make the spread collapse to theirs; it becomes the person's own as days accumulate.

ln(RMSSD) from a chest strap's ECG and from an optical pulse sensor (a watch) can sit apart
for the same heart, so it is also kept per kind of beats: beats of a known kind are compared
with that kind's resting minutes only (a kind without its own yet is on the prior, as a new
person's), beats of no known kind with every resting minute (one ln RMSSD, as before kinds
were kept). Resting HR, which differs little between devices, stays one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Final, Literal

from ambient.config.sensors import BEATS_KINDS, BeatsKind
from ambient.config.signals import BaselineConfig

_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()
_VERSION: Final = 2
# Per-day sums: resting-HR samples, then ln(RMSSD) samples of every kind of beats, then
# those of a chest strap's beats and those of a pulse sensor's (see `_LN_AT`).
_N_HR, _SUM_HR, _SUM_HR2, _N_LN, _SUM_LN, _SUM_LN2 = range(6)
_N_CHEST, _N_PULSE = 6, 9
_WIDTH = 12
#: Where each kind's ln(RMSSD) sums start in a day's sums (None: every kind's, together).
_LN_AT: Final[dict[BeatsKind | None, int]] = {None: _N_LN, "chest": _N_CHEST, "pulse": _N_PULSE}
#: The key of the per-kind sums in the saved form (older versions read the rest and skip it).
_BY_BEATS: Final = "ln_rmssd_by_beats"

BaselineState = Literal["prior", "provisional", "personal"]
PRIOR: Final = "prior"
PROVISIONAL: Final = "provisional"
PERSONAL: Final = "personal"


def local_day(time: float, zone: tzinfo) -> int:
    """The day number of ``time`` (days since 1970-01-01) by the calendar of ``zone``: a day
    ends at local midnight, and is 23 or 25 hours long when the clocks change."""
    return datetime.fromtimestamp(time, zone).toordinal() - _EPOCH_ORDINAL


@dataclass(frozen=True, slots=True)
class Norm:
    """Mean and SD of resting ln(RMSSD) and HR, and where they come from (``state``)."""

    ln_rmssd_mean: float
    ln_rmssd_sd: float
    hr_mean: float
    hr_sd: float
    ready: bool  # personal: enough days (the `baseline_ready` signal)
    state: BaselineState = "personal"
    hr_samples: int = 0
    ln_rmssd_samples: int = 0
    # The two parts of each SD (sd² = within² + day²), and the days with samples behind them.
    hr_within_sd: float = 0.0
    hr_day_sd: float = 0.0
    hr_days: int = 0
    ln_rmssd_within_sd: float = 0.0
    ln_rmssd_day_sd: float = 0.0
    ln_rmssd_days: int = 0
    # ln RMSSD is the prior's for this kind of beats while other kinds' minutes give theirs (a
    # watch put on after a strap): its beats are compared as a new person's.
    ln_rmssd_new_kind: bool = False


@dataclass(frozen=True, slots=True)
class Spread:
    """The SD of a resting minute (``sd``) and its parts: ``within`` a day, ``day`` to day."""

    sd: float
    within: float
    day: float
    days: int


def spread(
    sums_by_day: list[tuple[float, float, float]], prior_sd: float, prior_days: float
) -> Spread:
    """The SD of a resting minute from per-day ``(n, Σx, Σx²)``, with the prior's share.

    within² = the minutes' variance around their own day's mean (N − D degrees of freedom);
    day² = (ν0 · τ0² + (D − 1) · τ̂²) / (ν0 + D − 1), the scaled inverse-chi-square posterior
    of the day-to-day variance, where τ̂² is the variance of the D days' means less what the
    within-day spread puts in them, ν0 = ``prior_days`` and τ0² = prior_sd² − within² (the part
    of the prior's spread that the minutes have not shown already; none when they show more).
    One sitting (D = 1) thus gives max(within, prior_sd), and D alike days half the prior's
    share when D − 1 = ν0.
    """
    days = [(n, total, total_sq) for n, total, total_sq in sums_by_day if n > 0]
    count = len(days)
    n_all = sum(n for n, _, _ in days)
    within_ss = sum(max(0.0, total_sq - total * total / n) for n, total, total_sq in days)
    within_var = within_ss / (n_all - count) if n_all > count else 0.0
    between_var = 0.0
    if count >= 2:
        means = [total / n for n, total, _ in days]
        grand = sum(means) / count
        means_var = sum((m - grand) ** 2 for m in means) / (count - 1)
        noise = within_var * sum(1.0 / n for n, _, _ in days) / count
        between_var = max(0.0, means_var - noise)
    prior_var = max(0.0, prior_sd * prior_sd - within_var)
    weight = prior_days + count - 1
    day_var = (prior_days * prior_var + (count - 1) * between_var) / weight if weight > 0 else 0.0
    return Spread(math.sqrt(within_var + day_var), math.sqrt(within_var), math.sqrt(day_var), count)


class Baseline:
    """Per-day sums of resting samples (see ``_N_HR`` ... ``_SUM_LN2``) by local day number
    (days in the configured time ``zone``)."""

    def __init__(
        self, config: BaselineConfig, resting_hr: float | None = None, zone: tzinfo = UTC
    ) -> None:
        self.config = config
        self.resting_hr = resting_hr  # from the person's config: wins over measured HR
        self.zone = zone
        self._days: dict[int, list[float]] = {}
        # Whether ln(RMSSD) is kept per kind of beats (a minute of a known kind was added, or
        # a saved baseline said so): then the saved form says it, even with no such minute.
        self._by_beats = False
        self.dirty = False
        # Today's norm per kind of beats (None: every kind's ln RMSSD together).
        self._norms: dict[BeatsKind | None, Norm] = {}
        self._norm_day: int | None = None
        # Where `_norm_day` certainly holds, in unix seconds (see `_day_bounds`).
        self._day_from = self._day_until = 0.0

    def add(
        self, time: float, ln_rmssd: float | None, hr: float, beats: BeatsKind | None = None
    ) -> None:
        """One resting minute: its mean HR, and its ln(RMSSD) when it had enough pairs, also
        as one of its kind of ``beats`` when they were all of one known kind."""
        day = local_day(time, self.zone)
        sums = self._days.get(day)
        if sums is None:
            sums = self._days[day] = [0.0] * _WIDTH
            for old in [d for d in self._days if d <= day - self.config.range_days]:
                del self._days[old]
        sums[_N_HR] += 1
        sums[_SUM_HR] += hr
        sums[_SUM_HR2] += hr * hr
        if ln_rmssd is not None:
            sums[_N_LN] += 1
            sums[_SUM_LN] += ln_rmssd
            sums[_SUM_LN2] += ln_rmssd * ln_rmssd
            if beats is not None:
                at = _LN_AT[beats]
                sums[at] += 1
                sums[at + 1] += ln_rmssd
                sums[at + 2] += ln_rmssd * ln_rmssd
                self._by_beats = True
        self.dirty = True
        self._norms.clear()

    def clear(self, beats: BeatsKind | None = None) -> None:
        """Forget every sample (``ambient baseline reset``): back to the prior; with ``beats``,
        only that kind's ln(RMSSD) minutes (they leave every kind's sums too)."""
        if beats is None:
            self._days.clear()
        else:
            at = _LN_AT[beats]
            for sums in self._days.values():
                n = sums[_N_LN] - sums[at]
                if n > 0:
                    sums[_N_LN : _N_LN + 3] = [n, *(sums[_N_LN + i] - sums[at + i] for i in (1, 2))]
                else:
                    sums[_N_LN : _N_LN + 3] = [0.0, 0.0, 0.0]
                sums[at : at + 3] = [0.0, 0.0, 0.0]
            self._by_beats = True
        self.dirty = True
        self._norms.clear()

    def kinds_kept(self) -> list[BeatsKind]:
        """The kinds of beats with ln(RMSSD) minutes kept (in the range or not)."""
        return [k for k in BEATS_KINDS if any(s[_LN_AT[k]] > 0 for s in self._days.values())]

    def days_with_data(self, time: float) -> int:
        """Days within the range (``range_days`` up to ``time``) with a resting sample."""
        today = local_day(time, self.zone)
        return sum(
            1
            for day, sums in self._days.items()
            if today - self.config.range_days < day <= today and sums[_N_HR] > 0
        )

    def measured_hr_mean(self, time: float) -> float | None:
        """The resting HR the minutes show, a configured ``resting_hr`` left out (it wins in the
        norm); None while on the prior."""
        norm = self._compute(local_day(time, self.zone), None, None)
        return None if norm.state == PRIOR else norm.hr_mean

    def last_day_worn(self) -> date | None:
        """The local date of the latest resting sample kept, even one out of the range (a
        baseline not worn for months is on the prior: this says since when); None if none."""
        worn = [day for day, sums in self._days.items() if sums[_N_HR] > 0]
        return date.fromordinal(max(worn) + _EPOCH_ORDINAL) if worn else None

    def norm(self, time: float, beats: BeatsKind | None = None) -> Norm:
        """The norm today: personal when ready, provisional after the first quiet minutes,
        else the population prior; its ln(RMSSD) that of ``beats``' kind (None: every kind's
        together). Asked at every signal update: within the day of the last call (a
        millisecond clear of its ends) the calendar is not asked."""
        norms = self._norms
        norm = norms.get(beats)
        if norm is not None and self._day_from <= time < self._day_until:
            return norm
        today = local_day(time, self.zone)
        if self._norm_day != today:
            norms.clear()
            norm = None
            self._norm_day = today
        if norm is None:
            norm = norms[beats] = self._compute(today, self.resting_hr, beats)
        self._day_from, self._day_until = _day_bounds(today, self.zone)
        return norm

    def _compute(self, today: int, resting_hr: float | None, beats: BeatsKind | None) -> Norm:
        c = self.config
        ln_at = _LN_AT[beats]
        # Newest day first: the mean is over the last `mean_days` days worn (see `_mean`).
        in_range = [
            s
            for d, s in sorted(self._days.items(), reverse=True)
            if today - c.range_days < d <= today
        ]
        n_hr = sum(s[_N_HR] for s in in_range)
        n_ln = sum(s[ln_at] for s in in_range)
        days_with_data = sum(1 for s in in_range if s[_N_HR] > 0)
        prior_hr = resting_hr if resting_hr is not None else c.prior_resting_hr
        personal = n_hr >= c.min_samples and days_with_data >= c.min_days
        if n_hr < c.provisional_samples and not personal:
            return Norm(
                c.prior_ln_rmssd, c.prior_ln_rmssd_sd, prior_hr, c.prior_hr_sd, False, PRIOR,
                int(n_hr), int(n_ln),
            )  # fmt: skip
        hr = spread(_sums(in_range, _N_HR), c.provisional_hr_sd, c.prior_days)
        ln_mean = c.prior_ln_rmssd
        ln = Spread(c.prior_ln_rmssd_sd, 0.0, 0.0, 0)  # the prior's: no part shown by minutes
        enough_ln = min(c.provisional_samples, c.min_samples)
        new_kind = False
        if n_ln >= enough_ln:
            ln_mean = _mean(in_range, ln_at, c.mean_days)
            ln = spread(_sums(in_range, ln_at), c.provisional_ln_rmssd_sd, c.prior_days)
            ln = _floored(ln, c.min_ln_rmssd_sd)
        elif beats is not None:
            new_kind = sum(s[_N_LN] for s in in_range) >= enough_ln
        hr = _floored(hr, c.min_hr_sd)
        return Norm(
            ln_mean,
            ln.sd,
            resting_hr if resting_hr is not None else _mean(in_range, _N_HR, c.mean_days),
            hr.sd,
            personal,
            PERSONAL if personal else PROVISIONAL,
            int(n_hr),
            int(n_ln),
            hr.within,
            hr.day,
            hr.days,
            ln.within,
            ln.day,
            ln.days,
            new_kind,
        )

    def to_json(self) -> dict[str, Any]:
        """The saved form: per day ``[n_hr, Σhr, Σhr², n_ln, Σln, Σln²]`` of every minute (what
        an older ambient reads: one ln RMSSD of every kind), and, once kinds are kept, each
        kind's ``[n, Σln, Σln²]`` by day under ``ln_rmssd_by_beats``."""
        ordered = sorted(self._days.items())
        saved: dict[str, Any] = {
            "version": _VERSION,
            "days": {str(d): s[:_N_CHEST] for d, s in ordered},
        }
        if self._by_beats:
            by_beats: dict[str, dict[str, list[float]]] = {}
            for kind in BEATS_KINDS:
                at = _LN_AT[kind]
                rows = {str(d): s[at : at + 3] for d, s in ordered if s[at] > 0}
                if rows:
                    by_beats[kind] = rows
            saved[_BY_BEATS] = by_beats
        return saved

    def load_json(self, data: Any, beats: BeatsKind | None = None) -> bool:
        """Take saved state; False (and nothing changed) when it is not a baseline we wrote.

        Version 1 (``[n, Σln, Σln², Σhr, Σhr²]``, every sample with both) is read as well. A
        baseline saved before ln RMSSD was kept per kind of beats (or by an older ambient
        since) is taken as ``beats``' (the one kind the person's beat sensors have), and stays
        every kind's together when that is None.
        """
        if not isinstance(data, dict) or data.get("version") not in (1, _VERSION):
            return False
        days = data.get("days")
        if not isinstance(days, dict):
            return False
        width = 5 if data["version"] == 1 else 6
        loaded: dict[int, list[float]] = {}
        for key, sums in days.items():
            day = _day_and_sums(key, sums, width)
            if day is None:
                return False
            values = [float(x) for x in sums]
            if width == 5:
                n, s_ln, s_ln2, s_hr, s_hr2 = values
                values = [n, s_hr, s_hr2, n, s_ln, s_ln2]
            loaded[day] = values + [0.0] * (_WIDTH - len(values))
        by_beats = data.get(_BY_BEATS)
        if by_beats is not None and not _load_by_beats(by_beats, loaded):
            return False
        if by_beats is None and beats is not None:
            at = _LN_AT[beats]
            for values in loaded.values():
                values[at : at + 3] = values[_N_LN : _N_LN + 3]
        self._days = loaded
        self._by_beats = by_beats is not None or beats is not None
        self._norms.clear()
        return True


def _day_and_sums(key: Any, sums: Any, width: int) -> int | None:
    """The day number of a saved day's ``key`` when its ``sums`` are ``width`` finite numbers."""
    if not (isinstance(sums, list) and len(sums) == width):
        return None
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in sums):
        return None
    try:
        return int(key)
    except ValueError:
        return None


def _load_by_beats(by_beats: Any, loaded: dict[int, list[float]]) -> bool:
    """Put the saved per-kind sums into the ``loaded`` days; False when they are not ours (a
    kind this version does not know, a day without its resting minutes)."""
    if not isinstance(by_beats, dict):
        return False
    for kind, rows in by_beats.items():
        if kind not in BEATS_KINDS or not isinstance(rows, dict):
            return False
        at = _LN_AT[kind]
        for key, sums in rows.items():
            day = _day_and_sums(key, sums, 3)
            if day is None or day not in loaded:
                return False
            loaded[day][at : at + 3] = [float(x) for x in sums]
    return True


def _day_bounds(day: int, zone: tzinfo) -> tuple[float, float]:
    """The instants (unix seconds) a millisecond inside local ``day``'s midnights, 23 or 25
    hours apart on the days the clocks change; (0, 0), nothing, when the calendar does not
    confirm them (a midnight the clocks skip)."""
    midnight = datetime.min.time()
    start = datetime.combine(date.fromordinal(day + _EPOCH_ORDINAL), midnight, zone)
    end = datetime.combine(date.fromordinal(day + 1 + _EPOCH_ORDINAL), midnight, zone)
    day_from, day_until = start.timestamp() + 1e-3, end.timestamp() - 1e-3
    if local_day(day_from, zone) != day or local_day(day_until, zone) != day:
        return 0.0, 0.0
    return day_from, day_until


def _sums(in_range: list[list[float]], n_at: int) -> list[tuple[float, float, float]]:
    """Each day's ``(n, Σx, Σx²)`` of one measure (HR at ``_N_HR``, ln RMSSD at ``_N_LN``)."""
    return [(s[n_at], s[n_at + 1], s[n_at + 2]) for s in in_range]


def _mean(in_range: list[list[float]], n_at: int, mean_days: int) -> float:
    """Mean over the last ``mean_days`` days with samples of the measure (``in_range`` newest
    first): days without the wearable (a holiday) are skipped, not counted, so the first
    minutes back are a few among a week's, not the whole mean."""
    worn = [s for s in in_range if s[n_at] > 0][:mean_days]
    return sum(s[n_at + 1] for s in worn) / sum(s[n_at] for s in worn)


def _floored(found: Spread, floor_sd: float) -> Spread:
    """The spread, at least ``floor_sd`` (a last guard: the prior keeps it far above)."""
    if found.sd >= floor_sd:
        return found
    return Spread(floor_sd, found.within, found.day, found.days)
