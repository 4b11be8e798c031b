"""Beat cleaning: range filter, then artifact detection and correction after Lipponen &
Tarvainen (2019), the method Kubios uses, adapted to a stream.

The batch method looks at the whole series; here thresholds come from the last 91 beats and
the decision on a beat waits for the next two (its look-ahead), so cleaned beats come out two
beats (about two seconds at rest) after they arrive. Corrections keep time: a missed beat is
split, an extra beat merged, an ectopic pair evened out, so windows by time stay whole.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Iterable
from typing import Final

MIN_RR_MS: Final = 300.0
MAX_RR_MS: Final = 2000.0

_ALPHA: Final = 5.2  # threshold multiplier on the quartile deviation
_C1: Final = 0.13  # ectopic decision boundary, slope
_C2: Final = 0.17  # ectopic decision boundary, offset
_THRESHOLD_BEATS: Final = 91  # beats the quartile deviations are taken over
_MEDIAN_BEATS: Final = 11  # beats the reference median is taken over
_WARMUP_BEATS: Final = 15  # fewer differences than this: no detection yet
# Floors on the thresholds: in very regular stretches (low HRV, QD near 0) a change of a few
# per cent of the interval is still a normal beat, never an artifact.
_MIN_THRESHOLD_MS: Final = 10.0
_MIN_THRESHOLD_SHARE: Final = 0.1
LOOKAHEAD_BEATS: Final = 2
_PATTERN_TOLERANCE: Final = 0.25  # missed/extra: sums within this share of the median
#: An interval whose end comes later than this many of its own lengths after the previous
#: interval's end does not follow it: beats were skipped in between (a wrist PPG sensor reports
#: only the intervals it is sure of), so the two give no successive difference. 1.5 leaves room
#: for the jitter of back-computed BLE times and catches a single skipped beat (2 lengths).
_CONTIGUOUS_SPAN: Final = 1.5


#: One cleaned interval: ``(time, rr_ms, corrected, follows_clean)``, the interval ending at
#: ``time``. ``corrected`` beats were made up or changed by the correction; ``follows_clean``
#: is true when the previous beat is a clean beat of the same unbroken run, so the successive
#: difference between them is a real one (RMSSD and pNN50 use only those). A plain tuple,
#: unpacked (or read by the indices below) where it is read: one is made per beat, and a named
#: tuple costs several times as much to make, and a field read by name more than an index.
Beat = tuple[float, float, bool, bool]
BEAT_TIME: Final = 0
BEAT_RR_MS: Final = 1
BEAT_CORRECTED: Final = 2
BEAT_FOLLOWS_CLEAN: Final = 3


class _RollingSorted:
    """The last ``size`` values, also kept sorted in ``values`` (an O(size) memmove at C
    speed), so the quartiles and median of a sliding window cost no sort per beat (the
    cleaner reads the median from ``values`` itself)."""

    __slots__ = ("_order", "_size", "values")

    def __init__(self, size: int) -> None:
        self._size = size
        self._order: deque[float] = deque()
        self.values: list[float] = []

    def add(self, value: float) -> None:
        if len(self._order) == self._size:
            old = self._order.popleft()
            del self.values[bisect.bisect_left(self.values, old)]
        self._order.append(value)
        bisect.insort(self.values, value)

    def quartile_deviation(self) -> float:
        """Half the interquartile range; quartiles interpolated linearly, as numpy and pandas
        compute them (written out: this runs twice per beat)."""
        values = self.values
        last = len(values) - 1
        if last < 0:
            return 0.0
        q1_at, q3_at = last * 0.25, last * 0.75
        low1, low3 = int(q1_at), int(q3_at)
        high1 = low1 + 1 if low1 < last else last
        high3 = low3 + 1 if low3 < last else last
        q1 = values[low1] + (values[high1] - values[low1]) * (q1_at - low1)
        q3 = values[low3] + (values[high3] - values[low3]) * (q3_at - low3)
        return (q3 - q1) / 2


def _median_of(values: Iterable[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


#: A raw interval waiting for its look-ahead: ``(time, rr_ms, after_gap)``, ``after_gap`` when
#: beats were skipped before it (sparse sources). A plain tuple, one per beat: a named tuple
#: costs several times as much to make, and its fields to read.
_Raw = tuple[float, float, bool]
_RR_MS: Final = 1  # a raw interval's rr_ms in its tuple

_insort: Final = bisect.insort
_bisect_left: Final = bisect.bisect_left


class BeatCleaner:
    """Feed raw intervals with ``add``; it returns the beats it has settled on (0 to several).

    Counts what it did in ``corrections`` (missed, extra, ectopic, long_short,
    out_of_range) for diagnostics.
    """

    def __init__(self, gap_s: float = 5.0) -> None:
        self.gap_s = gap_s
        self._pending: list[_Raw] = []
        self._abs_drr = _RollingSorted(_THRESHOLD_BEATS)
        self._abs_mrr = _RollingSorted(_THRESHOLD_BEATS)
        self._recent_out = _RollingSorted(_MEDIAN_BEATS)
        self._last_out_rr: float | None = None
        self._last_out_clean = False
        self._last_time: float | None = None
        self._fragment_ms = 0.0
        self.corrections: dict[str, int] = {
            "missed": 0,
            "extra": 0,
            "ectopic": 0,
            "long_short": 0,
            "out_of_range": 0,
        }

    def add(self, time: float, rr_ms: float) -> list[Beat]:
        """Take one raw interval ending at ``time``; return the beats now settled."""
        out: list[Beat] = []
        last_time = self._last_time
        since_s = 0.0 if last_time is None else time - last_time
        if last_time is not None and since_s > self.gap_s + rr_ms / 1000:
            out.extend(self.flush())
        # (float constants here and below: an int beside a float is not a specialised operation)
        after_gap = last_time is not None and since_s * 1000.0 > _CONTIGUOUS_SPAN * rr_ms
        self._last_time = time
        if rr_ms != rr_ms or rr_ms <= 0:
            self.corrections["out_of_range"] += 1
            return out
        if self._fragment_ms:
            # The previous interval was too short to be a beat (an extra detection, such as a
            # T wave): it belongs to this one.
            rr_ms += self._fragment_ms
            self._fragment_ms = 0.0
            self.corrections["extra"] += 1
        if rr_ms < MIN_RR_MS:
            self._fragment_ms = rr_ms
            return out
        if rr_ms > MAX_RR_MS:
            # Longer than any heartbeat: lost beats or a pause; break the run of beats.
            self.corrections["out_of_range"] += 1
            out.extend(self.flush())
            return out
        pending = self._pending
        pending.append((time, rr_ms, after_gap))
        if len(self._abs_drr.values) < _WARMUP_BEATS:
            if len(pending) < _WARMUP_BEATS + LOOKAHEAD_BEATS:
                return out  # the first beats wait until thresholds can be set from them
            self._prime()
        elif len(pending) == LOOKAHEAD_BEATS + 1 and self._settled_usual(pending, out):
            return out
        while len(pending) > LOOKAHEAD_BEATS:
            self._settle_first(out)
        return out

    @property
    def pending(self) -> int:
        """Beats received but not settled yet (waiting for their look-ahead)."""
        return len(self._pending)

    def flush(self) -> list[Beat]:
        """Settle what is pending without look-ahead and start a new run (after a gap)."""
        out: list[Beat] = []
        while self._pending:
            self._settle_first(out)
        self._last_out_rr = None
        self._last_out_clean = False
        self._fragment_ms = 0.0
        return out

    # -- detection -------------------------------------------------------------------------

    def _prime(self) -> None:
        """Set the thresholds from the first beats of a stream (a centred start)."""
        values = [rr_ms for _, rr_ms, _ in self._pending]
        median = _median_of(values)
        for a, b in itertools.pairwise(values):
            self._abs_drr.add(abs(b - a))
        for value in values:
            deviation = value - median
            self._abs_mrr.add(abs(2 * deviation if deviation < 0 else deviation))
        self._recent_out.add(median)

    def _settled_usual(self, pending: list[_Raw], out: list[Beat]) -> bool:
        """Settle the oldest pending beat when it is the usual one (True): its look-ahead is
        here and both its differences are within the thresholds, so no ectopic pair starts
        at it (that needs |d1| > 1) and what `_classify` would call normal. Written out,
        with the three rolling windows' `add` inline: this runs for nearly every beat.
        False: nothing done, `_settle_first` decides."""
        time, rr_ms, after_gap = pending[0]
        recent = self._recent_out
        values = recent.values  # the median of the recent beats, written out
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        last_out_rr = self._last_out_rr
        drr = rr_ms - (last_out_rr if last_out_rr is not None else median)
        next_drr = pending[1][_RR_MS] - rr_ms
        # `max` of two, written out here and below (a builtin call costs more than the test)
        floor = _MIN_THRESHOLD_SHARE * median
        floor = floor if floor > _MIN_THRESHOLD_MS else _MIN_THRESHOLD_MS
        abs_drr = self._abs_drr
        # Differences within the floor are within th1 (never below the floor) whatever the
        # quartiles, and so are their quotients (division rounds monotonically): the
        # quartile deviation is worked out only when a difference is larger.
        if not (-floor <= drr <= floor and -floor <= next_drr <= floor):
            th1 = _ALPHA * abs_drr.quartile_deviation()
            th1 = floor if floor > th1 else th1
            d0, d1 = drr / th1, next_drr / th1
            if not (-1.0 <= d0 <= 1.0 and -1.0 <= d1 <= 1.0):
                return False
        mrr = rr_ms - median
        mrr = 2.0 * mrr if mrr < 0.0 else mrr
        # `add` of the three rolling windows (the thresholds' and the median's), written out
        insort, bisect_left = _insort, _bisect_left
        order, ordered, value = abs_drr._order, abs_drr.values, abs(drr)
        if len(order) == _THRESHOLD_BEATS:
            del ordered[bisect_left(ordered, order.popleft())]
        order.append(value)
        insort(ordered, value)
        mrr_window = self._abs_mrr
        order, ordered, value = mrr_window._order, mrr_window.values, abs(mrr)
        if len(order) == _THRESHOLD_BEATS:
            del ordered[bisect_left(ordered, order.popleft())]
        order.append(value)
        insort(ordered, value)
        order = recent._order
        if len(order) == _MEDIAN_BEATS:
            del values[bisect_left(values, order.popleft())]
        order.append(rr_ms)
        insort(values, rr_ms)
        pending.pop(0)
        # `_emit` of a clean beat
        out.append((time, rr_ms, False, self._last_out_clean and not after_gap))
        self._last_out_rr = rr_ms
        self._last_out_clean = True
        return True

    def _settle_first(self, out: list[Beat]) -> None:
        """Decide on the oldest pending beat (using its look-ahead) and append what it gives."""
        pending = self._pending
        time, rr_ms, after_gap = pending[0]
        if not self._recent_out.values:
            pending.pop(0)
            out.append(self._emit(time, rr_ms, corrected=False, after_gap=after_gap))
            return
        recent = self._recent_out.values  # its median, written out (this runs per beat)
        mid = len(recent) // 2
        median = recent[mid] if len(recent) % 2 else (recent[mid - 1] + recent[mid]) / 2
        prev = self._last_out_rr if self._last_out_rr is not None else median
        drr = rr_ms - prev
        mrr = rr_ms - median
        mrr = 2 * mrr if mrr < 0 else mrr
        abs_drr, abs_mrr = self._abs_drr, self._abs_mrr
        ready = len(abs_drr.values) >= _WARMUP_BEATS
        floor = max(_MIN_THRESHOLD_MS, _MIN_THRESHOLD_SHARE * median)
        th1 = max(_ALPHA * abs_drr.quartile_deviation(), floor)
        th2 = max(_ALPHA * abs_mrr.quartile_deviation(), floor)
        abs_drr.add(abs(drr))
        abs_mrr.add(abs(mrr))
        if not ready:
            pending.pop(0)
            out.append(self._emit(time, rr_ms, corrected=False, after_gap=after_gap))
            return
        # Normalised successive differences: d[0] is this beat's, then its look-ahead's.
        if len(pending) == LOOKAHEAD_BEATS + 1:
            second_rr, third_rr = pending[1][_RR_MS], pending[2][_RR_MS]
            d = [drr / th1, (second_rr - rr_ms) / th1, (third_rr - second_rr) / th1]
        else:
            d = [drr / th1]
            for i in range(1, len(pending)):
                d.append((pending[i][_RR_MS] - pending[i - 1][_RR_MS]) / th1)
        kind = self._classify(d, mrr / th2, rr_ms, median, th2)
        if kind == "normal":
            pending.pop(0)
            out.append(self._emit(time, rr_ms, False, after_gap))
        else:
            self._correct(kind, median, out)

    def _classify(self, d: list[float], m: float, rr_ms: float, median: float, th2: float) -> str:
        d0 = d[0]
        d1 = d[1] if len(d) > 1 else 0.0
        d2 = d[2] if len(d) > 2 else 0.0
        # Ectopic pair: the next beat meets Lipponen & Tarvainen's ectopic rule (its s12 uses
        # this beat and the one after) and this beat jumped the other way: a premature beat
        # and its compensatory pause (or the reverse), corrected as a pair.
        if len(d) > 2:
            s12_next = max(d0, d2) if d1 > 0 else min(d0, d2)
            next_ectopic = (d1 > 1 and s12_next < -_C1 * d1 - _C2) or (
                d1 < -1 and s12_next > -_C1 * d1 + _C2
            )
            if next_ectopic and d0 * d1 < 0 and not self._next_is_missed(rr_ms, median, th2):
                return "ectopic"
        if abs(d0) <= 1:
            return "normal"
        s22 = min(d1, d2) if d0 >= 0 else max(d1, d2)
        long_beat = d0 > 1 and s22 < -1
        short_beat = d0 < -1 and s22 > 1
        # The missed/extra tests use the smaller of th2 and a quarter of the median: with
        # trailing (not centred) thresholds th2 alone lets long respiratory beats pass as missed.
        tolerance = min(th2, _PATTERN_TOLERANCE * median)
        following = self._pending[1][_RR_MS] if len(self._pending) > 1 else None
        if short_beat and following is not None and abs(rr_ms + following - median) < tolerance:
            return "extra"
        if long_beat and abs(rr_ms / 2 - median) < tolerance:
            return "missed"
        # A long or short beat that fits no pattern is corrected only when it is far from the
        # local median (|mRR| > 3): in high-HRV people long respiratory beats pass the dRR
        # tests alone, and replacing them biases RMSSD down (see docs/signals.md).
        if abs(m) > 3:
            return "long_short"
        return "normal"

    def _next_is_missed(self, rr_ms: float, median: float, th2: float) -> bool:
        """The next interval is two beats long and this one is no early beat: the pattern
        looks ectopic to the s12 rule, but it is a missed beat after an ordinary one."""
        following = self._pending[1][_RR_MS]
        tolerance = min(th2, _PATTERN_TOLERANCE * median)
        next_missed = abs(following / 2 - median) < tolerance
        pair_fits = abs(rr_ms + following - 2 * median) < tolerance
        return next_missed and not pair_fits

    # -- correction ------------------------------------------------------------------------

    def _correct(self, kind: str, median: float, out: list[Beat]) -> None:
        pending = self._pending
        time, rr_ms, after_gap = pending.pop(0)
        if kind == "normal":
            out.append(self._emit(time, rr_ms, corrected=False, after_gap=after_gap))
            return
        self.corrections[kind] += 1
        if kind == "ectopic":
            second_time, second_rr, _ = pending.pop(0)
            even = (rr_ms + second_rr) / 2
            out.append(self._emit(time, even, corrected=True))
            out.append(self._emit(second_time, even, corrected=True))
        elif kind == "extra":
            second_time, second_rr, _ = pending.pop(0)
            out.append(self._emit(second_time, rr_ms + second_rr, corrected=True))
        elif kind == "missed":
            parts = max(2, round(rr_ms / median))
            each = rr_ms / parts
            out.extend(
                self._emit(time - (parts - 1 - k) * each / 1000, each, corrected=True)
                for k in range(parts)
            )
        else:
            # long_short: an implausible interval that fits no pattern; the local median
            # stands in.
            out.append(self._emit(time, median, corrected=True))

    def _emit(self, time: float, rr_ms: float, corrected: bool, after_gap: bool = False) -> Beat:
        follows_clean = self._last_out_clean and not corrected and not after_gap
        beat: Beat = (time, rr_ms, corrected, follows_clean)
        self._last_out_rr = rr_ms
        self._last_out_clean = not corrected
        self._recent_out.add(rr_ms)
        return beat
