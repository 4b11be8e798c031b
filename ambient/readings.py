"""The one thing every sensor produces: a timestamped value of a metric for a person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

#: Metrics every part of ambient understands. Sensors may also emit user-named metrics
#: (any name matching ``METRIC_NAME_PATTERN``), for example from MQTT or HA entities.
HR: Final = "hr"  # heart rate, beats per minute
RR: Final = "rr"  # one beat-to-beat interval, milliseconds, one reading per beat
CONTACT: Final = "contact"  # skin contact: 1.0 in contact, 0.0 lost
ACTIVITY: Final = "activity"  # activity level: 0.0 at rest, 1.0 active (or a sensor's own scale)
STEPS: Final = "steps"  # step count (cumulative or per interval, as the sensor says)

BUILTIN_METRICS: Final = frozenset({HR, RR, CONTACT, ACTIVITY, STEPS})
METRIC_NAME_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"

#: Physiologically possible ranges, used to reject bad input at the edges: the one range per
#: metric every source (Bluetooth, MQTT, HA, satellites, recordings) and the engine keep.
VALID_RANGE: Final[dict[str, tuple[float, float]]] = {
    HR: (20.0, 250.0),
    RR: (200.0, 3000.0),
    CONTACT: (0.0, 1.0),
    STEPS: (0.0, 1e9),
}
#: The counter of heart rates of 0, which every source drops: a device saying it has no reading
#: (a strap without skin contact, a watch off the wrist), not a value out of range.
HR_ZERO: Final = "hr_zero"
#: The unit a metric's range (and value) is in, for messages.
RANGE_UNIT: Final[dict[str, str]] = {HR: "bpm", RR: "ms"}


def range_text(metric: str, low: float, high: float) -> str:
    """``low..high`` in the metric's unit ("20..250 bpm"), for a line saying a value is out."""
    unit = RANGE_UNIT.get(metric)
    return f"{low:g}..{high:g}" + (f" {unit}" if unit else "")


def out_of_range_text(metric: str, low: float, high: float, unit: str | None, value: float) -> str:
    """Why ``value`` is no reading, in the metric's unit, with the likely slip when RR in the
    other unit would fit (never the value: it is heart data, and this line is a warning)."""
    text = f"{metric} outside {range_text(metric, low, high)}"
    if metric == RR and unit != "s" and low <= value * 1000.0 <= high:
        return text + " (in seconds? set `unit: s`)"
    if metric == RR and unit == "s" and low <= value / 1000.0 <= high:
        return text + " (in milliseconds? leave out `unit: s`)"
    return text


@dataclass(frozen=True, slots=True, init=False)
class Reading:
    """One value from a sensor.

    ``time`` is in seconds on the daemon's clock (unix time when live, virtual time in a
    simulation); ``source`` names the sensor that produced it, for diagnostics.
    """

    time: float
    person: str
    metric: str
    value: float
    source: str

    def __init__(self, time: float, person: str, metric: str, value: float, source: str) -> None:
        # A frozen dataclass's own __init__ looks up object.__setattr__ for every field; the
        # slots' setters, bound once, cost a third less (a sensor makes one Reading per beat).
        _set_time(self, time)
        _set_person(self, person)
        _set_metric(self, metric)
        _set_value(self, value)
        _set_source(self, source)


_slots: Any = Reading
_set_time = _slots.time.__set__
_set_person = _slots.person.__set__
_set_metric = _slots.metric.__set__
_set_value = _slots.value.__set__
_set_source = _slots.source.__set__


def moved(readings: Sequence[Reading], offset_s: float, source: str) -> list[Reading]:
    """``readings`` as ``source`` gives them, ``offset_s`` later (a replay anchoring a recording
    on its clock). The same as ``Reading(r.time + offset_s, ...)`` for each, with the slots set
    here: a replay makes one per beat, and a call of ``__init__`` each costs a fifth more."""
    new = object.__new__
    out: list[Reading] = []
    append = out.append
    for reading in readings:
        made = new(Reading)
        _set_time(made, reading.time + offset_s)
        _set_person(made, reading.person)
        _set_metric(made, reading.metric)
        _set_value(made, reading.value)
        _set_source(made, source)
        append(made)
    return out
