"""``ambient analyze``: HRV per window of a recording, so people can look at their sessions.

Beats are cleaned over the whole recording exactly as live, then cut into back-to-back
windows of ``window_s``. Nothing here touches devices, brokers or Home Assistant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from ambient.config.signals import SignalsConfig
from ambient.readings import RR, Reading
from ambient.signals.beats import Beat, BeatCleaner
from ambient.signals.windows import WindowStats, hrv_problem, stats_of

COLUMNS = ("t", "hr", "rmssd", "ln_rmssd", "sdnn", "pnn50", "quality", "corrected")


def analyze(
    readings: Iterable[Reading], window_s: float, config: SignalsConfig
) -> Iterator[dict[str, object]]:
    """One dict per window and person: ``t`` (window start), HRV, quality and the share of
    beats corrected; HRV values are None when the window has too few clean pairs."""
    beats: dict[str, list[Beat]] = {}
    cleaners: dict[str, BeatCleaner] = {}
    for reading in readings:
        if reading.metric != RR:
            continue
        cleaner = cleaners.setdefault(reading.person, BeatCleaner(gap_s=config.rr_gap))
        beats.setdefault(reading.person, []).extend(cleaner.add(reading.time, reading.value))
    for person, cleaner in cleaners.items():
        beats[person].extend(cleaner.flush())
    several = len(beats) > 1
    rows: list[dict[str, object]] = []
    for person, person_beats in sorted(beats.items()):
        if not person_beats:
            continue
        start = person_beats[0].time - person_beats[0].rr_ms / 1000
        current: list[Beat] = []
        window_end = start + window_s
        for beat in person_beats:
            while beat.time > window_end:
                rows.append(_row(window_end - window_s, current, window_s, config, person, several))
                current = []
                window_end += window_s
            current.append(beat)
        if current:
            rows.append(_row(window_end - window_s, current, window_s, config, person, several))
    rows.sort(key=lambda row: (float(str(row["t"])), str(row.get("person", ""))))
    yield from rows


def _row(
    start: float,
    beats: list[Beat],
    window_s: float,
    config: SignalsConfig,
    person: str,
    several: bool,
) -> dict[str, object]:
    stats: WindowStats = stats_of(beats, window_s)
    usable = (
        hrv_problem(stats, config.min_pairs, config.min_cleanliness, config.min_quality) is None
    )
    row: dict[str, object] = {
        "t": round(start, 3),
        "hr": _r(stats.hr, 1),
        "rmssd": _r(stats.rmssd, 1) if usable else None,
        "ln_rmssd": _r(stats.ln_rmssd, 3) if usable else None,
        "sdnn": _r(stats.sdnn, 1) if usable else None,
        "pnn50": _r(stats.pnn50, 1) if usable else None,
        "quality": round(stats.quality, 2),
        "corrected": round(stats.corrected, 3),
    }
    if several:
        row["person"] = person
    return row


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def run_analyze(path: Path, window_s: float, as_json: bool, out: TextIO) -> int:
    """Print the windows of the recording at ``path``; returns the exit status."""
    from ambient.recordings import read_recording

    readings = read_recording(path)
    rows = list(analyze(readings, window_s, SignalsConfig()))
    if as_json:
        for row in rows:
            out.write(json.dumps(row) + "\n")
        return 0
    if not rows:
        out.write("no RR intervals in this recording\n")
        return 0
    columns = [*COLUMNS, "person"] if "person" in rows[0] else list(COLUMNS)
    out.write("  ".join(f"{c:>9}" for c in columns) + "\n")
    for row in rows:
        cells = ("-" if row.get(c) is None else str(row.get(c)) for c in columns)
        out.write("  ".join(f"{cell:>9}" for cell in cells) + "\n")
    return 0
