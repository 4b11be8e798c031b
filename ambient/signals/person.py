"""One person's signal state: their beats, windows, baseline and activity, and the signals
computed from them. Every signal is a value or unknown-with-a-reason, never a guess."""

from __future__ import annotations

from datetime import UTC, tzinfo

from ambient.config.people import PersonConfig
from ambient.config.signals import SignalsConfig
from ambient.messages import SignalScalar, SignalValue
from ambient.readings import ACTIVITY, CONTACT, HR, RR, STEPS
from ambient.signals.activity import ActivityTracker
from ambient.signals.baseline import PRIOR, PROVISIONAL, Baseline, Norm
from ambient.signals.beats import Beat, BeatCleaner
from ambient.signals.stress import HR_BASIS, HRV_HR_BASIS, StressSmoother, combined_z, z_score
from ambient.signals.windows import BeatTerms, BeatWindow, WindowStats, hrv_problem

#: Decimal places each float signal is reported with (changes below this are not updates).
PRECISION = {
    "hr": 1,
    "hr_delta_rest": 1,
    "rmssd": 1,
    "ln_rmssd": 3,
    "ln_rmssd_z": 2,
    "sdnn": 1,
    "pnn50": 1,
    "stress_index": 1,
    "stress_score": 1,
    "quality": 2,
    "coverage": 2,
    "stress_confidence": 2,
}
_DEFAULT_PRECISION = 3  # user-named metrics passed through

STALE = "stale"
NO_DATA = "no data"
NO_CONTACT = "no skin contact"
NO_RR = "no RR intervals (HR-only source)"
POOR_QUALITY = "poor signal quality"
TOO_FEW_BEATS = "too few beats"
EXERCISE = "exercise"

#: Window quality Baevsky's stress index needs (it reads every beat, not pairs).
_STRESS_INDEX_MIN_QUALITY = 0.75
#: Beat coverage of the HR window below which a sensor's own HR is the better figure.
_BEAT_HR_MIN_COVERAGE = 0.5
#: What a score's data and baseline are worth (the `stress_confidence` signal): HR alone is
#: half the evidence; the population prior a quarter of a personal baseline.
_HR_ONLY_CONFIDENCE = 0.5
_BASELINE_CONFIDENCE = {PRIOR: 0.25, PROVISIONAL: 0.7}

#: Stressed minutes in a row left out of the baseline before their level counts as rest.
_MAX_SKIPPED_MINUTES = 60

#: A computed signal: ``(value, None)`` when known, ``(None, reason)`` when unknown.
Outcome = tuple[SignalScalar | None, str | None]


