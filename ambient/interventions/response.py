"""How the body answered one calming episode: ln RMSSD and HR after against before.

Before is the 5 minutes up to the episode's start, after is +5 to +20 minutes (the first
5 minutes are the session itself, when paced breathing moves HRV for mechanical reasons). Both
differences are in units of the person's baseline SD, so a response means the same for a
person with high and one with low HRV. A signal at time t describes the beats of the window
before it, so a side counts only the signals whose whole window lies inside its span: the
after-span's first minute would otherwise read beats of the session and shrink every response.
An episode that cannot be read fairly (movement or
exercise, too little data, another episode in its span or an earlier one still being measured
in its before-span) is kept but marked not usable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BEFORE_S = (-300.0, 0.0)
AFTER_S = (300.0, 1200.0)
#: A side needs this share of its span covered by samples (one sample stands for 60 s at most).
MIN_COVERAGE = 0.5
SAMPLE_SPAN_S = 60.0


@dataclass(frozen=True, slots=True)
class Sample:
    """A person's signals at one moment (None = unknown)."""

    time: float
    ln_rmssd: float | None
    hr: float | None
    activity_state: str | None = None


@dataclass(frozen=True, slots=True)
class EpisodeResponse:
    """The measured response; ``reward`` is what the learner is told (None when not usable)."""

    ln_rmssd_change_sd: float | None
    hr_change_sd: float | None
    usable: bool
    reason: str

    @property
    def reward(self) -> float | None:
        """ln RMSSD change when measured, else the HR drop (an HR-only watch), in SD."""
        if not self.usable:
            return None
        if self.ln_rmssd_change_sd is not None:
            return self.ln_rmssd_change_sd
        if self.hr_change_sd is not None:
            return -self.hr_change_sd
        return None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _coverage(times: Sequence[float], start: float, end: float) -> float:
    """Share of [start, end] within SAMPLE_SPAN_S of a sample time."""
    covered = 0.0
    cursor = start
    for time in sorted(times):
        low, high = max(cursor, time - SAMPLE_SPAN_S / 2), min(end, time + SAMPLE_SPAN_S / 2)
        if high > low:
            covered += high - low
            cursor = high
    return covered / (end - start)


def overlaps(start: float, other_start: float) -> bool:
    """Whether another episode (``other_start``) muddles the one that started at ``start``:
    it began within this one's span (at the same moment too: whose response would it be?),
    or began earlier and its after-span reaches into this one's before-span."""
    return start + BEFORE_S[0] - AFTER_S[1] < other_start < start + AFTER_S[1]


def measure_response(
    samples: Sequence[Sample],
    start: float,
    *,
    ln_rmssd_sd: float,
    hr_sd: float,
    other_episode_starts: Sequence[float] = (),
    window_s: float = 0.0,
) -> EpisodeResponse:
    """The response of the episode that started at ``start`` (times in seconds);
    ``other_episode_starts``: the person's other episodes (not this one); ``window_s``: how far
    back the beats behind one sample reach (the HRV window of the signals)."""
    span = (start + BEFORE_S[0], start + AFTER_S[1])
    if any(overlaps(start, other) for other in other_episode_starts):
        return EpisodeResponse(None, None, False, "another episode overlaps")
    inside = [sample for sample in samples if span[0] <= sample.time <= span[1]]
    if any(sample.activity_state in ("active", "recovering") for sample in inside):
        return EpisodeResponse(None, None, False, "movement or exercise")

    def side(bounds: tuple[float, float]) -> tuple[list[float], list[float], float]:
        low, high = start + bounds[0] + window_s, start + bounds[1]
        chosen = [sample for sample in inside if low <= sample.time <= high]
        ln = [s.ln_rmssd for s in chosen if s.ln_rmssd is not None]
        hr = [s.hr for s in chosen if s.hr is not None]
        return ln, hr, _coverage([s.time for s in chosen if s.hr is not None], low, high)

    ln_before, hr_before, coverage_before = side(BEFORE_S)
    ln_after, hr_after, coverage_after = side(AFTER_S)
    if min(coverage_before, coverage_after) < MIN_COVERAGE:
        return EpisodeResponse(None, None, False, "missing data")
    ln_change = hr_change = None
    mean_ln_before, mean_ln_after = _mean(ln_before), _mean(ln_after)
    if mean_ln_before is not None and mean_ln_after is not None:
        ln_change = (mean_ln_after - mean_ln_before) / ln_rmssd_sd
    mean_hr_before, mean_hr_after = _mean(hr_before), _mean(hr_after)
    if mean_hr_before is not None and mean_hr_after is not None:
        hr_change = (mean_hr_after - mean_hr_before) / hr_sd
    if ln_change is None and hr_change is None:
        return EpisodeResponse(None, None, False, "missing data")
    return EpisodeResponse(ln_change, hr_change, True, "measured")
