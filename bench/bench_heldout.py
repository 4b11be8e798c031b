"""Per-person stress statistics on the real wrist data, held out: each figure worked out per
second from a person's own watch (heart rate, beat intervals, movement), fired when it stays
above a threshold for 60 s (rearmed below it), scored with the definitions of `ambient
evaluate`, and its threshold chosen on 5 people and tested on the other 5, for every one of the
252 ways to take 5 of the 10. Prints the table of docs/signals.md ("Evaluation on real wrist
data"), and the tasks each statistic finds per task type.

    python bench/bench_heldout.py [--only NAME ...] [--causal]

Definitions (the replay of docs/signals.md, made explicit):

- One value per whole second t, from the data up to t; "the last 60 s" is (t − 60, t]. The
  watch's ``hr`` (1 Hz) and ``movement`` (g, 1 Hz) are read as they come; an interval (``rr``,
  ms) belongs to the second of its beat and covers the time from the beat before. One
  exception, kept from the first replay: a figure against the person's minutes 1–5 (or 0–5)
  has that reference from the first second, before those minutes have passed, which a live
  system cannot; ``--causal`` leaves such a figure unknown until its reference is known.
- A threshold fires when the figure is above it (strictly) for 60 s without a gap (an unknown
  second breaks the hold) and rearms when it is not above it any more. Found, false alarms
  and calm hours are those of :mod:`ambient.evaluate.scoring` (``score``, ``total``), with
  the labels fitted to the recording as `ambient evaluate` fits them.
- All 10 in hindsight: the most tasks found by any threshold of the grid with at most 0.5
  (1.02) false alarms per calm hour over all ten; "none" when no threshold gets there.
- Held out: on each 5, the threshold with the most tasks found at ≤ 0.5 false alarms per calm
  hour (ties: fewer false alarms, then the lower threshold), or with the fewest false alarms
  when none gets there; scored on the other 5. Reported: the mean share found (range), the
  mean false alarms per calm hour of the held-out halves, and the share of splits whose
  held-out half meets both targets (≥ 60 % found, ≤ 0.5 per calm hour).
- Thresholds: z scores −1 to 10 in steps of 0.05; shares and ranks 0 to 1 in steps of 0.01;
  the CUSUM's h 0.5 to 200 in steps of 0.5.

New statistics (none in ambient itself): additional HR, coverage-weighted HR, its rank among
learnt calm minutes (and the watch HR's), a Stouffer fusion, and two controls silent for the
first 15 minutes. Then phasic HR — the 60 s mean HR less its own trailing 15-min median, in
the person's own minute-to-minute noise learnt as the data come — held for 60 s or summed by
a CUSUM, and the agreement of two views of the heart (the watch's HR and the HR of its
intervals, each phasic). These need no first minutes, so ``--causal`` leaves them as they
are. Last, the shape of the intervals rather than their level: pNN50 and the Poincaré ratio
SD1/SD2 over the successive pairs of the last 60 s (or 120 s) the watch kept (at least 10 per
minute), as a z against the person's calm learnt as the data come (minutes 1–5, then every
quiet minute with nothing unusual), falling as physiology predicts, once only while still,
and rising as controls. After the tables, the per-person ceiling of each row. Stdlib only,
deterministic; under a minute on one core.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ambient.config import load_config
from ambient.evaluate.run import evaluate, fitted_to_recording
from ambient.evaluate.scoring import (
    FOUND_AFTER_END_S,
    HOUR_S,
    DetectionScore,
    calm_spans,
    score,
    total,
)
from ambient.labels import Labels, load_labels_file
from ambient.readings import HR, RR
from ambient.recordings import load_recording

ROOT = Path(__file__).resolve().parent.parent
STRESS_PREDICT = ROOT / "bench" / "data" / "stress-predict"
WATCH_CONFIG = ROOT / "config" / "ambient.watch.example.yaml"
PERSON = "alex"
MOVEMENT = "movement"

WINDOW_S = 60
HOLD_S = 60
#: The person's own quiet minutes: minutes 1–5 (the first has no full 60 s window yet).
QUIET_S = (60, 300)
MAD_TO_SD = 1.4826
#: The steepest HR rise per g of movement (60 s means) the additional-HR fit may keep: walking
#: (0.2–0.3 g on the wrist) adds some 20–40 bpm.
MAX_SLOPE = 150.0
TRAIN_SIZE = 5
#: The controls' silence: the ranks cannot reach 0.92 before 12 calm minutes are learnt.
CONTROL_SILENT_S = 900
FOUND_TARGET = 0.6
FALSE_ALARMS_TARGET = 0.5
#: The watch rule's false alarms per calm hour on all ten, the second hindsight column.
WATCH_FALSE_ALARMS = 1.02

Series = list[float | None]

Z_GRID = tuple(round(-1 + 0.05 * i, 2) for i in range(221))
#: The CUSUM's h: its sum grows by up to x − k every 10 s.
CUSUM_GRID = tuple(0.5 * i for i in range(1, 401))
#: A rise in bpm: 0 to 30 in steps of 0.1.
BPM_GRID = tuple(round(0.1 * i, 1) for i in range(301))
SHARE_GRID = tuple(round(0.01 * i, 2) for i in range(101))


@dataclass(frozen=True)
class Person:
    """One recording on a 1 s grid (index = seconds from the start)."""

    name: str
    labels: Labels
    end_s: float
    hr: Series
    movement: Series
    #: (beat time in s, interval in ms), in time order.
    beats: list[tuple[float, float]]

    @property
    def seconds(self) -> int:
        return len(self.hr)


def load_people(folder: Path = STRESS_PREDICT) -> list[Person]:
    """The recordings and their labels, read with ambient's own readers."""
    by_subject = load_labels_file(folder / "labels.jsonl")
    people = []
    for path in sorted(folder.glob("S*.csv")):
        recording = load_recording(path, PERSON)
        last_s = recording.readings[-1].time
        labels = fitted_to_recording(by_subject[path.stem], last_s, path.name)
        length = math.ceil(last_s) + 1
        hr: Series = [None] * length
        movement: Series = [None] * length
        beats = []
        for reading in recording.readings:
            if reading.metric == HR:
                hr[math.ceil(reading.time)] = reading.value  # known from that second on
            elif reading.metric == MOVEMENT:
                movement[math.ceil(reading.time)] = reading.value
            elif reading.metric == RR:
                beats.append((reading.time, reading.value))
        end_s = labels.end if labels.end is not None else last_s
        people.append(Person(path.stem, labels, end_s, hr, movement, beats))
    return people


