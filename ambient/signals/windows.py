"""HRV over a sliding window of beats by time, updated in amortised O(1) per beat.

Running sums give mean HR, SDNN, RMSSD and pNN50; monotonic deques give the range and a
50 ms histogram gives the mode for Baevsky's stress index. Sums are rebuilt from the beats
each time the window has turned over once, so float drift never builds up (still O(1)
amortised). Memory is bounded by the beats in one window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ambient.signals.beats import Beat

_BIN_MS: Final = 50.0  # Baevsky histogram bin width
_MIN_STRESS_INDEX_WINDOW_S: Final = 120.0
_NN50_MS: Final = 50.0


@dataclass(frozen=True, slots=True)
class WindowStats:
    """HRV of one window; a field is None when the window cannot give it."""

    beats: int
    hr: float | None
    mean_rr_ms: float | None
    rmssd: float | None
    ln_rmssd: float | None
    sdnn: float | None
    pnn50: float | None
    stress_index: float | None
    quality: float  # share of the window covered by clean beats, 0-1
    corrected: float  # share of beats that were corrected, 0-1


class BeatWindow:
    """The beats of the last ``length_s`` seconds (ending at the newest beat)."""

    def __init__(self, length_s: float) -> None:
        self.length_s = length_s
        self._beats: deque[Beat] = deque()
        self._diffs_ms: deque[float | None] = deque()  # each beat's successive difference
        self._min: deque[Beat] = deque()
        self._max: deque[Beat] = deque()
        self._bins: dict[int, int] = {}
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
        return self._beats[-1].time if self._beats else None

    def add(self, beat: Beat, previous_rr_ms: float | None) -> None:
        """Add ``beat``; ``previous_rr_ms`` is the beat before it, for its difference."""
        diff = None
        if beat.follows_clean and previous_rr_ms is not None:
            diff = beat.rr_ms - previous_rr_ms
        self._beats.append(beat)
        self._diffs_ms.append(diff)
        self._count_in(beat, diff)
        while self._min and self._min[-1].rr_ms >= beat.rr_ms:
            self._min.pop()
        self._min.append(beat)
        while self._max and self._max[-1].rr_ms <= beat.rr_ms:
            self._max.pop()
        self._max.append(beat)
        key = int(beat.rr_ms // _BIN_MS)
        self._bins[key] = self._bins.get(key, 0) + 1
        self.expire(beat.time)

    def expire(self, now: float) -> None:
        """Drop beats that ended more than ``length_s`` before ``now``."""
        start = now - self.length_s
        beats = self._beats
        while beats and beats[0].time <= start:
            old = beats.popleft()
            self._count_out(old, self._diffs_ms.popleft())
            if self._min and self._min[0] is old:
                self._min.popleft()
            if self._max and self._max[0] is old:
                self._max.popleft()
            key = int(old.rr_ms // _BIN_MS)
            left = self._bins[key] - 1
            if left:
                self._bins[key] = left
            else:
                del self._bins[key]
            self._since_rebuild += 1
        if self._since_rebuild > len(beats) + 16:
            self._rebuild()

    def clear(self) -> None:
        self._beats.clear()
        self._min.clear()
        self._max.clear()
        self._bins.clear()
        self._diffs_ms.clear()
        self._reset_sums()

    def _count_in(self, beat: Beat, diff: float | None) -> None:
        self._sum_rr += beat.rr_ms
        self._sum_rr2 += beat.rr_ms * beat.rr_ms
        if beat.corrected:
            self._corrected += 1
        else:
            self._clean_ms += beat.rr_ms
        if diff is not None:
            self._diffs += 1
            self._sum_d2 += diff * diff
            if abs(diff) > _NN50_MS:
                self._nn50 += 1

    def _count_out(self, beat: Beat, diff: float | None) -> None:
        self._sum_rr -= beat.rr_ms
        self._sum_rr2 -= beat.rr_ms * beat.rr_ms
        if beat.corrected:
            self._corrected -= 1
        else:
            self._clean_ms -= beat.rr_ms
        if diff is not None:
            self._diffs -= 1
            self._sum_d2 -= diff * diff
            if abs(diff) > _NN50_MS:
                self._nn50 -= 1

    def _rebuild(self) -> None:
        self._reset_sums()
        for beat, diff in zip(self._beats, self._diffs_ms, strict=True):
            self._count_in(beat, diff)
        self._since_rebuild = 0

    def stats(self, now: float | None = None) -> WindowStats:
        """The window's HRV as of ``now`` (default: its newest beat)."""
        if now is not None:
            self.expire(now)
        return _stats(
            n=len(self._beats),
            sum_rr=self._sum_rr,
            sum_rr2=self._sum_rr2,
            clean_ms=self._clean_ms,
            corrected=self._corrected,
            diffs=self._diffs,
            sum_d2=self._sum_d2,
            nn50=self._nn50,
            rr_range_ms=(self._max[0].rr_ms - self._min[0].rr_ms) if self._beats else 0.0,
            bins=self._bins,
            length_s=self.length_s,
        )


def _stats(
    *,
    n: int,
    sum_rr: float,
    sum_rr2: float,
    clean_ms: float,
    corrected: int,
    diffs: int,
    sum_d2: float,
    nn50: int,
    rr_range_ms: float,
    bins: dict[int, int],
    length_s: float,
) -> WindowStats:
    quality = min(1.0, max(0.0, clean_ms / (length_s * 1000)))
    corrected_share = corrected / n if n else 0.0
    if n == 0:
        return WindowStats(0, None, None, None, None, None, None, None, quality, 0.0)
    mean_rr = sum_rr / n
    hr = 60000.0 / mean_rr
    sdnn = math.sqrt(max(0.0, (sum_rr2 - n * mean_rr * mean_rr) / (n - 1))) if n > 1 else None
    rmssd = math.sqrt(max(0.0, sum_d2 / diffs)) if diffs else None
    ln_rmssd = math.log(rmssd) if rmssd else None
    pnn50 = 100.0 * nn50 / diffs if diffs else None
    stress_index = None
    if length_s >= _MIN_STRESS_INDEX_WINDOW_S and rr_range_ms > 0:
        mode_bin, mode_count = max(bins.items(), key=lambda item: (item[1], -item[0]))
        mode_s = (mode_bin * _BIN_MS + _BIN_MS / 2) / 1000
        amplitude_pct = 100.0 * mode_count / n
        stress_index = amplitude_pct / (2 * mode_s * rr_range_ms / 1000)
    return WindowStats(
        n, hr, mean_rr, rmssd, ln_rmssd, sdnn, pnn50, stress_index, quality, corrected_share
    )


def stats_of(beats: Iterable[Beat], length_s: float) -> WindowStats:
    """HRV of a finished set of beats (``ambient analyze``, and a check on the sliding one)."""
    window = BeatWindow(float("inf"))
    previous: float | None = None
    for beat in beats:
        window.add(beat, previous)
        previous = beat.rr_ms
    window.length_s = length_s
    return window.stats()
