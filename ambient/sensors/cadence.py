"""Telling that a heart sensor without a ``stale_after`` of its own samples minutes apart.

A reading is current for the signals' ``stale_after`` (15 s): the heart rate of a watch that
measures every 5 minutes is then known for moments after each sample, its stress score too,
and a rule's ``for:`` never elapses. Nothing else would tell the user why; so once such a
sensor's heart rate has come far apart several times in a row, it says so, once, with the
``stale_after`` to give it (never the values: heart data).
"""

from __future__ import annotations

import logging
import math
from typing import Final

from ambient.config.durations import duration_text

#: Gaps in a row, each this many times the signals' ``stale_after`` or more, make a sampled
#: heart rate (a stream that drops out once is not one).
GAPS_IN_A_ROW: Final = 3
_APART: Final = 4.0
#: A longer gap is the watch off or out of reach, not its interval.
_LONGEST_INTERVAL_S: Final = 3600.0
#: The span to give it: the longest of the gaps with this margin, in whole minutes.
_MARGIN: Final = 1.2


class SampledHeartRate:
    """Follows the times of one sensor's heart readings per person until it has said its
    line (then nothing: one line per sensor and run)."""

    def __init__(self, sensor: str, stale_after_s: float, logger: logging.Logger) -> None:
        self._sensor = sensor
        self._stale_after_s = stale_after_s
        self._logger = logger
        self._last: dict[str, float] = {}  # person -> time of their latest heart reading
        self._gaps: dict[str, list[float]] = {}  # person -> the wide gaps in a row so far
        self.said = False

    def seen(self, person: str, time: float) -> None:
        """A heart reading of ``person`` at ``time`` (its own time: a sample relayed late
        keeps it). One no later than the last is that sample again (an upload repeating the
        last one) or a late one: neither says how far apart they come."""
        if self.said:
            return
        last = self._last.get(person)
        if last is None:
            self._last[person] = time
            return
        if time <= last:
            return
        self._last[person] = time
        gap = time - last
        gaps = self._gaps.setdefault(person, [])
        if not self._stale_after_s * _APART <= gap <= _LONGEST_INTERVAL_S:
            gaps.clear()
            return
        gaps.append(gap)
        if len(gaps) >= GAPS_IN_A_ROW:
            self._say(max(gaps))

    def _say(self, widest_s: float) -> None:
        self.said = True
        self._last.clear()
        self._gaps.clear()
        span_s = math.ceil(widest_s * _MARGIN / 60.0) * 60.0
        self._logger.warning(
            "Sensor %s: its heart rate came up to %s apart %d times in a row, but a reading "
            "is current only for stale_after (%s): between samples the heart rate and the "
            "stress score are unknown and a rule's for: cannot elapse. If the watch measures "
            "that often (most do), give the sensor `stale_after: %s` "
            "(docs/signals.md#every-kind-of-source)",
            self._sensor,
            duration_text(widest_s),
            GAPS_IN_A_ROW,
            duration_text(self._stale_after_s),
            duration_text(span_s),
        )