# -- figures per second -----------------------------------------------------------------------


def trailing_mean(values: Series, window: int = WINDOW_S) -> Series:
    """The mean of the known values of the last ``window`` seconds (unknown when none)."""
    out: Series = []
    total_, count = 0.0, 0
    for i, value in enumerate(values):
        if value is not None:
            total_ += value
            count += 1
        if i >= window and (old := values[i - window]) is not None:
            total_ -= old
            count -= 1
        out.append(total_ / count if count else None)
    return out


def centre_spread(values: Iterable[float | None], floor: float) -> tuple[float, float]:
    """Median and robust SD (1.4826 × MAD, at least ``floor``) of the known values."""
    known = [v for v in values if v is not None]
    centre = statistics.median(known)
    spread = MAD_TO_SD * statistics.median(abs(v - centre) for v in known)
    return centre, max(spread, floor)


def z_against(values: Series, centre: float, spread: float) -> Series:
    return [None if v is None else (v - centre) / spread for v in values]


def quiet(values: Series) -> Series:
    return values[QUIET_S[0] : QUIET_S[1]]


def silent_until(values: Series, start_s: int) -> Series:
    """``values`` unknown before ``start_s``: a control for a figure that cannot fire early."""
    return [None if t < start_s else v for t, v in enumerate(values)]


def gated(values: Series, keep: Sequence[bool]) -> Series:
    """``values`` where ``keep`` is true (unknown elsewhere)."""
    return [v if k else None for v, k in zip(values, keep, strict=True)]


@dataclass(frozen=True)
class Intervals:
    """Per second, from the beats of the last 60 s: their share of the window, their number
    and their mean as a heart rate (unknown without any)."""

    coverage: list[float]
    count: list[int]
    hr: Series


def intervals(person: Person, window: int = WINDOW_S) -> Intervals:
    coverage, count, hr = [], [], []
    beats = person.beats
    first = 0
    for t in range(person.seconds):
        start = t - window
        while first < len(beats) and beats[first][0] <= start:
            first += 1
        covered, total_ms, n = 0.0, 0.0, 0
        i = first
        while i < len(beats) and beats[i][0] <= t:
            beat_s, interval_ms = beats[i]
            covered += max(0.0, beat_s - max(beat_s - interval_ms / 1000, start))
            total_ms += interval_ms
            n += 1
            i += 1
        coverage.append(min(1.0, covered / window))
        count.append(n)
        hr.append(60000.0 / (total_ms / n) if n else None)
    return Intervals(coverage, count, hr)


def robust_spread_z(person: Person, spread_bpm: float | None = None) -> Series:
    """60 s mean HR against the median of minutes 1–5, in their robust SD (≥ 2 bpm), or in
    ``spread_bpm``; averaged over 60 s."""
    mean_hr = trailing_mean(person.hr)
    centre, spread = centre_spread(quiet(person.hr), 2.0)
    return trailing_mean(z_against(mean_hr, centre, spread_bpm or spread))


def still_z(person: Person) -> Series:
    """The robust-spread z while the 60 s mean movement is below 0.03 g (seated)."""
    movement = trailing_mean(person.movement)
    still = [m is not None and m < 0.03 for m in movement]
    return gated(robust_spread_z(person), still)


def onset_z(person: Person, history_s: int) -> Series:
    """The 60 s mean HR against the median of the 60 s means from ``history_s`` ago to 60 s
    ago, in their robust SD (≥ 2 bpm), once there are 5 minutes of them."""
    mean_hr = trailing_mean(person.hr)
    out: Series = []
    for t, value in enumerate(mean_hr):
        start, end = max(0, t - history_s), t - WINDOW_S
        if value is None or end - start < 300:
            out.append(None)
            continue
        recent = mean_hr[start : end + 1]
        if not any(v is not None for v in recent):
            out.append(None)
            continue
        centre, spread = centre_spread(recent, 2.0)
        out.append((value - centre) / spread)
    return out


#: The CUSUM's step, its allowance (k) and the reference's history and gap.
CUSUM_STEP_S, CUSUM_ALLOWANCE = 10, 0.5
CUSUM_HISTORY_S, CUSUM_GAP_S = 1200, 120


def cusum_steps(person: Person) -> Series:
    """Every 10 s, x = (30 s mean HR − the median HR of the 20 minutes ending 2 minutes ago)
    / max(its robust SD, 3 bpm), once there are 5 minutes of them; unknown between."""
    mean_hr = trailing_mean(person.hr, 30)
    out: Series = [None] * person.seconds
    for t in range(0, person.seconds, CUSUM_STEP_S):
        start, end = max(0, t - CUSUM_GAP_S - CUSUM_HISTORY_S), t - CUSUM_GAP_S
        recent = [v for v in person.hr[start:end] if v is not None] if end > start else []
        if mean_hr[t] is None or len(recent) < 300:
            continue
        centre, spread = centre_spread(recent, 3.0)
        out[t] = ((mean_hr[t] or 0.0) - centre) / spread
    return out


