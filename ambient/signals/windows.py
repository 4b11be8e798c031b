"""HRV over a sliding window of beats by time, updated in amortised O(1) per beat.

Running sums give mean HR, SDNN, RMSSD and pNN50 (a beat's terms are worked out once for all
of a person's windows); monotonic deques give the range and a 50 ms histogram gives the mode
for Baevsky's stress index (kept only by windows long enough for it). Sums are rebuilt from
the beats each time the window has turned over once, so float drift never builds up (still
O(1) amortised). Memory is bounded by the beats in one window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Final, NamedTuple

from ambient.signals.beats import BEAT_RR_MS, Beat

_BIN_MS: Final = 50.0  # Baevsky histogram bin width
_MIN_STRESS_INDEX_WINDOW_S: Final = 120.0
NN50_MS: Final = 50.0
#: Makes a named tuple from a plain one of all its fields: a named tuple's own constructor is
#: a Python call, and window stats are made per update.
_new_tuple: Final = tuple.__new__


class WindowStats(NamedTuple):
    """HRV of one window; a field is None when the window cannot give it.

    A named tuple, not a frozen dataclass: one is built per window at every signal update,
    and a tuple is made several times faster.
    """

    beats: int
    hr: float | None
    mean_rr_ms: float | None
    rmssd: float | None
    ln_rmssd: float | None
    sdnn: float | None
    pnn50: float | None
    stress_index: float | None
    quality: float  # share of the window covered by clean beats, 0-1
    corrected: float  # share of beats that were corrected, 0-1 (1 - cleanliness)
    pairs: int = 0  # successive differences between two clean, consecutive beats
    coverage: float = 0.0  # share of the window covered by beats of any kind, 0-1


#: A window's figures as a plain tuple, in :class:`WindowStats`' field order and read by the
#: indices below (a :class:`WindowStats` is one too): what the signal engine takes at every
#: update. A named tuple costs more to make, and a field read by name more than an index.
WindowFigures = tuple[
    int,
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
    float | None,
    float,
    float,
    int,
    float,
]
# (literals, so that the type checker knows each field's type; a test holds them to the fields)
STATS_HR: Final = 1
STATS_LN_RMSSD: Final = 4
STATS_QUALITY: Final = 8
STATS_CORRECTED: Final = 9
STATS_PAIRS: Final = 10
STATS_COVERAGE: Final = 11


#: One beat's share of a window's running sums, worked out once per beat and added to every
#: window of the person (so each window only adds and subtracts):
#: ``(time, rr_ms, rr_sq, clean_ms, corrected, diffs, diff_sq, nn50)``, where ``clean_ms`` is
#: rr_ms when the beat is clean, else 0; ``corrected`` 1 when the beat was corrected, else 0;
#: ``diffs`` 1 when it has a successive difference (it follows a clean beat), whose square is
#: ``diff_sq``; ``nn50`` 1 when that difference exceeds 50 ms. A plain tuple, unpacked where
#: it is read: one is made per beat, and a named tuple costs several times as much to make
#: and to read by field.
BeatTerms = tuple[float, float, float, float, int, int, float, int]
_TIME: Final = 0  # a beat's time in its terms
_RR_MS: Final = 1  # and its rr_ms


def beat_terms(beat: Beat, previous_rr_ms: float | None) -> BeatTerms:
    """``beat``'s terms; ``previous_rr_ms`` is the beat before it, for its difference."""
    time, rr_ms, corrected, follows_clean = beat
    corrected_count = 1 if corrected else 0
    clean_ms = 0.0 if corrected_count else rr_ms
    if follows_clean and previous_rr_ms is not None:
        diff = rr_ms - previous_rr_ms
        nn50 = 1 if abs(diff) > NN50_MS else 0
        return (time, rr_ms, rr_ms * rr_ms, clean_ms, corrected_count, 1, diff * diff, nn50)
    return (time, rr_ms, rr_ms * rr_ms, clean_ms, corrected_count, 0, 0.0, 0)


