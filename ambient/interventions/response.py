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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BEFORE_S = (-300.0, 0.0)
AFTER_S = (300.0, 1200.0)
#: A side needs this share of its span covered by samples (one sample stands for 60 s at most).
MIN_COVERAGE = 0.5
SAMPLE_SPAN_S = 60.0
#: Activity states that make an episode unreadable (the body answers the movement).
MOVING = ("active", "recovering")


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


@dataclass(frozen=True, slots=True)
class Side:
    """One side of an episode as its signals show it: the means (None: none known), the share
    of the span the samples cover (with HR; ``ln_coverage``: with ln RMSSD), and whether the
    person moved in it."""

    ln_rmssd: float | None
    hr: float | None
    coverage: float
    moved: bool = False
    ln_coverage: float = 0.0

    def to_json(self) -> dict[str, float | bool | None]:
        return {
            "ln_rmssd": self.ln_rmssd,
            "hr": self.hr,
            "coverage": self.coverage,
            "moved": self.moved,
            "ln_coverage": self.ln_coverage,
        }

    @classmethod
    def from_json(cls, data: object) -> Side | None:
        """A side stored with an episode; None for anything else (an episode stored before
        sides were, or a damaged row: then the samples alone decide)."""
        if not isinstance(data, Mapping):
            return None
        ln_rmssd, hr, coverage = data.get("ln_rmssd"), data.get("hr"), data.get("coverage")
        moved = data.get("moved", False)
        ln_coverage = data.get("ln_coverage", coverage if ln_rmssd is not None else 0.0)
        numbers = (ln_rmssd, hr, coverage, ln_coverage)
        if not all(v is None or (type(v) in (int, float)) for v in numbers) or coverage is None:
            return None
        if not isinstance(moved, bool):
            return None
        return cls(
            None if ln_rmssd is None else float(ln_rmssd),
            None if hr is None else float(hr),
            float(coverage),
            moved,
            float(ln_coverage or 0.0),
        )


def _moved(samples: Sequence[Sample], low: float, high: float, low_inclusive: bool) -> bool:
    return any(
        sample.activity_state in MOVING
        and (low <= sample.time if low_inclusive else low < sample.time)
        and sample.time <= high
        for sample in samples
    )


def _side(
    samples: Sequence[Sample], start: float, bounds: tuple[float, float], window_s: float
) -> Side:
    """A side counts only the samples whose whole window lies inside its span."""
    low, high = start + bounds[0] + window_s, start + bounds[1]
    chosen = [sample for sample in samples if low <= sample.time <= high]
    ln = [s.ln_rmssd for s in chosen if s.ln_rmssd is not None]
    hr = [s.hr for s in chosen if s.hr is not None]
    return Side(
        _mean(ln),
        _mean(hr),
        _coverage([s.time for s in chosen if s.hr is not None], low, high),
        _moved(samples, start + bounds[0], start + bounds[1], True),
        _coverage([s.time for s in chosen if s.ln_rmssd is not None], low, high),
    )


def before_span(samples: Sequence[Sample], start: float, window_s: float = 0.0) -> Side:
    """The before-span of the episode starting at ``start``: recorded with the episode, so
    that a restart or a config reload in the 20 minutes that follow does not lose it."""
    return _side(samples, start, BEFORE_S, window_s)


def measure_response(
    samples: Sequence[Sample],
    start: float,
    *,
    ln_rmssd_sd: float,
    hr_sd: float,
    other_episode_starts: Sequence[float] = (),
    window_s: float = 0.0,
    recorded_before: Side | None = None,
) -> EpisodeResponse:
    """The response of the episode that started at ``start`` (times in seconds);
    ``other_episode_starts``: the person's other episodes (not this one); ``window_s``: how far
    back the beats behind one sample reach (the HRV window of the signals);
    ``recorded_before``: the before-span as recorded at the start, used when the samples now
    cover less of it (the daemon restarted since)."""
    if any(overlaps(start, other) for other in other_episode_starts):
        return EpisodeResponse(None, None, False, "another episode overlaps")
    before = _side(samples, start, BEFORE_S, window_s)
    if recorded_before is not None and recorded_before.coverage > before.coverage:
        before = recorded_before
    after = _side(samples, start, AFTER_S, window_s)
    if before.moved or _moved(samples, start, start + AFTER_S[1], False):
        return EpisodeResponse(None, None, False, "movement or exercise")
    if min(before.coverage, after.coverage) < MIN_COVERAGE:
        return EpisodeResponse(None, None, False, "missing data")
    ln_change = hr_change = None
    # ln RMSSD over a sliver of a side (a strap's intervals dropping out) is no mean of it:
    # then the HR drop speaks, as for an HR-only watch.
    ln_covered = min(before.ln_coverage, after.ln_coverage) >= MIN_COVERAGE
    if ln_covered and before.ln_rmssd is not None and after.ln_rmssd is not None:
        ln_change = (after.ln_rmssd - before.ln_rmssd) / ln_rmssd_sd
    if before.hr is not None and after.hr is not None:
        hr_change = (after.hr - before.hr) / hr_sd
    if ln_change is None and hr_change is None:
        return EpisodeResponse(None, None, False, "missing data")
    return EpisodeResponse(ln_change, hr_change, True, "measured")