def cusum_firings(steps: Series, threshold: float) -> list[float]:
    """One-sided CUSUM (Page 1954): S = max(0, S + x − k); fires at S ≥ h and restarts."""
    fired: list[float] = []
    total_ = 0.0
    for t, x in enumerate(steps):
        if x is None:
            continue
        total_ = max(0.0, total_ + x - CUSUM_ALLOWANCE)
        if total_ >= threshold:
            fired.append(float(t))
            total_ = 0.0
    return fired


def missing_beats(person: Person) -> Series:
    """1 − the share of the last 60 s covered by intervals."""
    return [1.0 - c for c in intervals(person).coverage]


def interval_hr_z(person: Person) -> Series:
    """HR from the mean of the last 60 s of intervals when there are at least 20 (else
    unknown), against the median of the watch's HR in minutes 0–5, SD 5 bpm."""
    of = intervals(person)
    centre = statistics.median(v for v in person.hr[: QUIET_S[1] + 1] if v is not None)
    hr = [h if n >= 20 else None for h, n in zip(of.hr, of.count, strict=True)]
    return z_against(hr, centre, 5.0)


# -- new statistics ---------------------------------------------------------------------------


def solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """``matrix`` x = ``vector`` by Gaussian elimination with partial pivoting (None when
    singular)."""
    size = len(vector)
    rows = [[*matrix[i], vector[i]] for i in range(size)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) < 1e-12:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][size] / rows[i][i] for i in range(size)]


def huber_fit(xs: Sequence[Sequence[float]], ys: Sequence[float], rounds: int = 50) -> list[float]:
    """Intercept and slopes of a Huber regression (k = 1.345 robust SDs; Huber 1964), by
    iteratively reweighted least squares."""
    weights = [1.0] * len(ys)
    coefficients = [statistics.median(ys)] + [0.0] * len(xs[0])
    for _ in range(rounds):
        design = [[1.0, *x] for x in xs]
        size = len(design[0])
        matrix = [
            [
                sum(w * d[i] * d[j] for w, d in zip(weights, design, strict=True))
                for j in range(size)
            ]
            for i in range(size)
        ]
        vector = [
            sum(w * d[i] * y for w, d, y in zip(weights, design, ys, strict=True))
            for i in range(size)
        ]
        solved = solve(matrix, vector)
        if solved is None:
            break
        coefficients = solved
        residuals = [
            y - sum(c * v for c, v in zip(coefficients, d, strict=True))
            for d, y in zip(design, ys, strict=True)
        ]
        scale = max(MAD_TO_SD * statistics.median(abs(r) for r in residuals), 1e-6)
        cut = 1.345 * scale
        weights = [1.0 if abs(r) <= cut else cut / abs(r) for r in residuals]
    return coefficients


def additional_hr(person: Person) -> Series:
    """Additional heart rate (Blix et al. 1974; Myrtek et al. 2004): the 60 s mean HR less
    what movement explains, from a robust fit of HR on the 60 s mean movement now and a
    minute before over minutes 1–5. Seated minutes hardly vary movement, so each slope is
    kept within 0 (moving does not slow the heart) and ``MAX_SLOPE``, and the intercept is
    the median of what is left."""
    hr = trailing_mean(person.hr)
    movement = trailing_mean(person.movement)
    before: Series = [None] * WINDOW_S
    before += movement[:-WINDOW_S]
    now_before = [m if b is None else b for m, b in zip(movement, before, strict=True)]
    fit = [
        (m, b, h)
        for m, b, h in zip(quiet(movement), quiet(now_before), quiet(hr), strict=True)
        if m is not None and b is not None and h is not None
    ]
    _, *slopes = huber_fit([(m, b) for m, b, _ in fit], [h for _, _, h in fit])
    now_slope, before_slope = (min(max(s, 0.0), MAX_SLOPE) for s in slopes)
    intercept = statistics.median(h - now_slope * m - before_slope * b for m, b, h in fit)
    return [
        None
        if h is None or m is None or b is None
        else h - intercept - now_slope * m - before_slope * b
        for h, m, b in zip(hr, movement, now_before, strict=True)
    ]


def additional_hr_z(person: Person) -> Series:
    """Additional HR in its robust SD over minutes 1–5 (≥ 2 bpm), averaged over 60 s."""
    residual = additional_hr(person)
    _, spread = centre_spread(quiet(residual), 2.0)
    return trailing_mean([None if r is None else r / spread for r in residual])


def coverage_weighted_hr(person: Person) -> Series:
    """Per second, the 60 s HR from the watch's own intervals weighted by their share of the
    window, and the watch's 60 s mean HR by the rest: the watch's HR is least accurate
    exactly when intervals are missing."""
    of = intervals(person)
    watch = trailing_mean(person.hr)
    return [
        w if h is None else h if w is None else c * h + (1 - c) * w
        for h, w, c in zip(of.hr, watch, of.coverage, strict=True)
    ]


def coverage_weighted_z(person: Person) -> Series:
    """The coverage-weighted HR against its own median of minutes 1–5, in their robust SD
    (≥ 2 bpm), averaged over 60 s."""
    hr = coverage_weighted_hr(person)
    centre, spread = centre_spread(quiet(hr), 2.0)
    return trailing_mean(z_against(hr, centre, spread))


def learnt_rank(figure: Series, movement: Series, learn_below: float = 0.75) -> Series:
    """Per second, the percentile rank of ``figure`` among the person's calm minutes so far
    ((below + ½ equal) / (n + 1), so a short history cannot reach a high rank). Learnt: the
    first five whole minutes, then each whole minute whose value ranks below
    ``learn_below`` of those learnt and whose mean movement is below 0.1 g (not active) —
    what a live system would call rest; never the labels."""
    learnt: list[float] = []
    out: Series = []
    for t, value in enumerate(figure):
        rank = None
        if value is not None and learnt:
            below = bisect.bisect_left(learnt, value)
            equal = bisect.bisect_right(learnt, value) - below
            rank = (below + 0.5 * equal) / (len(learnt) + 1)
        out.append(rank)
        if t % WINDOW_S or t < QUIET_S[0] or value is None:
            continue
        active = (movement[t] or 0.0) >= 0.1
        if t <= QUIET_S[1] or (rank is not None and rank < learn_below and not active):
            bisect.insort(learnt, value)
    return out