class BeatWindow:
    """The beats of the last ``length_s`` seconds (ending at the newest beat).

    With ``hrv=False`` the window keeps only what mean HR, quality and the stress index need
    (the person's HR and stress-index windows): its RMSSD, SDNN and pNN50 are None.
    """

    def __init__(self, length_s: float, *, hrv: bool = True) -> None:
        self.length_s = length_s
        self.hrv = hrv
        # The range and histogram serve only the stress index: shorter windows skip them.
        self._keeps_shape = length_s >= _MIN_STRESS_INDEX_WINDOW_S
        self._beats: deque[BeatTerms] = deque()
        self._min: deque[BeatTerms] = deque()
        self._max: deque[BeatTerms] = deque()
        self._bins: dict[int, int] = {}
        # The histogram's mode (count, bin; ties: the lower bin), kept as beats come in and
        # found afresh only after a beat of the mode's own bin leaves (None: to be found).
        self._mode: tuple[int, int] | None = None
        self._since_rebuild = 0
        self._reset_sums()

    def _reset_sums(self) -> None:
        self._sum_rr = 0.0
        self._sum_rr2 = 0.0
        self._clean_ms = 0.0
        self._corrected = 0
        self._diffs = 0
        self._sum_d2 = 0.0
        self._nn50 = 0

    def __len__(self) -> int:
        return len(self._beats)

    @property
    def newest_time(self) -> float | None:
        return self._beats[-1][_TIME] if self._beats else None

    def add(self, beat: Beat, previous_rr_ms: float | None) -> None:
        """Add ``beat``; ``previous_rr_ms`` is the beat before it, for its difference."""
        self.add_terms(beat_terms(beat, previous_rr_ms))

    def add_terms(self, terms: BeatTerms) -> None:
        """Add a beat by its terms (a person's windows share one :class:`BeatTerms`).

        The sums are updated here rather than in helpers: this runs for every window at every
        beat. Adding a zero term leaves a float sum exactly as it was, so no branches."""
        beats = self._beats
        beats.append(terms)
        time, rr_ms, rr_sq, clean_ms, corrected, diffs, diff_sq, nn50 = terms
        self._sum_rr += rr_ms
        self._clean_ms += clean_ms
        self._corrected += corrected
        if self.hrv:
            self._sum_rr2 += rr_sq
            self._diffs += diffs
            self._sum_d2 += diff_sq
            self._nn50 += nn50
        if self._keeps_shape:
            self._shape_in(terms, rr_ms)
        start = time - self.length_s
        if beats[0][_TIME] <= start:
            if self._keeps_shape or len(beats) < 2 or beats[1][_TIME] <= start:
                self.expire(time)
                return
            # `expire` of the usual single beat out, written out (it runs for every window at
            # every beat): the same subtractions in the same order
            _, old_rr, old_rr_sq, old_clean, old_corrected, old_diffs, old_d2, old_nn50 = (
                beats.popleft()
            )
            self._sum_rr -= old_rr
            self._clean_ms -= old_clean
            self._corrected -= old_corrected
            if self.hrv:
                self._sum_rr2 -= old_rr_sq
                self._diffs -= old_diffs
                self._sum_d2 -= old_d2
                self._nn50 -= old_nn50
            self._since_rebuild += 1
            if self._since_rebuild > len(beats) + 16:
                self._rebuild()

    def expire(self, now: float) -> None:
        """Drop beats that ended more than ``length_s`` before ``now``."""
        start = now - self.length_s
        beats = self._beats
        hrv, keeps_shape = self.hrv, self._keeps_shape
        while beats and beats[0][_TIME] <= start:
            old = beats.popleft()
            _, rr_ms, rr_sq, clean_ms, corrected, diffs, diff_sq, nn50 = old
            self._sum_rr -= rr_ms
            self._clean_ms -= clean_ms
            self._corrected -= corrected
            if hrv:
                self._sum_rr2 -= rr_sq
                self._diffs -= diffs
                self._sum_d2 -= diff_sq
                self._nn50 -= nn50
            if keeps_shape:
                self._shape_out(old, rr_ms)
            self._since_rebuild += 1
        if self._since_rebuild > len(beats) + 16:
            self._rebuild()

    def _shape_in(self, terms: BeatTerms, rr_ms: float) -> None:
        low, high = self._min, self._max
        while low and low[-1][_RR_MS] >= rr_ms:
            low.pop()
        low.append(terms)
        while high and high[-1][_RR_MS] <= rr_ms:
            high.pop()
        high.append(terms)
        key = int(rr_ms // _BIN_MS)
        count = self._bins[key] = self._bins.get(key, 0) + 1
        mode = self._mode
        if mode is not None and (count > mode[0] or (count == mode[0] and key < mode[1])):
            self._mode = (count, key)

    def _shape_out(self, old: BeatTerms, rr_ms: float) -> None:
        if self._min and self._min[0] is old:
            self._min.popleft()
        if self._max and self._max[0] is old:
            self._max.popleft()
        key = int(rr_ms // _BIN_MS)
        if self._mode is not None and self._mode[1] == key:
            self._mode = None  # another bin may now tie or lead
        left = self._bins[key] - 1
        if left:
            self._bins[key] = left
        else:
            del self._bins[key]

    def clear(self) -> None:
        self._since_rebuild = 0  # nothing left to re-sum
        self._beats.clear()
        self._min.clear()
        self._max.clear()
        self._bins.clear()
        self._mode = None
        self._reset_sums()

    def _rebuild(self) -> None:
        """Sum the window's beats afresh, column by column at C speed (``sum`` adds floats in
        order, as the running sums do)."""
        self._since_rebuild = 0
        if not self._beats:
            self._reset_sums()
            return
        _, rr, rr_sq, clean, corrected, diffs, diff_sq, nn50 = zip(*self._beats, strict=True)
        self._sum_rr = sum(rr)
        self._clean_ms = sum(clean)
        self._corrected = sum(corrected)
        if self.hrv:
            self._sum_rr2 = sum(rr_sq)
            self._diffs = sum(diffs)
            self._sum_d2 = sum(diff_sq)
            self._nn50 = sum(nn50)

    def hr(self, now: float) -> float | None:
        """Mean heart rate as of ``now`` (the ``hr`` signal: no other statistic needed)."""
        beats = self._beats
        if beats and beats[0][_TIME] <= now - self.length_s:  # at every update: a call only
            self.expire(now)  # when a beat is due to leave (with none, `expire` does nothing)
        return 60000.0 / (self._sum_rr / len(self._beats)) if self._beats else None

    def coverage(self, now: float) -> float:
        """Share of the window, as of ``now``, covered by beats (sparse sources leave gaps)."""
        self.expire(now)
        return _share(self._sum_rr / (self.length_s * 1000.0))

    def stats(self, now: float | None = None) -> WindowStats:
        """The window's HRV as of ``now`` (default: its newest beat)."""
        return _new_tuple(WindowStats, self.figures(now))  # no Python-level __new__

    def figures(self, now: float | None = None) -> WindowFigures:
        """:meth:`stats` as a plain tuple (the engine's, at every update)."""
        beats = self._beats
        if now is not None and beats and beats[0][_TIME] <= now - self.length_s:
            self.expire(now)  # only when a beat is due to leave, as in `hr`
        n = len(self._beats)
        window_ms = self.length_s * 1000.0  # (a float constant: float times float is quicker)
        # `_share`, written out (at every update)
        quality = self._clean_ms / window_ms
        quality = 1.0 if quality >= 1.0 else (quality if quality > 0.0 else 0.0)
        if n == 0:
            return (0, None, None, None, None, None, None, None, quality, 0.0, 0, 0.0)
        coverage = self._sum_rr / window_ms
        coverage = 1.0 if coverage >= 1.0 else (coverage if coverage > 0.0 else 0.0)
        mean_rr = self._sum_rr / n
        sdnn = None
        if n > 1 and self.hrv:
            variance = (self._sum_rr2 - n * mean_rr * mean_rr) / (n - 1)
            sdnn = math.sqrt(variance if variance > 0.0 else 0.0)  # `max`, written out
        diffs = self._diffs
        rmssd = None
        if diffs:
            mean_d2 = self._sum_d2 / diffs
            rmssd = math.sqrt(mean_d2 if mean_d2 > 0.0 else 0.0)
        return (
            n,
            60000.0 / mean_rr,
            mean_rr,
            rmssd,
            math.log(rmssd) if rmssd else None,
            sdnn,
            100.0 * self._nn50 / diffs if diffs else None,
            self._stress_index(n) if self._keeps_shape else None,
            quality,
            self._corrected / n,
            diffs,
            coverage,
        )

    def quality_and_stress_index(self, now: float) -> tuple[float, float | None]:
        """``stats(now)``'s quality and stress index alone (all the stress-index window is
        read for, at every update: no other figure is worked out)."""
        self.expire(now)
        quality = _share(self._clean_ms / (self.length_s * 1000.0))
        n = len(self._beats)
        return quality, (self._stress_index(n) if n else None)

    def _stress_index(self, n: int) -> float | None:
        """Baevsky's SI = AMo / (2 · Mo · range): from windows of 2 min or more only."""
        if self.length_s < _MIN_STRESS_INDEX_WINDOW_S or not self._max:
            return None
        rr_range_ms = self._max[0][_RR_MS] - self._min[0][_RR_MS]
        if rr_range_ms <= 0:
            return None
        if self._mode is None:
            bins = self._bins
            top = max(bins.values())
            self._mode = (top, min(key for key, count in bins.items() if count == top))
        mode_count, mode_bin = self._mode  # ties: the lower bin
        mode_s = (mode_bin * _BIN_MS + _BIN_MS / 2) / 1000
        amplitude_pct = 100.0 * mode_count / n
        return amplitude_pct / (2 * mode_s * rr_range_ms / 1000)


class HeartRateWindow:
    """The beats of the last ``length_s`` seconds for mean heart rate and beat coverage alone
    (the person's HR window): the sum of their intervals and their count, nothing else. The
    same figures as a :class:`BeatWindow` of the same beats, bit for bit: its sum takes the
    same additions and subtractions in the same order and is summed afresh at the same turns;
    it only skips the sums nobody reads of it (every beat passes through it)."""

    def __init__(self, length_s: float) -> None:
        self.length_s = length_s
        self._beats: deque[BeatTerms] = deque()
        self._sum_rr = 0.0
        self._since_rebuild = 0

    def __len__(self) -> int:
        return len(self._beats)

    def add_terms(self, terms: BeatTerms) -> None:
        """Add a beat by its terms (of which it reads the time and interval)."""
        beats = self._beats
        beats.append(terms)
        self._sum_rr += terms[_RR_MS]
        start = terms[_TIME] - self.length_s
        if beats[0][_TIME] <= start:
            if len(beats) < 2 or beats[1][_TIME] <= start:
                self.expire(terms[_TIME])
                return
            self._sum_rr -= beats.popleft()[_RR_MS]  # the usual single beat out
            self._since_rebuild += 1
            if self._since_rebuild > len(beats) + 16:
                self._rebuild()

    def expire(self, now: float) -> None:
        """Drop beats that ended more than ``length_s`` before ``now``."""
        start = now - self.length_s
        beats = self._beats
        while beats and beats[0][_TIME] <= start:
            self._sum_rr -= beats.popleft()[_RR_MS]
            self._since_rebuild += 1
        if self._since_rebuild > len(beats) + 16:
            self._rebuild()

    def _rebuild(self) -> None:
        """Sum the intervals afresh (as :meth:`BeatWindow._rebuild` does, in order)."""
        self._since_rebuild = 0
        self._sum_rr = sum([terms[_RR_MS] for terms in self._beats]) if self._beats else 0.0

    def hr(self, now: float) -> float | None:
        """Mean heart rate as of ``now``."""
        beats = self._beats
        if beats and beats[0][_TIME] <= now - self.length_s:  # a call only when one is due
            self.expire(now)
        return 60000.0 / (self._sum_rr / len(self._beats)) if self._beats else None

    def coverage(self, now: float) -> float:
        """Share of the window, as of ``now``, covered by beats (sparse sources leave gaps)."""
        self.expire(now)
        return _share(self._sum_rr / (self.length_s * 1000.0))


def _share(fraction: float) -> float:
    """``min(1.0, max(0.0, fraction))``, written out: the builtins' calls cost several times
    the comparisons, and a window's shares are worked out at every update."""
    return 1.0 if fraction >= 1.0 else (fraction if fraction > 0.0 else 0.0)


def hrv_problem(
    stats: WindowFigures, min_pairs: int, min_cleanliness: float, min_quality: float = 0.0
) -> str | None:
    """Why a window's HRV is not worth reporting, or None when it is. Pairs, not coverage,
    decide: a wrist sensor that reports 40 % of beats still has enough consecutive pairs in a
    minute, and RMSSD needs nothing else. (Read by index: at every update.)"""
    if stats[STATS_PAIRS] < min_pairs:
        return "too few beat pairs"
    corrected, quality = stats[STATS_CORRECTED], stats[STATS_QUALITY]
    if 1.0 - corrected < min_cleanliness or quality < min_quality:
        return "poor signal quality"
    return None


def stats_of(beats: Iterable[Beat], length_s: float) -> WindowStats:
    """HRV of a finished set of beats (``ambient analyze``, and a check on the sliding one)."""
    window = BeatWindow(float("inf"))
    previous: float | None = None
    for beat in beats:
        window.add(beat, previous)
        previous = beat[BEAT_RR_MS]
    window.length_s = length_s
    return window.stats()
