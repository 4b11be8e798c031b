"""One person, two devices (a strap and a watch): whose readings count.

Two sources for one person would double every beat and mix two heart-rate estimates, so per
person one source is *active* and the others' readings are dropped. The choice, made afresh on
every reading from reading times alone (so it replays identically in a simulation):

1. only live sources (a reading within ``stale_after_s``) compete;
2. a source that delivered RR intervals within ``stale_after_s`` beats one that did not
   (HRV needs beats; a watch sending only HR loses to a strap sending RR);
3. then the higher configured ``priority``; then the source name, for a stable order.

When the strap slips off and stops sending RR, the watch takes over ``stale_after_s`` later;
when the strap comes back, it wins again at once.

Two devices on one chest see the same heartbeats. When the beats counted pass from one to the
other (at the start, or when the preferred strap returns with the beats it held), a beat of
the new device ending less than half its interval after the last beat counted is one already
counted from the other, and is dropped: every heartbeat counts once.

Each change of the device that counts is said at INFO (no value changes with it otherwise).
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
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ambient.config.sensors import BleSensorConfig
from ambient.counters import Counters
from ambient.ports import ReadingSink
from ambient.readings import CONTACT, RR, Reading
from ambient.sensors.ble import ble_source_name

_LOGGER = logging.getLogger(__name__)


@dataclass
class _SourceState:
    priority: int
    #: Where its readings set aside are counted.
    scope: str
    last_reading: float | None = None
    last_rr: float | None = None
    #: The device's last contact report, while it has not gone quiet since.
    last_contact: Reading | None = None


class SourceArbiter:
    """``accept(reading)`` is ``True`` when the reading's source is its person's active one.

    Sources not registered (MQTT, HA, recordings, a person with one device) are always
    accepted: arbitration only applies among the registered sources of one person.
    """

    def __init__(
        self,
        sources: Iterable[tuple[str, str, int]],
        *,
        stale_after_s: float = 10.0,
        counters: Counters | None = None,
    ) -> None:
        """``sources``: (person, source name, priority) for each device to arbitrate; the
        readings set aside are counted in ``counters`` under ``ble:<source name>``."""
        self.stale_after_s = stale_after_s
        self._counters = Counters() if counters is None else counters
        self._people: dict[str, dict[str, _SourceState]] = {}
        for person, source, priority in sources:
            self._people.setdefault(person, {})[source] = _SourceState(priority, f"ble:{source}")
        # one device for a person needs no arbitration
        self._people = {p: s for p, s in self._people.items() if len(s) > 1}
        #: Per person: the time and source of the last beat counted.
        self._last_beat: dict[str, tuple[float, str]] = {}
        #: Per person: the source whose readings counted last.
        self._counted: dict[str, str | None] = {}
        self.rejected = 0
        #: Readings to pass on before the one just accepted or not (see `take_forwarded`).
        self.forwarded: list[Reading] = []

    @classmethod
    def from_configs(
        cls,
        configs: Iterable[BleSensorConfig],
        *,
        stale_after_s: float = 10.0,
        counters: Counters | None = None,
    ) -> SourceArbiter:
        """Arbitrate between the BLE devices configured for the same person."""
        return cls(
            (
                (config.person or "default", ble_source_name(config), config.priority)
                for config in configs
            ),
            stale_after_s=stale_after_s,
            counters=counters,
        )

    def accept(self, reading: Reading) -> bool:
        sources = self._people.get(reading.person)
        if sources is None or reading.source not in sources:
            return True
        state = sources[reading.source]
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
            state.last_rr = reading.time
        active = self.active(reading.person, reading.time)
        if active != self._counted.get(reading.person):
            self._handed_over(reading.person, active)
            self._forward_contact(sources, active, reading)
        if active != reading.source:
            self._set_aside(state, "set_aside")
            return False
        if reading.metric == RR and not self._new_heartbeat(reading):
            self._set_aside(state, "beat_already_counted")
            return False
        return True

    def _set_aside(self, state: _SourceState, reason: str) -> None:
        self.rejected += 1
        self._counters.increment(state.scope, reason)

    def _handed_over(self, person: str, active: str | None) -> None:
        was = self._counted.get(person)
        self._counted[person] = active
        if was is None:
            _LOGGER.info("%s: readings from %s count now", person, active)
        else:
            _LOGGER.info("%s: readings from %s count now, instead of %s's", person, active, was)

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
        if not sources:
            return None
        best: tuple[bool, int, str] | None = None
        for name, state in sources.items():
            if state.last_reading is None or now - state.last_reading > self.stale_after_s:
                continue
            has_rr = state.last_rr is not None and now - state.last_rr <= self.stale_after_s
            key = (has_rr, state.priority, name)
            if best is None or key > best:
                best = key
        return None if best is None else best[2]


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