def hr_rank(person: Person) -> Series:
    """The rank of the 60 s mean HR among the person's calm minutes so far."""
    return learnt_rank(trailing_mean(person.hr), trailing_mean(person.movement))


def coverage_weighted_rank(person: Person, learn_below: float = 0.75) -> Series:
    """The same for the coverage-weighted HR."""
    return learnt_rank(coverage_weighted_hr(person), trailing_mean(person.movement), learn_below)


def correlation(xs: Series, ys: Series) -> float:
    """Pearson's r of the seconds where both are known (0 when either is constant)."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
    if len(pairs) < 3:
        return 0.0
    try:
        return statistics.correlation([x for x, _ in pairs], [y for _, y in pairs])
    except statistics.StatisticsError:
        return 0.0


def stouffer(ranks: Sequence[Series], rho: float) -> Series:
    """Stouffer's combined z of percentile ranks (Stouffer et al. 1949), its variance
    corrected for their correlation ``rho`` (Strube 1985): Σ Φ⁻¹(rank) / √(k + k(k−1)ρ); a
    rank of 0 (below every learnt minute) is read as 0.01, the rank grid's step."""
    normal = statistics.NormalDist()
    k = len(ranks)
    scale = math.sqrt(k + k * (k - 1) * rho)
    out: Series = []
    for values in zip(*ranks, strict=True):
        if any(v is None for v in values):
            out.append(None)
        else:
            out.append(sum(normal.inv_cdf(max(v or 0.0, 0.01)) for v in values) / scale)
    return out


def fused_rank_z(person: Person) -> Series:
    """Stouffer's z of two ranks among learnt calm minutes: the coverage-weighted HR (the
    heart's level, from the beats the watch is sure of) and the additional HR (what movement
    does not explain), their correlation taken over minutes 1–5."""
    movement = trailing_mean(person.movement)
    weighted, additional = coverage_weighted_hr(person), additional_hr(person)
    rho = max(0.0, correlation(quiet(weighted), quiet(additional)))
    return stouffer([learnt_rank(weighted, movement), learnt_rank(additional, movement)], rho)


# -- phasic HR, its own noise, two views --------------------------------------------------------

#: The slow personal trend: the median of the last 15 minutes up to a minute ago, once 5
#: minutes of it are known.
TREND_S, TREND_GAP_S, TREND_LEAST_S = 900, WINDOW_S, 300
#: Minute-to-minute changes needed before the noise is known, and its floor (bpm).
NOISE_LEAST, NOISE_FLOOR = 5, 1.0
#: Intervals in the last 60 s for their HR to count as a second view.
VIEW_LEAST = 10


def trailing_median(
    values: Series, history_s: int = TREND_S, gap_s: int = TREND_GAP_S, least: int = TREND_LEAST_S
) -> Series:
    """Per second t, the median of the known values of (t − ``history_s`` − ``gap_s``,
    t − ``gap_s``] (``history_s`` of them, ending ``gap_s`` ago), once there are ``least`` of
    them: the person's slow trend, the last minute left out so that a rise does not lift its
    own reference."""
    window: list[float] = []
    out: Series = []
    for t in range(len(values)):
        if (t - gap_s) >= 0 and (new := values[t - gap_s]) is not None:
            bisect.insort(window, new)
        if (t - history_s - gap_s) >= 0 and (old := values[t - history_s - gap_s]) is not None:
            del window[bisect.bisect_left(window, old)]
        out.append(sorted_median(window) if len(window) >= least else None)
    return out


def sorted_median(ordered: Sequence[float]) -> float:
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def minute_noise(values: Series, least: int = NOISE_LEAST, floor: float = NOISE_FLOOR) -> Series:
    """Per second, the person's own minute-to-minute noise learnt so far: 1.4826 × the median
    |change| between successive whole-minute values, over √2 — the SD of one value if the
    changes were noise alone. Successive differences hardly see a slow drift (von Neumann
    1941), and the median hardly sees the few minutes a task starts; unknown until ``least``
    changes are known, at least ``floor``."""
    changes: list[float] = []
    previous: float | None = None
    out: Series = []
    for t, value in enumerate(values):
        if t and t % WINDOW_S == 0:
            if value is not None and previous is not None:
                bisect.insort(changes, abs(value - previous))
            previous = value
        known = len(changes) >= least
        out.append(max(floor, MAD_TO_SD * sorted_median(changes) / math.sqrt(2)) if known else None)
    return out


def phasic_z(values: Series, history_s: int = TREND_S) -> Series:
    """``values`` less their own slow trend (a trailing median), in their own minute-to-minute
    noise: a seated task raises HR within minutes, a slow drift does not, and the scale is
    learnt from the person as the data come, not from their first minutes."""
    trend, noise = trailing_median(values, history_s), minute_noise(values)
    return [
        None if v is None or c is None or s is None else (v - c) / s
        for v, c, s in zip(values, trend, noise, strict=True)
    ]


def phasic_hr_z(person: Person, history_s: int = TREND_S) -> Series:
    """The watch's 60 s mean HR as a phasic z."""
    return phasic_z(trailing_mean(person.hr), history_s)


def phasic_hr_bpm(person: Person) -> Series:
    """A control: the watch's 60 s mean HR less its trailing 15-min median, in bpm (no
    noise scale)."""
    hr = trailing_mean(person.hr)
    return [
        None if v is None or c is None else v - c
        for v, c in zip(hr, trailing_median(hr), strict=True)
    ]


