"""Scores of one rule on one labelled recording, and their totals. Plain numbers in and out.

- An episode is *found* when the rule fires between its start and 60 s after its end; the
  *latency* is from its start to the first such firing.
- A *false alarm* is a firing in calm time: the labelled baseline, and rest more than 5 minutes
  after an episode (until the next one starts or the recording ends); no episode, nor its
  5 minutes after, is ever calm.
- A signal is *unknown* for the share of the recording it had no value, by the reason it gave.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ambient.evaluate.changes import Change
from ambient.labels import Labels, Span

FOUND_AFTER_END_S = 60.0
CALM_AFTER_EPISODE_S = 300.0
HOUR_S = 3600.0
#: The reason counted before a signal's first value (the recording had not given any yet).
NOT_YET = "no data"
#: The reason counted when a signal without a value gave none.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class EpisodeScore:
    start: float
    end: float
    name: str | None
    latency_s: float | None  # None: not found
    #: Whose episode, when label rows name several people (a rule for anyone).
    person: str | None = None

    @property
    def found(self) -> bool:
        return self.latency_s is not None


@dataclass(frozen=True)
class DetectionScore:
    """One rule on one recording (or, from :func:`total`, on many)."""

    episodes: tuple[EpisodeScore, ...]
    false_alarms: int
    calm_s: float
    firings: int

    @property
    def found(self) -> int:
        return sum(1 for e in self.episodes if e.found)

    @property
    def latencies_s(self) -> list[float]:
        return [e.latency_s for e in self.episodes if e.latency_s is not None]

    @property
    def median_latency_s(self) -> float | None:
        latencies = self.latencies_s
        return statistics.median(latencies) if latencies else None

    @property
    def found_share(self) -> float | None:
        return self.found / len(self.episodes) if self.episodes else None

    @property
    def false_alarms_per_calm_hour(self) -> float | None:
        return self.false_alarms / (self.calm_s / HOUR_S) if self.calm_s > 0 else None


def calm_spans(labels: Labels, end_s: float) -> list[Span]:
    """The baseline, and rest from 5 min after an episode, never inside an episode or its
    5 min after (a baseline written over an episode, episodes that overlap)."""
    spans: list[Span] = []
    if labels.baseline is not None:  # within the recording: from 0 to its end
        spans.append((max(labels.baseline[0], 0.0), min(labels.baseline[1], end_s)))
    busy = _merged([(start, end + CALM_AFTER_EPISODE_S) for start, end in labels.episodes])
    if labels.episodes:
        first_end = min(end for _, end in labels.episodes)
        spans.append((first_end + CALM_AFTER_EPISODE_S, end_s))
    return _without(_merged([(a, b) for a, b in spans if b > a]), busy)


def _without(spans: list[Span], holes: list[Span]) -> list[Span]:
    """``spans`` with ``holes`` cut out (both sorted and merged)."""
    left: list[Span] = []
    for start, end in spans:
        for hole_start, hole_end in holes:
            if hole_end <= start or hole_start >= end:
                continue
            if hole_start > start:
                left.append((start, hole_start))
            start = max(start, hole_end)
        if end > start:
            left.append((start, end))
    return left


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def score(
    labels: Labels, firings_s: Sequence[float], end_s: float, person: str | None = None
) -> DetectionScore:
    """Score firings (seconds from the start) against the labels of one recording (of
    ``person``, named in each episode's score)."""
    episodes = []
    for index, (start, end) in enumerate(labels.episodes):
        hits = [t for t in firings_s if start <= t <= end + FOUND_AFTER_END_S]
        name = labels.episode_names[index] if index < len(labels.episode_names) else None
        latency_s = min(hits) - start if hits else None
        episodes.append(EpisodeScore(start, end, name, latency_s, person))
    calm = calm_spans(labels, end_s)
    false_alarms = sum(1 for t in firings_s if any(a <= t < b for a, b in calm))
    return DetectionScore(
        tuple(episodes), false_alarms, sum(b - a for a, b in calm), len(firings_s)
    )


def total(scores: Iterable[DetectionScore]) -> DetectionScore:
    """All recordings together: episodes pooled, false alarms over the pooled calm time."""
    listed = list(scores)
    return DetectionScore(
        tuple(e for s in listed for e in s.episodes),
        sum(s.false_alarms for s in listed),
        sum(s.calm_s for s in listed),
        sum(s.firings for s in listed),
    )


def unknown_seconds(changes: Sequence[Change], end_s: float) -> dict[str, float]:
    """Seconds a signal was unknown between 0 and ``end_s``, by reason."""
    by_reason: dict[str, float] = {}

    def add(reason: str, seconds: float) -> None:
        if seconds > 0:
            by_reason[reason] = by_reason.get(reason, 0.0) + seconds

    first = changes[0][0] if changes else end_s
    add(NOT_YET, min(first, end_s))
    for index, (t, value, reason) in enumerate(changes):
        until = changes[index + 1][0] if index + 1 < len(changes) else end_s
        if value is None:
            add(reason or UNKNOWN, min(until, end_s) - t)
    return by_reason
