"""One person, two devices (a strap and a watch): whose readings count.

Two sources for one person would double every beat and mix two heart-rate estimates, so per
person one source is *active* and the others' readings are dropped. The choice, made afresh on
every reading from reading times alone (so it replays identically in a simulation):

1. only live sources (a reading within ``stale_after_s``, or the sensor's own
   ``stale_after``) compete;
2. a source that delivered RR intervals within that time beats one that did not (HRV needs
   beats; a watch sending only HR loses to a strap sending RR), and among those, one whose
   beats cover the time (a strap) beats one that leaves beats out (a watch's wrist sensor),
   as measured over each 30 s of its beats (a Bluetooth device is taken for a strap until
   measured);
3. then the higher configured ``priority``; then the denser stream (a sensor without a long
   ``stale_after`` of its own); then this daemon's own sensor before one a satellite
   forwards; then the source name, for a stable order.

Which sources take part: the Bluetooth devices configured for one person, and every other
source from its first HR or beat for a person (MQTT, HA, satellites, recordings; wired by
:mod:`ambient.sensors.heart_sources`). Heart rate and beats are each chosen so, among the
sources sending that metric.

When the strap slips off and stops sending RR, the watch takes over ``stale_after_s`` later;
when the strap comes back, it wins again at once.

Two devices on one chest see the same heartbeats. When the beats counted pass from one to the
other (at the start, or when the preferred strap returns with the beats it held), a beat of
the new device ending less than half its interval after the last beat counted is one already
counted from the other, and is dropped: every heartbeat counts once.

Each change from one device that counts to another is said at INFO, once for heart rate and
beats together (no value changes with it otherwise).
Readings set aside are counted under their device's scope (``ble:<id>``, shown by ``ambient
status``): ``set_aside`` while another device counts, ``beat_already_counted`` for a beat the
other device gave.

A device says its skin contact when it connects and when it changes, not with every reading:
the new device's last contact report, set aside while another counted, is passed on at the
handover, stamped with its time (what a device said holds while it keeps sending; after a
silence longer than ``stale_after_s`` it is no word on now and is forgotten).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ambient.counters import Counters
from ambient.ports import ReadingSink
from ambient.readings import CONTACT, HR, RR, Reading

_LOGGER = logging.getLogger(__name__)


#: The readings of a person's heart that one source at a time gives (a source first seen
#: sending HR or beats takes part; its other metrics always pass).
_HEART = frozenset({HR, RR, CONTACT})
#: Beats covering at least this share of a period's time are a strap's (full RR); fewer are a
#: watch's (a wrist sensor leaves beats out). Measured over periods of ``_COVERAGE_PERIOD_S``.
_FULL_COVERAGE = 0.9
_COVERAGE_PERIOD_S = 30.0
#: The sources of one person's heart taken part at most (forwarded names are
#: chosen by whoever publishes; each reading weighs them all).
MAX_SOURCES_PER_PERSON = 16


@dataclass
class _SourceState:
    priority: int
    #: Where its readings set aside are counted.
    scope: str
    #: How long after its last reading it is live (its sensor's own `stale_after`, or the
    #: arbiter's).
    stale_after_s: float
    #: A sensor of this daemon (not forwarded by a satellite): it wins a tie.
    local: bool
    last_reading: float | None = None
    last_rr: float | None = None
    last_hr: float | None = None
    #: The device's last contact report, while it has not gone quiet since.
    last_contact: Reading | None = None
    #: Whether its beats cover the time (a strap) rather than leave some out (a watch): as
    #: measured over its last whole period of beats, else as presumed.
    full_rr: bool = False
    period_start: float | None = None
    period_rr_ms: float = 0.0


class SourceArbiter:
    """``accept(reading)`` is ``True`` when the reading's source is the one whose readings of
    that metric count for its person: every source of a person's HR or beats takes part
    (see ``__init__``); other readings pass."""

    def __init__(
        self,
        sources: Iterable[tuple[str, str, int]],
        *,
        stale_after_s: float = 10.0,
        counters: Counters | None = None,
        scopes: Mapping[str, str] | None = None,
        local: Iterable[str] = (),
        stale_after_by_source: Mapping[str, float] | None = None,
    ) -> None:
        """``sources``: (person, source name, priority) for each device to arbitrate (a
        Bluetooth device, presumed a strap until its beats say otherwise); the readings set
        aside are counted in ``counters`` under ``ble:<source name>``.

        Any other source takes part from its first HR or beat for a person (an MQTT topic, an
        HA entity, a satellite's forwarded device), with priority 0: counted under
        ``scopes[source]`` (else ``source:<name>``). Sources named in ``local`` are this
        daemon's own, preferred to forwarded ones at equal kind and priority. A source is
        live for ``stale_after_by_source[source]`` (its sensor's own ``stale_after``), else
        ``stale_after_s``."""
        self.stale_after_s = stale_after_s
        self._counters = Counters() if counters is None else counters
        self._scopes = dict(scopes or {})
        self._local = frozenset(local)
        self._stale_after_by_source = dict(stale_after_by_source or {})
        self._people: dict[str, dict[str, _SourceState]] = {}
        for person, source, priority in sources:
            state = self._new_state(source, priority, f"ble:{source}")
            state.full_rr = True  # a Bluetooth heart-rate device: a strap until measured
            self._people.setdefault(person, {})[source] = state
        #: Per person: the time and source of the last beat counted.
        self._last_beat: dict[str, tuple[float, str]] = {}
        #: Per person and metric (HR, RR): the source that counted last; and
        #: per person the last handover said (HR and beats handed over together: one line).
        self._counted_by_metric: dict[tuple[str, str], str | None] = {}
        self._last_handover: dict[str, tuple[str | None, str | None]] = {}
        self.rejected = 0
        #: Readings to pass on before the one just accepted or not (see `take_forwarded`).
        self.forwarded: list[Reading] = []

    def _new_state(self, source: str, priority: int, scope: str) -> _SourceState:
        stale_after_s = self._stale_after_by_source.get(source, self.stale_after_s)
        return _SourceState(priority, scope, stale_after_s, source in self._local)

    def _learnt(self, reading: Reading) -> dict[str, _SourceState] | None:
        """The person's sources with ``reading``'s source among them, when it is one to take
        part (HR or a beat: a source of contact alone, a watch's wear sensor, speaks for
        every device); else None."""
        if reading.metric not in (HR, RR):
            return None
        source = reading.source
        sources = self._people.setdefault(reading.person, {})
        if len(sources) >= MAX_SOURCES_PER_PERSON:
            self.rejected += 1
            self._counters.increment(f"sources:{reading.person}", "too_many_sources")
            return {}
        scope = self._scopes.get(source, f"source:{source}")
        sources[source] = self._new_state(source, 0, scope)
        if len(sources) == 2:  # arbitration starts: what the first source gave so far counted
            person = reading.person
            (first,) = (name for name in sources if name != source)
            last_rr = sources[first].last_rr
            if last_rr is not None:
                self._last_beat[person] = (last_rr, first)
                self._counted_by_metric[person, RR] = first
            if sources[first].last_hr is not None:
                self._counted_by_metric[person, HR] = first
        return sources

    def accept(self, reading: Reading) -> bool:
        sources = self._people.get(reading.person)
        if sources is None or reading.source not in sources:
            sources = self._learnt(reading)
            if sources is None:
                return True
            if not sources:  # one source too many: set aside
                return False
        state = sources[reading.source]
        if reading.metric not in _HEART:
            return True  # (a recording's movement, a satellite's steps: not the heart's)
        self._note(state, reading)
        if len(sources) == 1:  # one source so far: it counts
            return True
        return self._contest(sources, state, reading)

    def _contest(
        self, sources: dict[str, _SourceState], state: _SourceState, reading: Reading
    ) -> bool:
        """``accept`` among every source of the person's heart: HR and beats each from one
        source, chosen among the sources sending that metric (so one device read through a
        sensor per metric, an ESPHome strap's two topics, is not set against itself); a
        contact report with the device whose readings count."""
        person = reading.person
        if reading.metric == CONTACT:
            counted = self._counted_by_metric
            if reading.source in (counted.get((person, HR)), counted.get((person, RR))):
                return True
            self._set_aside(state, "set_aside")  # held: passed on if its device takes over
            return False
        active = _best(sources, reading.time, reading.metric)
        key = (person, reading.metric)
        was = self._counted_by_metric.get(key)
        if active != was:
            self._counted_by_metric[key] = active
            # a handover is said once (HR and beats go together), and only from one source
            # to another (not when one starts alone, or all went quiet)
            handover = (was, active)
            if None not in handover and handover != self._last_handover.get(person):
                self._last_handover[person] = handover
                _LOGGER.info("%s: readings from %s count now, instead of %s's", person, active, was)
            self._forward_contact(sources, active, reading)
        if active != reading.source:
            self._set_aside(state, "set_aside")
            return False
        if reading.metric == RR and not self._new_heartbeat(reading):
            self._set_aside(state, "beat_already_counted")
            return False
        return True

    def _note(self, state: _SourceState, reading: Reading) -> None:
        """What ``reading`` says of its source: when it was last heard, its contact report,
        its beats and how fully they cover the time."""
        if reading.metric == CONTACT:
            state.last_contact = reading
        elif (
            state.last_contact is not None
            and state.last_reading is not None
            and reading.time - state.last_reading > self.stale_after_s
        ):
            state.last_contact = None  # it went quiet: what it said then is no word on now
        state.last_reading = reading.time
        if reading.metric == RR:
            start = state.period_start
            last_rr = state.last_rr
            if start is None or last_rr is None or reading.time - last_rr > state.stale_after_s:
                state.period_start = reading.time  # a period of beats starts (again)
                state.period_rr_ms = 0.0
            else:
                state.period_rr_ms += reading.value
                span_s = reading.time - start
                if span_s >= _COVERAGE_PERIOD_S:
                    state.full_rr = state.period_rr_ms >= _FULL_COVERAGE * 1000.0 * span_s
                    state.period_start = reading.time
                    state.period_rr_ms = 0.0
            state.last_rr = reading.time
        elif reading.metric == HR:
            state.last_hr = reading.time

    def _set_aside(self, state: _SourceState, reason: str) -> None:
        self.rejected += 1
        self._counters.increment(state.scope, reason)

    def _forward_contact(
        self, sources: dict[str, _SourceState], active: str | None, reading: Reading
    ) -> None:
        """Pass on the new active device's last contact report, stamped with the takeover's
        time, unless it is the reading that took over."""
        held = None if active is None else sources[active].last_contact
        if held is not None and held is not reading:
            self.forwarded.append(replace(held, time=reading.time))

    def take_forwarded(self) -> list[Reading]:
        """The readings to pass on before the one just given to `accept`, taken once."""
        forwarded, self.forwarded = self.forwarded, []
        return forwarded

    def _new_heartbeat(self, beat: Reading) -> bool:
        """Whether ``beat`` is not a heartbeat already counted from another source (one
        source's own beats are all new, however close its back-computed times)."""
        last = self._last_beat.get(beat.person)
        half_interval_s = beat.value / 2000.0
        if last is not None and last[1] != beat.source and beat.time < last[0] + half_interval_s:
            return False
        self._last_beat[beat.person] = (beat.time, beat.source)
        return True

    def active(self, person: str, now: float) -> str | None:
        """The source whose readings count for ``person`` at ``now`` (``None``: none live)."""
        sources = self._people.get(person)
        return None if not sources else _best(sources, now, None)


def _best(sources: dict[str, _SourceState], now: float, metric: str | None) -> str | None:
    """The source that counts at ``now`` among those live for ``metric`` (HR or RR: sent
    that metric within their live time; ``None``: sent anything), in the module's order."""
    best: tuple[int, int, float, bool, str] | None = None
    for name, state in sources.items():
        stale_after_s = state.stale_after_s
        if metric is None:
            last = state.last_reading
        else:
            last = state.last_rr if metric == RR else state.last_hr
        if last is None or now - last > stale_after_s:
            continue
        has_rr = state.last_rr is not None and now - state.last_rr <= stale_after_s
        kind = (2 if state.full_rr else 1) if has_rr else 0  # strap > watch RR > HR only
        # then priority; then the denser stream (a shorter span: fresher readings)
        key = (kind, state.priority, -stale_after_s, state.local, name)
        if best is None or key > best:
            best = key
    return None if best is None else best[4]


class ArbitratedSink:
    """A ``ReadingSink`` that passes on only what the arbiter accepts."""

    def __init__(self, sink: ReadingSink, arbiter: SourceArbiter) -> None:
        self._sink = sink
        self._arbiter = arbiter

    def put_nowait(self, reading: Reading) -> None:
        accepted = self._arbiter.accept(reading)
        if self._arbiter.forwarded:
            for held in self._arbiter.take_forwarded():
                self._sink.put_nowait(held)
        if accepted:
            self._sink.put_nowait(reading)

    async def put(self, reading: Reading) -> None:
        accepted = self._arbiter.accept(reading)
        if self._arbiter.forwarded:
            for held in self._arbiter.take_forwarded():
                await self._sink.put(held)
        if accepted:
            await self._sink.put(reading)