def phasic_cusum_steps(person: Person) -> Series:
    """The phasic z once a minute (unknown between): a sequential test on the minute's rise
    above the slow trend in the person's own minute-to-minute noise, for ``cusum_firings``."""
    z = phasic_hr_z(person)
    return [v if t % WINDOW_S == 0 else None for t, v in enumerate(z)]


def interval_view_hr(person: Person) -> Series:
    """HR from the watch's own intervals of the last 60 s when there are at least
    ``VIEW_LEAST`` (else unknown): a second view of the heart, not the watch's estimate."""
    of = intervals(person)
    return [h if n >= VIEW_LEAST else None for h, n in zip(of.hr, of.count, strict=True)]


def agreed_phasic_z(person: Person, alone: bool = False) -> Series:
    """The lower of the two views' phasic z (the watch's HR and its intervals' HR, each
    against its own trend and noise): a rise counts only where both see it. Where the
    intervals are too few, unknown — or, with ``alone``, the watch's view by itself (absence
    is no disagreement)."""
    watch, beats = phasic_hr_z(person), phasic_z(interval_view_hr(person))
    return [
        (w if alone else None) if b is None else None if w is None else min(w, b)
        for w, b in zip(watch, beats, strict=True)
    ]


# -- the intervals' shape: pNN50 and SD1/SD2 ----------------------------------------------------

#: Least successive pairs in a window for its shape to be known: 10 in 60 s, 20 in 120 s.
PAIRS_PER_MINUTE = 10
#: A pair is two successive intervals of 300–2000 ms with no beat left out between them: the
#: second ends at most 1.5 of its own lengths after the first (ambient's rule for sparse sources).
PAIR_RANGE_MS, PAIR_GAP = (300.0, 2000.0), 1.5
#: The learnt calm: known from 60 values (a minute's worth); a later whole minute joins it when
#: its mean movement is below 0.1 g and its median z is within ±2 (nothing unusual either way).
CALM_LEAST, CALM_ACTIVE_G, CALM_USUAL_Z = 60, 0.1, 2.0
#: Floors of the learnt calm's robust SD: a share (pNN50) and a ratio (SD1/SD2).
SHAPE_FLOOR = 0.05
#: Seated: the 60 s mean movement below this is still (as ``still_z``).
STILL_G = 0.03


def successive_pairs(person: Person) -> list[tuple[float, float, float]]:
    """(second beat's time, first interval, second interval) of each pair of successive
    intervals the watch kept: both within 300–2000 ms and none left out between them."""
    low, high = PAIR_RANGE_MS
    return [
        (t1, r0, r1)
        for (t0, r0), (t1, r1) in itertools.pairwise(person.beats)
        if low <= r0 <= high and low <= r1 <= high and t1 - t0 <= PAIR_GAP * r1 / 1000
    ]


def shape(person: Person, window: int, figure: str) -> Series:
    """Per second, the shape of the intervals over the pairs of the last ``window`` s, once
    there are enough of them: ``pnn50`` the share of successive differences above 50 ms,
    ``sd1/sd2`` the Poincaré ratio (SD1: spread across the identity line, the beat-to-beat
    part; SD2: along it, the slower part). Both fall with vagal withdrawal; neither depends on
    the heart's level, only on how the intervals move."""
    pairs = successive_pairs(person)
    times = [t for t, _, _ in pairs]
    least = PAIRS_PER_MINUTE * window // WINDOW_S
    out: Series = []
    for t in range(person.seconds):
        first, last = bisect.bisect_right(times, t - window), bisect.bisect_right(times, t)
        if last - first < least:
            out.append(None)
            continue
        inside = pairs[first:last]
        if figure == "pnn50":
            out.append(sum(1 for _, a, b in inside if abs(b - a) > 50) / len(inside))
            continue
        across = statistics.pstdev([(b - a) / math.sqrt(2) for _, a, b in inside])
        along = statistics.pstdev([(b + a) / math.sqrt(2) for _, a, b in inside])
        out.append(across / along if along > 0 else None)
    return out


def learnt_calm_z(values: Series, movement: Series, floor: float = SHAPE_FLOOR) -> Series:
    """``values`` as a z against the person's own calm learnt as the data come: the median and
    robust SD (1.4826 × MAD, at least ``floor``) of the values of minutes 1–5, then of each
    later whole minute with mean movement below 0.1 g whose median z is within ±2; until
    there are 60 such values every minute not active joins, and the z is unknown. Minutes
    1–5 count from the first second (the look-ahead the reproduced rows have; ``--causal``
    leaves the first 5 minutes unknown)."""
    learnt = [v for v in quiet(values) if v is not None]
    reference = centre_spread(learnt, floor) if len(learnt) >= CALM_LEAST else None
    out: Series = []
    for t, value in enumerate(values):
        if reference is None or value is None:
            out.append(None)
        else:
            out.append((value - reference[0]) / reference[1])
        if t <= QUIET_S[1] or t % WINDOW_S:
            continue
        minute = [v for v in values[t - WINDOW_S + 1 : t + 1] if v is not None]
        if not minute or (movement[t] or 0.0) >= CALM_ACTIVE_G:
            continue
        if reference is not None:
            usual = statistics.median((v - reference[0]) / reference[1] for v in minute)
            if abs(usual) >= CALM_USUAL_Z:
                continue
        learnt += minute
        if len(learnt) >= CALM_LEAST:
            reference = centre_spread(learnt, floor)
    return out


def shape_z(person: Person, window: int, figure: str, falling: bool = True) -> Series:
    """The intervals' shape against the person's learnt calm; ``falling``: the z turned so
    that a fall (vagal withdrawal, the direction physiology predicts for stress) is high."""
    z = learnt_calm_z(shape(person, window, figure), trailing_mean(person.movement))
    return [None if v is None else -v if falling else v for v in z]


