"""``ambient analyze``: HRV per window of a recording, so people can look at their sessions.

Beats are cleaned over the whole recording exactly as live, then cut into back-to-back
windows of ``window_s``. Nothing here touches devices, brokers or Home Assistant.

A recording in time order (as ``ambient record`` writes it) is read as it is analysed, a block
of rows at a time, and each window is summed up as it closes: memory grows with the windows
(one row each), not with the beats. One that is not in time order is read whole and sorted.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ambient.config.sensors import DEFAULT_PERSON
from ambient.config.signals import MIN_HRV_WINDOW_S, SignalsConfig
from ambient.readings import HR, RR, Reading
from ambient.signals.beats import Beat, BeatCleaner
from ambient.signals.windows import WindowStats, hrv_problem, stats_of

if TYPE_CHECKING:
    from ambient.config import AmbientConfig


@dataclass(frozen=True)
class AnalyzeSettings:
    """What a config changes in the analysis: its signal settings, and whose rows are whose
    (rows without a person are its first person's; rows of anyone else are skipped)."""

    signals: SignalsConfig = field(default_factory=SignalsConfig)
    default_person: str = DEFAULT_PERSON
    people: frozenset[str] | None = None

    @classmethod
    def of(cls, config: AmbientConfig) -> AnalyzeSettings:
        first = config.first_person_id() or DEFAULT_PERSON
        return cls(config.signals, first, frozenset(config.person_ids()) or None)


COLUMNS = ("t", "hr", "rmssd", "ln_rmssd", "sdnn", "pnn50", "quality", "corrected")


def window_problem(text: str, window_s: float) -> str | None:
    """Why ``--window text`` (``window_s`` seconds) cannot be analysed, or None: under the
    floor of a config's HRV windows a window only makes rows (1 ms made 3.6 million of them
    for an hour)."""
    if window_s < MIN_HRV_WINDOW_S:
        return (
            f"{text} is too short: a window under {MIN_HRV_WINDOW_S:g}s holds too few beats "
            "for HRV (60s is the floor worth using, docs/signals.md)"
        )
    return None


def analyze(
    readings: Iterable[Reading], window_s: float, config: SignalsConfig
) -> Iterator[dict[str, object]]:
    """One dict per window and person: ``t`` (window start), HRV, quality and the share of
    beats corrected; HRV values are None when the window has too few clean pairs. The
    readings are taken one by one (each window summed up as it closes): an iterator of a
    long recording is never held whole. A person without beat intervals (a watch sending
    HR alone) gets the mean of their ``hr`` rows per window, HRV None, quality and corrected
    0 (a window without beats)."""
    yield from Analysis(window_s, config).rows(readings)


class Analysis:
    """The windows of a recording's people, and whose came from ``hr`` rows alone
    (``hr_only``, known once :meth:`rows` has run)."""

    def __init__(self, window_s: float, config: SignalsConfig) -> None:
        self.window_s, self.config = window_s, config
        self.hr_only: list[str] = []

    def rows(self, readings: Iterable[Reading]) -> list[dict[str, object]]:
        window_s, config = self.window_s, self.config
        beats: dict[str, _PersonWindows] = {}
        heart_rates: dict[str, _HeartRateWindows] = {}
        for reading in readings:
            person, metric = reading.person, reading.metric
            if metric == RR:
                windows = beats.get(person)
                if windows is None:
                    windows = beats[person] = _PersonWindows(window_s, config)
                windows.add(reading)
            elif metric == HR and person not in beats:
                rates = heart_rates.get(person)
                if rates is None:
                    rates = heart_rates[person] = _HeartRateWindows(window_s)
                rates.add(reading.time, reading.value)
        self.hr_only = sorted(person for person in heart_rates if person not in beats)
        people = {person: windows.close() for person, windows in beats.items()}
        people.update((person, heart_rates[person].close()) for person in self.hr_only)
        several = len(people) > 1
        rows: list[dict[str, object]] = []
        for person, person_rows in sorted(people.items()):
            if several:
                for row in person_rows:
                    row["person"] = person
            rows += person_rows
        rows.sort(key=lambda row: (float(str(row["t"])), str(row.get("person", ""))))
        return rows


class _HeartRateWindows:
    """One person's ``hr`` rows cut into back-to-back windows from the first, each summed up
    into its row (the mean) as it closes: a row at a window's end starts the next one."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.rows: list[dict[str, object]] = []
        self._sum_bpm, self._count = 0.0, 0
        self._window_end: float | None = None

    def add(self, time: float, bpm: float) -> None:
        window_end = time + self.window_s if self._window_end is None else self._window_end
        while time >= window_end:
            self._close_window(window_end)
            window_end += self.window_s
        self._window_end = window_end
        self._sum_bpm += bpm
        self._count += 1

    def close(self) -> list[dict[str, object]]:
        if self._count and self._window_end is not None:
            self._close_window(self._window_end)
        return self.rows

    def _close_window(self, window_end: float) -> None:
        mean_bpm = self._sum_bpm / self._count if self._count else None
        row: dict[str, object] = {
            "t": round(window_end - self.window_s, 3),
            "hr": _r(mean_bpm, 1),
            **dict.fromkeys(("rmssd", "ln_rmssd", "sdnn", "pnn50")),
            "quality": 0.0,
            "corrected": 0.0,
        }
        self.rows.append(row)
        self._sum_bpm, self._count = 0.0, 0


class _PersonWindows:
    """One person's beats, cleaned as live and cut into back-to-back windows, each summed up
    into its row (without the person) as it closes."""

    def __init__(self, window_s: float, config: SignalsConfig) -> None:
        self.window_s, self.config = window_s, config
        self.cleaner = BeatCleaner(gap_s=config.rr_gap)
        self.rows: list[dict[str, object]] = []
        self._current: list[Beat] = []
        #: Where the open window ends (None: before the first beat).
        self._window_end: float | None = None

    def add(self, reading: Reading) -> None:
        for beat in self.cleaner.add(reading.time, reading.value):
            self._add_beat(beat)

    def close(self) -> list[dict[str, object]]:
        """The beats the cleaner still holds, and the last window; every window's row."""
        for beat in self.cleaner.flush():
            self._add_beat(beat)
        if self._current and self._window_end is not None:
            self._close_window(self._window_end)
        return self.rows

    def _add_beat(self, beat: Beat) -> None:
        time, rr_ms, _, _ = beat
        window_s, window_end = self.window_s, self._window_end
        if window_end is None:  # the first window starts where the first beat does
            window_end = time - rr_ms / 1000 + window_s
        while time > window_end:
            self._close_window(window_end)
            window_end += window_s
        self._window_end = window_end
        self._current.append(beat)

    def _close_window(self, window_end: float) -> None:
        start = window_end - self.window_s
        self.rows.append(_row(start, self._current, self.window_s, self.config))
        self._current = []


def _row(
    start: float, beats: list[Beat], window_s: float, config: SignalsConfig
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
    return row


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def run_analyze(
    path: Path,
    window_s: float,
    as_json: bool,
    out: TextIO,
    settings: AnalyzeSettings | None = None,
) -> int:
    """Print the windows of the recording at ``path``; returns the exit status. ``settings``:
    the config's signal settings and people (the defaults, rows as written, without one)."""
    settings = settings or AnalyzeSettings()
    analysis = Analysis(window_s, settings.signals)
    rows = windows_of_file(path, analysis, settings.default_person, settings.people)
    if as_json:
        for row in rows:
            out.write(json.dumps(row) + "\n")
        return 0
    if not rows:
        out.write("no rr or hr rows in this recording\n")
        return 0
    columns = [*COLUMNS, "person"] if "person" in rows[0] else list(COLUMNS)
    table = [["-" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    # At least 9 wide, wider where a value is (a recording in unix time: `t` has 12 digits).
    widths = [
        max(9, len(column), *(len(cells[i]) for cells in table)) for i, column in enumerate(columns)
    ]
    for cells in [columns, *table]:
        out.write("  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True)))
        out.write("\n")
    if analysis.hr_only:
        several = "person" in rows[0]
        whose = f"for {', '.join(analysis.hr_only)}" if several else "in this recording"
        out.write(
            f"no RR intervals {whose}: hr is the mean of its hr rows, HRV needs beat intervals\n"
        )
    return 0


def windows_of_file(
    path: Path,
    analysis: Analysis,
    default_person: str = "default",
    people: Collection[str] | None = None,
) -> list[dict[str, object]]:
    """The rows of ``analysis`` for the recording at ``path``: read as it is analysed when
    it is in time order, else read whole and sorted (and analysed again from the start).
    Rows without a person are ``default_person``'s; with ``people``, anyone else's are
    skipped (and said), as a replay reads them."""
    from ambient.recordings import OutOfOrder, RecordingStream, load_recording

    try:
        with RecordingStream(path, default_person, people) as stream:
            readings = itertools.chain.from_iterable(stream.batches())
            return analysis.rows(readings)
    except OutOfOrder as exc:
        exc.check_readable_again(path)
        return analysis.rows(load_recording(path, default_person, people).readings)