class PersonSignals:
    def __init__(
        self,
        person_id: str,
        config: SignalsConfig,
        person: PersonConfig | None,
        zone: tzinfo = UTC,
    ) -> None:
        self.id = person_id
        self.config = config
        resting_hr = person.resting_hr if person else None
        max_hr = config.activity.default_max_hr
        if person is not None and person.max_hr is not None:
            max_hr = person.max_hr
        elif person is not None and person.age is not None:
            max_hr = 208 - 0.7 * person.age  # Tanaka et al. 2001
        self.cleaner = BeatCleaner(gap_s=config.rr_gap)
        # The first window gives the HRV signals; the first of 2 min or more the stress index
        # (only its quality and stress index are read, so it keeps no HRV sums unless it is
        # also the first); the HR window gives `hr`.
        first_si = next((s for s in config.windows if s >= 120), None)
        self.windows = [
            BeatWindow(seconds, hrv=i == 0 or seconds != first_si)
            for i, seconds in enumerate(config.windows)
        ]
        self.si_window = next((w for w in self.windows if w.length_s >= 120), None)
        self.hr_window = BeatWindow(config.hr_window, hrv=False)
        self._all_windows = (*self.windows, self.hr_window)
        self.baseline = Baseline(config.baseline, resting_hr, zone)  # days end at local midnight
        self.activity = ActivityTracker(config.activity, max_hr)
        self.last_time: dict[str, float] = {}  # metric -> time of its latest reading
        self.hr_reading: float | None = None
        self.contact: bool | None = None
        self.metrics: dict[str, float] = {}  # user-named metrics, passed through
        self.emitted: dict[str, SignalValue] = {}
        self.outcomes: dict[str, Outcome] = {}  # the last computed, to tell what changed
        self._previous_rr: float | None = None
        self._next_sample: float | None = None  # first sample one window after the start
        self._hr_sum = 0.0  # sensor HR readings since the last baseline sample
        self._hr_count = 0
        self._smoother = StressSmoother(config.stress.smoothing)
        self._skipped_minutes = 0  # stressed minutes in a row left out of the baseline

    # -- input -----------------------------------------------------------------------------

    def feed(self, time: float, metric: str, value: float) -> None:
        self.last_time[metric] = time
        if metric == RR:
            self._add_beats(self.cleaner.add(time, value))
        elif metric == HR:
            self.hr_reading = value
            self._hr_sum += value
            self._hr_count += 1
        elif metric == CONTACT:
            self.contact = value >= 0.5
        elif metric == ACTIVITY:
            self.activity.activity(time, value)
        elif metric == STEPS:
            self.activity.steps(time, value)
        else:
            if metric == self.config.activity.movement_metric:
                self.activity.movement(time, value)
            self.metrics[metric] = value

    def settle(self, now: float) -> None:
        """Beats held for look-ahead are let out once the stream has paused ``rr_gap``."""
        last = self.last_time.get(RR)
        if last is not None and now - last >= self.config.rr_gap and self.cleaner.pending:
            self._add_beats(self.cleaner.flush())

    def _add_beats(self, beats: list[Beat]) -> None:
        for beat in beats:
            terms = BeatTerms.of(beat, self._previous_rr)
            for window in self._all_windows:
                window.add_terms(terms)
            self._previous_rr = beat.rr_ms

    def _fresh(self, metric: str, now: float, limit: float | None = None) -> bool:
        last = self.last_time.get(metric)
        return last is not None and now - last <= (limit or self.config.stale_after)

    def next_deadline(self, now: float) -> float | None:
        """The earliest time after ``now`` at which a signal may go stale or beats settle
        without a new reading (None: none); the engine asks at every update."""
        cfg = self.config
        last_time = self.last_time
        best: float | None = None
        for metric, seen in last_time.items():
            if metric in (RR, HR, CONTACT):
                due = seen + cfg.stale_after
            elif metric in self.metrics:
                due = seen + cfg.metric_stale_after
            else:
                continue
            if due > now and (best is None or due < best):
                best = due
        if self.cleaner.pending and RR in last_time:
            due = last_time[RR] + cfg.rr_gap
            if due > now and (best is None or due < best):
                best = due
        for due in self.activity.deadlines():
            if due > now and (best is None or due < best):
                best = due
        return best

    # -- signals ---------------------------------------------------------------------------

    def compute(self, now: float) -> dict[str, Outcome]:
        """Every signal of this person as of ``now``, as (value, reason) pairs: the engine
        makes a :class:`SignalValue` only of those that changed (it runs every
        ``update_interval`` for every person)."""
        cfg = self.config
        self.settle(now)
        last_time = self.last_time
        stale_after = cfg.stale_after
        rr_at, hr_at, contact_at = last_time.get(RR), last_time.get(HR), last_time.get(CONTACT)
        fresh_rr = rr_at is not None and now - rr_at <= stale_after
        fresh_hr = hr_at is not None and now - hr_at <= stale_after
        fresh_contact = contact_at is not None and now - contact_at <= stale_after
        out: dict[str, Outcome] = {}

        contact = self.contact if fresh_contact else None
        out["contact"] = (contact, None) if contact is not None else (None, _missing(contact_at))
        contact_lost = contact is False

        # Heart rate: from beats when there are, else from the sensor's own HR.
        hr: float | None = None
        hr_reason = _missing(rr_at) if rr_at is not None else _missing(hr_at)
        if contact_lost:
            hr_reason = NO_CONTACT
        elif (
            fresh_rr
            and (window_hr := self.hr_window.hr(now)) is not None
            and (not fresh_hr or self.hr_window.coverage(now) >= _BEAT_HR_MIN_COVERAGE)
        ):
            hr = window_hr  # beats that cover the window: the exact figure
        elif fresh_hr:
            hr = self.hr_reading  # a sparse (wrist) stream: the sensor's own HR is steadier
        elif fresh_rr:
            hr = self.hr_window.hr(now)
        out["hr"] = _known(hr, PRECISION["hr"], hr_reason)
        rr_available = True if fresh_rr else (False if fresh_hr else None)
        out["rr_available"] = (
            (rr_available, None) if rr_available is not None else (None, hr_reason)
        )

        primary = self.windows[0].stats(now)
        hrv_reason = self._hrv_reason(contact_lost, fresh_rr, fresh_hr, primary)
        usable = hrv_reason is None
        rr_reason = _rr_reason(contact_lost, fresh_rr, fresh_hr, RR in last_time)
        out["quality"] = _known(
            primary.quality if fresh_rr else None, PRECISION["quality"], rr_reason or STALE
        )
        out["coverage"] = _known(
            primary.coverage if fresh_rr else None, PRECISION["coverage"], rr_reason or STALE
        )
        out["hrv_pairs"] = (primary.pairs, None) if rr_reason is None else (None, rr_reason)
        unusable = hrv_reason or TOO_FEW_BEATS
        if usable:
            out["rmssd"] = _known(primary.rmssd, PRECISION["rmssd"], unusable)
            out["ln_rmssd"] = _known(primary.ln_rmssd, PRECISION["ln_rmssd"], unusable)
            out["sdnn"] = _known(primary.sdnn, PRECISION["sdnn"], unusable)
            out["pnn50"] = _known(primary.pnn50, PRECISION["pnn50"], unusable)
        else:
            out["rmssd"] = out["ln_rmssd"] = out["sdnn"] = out["pnn50"] = (None, unusable)
        if self.si_window is None:
            out["stress_index"] = (None, "no window of 2 min or more configured")
        else:
            si_quality, stress_index = self.si_window.quality_and_stress_index(now)
            si_reason = rr_reason
            if si_reason is None and si_quality < _STRESS_INDEX_MIN_QUALITY:
                si_reason = POOR_QUALITY
            out["stress_index"] = _known(
                stress_index if si_reason is None else None,
                PRECISION["stress_index"],
                si_reason or TOO_FEW_BEATS,
            )

        norm = self.baseline.norm(now)
        out["baseline_ready"] = (norm.ready, None)
        out["baseline_state"] = (norm.state, None)
        ln_z = None
        if usable and primary.ln_rmssd is not None:
            ln_z = z_score(primary.ln_rmssd, norm.ln_rmssd_mean, norm.ln_rmssd_sd)
        out["ln_rmssd_z"] = _known(ln_z, PRECISION["ln_rmssd_z"], unusable)
        out["hr_delta_rest"] = _known(
            None if hr is None else hr - norm.hr_mean, PRECISION["hr_delta_rest"], hr_reason
        )

        # While the rest is the population's, the HR reserve starts from a high rest (2 SD up),
        # so a calm person whose rest is high is not taken for exercising.
        reserve_from = norm.hr_mean + (2 * norm.hr_sd if norm.state == PRIOR else 0.0)
        state = self.activity.state(now, hr, reserve_from)
        activity_reason = hr_reason if hr is None else STALE
        out["activity_state"] = (state, None) if state is not None else (None, activity_reason)
        self._stress(out, now, state, hr, hr_reason, ln_z, primary.pairs, norm)

        for metric, value in self.metrics.items():
            if metric not in out:
                fresh = self._fresh(metric, now, cfg.metric_stale_after)
                out[metric] = _known(value if fresh else None, _DEFAULT_PRECISION, STALE)

        self._sample_baseline(now, state, hr, primary, usable)
        return out

    def _stress(
        self,
        out: dict[str, Outcome],
        now: float,
        state: str | None,
        hr: float | None,
        hr_reason: str,
        ln_z: float | None,
        pairs: int,
        norm: Norm,
    ) -> None:
        """The stress score, its basis and confidence: from HRV and HR when the window has
        enough clean pairs, else from HR alone; unknown only with no HR or while exercising."""
        reason = EXERCISE if state in ("active", "recovering") else hr_reason
        if hr is None or reason == EXERCISE:
            self._smoother.reset()
            out["stress_score"] = out["stress_basis"] = out["stress_confidence"] = (None, reason)
            return
        hr_z = z_score(hr, norm.hr_mean, norm.hr_sd)
        basis = HR_BASIS if ln_z is None else HRV_HR_BASIS
        combined = combined_z(ln_z, hr_z, self.config.stress)
        score = self._smoother.score(now, combined, self.config.stress)
        data = _HR_ONLY_CONFIDENCE
        if ln_z is not None:  # more pairs, surer HRV: from HR alone's up to 1 at 3x the minimum
            share = min(1.0, pairs / (3 * self.config.min_pairs))
            data = _HR_ONLY_CONFIDENCE + (1 - _HR_ONLY_CONFIDENCE) * share
        confidence = data * _BASELINE_CONFIDENCE.get(norm.state, 1.0)
        out["stress_score"] = _known(score, PRECISION["stress_score"], "")
        out["stress_basis"] = (basis, None)
        out["stress_confidence"] = _known(confidence, PRECISION["stress_confidence"], "")

    def _hrv_reason(
        self, contact_lost: bool, fresh_rr: bool, fresh_hr: bool, stats: WindowStats
    ) -> str | None:
        """Why the window gives no HRV: no beats, or too few clean consecutive pairs (coverage
        alone does not matter: a watch that reports 40 % of beats still has pairs)."""
        reason = _rr_reason(contact_lost, fresh_rr, fresh_hr, RR in self.last_time)
        if reason is not None:
            return reason
        cfg = self.config
        return hrv_problem(stats, cfg.min_pairs, cfg.min_cleanliness, cfg.min_quality)

    def _stressed_minute(self, now: float) -> bool:
        """A minute the score calls stressed (above 50) is not rest: the baseline must not
        learn the stress it is there to find. After ``_MAX_SKIPPED_MINUTES`` such minutes in a
        row the level is taken as the new rest (a score stuck high is a wrong rest, not
        stress: episodes last minutes, not an hour)."""
        combined = self._smoother.combined
        prior = self.baseline.norm(now).state == PRIOR
        if prior or combined is None or combined <= self.config.stress.midpoint:
            self._skipped_minutes = 0
            return False
        self._skipped_minutes += 1
        return self._skipped_minutes <= _MAX_SKIPPED_MINUTES

    def _sample_baseline(
        self, now: float, state: str | None, hr: float | None, primary: WindowStats, usable: bool
    ) -> None:
        """One resting sample per window length: the minute's HR, and its ln(RMSSD) when the
        minute had enough clean pairs for a baseline."""
        if self._next_sample is None:
            self._next_sample = now + self.windows[0].length_s
        if now < self._next_sample:
            return
        sensor_hr = self._hr_sum / self._hr_count if self._hr_count else None
        self._hr_sum, self._hr_count = 0.0, 0
        self._next_sample = now + self.windows[0].length_s
        if state != "rest" or hr is None:
            return
        if self._stressed_minute(now):
            return
        beats_cover = primary.hr is not None and primary.coverage >= _BEAT_HR_MIN_COVERAGE
        minute_hr = primary.hr if beats_cover or sensor_hr is None else sensor_hr
        if minute_hr is None:
            return
        base = self.config.baseline
        ln_rmssd = None
        clean = 1.0 - primary.corrected
        if usable and primary.pairs >= base.min_pairs and clean >= base.min_quality:
            ln_rmssd = primary.ln_rmssd
        self.baseline.add(now, ln_rmssd, minute_hr)


def _known(value: float | None, digits: int, reason: str) -> Outcome:
    """A float signal rounded to the places it is reported with, or unknown for ``reason``."""
    return (None, reason) if value is None else (round(value, digits), None)


def _missing(last_seen: float | None) -> str:
    return NO_DATA if last_seen is None else STALE


def missing_reason(seen_before: bool) -> str:
    return STALE if seen_before else NO_DATA


def _rr_reason(contact_lost: bool, fresh_rr: bool, fresh_hr: bool, seen: bool) -> str | None:
    """Why there are no beats to use now, or None when there are."""
    if contact_lost:
        return NO_CONTACT
    if not fresh_rr:
        return NO_RR if fresh_hr else missing_reason(seen)
    return None