def still_shape_z(person: Person, window: int, figure: str) -> Series:
    """The falling shape z only while the 60 s mean movement is below 0.03 g (seated):
    movement adds beat-to-beat noise to a wrist's intervals."""
    movement = trailing_mean(person.movement)
    still = [m is not None and m < STILL_G for m in movement]
    return gated(shape_z(person, window, figure), still)


# -- firing and scoring -----------------------------------------------------------------------


def firings(values: Series, threshold: float, hold_s: int = HOLD_S) -> list[float]:
    """Seconds at which ``values`` has been above ``threshold`` for ``hold_s`` (rearmed when
    it is not above it: below, or unknown)."""
    fired: list[float] = []
    since: int | None = None
    armed = True
    for t, value in enumerate(values):
        if value is None or value <= threshold:
            since, armed = None, True
            continue
        if since is None:
            since = t
        if armed and t - since >= hold_s:
            fired.append(float(t))
            armed = False
    return fired


@dataclass(frozen=True)
class Sweep:
    """A statistic's scores per threshold and person."""

    thresholds: tuple[float, ...]
    #: [threshold index][person name]
    scores: list[dict[str, DetectionScore]]


Firing = Callable[[Series, float], list[float]]


def sweep(
    people: Sequence[Person],
    series: dict[str, Series],
    grid: Sequence[float],
    fire: Firing = firings,
) -> Sweep:
    rows = []
    for threshold in grid:
        rows.append(
            {p.name: score(p.labels, fire(series[p.name], threshold), p.end_s) for p in people}
        )
    return Sweep(tuple(grid), rows)


def per_calm_hour(scored: DetectionScore) -> float:
    return scored.false_alarms / (scored.calm_s / HOUR_S)


def pooled(row: dict[str, DetectionScore], names: Iterable[str]) -> DetectionScore:
    return total(row[name] for name in names)


def hindsight(swept: Sweep, names: Sequence[str], limit: float) -> DetectionScore | None:
    """The threshold of the grid finding most on all ``names`` within ``limit`` (ties: fewer
    false alarms, then the lower threshold); None when none gets there."""
    index = choose(swept, names, limit, fallback=False)
    return None if index is None else pooled(swept.scores[index], names)


def choose(
    swept: Sweep, names: Sequence[str], limit: float = FALSE_ALARMS_TARGET, fallback: bool = True
) -> int | None:
    """The index of the threshold finding most on ``names`` at ≤ ``limit`` false alarms per
    calm hour (ties: fewer false alarms, then the lower threshold); when none gets there, the
    one with the fewest false alarms (``fallback``) or None."""
    best: tuple[int, float] | None = None
    best_index = None
    fewest: tuple[float, int] | None = None
    for index, row in enumerate(swept.scores):
        scored = pooled(row, names)
        rate = per_calm_hour(scored)
        if fewest is None or rate < fewest[0]:
            fewest = (rate, index)
        if rate <= limit + 1e-9:
            key = (scored.found, -rate)
            if best is None or key > best:
                best, best_index = key, index
    if best_index is not None or not fallback:
        return best_index
    assert fewest is not None
    return fewest[1]


@dataclass(frozen=True)
class HeldOut:
    shares: list[float]
    rates: list[float]
    #: Per split: the held-out half's scores (for the task types).
    tested: list[DetectionScore]

    @property
    def both(self) -> float:
        met = sum(
            1
            for share, rate in zip(self.shares, self.rates, strict=True)
            if share >= FOUND_TARGET - 1e-9 and rate <= FALSE_ALARMS_TARGET + 1e-9
        )
        return met / len(self.shares)


def splits(names: Sequence[str]) -> list[tuple[list[str], list[str]]]:
    """Every way to take 5 of the people, and the others."""
    return [
        (list(train), [n for n in names if n not in train])
        for train in itertools.combinations(names, TRAIN_SIZE)
    ]


def held_out(swept: Sweep, names: Sequence[str], limit: float = FALSE_ALARMS_TARGET) -> HeldOut:
    shares, rates, tested = [], [], []
    for train, test in splits(names):
        index = choose(swept, train, limit)
        assert index is not None
        scored = pooled(swept.scores[index], test)
        tested.append(scored)
        shares.append(scored.found / len(scored.episodes))
        rates.append(per_calm_hour(scored))
    return HeldOut(shares, rates, tested)


def fixed_held_out(by_person: dict[str, DetectionScore], names: Sequence[str]) -> HeldOut:
    """A rule with nothing fitted: each split's held-out half as it is."""
    return held_out(Sweep((0.0,), [by_person]), names)


# -- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistic:
    name: str
    figure: Callable[[Person], Series]
    grid: tuple[float, ...] = Z_GRID
    fire: Firing = firings
    #: The second its reference (the person's first minutes) is known from: before it, the
    #: figure looks ahead (0: it never does).
    reference_s: int = 0


REPRODUCED = (
    Statistic("robust baseline spread (MAD)", robust_spread_z, reference_s=QUIET_S[1]),
    Statistic(
        "the same with the provisional 5 bpm",
        lambda p: robust_spread_z(p, 5.0),
        reference_s=QUIET_S[1],
    ),
    Statistic("onset, 10-min trailing median", lambda p: onset_z(p, 600)),
    Statistic("onset, 20-min trailing median", lambda p: onset_z(p, 1200)),
    Statistic("one-sided CUSUM", cusum_steps, CUSUM_GRID, cusum_firings),
    Statistic("HR rise while still", still_z, reference_s=QUIET_S[1]),
    Statistic("missing beats", missing_beats, SHARE_GRID),
    Statistic("HR from the watch's intervals, no fallback", interval_hr_z, reference_s=QUIET_S[1]),
)

