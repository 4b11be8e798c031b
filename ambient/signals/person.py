"""One person's signal state: their beats, windows, baseline and activity, and the signals
computed from them. Every signal is a value or unknown-with-a-reason, never a guess."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from types import MappingProxyType
from typing import Any, Final

from ambient.config.people import PersonConfig
from ambient.config.sensors import BeatsKind
from ambient.config.signals import SIGNAL_NAMES, SignalsConfig
from ambient.messages import SignalScalar, SignalValue
from ambient.readings import ACTIVITY, CONTACT, HR, RR, STEPS
from ambient.signals.activity import ActivityTracker
from ambient.signals.baseline import PRIOR, PROVISIONAL, Baseline, Norm
from ambient.signals.beats import BEAT_RR_MS, Beat, BeatCleaner
from ambient.signals.rounding import rounded
from ambient.signals.stress import (
    HR_BASIS,
    HRV_HR_BASIS,
    StressNumbers,
    StressSmoother,
    combined_z,
)
from ambient.signals.windows import (
    NN50_MS,
    STATS_CORRECTED,
    STATS_COVERAGE,
    STATS_HR,
    STATS_LN_RMSSD,
    STATS_PAIRS,
    STATS_QUALITY,
    BeatWindow,
    HeartRateWindow,
    WindowFigures,
    WindowStats,
    beat_terms,
    hrv_problem,
)

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
_HR_DIGITS: Final = PRECISION["hr"]
_SCORE_DIGITS: Final = PRECISION["stress_score"]

STALE = "stale"
NO_DATA = "no data"
NO_CONTACT = "no skin contact"
NO_RR = "no RR intervals (HR-only source)"
POOR_QUALITY = "poor signal quality"
TOO_FEW_BEATS = "too few beats"
EXERCISE = "exercise"
NOT_READ = "not worked out: nothing reads it"
NO_SI_WINDOW = "no window of 2 min or more configured"

#: Window quality Baevsky's stress index needs (it reads every beat, not pairs).
_STRESS_INDEX_MIN_QUALITY = 0.75
#: Beat coverage of the HR window below which a sensor's own HR is the better figure.
_BEAT_HR_MIN_COVERAGE = 0.5
#: What a score's data and baseline are worth (the `stress_confidence` signal): HR alone is
#: half the evidence; the population prior a quarter of a personal baseline.
_HR_ONLY_CONFIDENCE = 0.5
_BASELINE_CONFIDENCE = {PRIOR: 0.25, PROVISIONAL: 0.7}

#: How long (on the readings' clock) a stressed rest is left out of the baseline before its
#: level counts as rest: an hour, whether the wearable sends every second or every 15 minutes.
_MAX_STRESSED_REST_S = 3600.0

#: A frozen dataclass's own ``__init__`` sets each field through ``object.__setattr__``; an
#: update makes a :class:`SignalValue` per changed signal, so it is made as ``Reading`` makes
#: itself: its slots' setters, bound once (``_signal_value``; a test holds it to the class).
_value_slots: Any = SignalValue
_set_value: Final = _value_slots.value.__set__
_set_time: Final = _value_slots.time.__set__
_set_reason: Final = _value_slots.reason.__set__
_new_object: Final = object.__new__


def _signal_value(value: SignalScalar | None, time: float, reason: str | None) -> SignalValue:
    """``SignalValue(value, time, reason)``, made without the dataclass ``__init__``."""
    made: SignalValue = _new_object(SignalValue)
    _set_value(made, value)
    _set_time(made, time)
    _set_reason(made, reason)
    return made


#: Before any reading (a late reading is one older than the last of its metric).
_NEVER: Final = float("-inf")

#: A computed signal: ``(value, None)`` when known, ``(None, reason)`` when unknown.
Outcome = tuple[SignalScalar | None, str | None]

#: The signals that follow from the first part of an update alone (contact and heart rate):
#: a split update whose first signals are only these works out the rest after handing them on.
HEART_SIGNALS: Final = frozenset({"contact", "hr", "rr_available"})


class _Moment:
    """What an update worked out, from which each signal follows without touching state.

    Two per person, filled afresh in turn: each update fills the one not kept from the last
    (no object made per update: a simulated day makes a hundred thousand). Its first part
    (the fields up to ``rr_reason`` below) is filled first; until the rest is, the other fields
    still hold an older update's, and only the :data:`HEART_SIGNALS`' producers read it."""

    __slots__ = (
        "activity",
        "basis",
        "confidence",
        "contact",
        "contact_reason",
        "fresh_rr",
        "hr",
        "hr_reason",
        "hrv_reason",
        "ln_z",
        "norm",
        "now",
        "primary",
        "rr_available",
        "rr_reason",
        "score",
        "si",
        "stress_reason",
    )

    now: float
    contact: bool | None
    contact_reason: str
    hr: float | None
    hr_reason: str
    rr_available: bool | None
    fresh_rr: bool
    rr_reason: str | None  # why there are no beats to use, None when there are
    hrv_reason: str | None  # why the window gives no HRV, None when it does
    primary: WindowFigures  # the first window's, read by index
    si: tuple[float, float | None] | str  # the stress-index window's quality and index, or why not
    norm: Norm
    ln_z: float | None
    activity: str | None
    # The stress score, its basis and confidence; ``stress_reason`` when they are unknown.
    score: float | None
    basis: str | None
    confidence: float | None
    stress_reason: str | None


#: What an unsplit update carries from a first half: nothing.
_NOTHING_CARRIED: Final[Mapping[str, SignalValue]] = MappingProxyType({})


def _contact(m: _Moment) -> Outcome:
    return (m.contact, None) if m.contact is not None else (None, m.contact_reason)


def _hr(m: _Moment) -> Outcome:
    hr = m.hr  # `_known`, written out here and in the other signals read at every update
    return (None, m.hr_reason) if hr is None else (rounded(hr, _HR_DIGITS), None)


def _rr_available(m: _Moment) -> Outcome:
    return (m.rr_available, None) if m.rr_available is not None else (None, m.hr_reason)


def _quality(m: _Moment) -> Outcome:
    quality = m.primary[STATS_QUALITY] if m.fresh_rr else None
    return _known(quality, PRECISION["quality"], m.rr_reason or STALE)


def _coverage(m: _Moment) -> Outcome:
    coverage = m.primary[STATS_COVERAGE] if m.fresh_rr else None
    return _known(coverage, PRECISION["coverage"], m.rr_reason or STALE)


def _hrv_pairs(m: _Moment) -> Outcome:
    return (m.primary[STATS_PAIRS], None) if m.rr_reason is None else (None, m.rr_reason)


def _hrv(field: str) -> Callable[[_Moment], Outcome]:
    """RMSSD, ln RMSSD, SDNN or pNN50 of the first window, when its HRV is usable."""
    digits = PRECISION[field]
    index = WindowStats._fields.index(field)

    def produce(m: _Moment) -> Outcome:
        if m.hrv_reason is not None:
            return (None, m.hrv_reason)
        value = m.primary[index]
        return (None, TOO_FEW_BEATS) if value is None else (rounded(value, digits), None)

    return produce


def _stress_index(m: _Moment) -> Outcome:
    if isinstance(m.si, str):
        return (None, m.si)
    si_quality, stress_index = m.si
    reason = m.rr_reason
    if reason is None and si_quality < _STRESS_INDEX_MIN_QUALITY:
        reason = POOR_QUALITY
    value = stress_index if reason is None else None
    return _known(value, PRECISION["stress_index"], reason or TOO_FEW_BEATS)


def _baseline_ready(m: _Moment) -> Outcome:
    return (m.norm.ready, None)


def _baseline_state(m: _Moment) -> Outcome:
    return (m.norm.state, None)


def _ln_rmssd_z(m: _Moment) -> Outcome:
    return _known(m.ln_z, PRECISION["ln_rmssd_z"], m.hrv_reason or TOO_FEW_BEATS)


def _hr_delta_rest(m: _Moment) -> Outcome:
    delta = None if m.hr is None else m.hr - m.norm.hr_mean
    return _known(delta, PRECISION["hr_delta_rest"], m.hr_reason)


def _activity_state(m: _Moment) -> Outcome:
    if m.activity is not None:
        return (m.activity, None)
    return (None, m.hr_reason if m.hr is None else STALE)


def _stress_score(m: _Moment) -> Outcome:
    if m.stress_reason is not None:
        return (None, m.stress_reason)
    score = m.score
    return (None, "") if score is None else (rounded(score, _SCORE_DIGITS), None)


def _stress_basis(m: _Moment) -> Outcome:
    return (None, m.stress_reason) if m.stress_reason is not None else (m.basis, None)


def _stress_confidence(m: _Moment) -> Outcome:
    if m.stress_reason is not None:
        return (None, m.stress_reason)
    return _known(m.confidence, PRECISION["stress_confidence"], "")


@dataclass(frozen=True, slots=True)
class _UpdateSettings:
    """The numbers of the signals config that an update reads, as plain attributes (as
    :class:`StressNumbers`: a config model's attribute is read through pydantic's
    ``__getattr__`` hook, some hundreds of machine instructions a read)."""

    stale_after: float
    rr_gap: float
    min_pairs: int
    min_cleanliness: float
    min_quality: float
    stress: StressNumbers

    @classmethod
    def of(cls, config: SignalsConfig) -> _UpdateSettings:
        return cls(
            stale_after=config.stale_after,
            rr_gap=config.rr_gap,
            min_pairs=config.min_pairs,
            min_cleanliness=config.min_cleanliness,
            min_quality=config.min_quality,
            stress=StressNumbers.of(config.stress),
        )


#: How each built-in signal follows from an update's :class:`_Moment`, in the order updates
#: list them.
_PRODUCERS: dict[str, Callable[[_Moment], Outcome]] = {
    "contact": _contact,
    "hr": _hr,
    "rr_available": _rr_available,
    "quality": _quality,
    "coverage": _coverage,
    "hrv_pairs": _hrv_pairs,
    "rmssd": _hrv("rmssd"),
    "ln_rmssd": _hrv("ln_rmssd"),
    "sdnn": _hrv("sdnn"),
    "pnn50": _hrv("pnn50"),
    "stress_index": _stress_index,
    "baseline_ready": _baseline_ready,
    "baseline_state": _baseline_state,
    "ln_rmssd_z": _ln_rmssd_z,
    "hr_delta_rest": _hr_delta_rest,
    "activity_state": _activity_state,
    "stress_score": _stress_score,
    "stress_basis": _stress_basis,
    "stress_confidence": _stress_confidence,
}


class PersonSignals:
    def __init__(
        self,
        person_id: str,
        config: SignalsConfig,
        person: PersonConfig | None,
        zone: tzinfo = UTC,
        read: Collection[str] | None = None,
        first: Collection[str] | None = None,
        stale_after_by_source: Mapping[str, float] | None = None,
        beats_by_source: Mapping[str, BeatsKind] | None = None,
    ) -> None:
        """``stale_after_by_source``: the sensors (by their readings' ``source``) whose
        readings stay current for a span of their own instead of ``config.stale_after`` (a
        watch whose heart rate comes every 15 minutes). ``beats_by_source``: the sensors
        whose beats are known to be a chest strap's or a pulse sensor's (each kind's ln RMSSD
        is compared with its own kind's rest; others' with every kind's)."""
        self.id = person_id
        self.config = config
        self._settings = _UpdateSettings.of(config)  # what updates read of ``config``
        self._stale_after_by_source = stale_after_by_source or {}
        self._beats_by_source = beats_by_source or {}
        #: The kind of the latest beats (None: not known), and since when the beats have all
        #: been of it (the first beat after beats of another kind; -inf: always).
        self.beats_kind: BeatsKind | None = None
        self._beats_since = _NEVER
        #: The signals an update works out (None: all); any other is worked out when asked.
        self.read = None if read is None else frozenset(read)
        #: With ``first``, an update is split: :meth:`update_first` works out these, and
        #: :meth:`update_rest` the others (the live daemon's rules hear theirs before the
        #: rest is worked out); every signal is read then.
        self.first = None if first is None else frozenset(first)
        resting_hr = person.resting_hr if person else None
        max_hr = config.activity.default_max_hr
        if person is not None and person.max_hr is not None:
            max_hr = person.max_hr
        elif person is not None and person.age is not None:
            max_hr = 208 - 0.7 * person.age  # Tanaka et al. 2001
        self.cleaner = BeatCleaner(gap_s=config.rr_gap)
        # The first window gives the HRV signals; the first of 2 min or more the stress index
        # (only its quality and stress index are read, so it keeps no HRV sums unless it is
        # also the first); the HR window gives `hr`. Other windows would be read by nothing;
        # the stress index's is kept only while something reads it (its range and histogram
        # are the dearest per-beat work).
        first_si = next((s for s in config.windows if s >= 120), None)
        self._si_missing = NO_SI_WINDOW if first_si is None else NOT_READ
        if first_si is not None and self.read is not None and "stress_index" not in self.read:
            first_si = None
        primary = BeatWindow(config.windows[0])
        self.windows = [primary]
        self.si_window: BeatWindow | None = None
        if first_si == config.windows[0]:
            self.si_window = primary
        elif first_si is not None:
            self.si_window = BeatWindow(first_si, hrv=False)
            self.windows.append(self.si_window)
        self.hr_window = HeartRateWindow(config.hr_window)
        # Every beat goes to the beat windows, then to the HR window: two call sites, each
        # always of one class (a loop over both classes would make its call site alternate
        # between them, which the interpreter's specialised calls do not take at full speed).
        self._beat_windows = tuple(self.windows)
        self.baseline = Baseline(config.baseline, resting_hr, zone)  # days end at local midnight
        self.activity = ActivityTracker(config.activity, max_hr)
        self.last_time: dict[str, float] = {}  # metric -> time of its latest reading
        self.hr_reading: float | None = None
        self.contact: bool | None = None
        # Whose readings a lost contact blanks (see `_lost_contact`): the source of the latest
        # contact, HR and beat, and every source that has sent HR or beats.
        self._contact_source: str | None = None
        self._hr_source: str | None = None
        #: Each other source's latest heart rate time, kept when another's took over: the
        #: line its next reading is late behind (see `feed`).
        self._hr_last_by_source: dict[str, float] = {}
        self._rr_source: str | None = None
        self._heart_sources: set[str] = set()
        self.metrics: dict[str, float] = {}  # user-named metrics, passed through
        self.emitted: dict[str, SignalValue] = {}
        self.outcomes: dict[str, Outcome] = {}  # the last computed, to tell what changed
        self._moment: _Moment | None = None  # what the last update worked out
        # Filled by each update, then kept as `_moment`; the next one fills the moment kept
        # before it (two per person), so what is kept stays whole between a split's halves.
        self._next_moment = _Moment()
        read = self.read
        self._produce = _PRODUCERS
        read_producers = tuple(
            (name, produce) for name, produce in _PRODUCERS.items() if read is None or name in read
        )
        first = self.first or frozenset()
        self._first_producers = tuple((n, p) for n, p in read_producers if n in first)
        #: What an update (or a split one's second half) works out: each read signal in order,
        #: None for a first one (taken from the first half's changes).
        self._rest_producers = tuple(
            (name, None if name in first else produce) for name, produce in read_producers
        )
        self._first_heart_only = first.isdisjoint(_PRODUCERS.keys() - HEART_SIGNALS)
        self._first_changed: dict[str, SignalValue] | None = None  # between a split's halves
        self._previous_rr: float | None = None
        self._next_sample: float | None = None  # first sample one window after the start
        self._hr_sum = 0.0  # sensor HR readings since the last baseline sample
        self._hr_count = 0
        self._smoother = StressSmoother(config.stress.smoothing)
        #: The own time of the heart rate taken since the last update, when it is earlier than
        #: the update (a sample of an upload of several): the score's average weighs it from then.
        self._hr_taken_time: float | None = None
        #: Whether a heart rate or a beat came since the last update: an update with neither
        #: (for movement, or a deadline) holds the score, the held heart rate no new evidence.
        self._heart_heard = False
        # The stretch of stressed resting minutes left out of the baseline: when its first
        # and its latest were (None: not in one).
        self._stressed_since: float | None = None
        self._stressed_last = 0.0

    # -- input -----------------------------------------------------------------------------

    def take_sources(
        self,
        stale_after_by_source: Mapping[str, float],
        beats_by_source: Mapping[str, BeatsKind],
    ) -> bool:
        """Go on with a reload's sensors (their spans and kinds of beats) when every source
        heard from so far keeps its own in them: a sensor added or removed for someone else
        shapes nothing of this state. False, nothing taken, when one of them changed."""
        heard = set(self._heart_sources)
        if self._contact_source is not None:
            heard.add(self._contact_source)
        spans, kinds = self._stale_after_by_source, self._beats_by_source
        for source in heard:
            if stale_after_by_source.get(source) != spans.get(source):
                return False
            if beats_by_source.get(source) != kinds.get(source):
                return False
        self._stale_after_by_source = stale_after_by_source
        self._beats_by_source = beats_by_source
        return True

    def feed(self, time: float, metric: str, value: float, source: str = "") -> bool:
        """Take one reading from the sensor named ``source``; False (nothing taken) when it is
        late: older than the last of its metric (a backlog after a reconnect, a publisher
        catching up), which stays the current one; a heart rate from another source than the
        last, older than its own source's last or stale at the last's time. For beats, see
        :meth:`feed_beat`."""
        if metric == RR:
            return self.feed_beat(time, value, source)
        last_time = self.last_time
        if metric == HR and source != self._hr_source:
            # Another device's heart rate (the arbiter's handover): late only in its own
            # stream, or when already stale at the last one's time. Two devices' clocks, one
            # perhaps stamping whole seconds, do not order readings a second apart; taken, it
            # weighs in the score for no time already weighed.
            if time < self._hr_last_by_source.get(source, _NEVER) or (
                time + self._stale_after_of(source) < last_time.get(HR, _NEVER)
            ):
                return False
            if self._hr_source is not None:
                self._hr_last_by_source[self._hr_source] = last_time.get(HR, _NEVER)
        elif time < last_time.get(metric, _NEVER):
            return False
        last_time[metric] = time
        if metric == HR:
            self.hr_reading = value
            self._hr_taken_time = time
            self._heart_heard = True
            self._hr_sum += value
            self._hr_count += 1
            if source != self._hr_source:
                self._hr_source = source
                self._heart_sources.add(source)
        elif metric == CONTACT:
            self.contact = value >= 0.5
            self._contact_source = source
        elif metric == ACTIVITY:
            self.activity.activity(time, value)
        elif metric == STEPS:
            self.activity.steps(time, value)
        else:
            if metric == self.config.activity.movement_metric:
                self.activity.movement(time, value)
            self.metrics[metric] = value
        return True

    def feed_beat(self, time: float, rr_ms: float, source: str = "") -> bool:
        """``feed`` of one RR interval (the engine's per-beat call, without the dispatch;
        ``_add_beats`` written out, and in it ``beat_terms``: no call of its own per beat, the
        same terms, as a test holds). False (nothing taken) for a late beat: one ending more
        than half its interval before the last beat taken, or just when it did, is one already
        counted or long past (a list sent again); nearer, it is a new beat whose time was
        spaced back from a notification's jittering arrival."""
        last_time = self.last_time
        last = last_time.get(RR, _NEVER)
        if time < last - rr_ms * 0.0005 or time == last:  # (half the interval, in s)
            return False
        last_time[RR] = time
        self._heart_heard = True
        if source != self._rr_source:  # (the same string at every beat: equal at once)
            self._rr_source = source
            self._heart_sources.add(source)
            beats = self._beats_by_source.get(source)
            if beats != self.beats_kind:
                self.beats_kind = beats
                self._beats_since = time if last != _NEVER else _NEVER
        previous_rr = self._previous_rr
        for beat in self.cleaner.add(time, rr_ms):
            beat_time, beat_rr, beat_corrected, follows_clean = beat
            corrected = 1 if beat_corrected else 0
            clean_ms = 0.0 if corrected else beat_rr
            square = beat_rr * beat_rr
            if follows_clean and previous_rr is not None:
                diff = beat_rr - previous_rr
                nn50 = 1 if abs(diff) > NN50_MS else 0
                terms = (beat_time, beat_rr, square, clean_ms, corrected, 1, diff * diff, nn50)
            else:
                terms = (beat_time, beat_rr, square, clean_ms, corrected, 0, 0.0, 0)
            for window in self._beat_windows:
                window.add_terms(terms)
            self.hr_window.add_terms(terms)
            previous_rr = beat_rr
        self._previous_rr = previous_rr
        return True

    def settle(self, now: float) -> None:
        """Beats held for look-ahead are let out once the stream has paused ``rr_gap``."""
        last = self.last_time.get(RR)
        if last is not None and now - last >= self._settings.rr_gap and self.cleaner.pending:
            self._add_beats(self.cleaner.flush())

    def _add_beats(self, beats: list[Beat]) -> None:
        for beat in beats:
            terms = beat_terms(beat, self._previous_rr)
            for window in self._beat_windows:
                window.add_terms(terms)
            self.hr_window.add_terms(terms)
            self._previous_rr = beat[BEAT_RR_MS]

    def _fresh(self, metric: str, now: float, limit: float | None = None) -> bool:
        last = self.last_time.get(metric)
        return last is not None and now - last <= (limit or self._settings.stale_after)

    def next_deadline(self, now: float) -> float | None:
        """The earliest time after ``now`` at which a signal may go stale or beats settle
        without a new reading (None: none); the engine asks at every update."""
        cfg = self._settings
        last_time = self.last_time
        best: float | None = None
        own = self._stale_after_by_source
        for metric, seen in last_time.items():
            if metric in (RR, HR, CONTACT):
                if own:
                    source = {RR: self._rr_source, HR: self._hr_source}.get(
                        metric, self._contact_source
                    )
                    due = seen + self._stale_after_of(source)
                else:
                    due = seen + cfg.stale_after
            elif metric in self.metrics:
                due = seen + self.config.metric_stale_after
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

    def update(self, now: float) -> dict[str, SignalValue]:
        """The signals someone reads (``read``; every signal when None) as of ``now``, kept in
        ``outcomes``, and those whose value or reason changed since the last update as values
        stamped ``now`` (the engine's update, every ``update_interval`` for every person: one
        pass, a :class:`SignalValue` only for what changed). What the update worked out is
        kept, so :meth:`outcome` gives any other signal as of this moment."""
        moment = self._next_moment
        self._advance_heart(moment, now)
        self._advance_rest(moment)
        return self._changes(moment, _NOTHING_CARRIED)

    def update_first(self, now: float) -> dict[str, SignalValue]:
        """The first half of a split update (see ``first``): the first signals as of ``now``,
        those whose value or reason changed as values stamped ``now``, as :meth:`update` gives
        them. When they are all :data:`HEART_SIGNALS`, the rest of the moment (windows,
        baseline, activity, the score) waits for :meth:`update_rest`, which must come next."""
        moment = self._next_moment
        self._advance_heart(moment, now)
        if not self._first_heart_only:
            self._advance_rest(moment)
        last = self.outcomes
        changed: dict[str, SignalValue] = {}
        for name, produce in self._first_producers:
            outcome = produce(moment)
            if last.get(name) != outcome:
                last[name] = outcome
                changed[name] = _signal_value(outcome[0], now, outcome[1])
        first = self.first
        if self.metrics and first:
            for metric in self.metrics:
                if metric in first and metric not in SIGNAL_NAMES:
                    outcome = self._metric(metric, now)
                    if last.get(metric) != outcome:
                        last[metric] = outcome
                        changed[metric] = _signal_value(outcome[0], now, outcome[1])
        self.emitted.update(changed)
        self._first_changed = changed
        return changed

    def update_rest(self) -> dict[str, SignalValue]:
        """The second half of a split update: what :meth:`update` would have returned for it,
        in the same order (the first half's changes among them)."""
        first_changed = self._first_changed
        assert first_changed is not None, "update_rest without update_first"
        self._first_changed = None
        moment = self._next_moment
        if self._first_heart_only:
            self._advance_rest(moment)
        return self._changes(moment, first_changed)

    def _changes(
        self, moment: _Moment, carried: Mapping[str, SignalValue]
    ) -> dict[str, SignalValue]:
        """Keep ``moment`` and give the read signals that changed with it, in order: a first
        signal of a split update (producer None) as ``carried`` from the first half."""
        kept = self._moment
        self._moment, self._next_moment = moment, _Moment() if kept is None else kept
        now = moment.now
        last = self.outcomes
        changed: dict[str, SignalValue] = {}
        for name, produce in self._rest_producers:
            if produce is None:
                value = carried.get(name)
                if value is not None:
                    changed[name] = value
                continue
            outcome = produce(moment)
            if last.get(name) != outcome:
                last[name] = outcome
                changed[name] = _signal_value(outcome[0], now, outcome[1])
        if self.metrics:
            metrics: dict[str, Outcome] = {}
            self._add_metrics(metrics, now)
            for name, outcome in metrics.items():
                value = carried.get(name)
                if value is not None:
                    changed[name] = value
                elif last.get(name) != outcome:
                    last[name] = outcome
                    changed[name] = _signal_value(outcome[0], now, outcome[1])
        self.emitted.update(changed)
        return changed

    def _add_metrics(self, out: dict[str, Outcome], now: float) -> None:
        """The user-named metrics someone reads, into ``out``."""
        read = self.read
        for metric in self.metrics:
            if metric not in SIGNAL_NAMES and (read is None or metric in read):
                out[metric] = self._metric(metric, now)

    def outcome(self, name: str) -> tuple[float, Outcome] | None:
        """Signal ``name`` as of the last update and that update's time, worked out now from
        what it kept; None before the first update or for a name this person lacks (between
        a split update's halves: as of the update before)."""
        moment = self._moment
        if moment is None:
            return None
        producer = self._produce.get(name)
        if producer is not None:
            return moment.now, producer(moment)
        if name in self.metrics:
            return moment.now, self._metric(name, moment.now)
        return None

    def names(self) -> list[str]:
        """Every signal this person has now: the built-in ones, then the user-named metrics."""
        return [*_PRODUCERS, *(m for m in self.metrics if m not in SIGNAL_NAMES)]

    def _metric(self, metric: str, now: float) -> Outcome:
        fresh = self._fresh(metric, now, self.config.metric_stale_after)
        return _known(self.metrics[metric] if fresh else None, _DEFAULT_PRECISION, STALE)

    def _advance_heart(self, moment: _Moment, now: float) -> None:
        """Move the person's state to ``now`` and keep what every signal is made from in
        ``moment``, in two parts (``_advance_heart`` then ``_advance_rest``); both run at every
        update whatever is read: the state must not depend on the readers. This first part
        settles beats and works out contact and heart rate: the first fields of the moment."""
        cfg = self._settings
        last_time = self.last_time
        rr_at, hr_at, contact_at = last_time.get(RR), last_time.get(HR), last_time.get(CONTACT)
        if rr_at is not None and now - rr_at >= cfg.rr_gap:  # (the usual update: no call)
            self.settle(now)
        stale_after = cfg.stale_after
        rr_stale_after = hr_stale_after = contact_stale_after = stale_after
        if self._stale_after_by_source:  # (a sensor of its own span: the source's)
            rr_stale_after = self._stale_after_of(self._rr_source)
            hr_stale_after = self._stale_after_of(self._hr_source)
            contact_stale_after = self._stale_after_of(self._contact_source)
        fresh_rr = rr_at is not None and now - rr_at <= rr_stale_after
        fresh_hr = hr_at is not None and now - hr_at <= hr_stale_after
        fresh_contact = contact_at is not None and (
            now - contact_at <= contact_stale_after
            or self._contact_heard(now - contact_stale_after)
        )

        contact = self.contact if fresh_contact else None
        contact_lost = contact is False
        rr_lost = hr_lost = contact_lost
        if contact_lost:
            rr_lost, hr_lost = self._lost_contact()
        usable_rr = fresh_rr and not rr_lost
        usable_hr = fresh_hr and not hr_lost

        # Heart rate: from beats when there are, else from the sensor's own HR.
        hr: float | None = None
        hr_reason = NO_DATA if rr_at is None and hr_at is None else STALE
        if contact_lost:
            hr_reason = NO_CONTACT  # (when no other device's reading gives a heart rate)
        if (
            usable_rr
            and (window_hr := self.hr_window.hr(now)) is not None
            and (not usable_hr or self.hr_window.coverage(now) >= _BEAT_HR_MIN_COVERAGE)
        ):
            hr = window_hr  # beats that cover the window: the exact figure
        elif usable_hr:
            hr = self.hr_reading  # a sparse (wrist) stream: the sensor's own HR is steadier
        elif usable_rr:
            hr = self.hr_window.hr(now)
            if hr is None:  # fresh beats, still held by the cleaner (a session's first seconds)
                hr_reason = TOO_FEW_BEATS
        moment.now = now
        moment.contact = contact
        moment.contact_reason = NO_DATA if contact_at is None else STALE
        moment.hr = hr
        moment.hr_reason = hr_reason
        # (beats a lost contact blanks are there but not used: not available)
        moment.rr_available = True if usable_rr else (False if fresh_rr or fresh_hr else None)
        moment.fresh_rr = fresh_rr
        # (usable beats have no reason against them: the usual update makes no call for it)
        moment.rr_reason = (
            None if usable_rr else _rr_reason(rr_lost, fresh_rr, fresh_hr, rr_at is not None)
        )

    def _stale_after_of(self, source: str | None) -> float:
        """How long a reading of ``source`` stays current: its sensor's own span, else the
        signals' ``stale_after``."""
        return self._stale_after_by_source.get(source or "", self._settings.stale_after)

    def _contact_heard(self, since: float) -> bool:
        """Whether the device that said the contact has sent heart readings since ``since``: a
        strap says its contact when a session starts and when it changes, not at every beat,
        and what it said holds while it keeps sending."""
        source = self._contact_source
        last_time = self.last_time
        return (self._rr_source == source and last_time.get(RR, _NEVER) >= since) or (
            self._hr_source == source and last_time.get(HR, _NEVER) >= since
        )

    def _lost_contact(self) -> tuple[bool, bool]:
        """Whether the lost skin contact blanks the latest beats and the latest HR: a device's
        contact concerns its own readings (a strap that slipped says nothing of the watch that
        is still worn); from a source that sends no heart readings (a watch's wear sensor, an
        MQTT topic or HA entity of its own) it concerns them all."""
        source = self._contact_source
        if source not in self._heart_sources:
            return True, True
        return self._rr_source == source, self._hr_source == source

    def _advance_rest(self, moment: _Moment) -> None:
        """The second part, from the first's fields: the windows expired, the baseline's norm
        (and its sample, once a window), activity and the score's average."""
        now, hr, rr_reason = moment.now, moment.hr, moment.rr_reason
        cfg = self._settings
        primary = self.windows[0].figures(now)
        hrv_reason = rr_reason
        if hrv_reason is None:
            hrv_reason = hrv_problem(primary, cfg.min_pairs, cfg.min_cleanliness, cfg.min_quality)
        usable = hrv_reason is None
        si: tuple[float, float | None] | str
        if self.si_window is not None:
            si = self.si_window.quality_and_stress_index(now)
        else:
            si = self._si_missing

        # the rest of the latest beats' kind (`norm`, written out: one call less per update)
        norm = self.baseline.norm(now, self.beats_kind)
        ln_z = None
        ln_rmssd = primary[STATS_LN_RMSSD]
        if usable and ln_rmssd is not None:
            ln_z = (ln_rmssd - norm.ln_rmssd_mean) / norm.ln_rmssd_sd  # a z-score

        # While the rest is the population's, the HR reserve starts from a high rest (2 SD up),
        # so a calm person whose rest is high is not taken for exercising.
        reserve_from = norm.hr_mean + (2.0 * norm.hr_sd if norm.state == PRIOR else 0.0)
        state = self.activity.state(now, hr, reserve_from)
        self._score_stress(moment, state, ln_z, primary[STATS_PAIRS], norm)
        next_sample = self._next_sample
        if next_sample is None or now >= next_sample:  # once a window (no call in between)
            self._sample_baseline(now, state, hr, primary, usable)
        moment.hrv_reason = hrv_reason
        moment.primary = primary
        moment.si = si
        moment.norm = norm
        moment.ln_z = ln_z
        moment.activity = state

    def _score_stress(
        self, moment: _Moment, state: str | None, ln_z: float | None, pairs: int, norm: Norm
    ) -> None:
        """The stress score, its basis and confidence, into ``moment`` (whose heart rate they
        follow): from HRV and HR when the window has enough clean pairs, else from HR alone;
        unknown only with no HR or while exercising."""
        now, hr = moment.now, moment.hr
        # Each reading weighs for the time since the one before it by the readings' own times:
        # an upload's samples reach here together, but each stands for its place in the upload.
        at, self._hr_taken_time = self._hr_taken_time, None
        if at is None or at > now:
            at = now
        heard, self._heart_heard = self._heart_heard, False
        reason = EXERCISE if state in ("active", "recovering") else moment.hr_reason
        if hr is None or reason == EXERCISE:
            self._smoother.reset()
            moment.score = moment.basis = moment.confidence = None
            moment.stress_reason = reason
            return
        hr_z = (hr - norm.hr_mean) / norm.hr_sd  # a z-score
        basis = HR_BASIS if ln_z is None else HRV_HR_BASIS
        settings = self._settings
        combined = combined_z(ln_z, hr_z, settings.stress)
        if heard or self._smoother.combined is None:
            score = self._smoother.score(at, combined, settings.stress)
        else:  # a held heart rate weighed again at each update would stand for its hold
            score = self._smoother.held(settings.stress)
        data = _HR_ONLY_CONFIDENCE
        if ln_z is not None:  # more pairs, surer HRV: from HR alone's up to 1 at 3x the minimum
            share = pairs / (3 * settings.min_pairs)
            share = share if share < 1.0 else 1.0  # `min`, written out (at every update)
            data = _HR_ONLY_CONFIDENCE + (1.0 - _HR_ONLY_CONFIDENCE) * share
        moment.score = score
        moment.basis = basis
        # (HRV against a kind of beats still on the prior: worth what the person's prior is)
        rest_from = PRIOR if ln_z is not None and norm.ln_rmssd_new_kind else norm.state
        moment.confidence = data * _BASELINE_CONFIDENCE.get(rest_from, 1.0)
        moment.stress_reason = None

    def _stressed_minute(self, now: float, hrv_scored: bool) -> bool:
        """A minute whose readings call it stressed (their own mean z past the score's
        midpoint, a score of 50, without the average's lean to rest) is not rest: the
        baseline must not learn the stress it is there to find. After
        ``_MAX_STRESSED_REST_S`` of the clock of such minutes in a row the level is taken as
        the new rest (a score stuck high is a wrong rest, not stress: episodes last minutes,
        not an hour). The stretch starts again after a gap between its resting minutes
        longer than a sample's span and the heart readings' staleness: time without wear, or
        a minute not at rest, between them.
        ``hrv_scored``: the score now is from HRV too (else from HR alone)."""
        evidence = self._smoother.evidence
        norm = self.norm(now)
        # (on the prior, the person's or, for a score from HRV, this kind of beats', minutes
        # are learned as they come; HR alone is against the person's own rest)
        prior = norm.state == PRIOR or (hrv_scored and norm.ln_rmssd_new_kind)
        if prior or evidence is None or evidence <= self._settings.stress.midpoint:
            self._stressed_since = None
            return False
        since, last = self._stressed_since, self._stressed_last
        self._stressed_last = now
        stale_after = max(
            self._stale_after_of(self._hr_source), self._stale_after_of(self._rr_source)
        )
        if since is None or now - last > self.windows[0].length_s + stale_after:
            self._stressed_since = now
            return True
        return now - since < _MAX_STRESSED_REST_S

    def _sample_baseline(
        self, now: float, state: str | None, hr: float | None, primary: WindowFigures, usable: bool
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
        if self._stressed_minute(now, usable and primary[STATS_LN_RMSSD] is not None):
            return
        beats_hr = primary[STATS_HR]
        beats_cover = beats_hr is not None and primary[STATS_COVERAGE] >= _BEAT_HR_MIN_COVERAGE
        minute_hr = beats_hr if beats_cover or sensor_hr is None else sensor_hr
        if minute_hr is None:
            return
        base = self.config.baseline
        ln_rmssd = None
        clean = 1.0 - primary[STATS_CORRECTED]
        if usable and primary[STATS_PAIRS] >= base.min_pairs and clean >= base.min_quality:
            ln_rmssd = primary[STATS_LN_RMSSD]
        # A minute whose window still holds another kind's beats is every kind's, not one's.
        one_kind = now - self._beats_since >= self.windows[0].length_s
        self.baseline.add(now, ln_rmssd, minute_hr, self.beats_kind if one_kind else None)

    def norm(self, now: float) -> Norm:
        """The resting norm the latest beats are compared with (their kind's ln RMSSD)."""
        return self.baseline.norm(now, self.beats_kind)


def _known(value: float | None, digits: int, reason: str) -> Outcome:
    """A float signal rounded to the places it is reported with, or unknown for ``reason``."""
    return (None, reason) if value is None else (rounded(value, digits), None)


def missing_reason(seen_before: bool) -> str:
    return STALE if seen_before else NO_DATA


def _rr_reason(contact_lost: bool, fresh_rr: bool, fresh_hr: bool, seen: bool) -> str | None:
    """Why there are no beats to use now, or None when there are."""
    if contact_lost:
        return NO_CONTACT
    if not fresh_rr:
        return NO_RR if fresh_hr else missing_reason(seen)
    return None
