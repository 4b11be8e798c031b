"""From decoded Heart Rate Measurements to readings: per-beat RR with back-computed times.

A strap sends the RR intervals of the beats that ended since its last notification, so the
last beat ends (about) when the notification arrives; each earlier beat ends one interval
before the next. Impossible intervals (the Garmin HRM-Dual's spurious 51.8 ms, a 64 s
"interval" after a dropout) are dropped and counted, but still count as time in the
back-computation: the strap measured them, so the beats before them ended that much earlier.
HR 0 is never a heart rate: it means the strap has no reading (usually no skin contact).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ambient.readings import CONTACT, HR, HR_ZERO, RR, VALID_RANGE, Reading
from ambient.sensors.heart_rate import HeartRateMeasurement

#: Possible beat-to-beat intervals: the one range every source keeps (300 .. 20 bpm).
RR_MIN_MS: Final = VALID_RANGE[RR][0]
RR_MAX_MS: Final = VALID_RANGE[RR][1]


@dataclass(frozen=True, slots=True)
class Beat:
    """One beat: when it ended (clock seconds) and the interval that led to it."""

    time: float
    rr_ms: float


def back_computed_beats(
    rr_ms: Sequence[float], notified_at: float
) -> tuple[list[Beat], list[float]]:
    """Beats for one notification's RR list (oldest first) and the intervals dropped."""
    dropped = [rr for rr in rr_ms if not RR_MIN_MS <= rr <= RR_MAX_MS]
    beats: list[Beat] = []
    end = notified_at
    for rr in reversed(rr_ms):
        if RR_MIN_MS <= rr <= RR_MAX_MS:
            beats.append(Beat(time=end, rr_ms=rr))
        end -= rr / 1000.0  # a dropped interval too: it is time the strap measured
    beats.reverse()
    return beats, dropped


#: Called with a counter reason for each thing dropped.
DropCounter = Callable[[str], None]


class MeasurementReadings:
    """Turns one device's measurements into readings; remembers contact to report changes.

    A ``contact`` reading is emitted on the first measurement of a session and whenever the
    contact state changes. While the strap reports no skin contact, its HR and RR are not
    readings (they are the strap's guesses, or 0).
    """

    def __init__(self, person: str, source: str, count_drop: DropCounter) -> None:
        self.person = person
        self.source = source
        self._count_drop = count_drop
        self._last_contact: bool | None = None
        self._fresh = True
        self._hr_low, self._hr_high = VALID_RANGE[HR]

    def new_session(self) -> None:
        """A new connection: the next measurement reports contact again."""
        self._fresh = True

    def readings(self, measurement: HeartRateMeasurement, notified_at: float) -> list[Reading]:
        """The beats first (oldest first), then contact and HR at ``notified_at``: in time
        order, and a strap coming back is its person's active source by its first beat before
        its contact is weighed (:mod:`ambient.sensors.priority`)."""
        out: list[Reading] = []
        contact = measurement.contact
        contact_reading = None
        if contact is not None and (self._fresh or contact != self._last_contact):
            contact_reading = self._reading(notified_at, CONTACT, 1.0 if contact else 0.0)
        self._fresh = False
        self._last_contact = contact
        if contact is False:
            if measurement.rr_ms:
                self._count_drop("rr_without_contact")
            return [contact_reading] if contact_reading is not None else out

        beats, dropped = back_computed_beats(measurement.rr_ms, notified_at)
        for _ in dropped:
            self._count_drop("rr_out_of_range")
        out.extend(self._reading(beat.time, RR, beat.rr_ms) for beat in beats)
        if contact_reading is not None:
            out.append(contact_reading)

        hr = measurement.hr
        if hr == 0:
            self._count_drop(HR_ZERO)
        elif not self._hr_low <= hr <= self._hr_high:
            self._count_drop("hr_out_of_range")
        else:
            out.append(self._reading(notified_at, HR, float(hr)))
        return out

    def _reading(self, time: float, metric: str, value: float) -> Reading:
        return Reading(
            time=time, person=self.person, metric=metric, value=value, source=self.source
        )