NEW: tuple[Statistic, ...] = (
    Statistic(
        "additional HR (residual of HR on movement)", additional_hr_z, reference_s=QUIET_S[1]
    ),
    Statistic("coverage-weighted HR", coverage_weighted_z, reference_s=QUIET_S[1]),
    Statistic("rank among learnt calm minutes: the watch's HR", hr_rank, SHARE_GRID),
    Statistic(
        "rank among learnt calm minutes: coverage-weighted HR", coverage_weighted_rank, SHARE_GRID
    ),
    Statistic(
        "Stouffer: coverage-weighted HR rank and additional HR rank",
        fused_rank_z,
        reference_s=QUIET_S[1],
    ),
    Statistic(
        "the same rank, learning minutes below the 50th percentile",
        lambda p: coverage_weighted_rank(p, 0.5),
        SHARE_GRID,
    ),
    Statistic(
        "the same rank, learning minutes below the 90th percentile",
        lambda p: coverage_weighted_rank(p, 0.9),
        SHARE_GRID,
    ),
    Statistic(
        "the same rank, learning every minute not active",
        lambda p: coverage_weighted_rank(p, math.inf),
        SHARE_GRID,
    ),
)
CONTROLS = (
    Statistic(
        "control: robust baseline spread, silent for the first 15 min",
        lambda p: silent_until(robust_spread_z(p), CONTROL_SILENT_S),
    ),
    Statistic(
        "control: coverage-weighted HR, silent for the first 15 min",
        lambda p: silent_until(coverage_weighted_z(p), CONTROL_SILENT_S),
    ),
)
PHASIC = (
    Statistic("phasic HR in its own minute-to-minute noise", phasic_hr_z),
    Statistic("the same, 10-min trailing median", lambda p: phasic_hr_z(p, 600)),
    Statistic("control: the same in bpm, no noise scale", phasic_hr_bpm, BPM_GRID),
    Statistic(
        "sequential: CUSUM of the minute's phasic z",
        phasic_cusum_steps,
        CUSUM_GRID,
        cusum_firings,
    ),
    Statistic(
        "the intervals' view alone: phasic z of their HR",
        lambda p: phasic_z(interval_view_hr(p)),
    ),
    Statistic("two views agree: phasic z of the watch's HR and its intervals' HR", agreed_phasic_z),
    Statistic(
        "the same, the watch's view alone where intervals are too few",
        lambda p: agreed_phasic_z(p, alone=True),
    ),
)
SHAPE = (
    Statistic("pNN50 falling (60 s)", lambda p: shape_z(p, 60, "pnn50"), reference_s=QUIET_S[1]),
    Statistic("pNN50 falling (120 s)", lambda p: shape_z(p, 120, "pnn50"), reference_s=QUIET_S[1]),
    Statistic(
        "SD1/SD2 falling (60 s)", lambda p: shape_z(p, 60, "sd1/sd2"), reference_s=QUIET_S[1]
    ),
    Statistic(
        "SD1/SD2 falling (120 s)", lambda p: shape_z(p, 120, "sd1/sd2"), reference_s=QUIET_S[1]
    ),
    Statistic(
        "pNN50 falling while still (60 s)",
        lambda p: still_shape_z(p, 60, "pnn50"),
        reference_s=QUIET_S[1],
    ),
    Statistic(
        "control: pNN50 rising (60 s)",
        lambda p: shape_z(p, 60, "pnn50", falling=False),
        reference_s=QUIET_S[1],
    ),
    Statistic(
        "control: SD1/SD2 rising (60 s)",
        lambda p: shape_z(p, 60, "sd1/sd2", falling=False),
        reference_s=QUIET_S[1],
    ),
)
STATISTICS = REPRODUCED + NEW + CONTROLS + PHASIC + SHAPE
#: Rank rows whose learning rule is chosen on each 5 together with the threshold.
RANK_VARIANTS = (
    "rank among learnt calm minutes: coverage-weighted HR",
    "the same rank, learning minutes below the 50th percentile",
    "the same rank, learning minutes below the 90th percentile",
    "the same rank, learning every minute not active",
)


def hindsight_cell(scored: DetectionScore | None) -> str:
    if scored is None:
        return "none"
    return f"{scored.found}/{len(scored.episodes)}"


def row(name: str, first: str, result: HeldOut) -> str:
    shares = result.shares
    return (
        f"| {name} | {first} | {percent(statistics.fmean(shares))} "
        f"({100 * min(shares):.0f}–{percent(max(shares))}) "
        f"| {statistics.fmean(result.rates):.2f} | {percent(result.both)} |"
    )


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def watch_rule() -> dict[str, DetectionScore]:
    """The example watch rule through the whole daemon, as `ambient evaluate` replays it."""
    config = load_config(WATCH_CONFIG)
    evaluation = evaluate(
        config, STRESS_PREDICT, None, None, {"person.alex": "home"}, keep_timeline=False
    )
    scores = {}
    for result in evaluation.recordings:
        scored = next(iter(result.scores.values()))
        assert scored is not None
        scores[result.name] = scored
    return scores


def against(result: HeldOut, rule: HeldOut) -> tuple[float, float, float]:
    """Shares of the splits where ``result``, on the same held-out half as ``rule``, is
    better on both found and false alarms; better on one and no worse on the other; and
    the reverse of the latter."""
    both = better = worse = 0
    for share, rate, rule_share, rule_rate in zip(
        result.shares, result.rates, rule.shares, rule.rates, strict=True
    ):
        both += share > rule_share and rate < rule_rate
        if (share, -rate) != (rule_share, -rule_rate):
            better += share >= rule_share and rate <= rule_rate
            worse += share <= rule_share and rate >= rule_rate
    count = len(result.shares)
    return both / count, better / count, worse / count


def beside_row(name: str, looser: HeldOut, compared: tuple[float, float, float]) -> str:
    both, better, worse = compared
    return (
        f"| {name} | {percent(statistics.fmean(looser.shares))} at "
        f"{statistics.fmean(looser.rates):.2f} | {percent(both)} | {percent(better)} "
        f"| {percent(worse)} |"
    )


def held_values(values: Series, hold_s: int = HOLD_S) -> Series:
    """Per second, the highest threshold ``values`` has been above for ``hold_s``: the least of
    its last ``hold_s`` + 1 seconds, unknown when any of them is."""
    out: Series = []
    for t in range(len(values)):
        last = values[max(0, t - hold_s) : t + 1]
        known = [v for v in last if v is not None]
        out.append(min(known) if t >= hold_s and len(known) == len(last) else None)
    return out


def ceiling(people: Sequence[Person], series: dict[str, Series]) -> int:
    """Tasks whose highest 60 s-held value exceeds every calm moment of the same person: what
    a threshold picked separately for each person in hindsight could find with no false
    alarm (only moments with a value count)."""
    found = 0
    for person in people:
        held = held_values(series[person.name])
        calm = calm_spans(person.labels, person.end_s)
        calm_held = [
            v for t, v in enumerate(held) if v is not None and any(a <= t < b for a, b in calm)
        ]
        calm_top = max(calm_held, default=-math.inf)
        for start, end in person.labels.episodes:
            first, last = math.ceil(start), math.floor(end + FOUND_AFTER_END_S)
            task = [v for v in held[first : last + 1] if v is not None]
            found += bool(task) and max(task) > calm_top
    return found


def task_types(tested: Iterable[DetectionScore]) -> dict[str, float]:
    """Share of each task type found, over all held-out halves."""
    found: dict[str, list[bool]] = {}
    for scored in tested:
        for episode in scored.episodes:
            found.setdefault(episode.name or "?", []).append(episode.found)
    return {name: sum(hits) / len(hits) for name, hits in found.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="*", help="only the statistics whose name starts so")
    parser.add_argument(
        "--causal",
        action="store_true",
        help="a figure against the first minutes unknown until they have passed",
    )
    args = parser.parse_args(argv)
    people = load_people()
    names = [p.name for p in people]
    chosen = [
        s for s in STATISTICS if not args.only or any(s.name.startswith(o) for o in args.only)
    ]
    print(
        "| statistic | all 10, best threshold in hindsight: found at ≤ 0.5 / ≤ 1.02 per calm h "
        "| held out: found, mean (range) | held out: false alarms per calm h "
        "| splits meeting both targets |"
    )
    print("|---|---|---|---|---|")
    watch = watch_rule()
    watch_all = pooled(watch, names)
    watch_result = fixed_held_out(watch, names)
    print(
        row(
            "watch rule (stress_score above 70 for 1min)",
            f"— / {watch_all.found}/{len(watch_all.episodes)} (fixed threshold)",
            watch_result,
        )
    )
    by_type = {"watch rule": task_types(watch_result.tested)}
    beside = []
    rank_sweeps: list[Sweep] = []
    ceilings: list[str] = []
    for statistic in chosen:
        series = {p.name: statistic.figure(p) for p in people}
        if args.causal:
            series = {n: silent_until(v, statistic.reference_s) for n, v in series.items()}
        swept = sweep(people, series, statistic.grid, statistic.fire)
        first = " / ".join(
            hindsight_cell(hindsight(swept, names, limit))
            for limit in (FALSE_ALARMS_TARGET, WATCH_FALSE_ALARMS)
        )
        result = held_out(swept, names)
        print(row(statistic.name, first, result), flush=True)
        by_type[statistic.name] = task_types(result.tested)
        held = (  # a CUSUM fires on its sum, not on a value held for 60 s
            f"{ceiling(people, series)}/{len(watch_all.episodes)}"
            if statistic.fire is firings
            else "—"
        )
        ceilings.append(f"| {statistic.name} | {held} |")
        looser = held_out(swept, names, WATCH_FALSE_ALARMS)
        beside.append(beside_row(statistic.name, looser, against(result, watch_result)))
        if statistic.name in RANK_VARIANTS:
            rank_sweeps.append(swept)
    if len(rank_sweeps) == len(RANK_VARIANTS):
        combined = Sweep(
            tuple(t for s in rank_sweeps for t in s.thresholds),
            [row for s in rank_sweeps for row in s.scores],
        )
        result = held_out(combined, names)
        name = "coverage-weighted HR rank, learning rule and threshold both chosen on the 5"
        print(row(name, "—", result))
        looser = held_out(combined, names, WATCH_FALSE_ALARMS)
        beside.append(beside_row(name, looser, against(result, watch_result)))
    print()
    print("Held out with the threshold chosen for ≤ 1.02 per calm h; and against the watch rule")
    print("on the same held-out half (threshold chosen for ≤ 0.5), the share of splits:")
    print()
    print(
        "| statistic | chosen for ≤ 1.02: found at per calm h "
        "| better on both | better on one, no worse | the reverse |"
    )
    print("|---|---|---|---|---|")
    print("\n".join(beside))
    print()
    print("Held out, share of each task type found (mean over the 252 held-out halves):")
    print()
    print("| | Stroop | interview | hyperventilation |")
    print("|---|---|---|---|")
    for name, shares in by_type.items():
        cells = " | ".join(
            percent(shares.get(task, 0.0)) for task in ("stroop", "interview", "hyperventilation")
        )
        print(f"| {name} | {cells} |")
    print()
    print("Per person in hindsight (the ceiling): tasks a threshold picked for each person could")
    print("find with no false alarm:")
    print()
    print("| statistic | ceiling |")
    print("|---|---|")
    print("\n".join(ceilings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
