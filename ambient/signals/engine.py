"""Readings in, signal updates out: the per-person signal state, timers for staleness, and
the baseline saved to the store periodically and at shutdown (never per beat)."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, tzinfo
from typing import Any, Final

from ambient.clock import Clock, TimerHandle
from ambient.config.people import PersonConfig
from ambient.config.sensors import BeatsKind
from ambient.config.signals import SignalsConfig
from ambient.counters import Counters
from ambient.messages import SignalUpdate, SignalValue
from ambient.readings import RR, VALID_RANGE, Reading
from ambient.signals.baseline import Norm
from ambient.signals.person import NO_DATA, PersonSignals
from ambient.store import Store, StoreError

logger = logging.getLogger(__name__)

BASELINE_NAMESPACE = "signals.baseline"
#: Where a saved baseline that cannot be read is kept (by person) before a fresh one replaces it.
UNREADABLE_BASELINE_NAMESPACE = "signals.baseline.unreadable"
_NEVER = -math.inf  # no update yet: the first beat updates at once
#: ``VALID_RANGE.get``, bound once: a name bound by ``from ... import`` is taken by the
#: compiler for a module, so a method called on it is looked up afresh at each call (per beat).
_valid_range_of: Final = VALID_RANGE.get

#: An update is made as its values are (``ambient.signals.person._signal_value``): through its
#: slots' setters, bound once, at about half the cost of the frozen dataclass's ``__init__``
#: (one per update of every person; a test holds it to the class).
_update_slots: Any = SignalUpdate
_set_time: Final = _update_slots.time.__set__
_set_person: Final = _update_slots.person.__set__
_set_values: Final = _update_slots.values.__set__
_new_object: Final = object.__new__


def _signal_update(time: float, person: str, values: dict[str, SignalValue]) -> SignalUpdate:
    """``SignalUpdate(time, person, values)``, made without the dataclass ``__init__``."""
    made: SignalUpdate = _new_object(SignalUpdate)
    _set_time(made, time)
    _set_person(made, person)
    _set_values(made, values)
    return made


class SignalEngine:
    """Turns readings into per-person signals; satisfies :class:`ambient.ports.SignalView`.

    ``read`` names the signals something subscribes to (None: all): only those are worked
    out at each update and published when they change, so an update is published when one
    of them changed. Any other signal can still be read with :meth:`get` and
    :meth:`snapshot`, as of the last update (the stress index only while its window is kept,
    that is while it is read).

    ``first`` (with ``on_first_update``) splits each update: the signals it names are worked
    out first and those that changed handed to ``on_first_update`` (the live daemon's rules,
    so an action leaves sooner), then the rest, and ``on_update`` gets every change as an
    unsplit update would have had it. The person's next timer is set after the first half.
    """

    def __init__(
        self,
        config: SignalsConfig,
        people: Sequence[PersonConfig],
        clock: Clock,
        store: Store,
        on_update: Callable[[SignalUpdate], None],
        counters: Counters | None = None,
        zone: tzinfo = UTC,
        read: Collection[str] | None = None,
        first: Collection[str] | None = None,
        on_first_update: Callable[[SignalUpdate], None] | None = None,
        stale_after_by_source: Mapping[str, float] | None = None,
        beats_by_source: Mapping[str, BeatsKind] | None = None,
        configured_beats: Mapping[str, BeatsKind] | None = None,
    ) -> None:
        """``stale_after_by_source``: the sensors (by their readings' ``source``) whose heart
        readings stay current for a span of their own instead of ``config.stale_after``.
        ``beats_by_source``: the sensors whose beats are known to be a chest strap's or a
        pulse sensor's; ``configured_beats``: per person, the one kind their beat sensors
        have, which a baseline saved before kinds were kept is taken as."""
        if (first is None) != (on_first_update is None):
            raise ValueError("`first` and `on_first_update` go together")
        self.config = config
        # (read at every update: a config model's attribute costs some hundreds of
        # instructions a read, through pydantic's `__getattr__` hook)
        self._update_interval = config.update_interval
        self.read = None if read is None else frozenset(read)
        self.first = None if first is None else frozenset(first)
        self.on_first_update = on_first_update
        self.zone = zone  # the configured time zone: baseline days end at its midnight
        self.clock = clock
        self.store = store
        self.on_update = on_update
        self.counters = counters or Counters()
        self._configs = {p.id: p for p in people}
        self._stale_after_by_source = dict(stale_after_by_source or {})
        self._beats_by_source = dict(beats_by_source or {})
        self._configured_beats = dict(configured_beats or {})
        self._people: dict[str, PersonSignals] = {}
        self._saves_failing: set[str] = set()  # people whose last baseline save failed
        # Per person: when its timer is due, when it is set to go off, and its handle. It
        # goes off at the next update slot if that is earlier (see `_arm`).
        self._timer: dict[str, tuple[float, float, TimerHandle]] = {}
        self._on_timer_of: dict[str, Callable[[], None]] = {}
        self._next_update: dict[str, float] = {}
        for person in people:
            self._person(person.id)
        self._persist_handle = clock.call_later(config.baseline.persist_every, self._persist_tick)

    # -- SignalView ------------------------------------------------------------------------

    def people(self) -> list[str]:
        return sorted(self._people)

    def get(self, person: str, name: str) -> SignalValue:
        state = self._people.get(person)
        if state is None:
            return SignalValue.unknown(self.clock.now(), f"unknown person `{person}`")
        read = self.read
        if read is None or name in read:
            value = state.emitted.get(name)
            if value is None:
                return SignalValue.unknown(self.clock.now(), NO_DATA)
            return value
        return self._worked_out(state, name)

    def norm(self, person: str) -> Norm | None:
        """The person's resting norm now (personal, provisional or the prior); None if unseen."""
        state = self._people.get(person)
        return None if state is None else state.norm(self.clock.now())

    def snapshot(self, person: str) -> dict[str, SignalValue]:
        state = self._people.get(person)
        if state is None:
            return {}
        if self.read is None:
            return dict(state.emitted)
        seen = dict(state.emitted)
        for name in state.names():
            if name not in self.read and state.outcome(name) is not None:
                seen[name] = self._worked_out(state, name)
        return seen

    def _worked_out(self, state: PersonSignals, name: str) -> SignalValue:
        """A signal nothing subscribes to, as of the last update (stamped with its time)."""
        found = state.outcome(name)
        if found is None:
            return SignalValue.unknown(self.clock.now(), NO_DATA)
        time, (value, reason) = found
        return SignalValue(value, time, reason)

    # -- input -----------------------------------------------------------------------------

    def feed(self, reading: Reading) -> None:
        metric, value, person = reading.metric, reading.value, reading.person
        bounds = _valid_range_of(metric)
        # The ranges are finite: a NaN or an infinity falls outside them.
        if not (bounds[0] <= value <= bounds[1] if bounds is not None else math.isfinite(value)):
            self.counters.increment(f"signals:{person}", f"{metric}_out_of_range")
            logger.debug("ignored %s=%r for %s", metric, value, person)
            return
        state = self._people.get(person) or self._person(person)
        if metric != RR:
            if not state.feed(reading.time, metric, value, reading.source):
                self._late(person, metric)
                return
            self._update(state)  # contact lost, HR, activity: at once
            return
        if not state.feed_beat(reading.time, value, reading.source):
            self._late(person, metric)
            return
        # Beats come ~1/s and signals change on a seconds scale: recompute at most every
        # `update_interval` for beats (a beat in between leaves a timer for the next slot).
        next_update = self._next_update.get(person, _NEVER)
        now = self.clock.now()
        if not now < next_update:
            self._update(state)
            return
        current = self._timer.get(person)
        if current is None or not now < current[0] <= next_update:  # else: _arm keeps it
            if current is not None and current[1] == next_update:
                # already set to go off at the slot (what `_arm` does then, written out:
                # the first beat after every update comes here)
                self._timer[person] = (next_update, next_update, current[2])
            else:
                self._arm(state, next_update)

    def _late(self, person: str, metric: str) -> None:
        """A reading older than its person's last of its metric: counted, the newer kept."""
        self.counters.increment(f"signals:{person}", f"{metric}_late")
        logger.debug("ignored a late %s reading for %s", metric, person)

    def flush(self) -> None:
        """Save every changed baseline now (at shutdown). A save that fails (a full disk) is
        counted, and the others are still tried; the failed one stays changed, to be saved at
        the next try. A person's saves failing is said once, and once when one succeeds again
        (not at every try: a disk full for a night would be 144 lines a day)."""
        for state in self._people.values():
            if state.baseline.dirty:
                try:
                    self.store.put(BASELINE_NAMESPACE, state.id, state.baseline.to_json())
                except StoreError as exc:
                    self.counters.increment(f"signals:{state.id}", "baseline_save_failed")
                    if state.id not in self._saves_failing:
                        self._saves_failing.add(state.id)
                        logger.warning(
                            "baseline of %s not saved: %s (tried again every %gs)",
                            state.id,
                            exc,
                            self.config.baseline.persist_every,
                        )
                    continue
                state.baseline.dirty = False
                if state.id in self._saves_failing:
                    self._saves_failing.discard(state.id)
                    logger.info("baseline of %s saved again", state.id)

    def close(self) -> None:
        """Stop the timers, then save every changed baseline (a failed save is logged)."""
        self._persist_handle.cancel()
        for _, _, handle in self._timer.values():
            handle.cancel()
        self._timer.clear()
        self.flush()

    def take_over(self, previous: SignalEngine) -> list[str]:
        """Go on with each listed person's signal state from the engine a reload replaced
        (closed: its baselines saved): windows, smoothing, an exercise hold-off, instead of a
        minute of unknown HRV and someone just back from a run scored afresh. Only when what
        shapes that state is as it was (the signals section, the signals read, the zone, the
        person's own config and configured kind, the staleness and kind of beats of each
        sensor they were heard from); the ids carried over, in order.

        Each carried person's next update hands every signal to the new wiring's listeners
        (its rules know none yet); it comes with their next reading, or at the next update
        slot without one."""
        if (
            previous.config != self.config
            or previous.read != self.read
            or previous.first != self.first
            or previous.zone != self.zone
        ):
            return []
        carried = []
        for person, state in previous._people.items():
            own = self._configs.get(person)
            if own is None or previous._configs.get(person) != own:
                continue
            # (another person's kind, one who joined or left, shapes nothing of this state;
            # nor does a sensor added or changed that this person has not been heard from)
            if previous._configured_beats.get(person) != self._configured_beats.get(person):
                continue
            if not state.take_sources(self._stale_after_by_source, self._beats_by_source):
                continue
            state.outcomes.clear()  # every signal counts as changed at the next update
            self._people[person] = state
            self._arm(state, self.clock.now() + self.config.update_interval)
            carried.append(person)
        return carried

    def diagnostics(self) -> dict[str, Any]:
        """Per person: beat corrections so far, and whether the baseline is personal yet."""
        now = self.clock.now()
        return {
            pid: {
                "corrections": dict(state.cleaner.corrections),
                "baseline_ready": state.norm(now).ready,
            }
            for pid, state in sorted(self._people.items())
        }

    # -- internals -------------------------------------------------------------------------

    def _person(self, person_id: str) -> PersonSignals:
        state = self._people.get(person_id)
        if state is None:
            config = self._configs.get(person_id)
            state = PersonSignals(
                person_id,
                self.config,
                config,
                self.zone,
                self.read,
                self.first,
                self._stale_after_by_source,
                self._beats_by_source,
            )
            saved = self.store.get(BASELINE_NAMESPACE, person_id)
            beats = self._configured_beats.get(person_id)
            if saved is not None and not state.baseline.load_json(saved, beats):
                self._keep_aside(person_id, saved)
            self._people[person_id] = state
        return state

    def _keep_aside(self, person_id: str, saved: Any) -> None:
        """A saved baseline this ambient cannot read (a newer one's, after a downgrade) is
        kept under its own key before the fresh one's first save replaces it, to be put back."""
        self.counters.increment(f"signals:{person_id}", "baseline_unreadable")
        try:
            self.store.put(UNREADABLE_BASELINE_NAMESPACE, person_id, saved)
        except StoreError as exc:
            logger.warning(
                "saved baseline of %s is unreadable and could not be kept aside (%s); "
                "starting afresh",
                person_id,
                exc,
            )
            return
        logger.warning(
            "saved baseline of %s is unreadable; kept as %s/%s, starting afresh",
            person_id,
            UNREADABLE_BASELINE_NAMESPACE,
            person_id,
        )

    def _update(self, state: PersonSignals) -> None:
        """Publish what changed, and keep one timer per person at the next moment a signal
        may go stale or beats settle (a timer already due earlier is kept: it re-checks and
        re-arms, so a beat costs no timer churn)."""
        now = self.clock.now()
        self._next_update[state.id] = now + self._update_interval
        on_first_update = self.on_first_update
        if on_first_update is None:
            changed = state.update(now)
        else:
            first = state.update_first(now)
            try:
                if first:
                    on_first_update(_signal_update(now, state.id, first))
            finally:  # the person's state moves on whatever the listener did
                changed = state.update_rest()
        upcoming = state.next_deadline(now)
        if upcoming is not None:
            self._arm(state, upcoming + 1e-6)
        if changed:
            self.on_update(_signal_update(now, state.id, changed))

    def _arm(self, state: PersonSignals, due: float) -> None:
        """Have the person updated at ``due`` (a timer due earlier is kept).

        A timer due after the next update slot is set to go off at the slot: a beat that
        comes before then moves the update to the slot, and the timer is already there (most
        updates: no second timer). When it goes off with nothing moved there, it is set
        again for ``due`` and nothing is updated, so updates come exactly when they would."""
        now = self.clock.now()
        person = state.id
        current = self._timer.get(person)
        if current is not None and now < current[0] <= due:
            return
        slot = self._next_update.get(person)
        goes_off = slot if slot is not None and now < slot < due else due
        if current is not None:
            if current[1] == goes_off and now < goes_off:  # already set to go off then
                self._timer[person] = (due, goes_off, current[2])
                return
            current[2].cancel()
        self._set(state, due, goes_off)

    def _set(self, state: PersonSignals, due: float, goes_off: float) -> None:
        callback = self._on_timer_of.get(state.id)
        if callback is None:
            # a partial, not a lambda: no Python frame of its own at every update
            callback = self._on_timer_of[state.id] = functools.partial(self._on_timer, state)
        self._timer[state.id] = (due, goes_off, self.clock.call_at(goes_off, callback))

    def _on_timer(self, state: PersonSignals) -> None:
        current = self._timer.pop(state.id, None)
        if current is not None and self.clock.now() < current[0]:
            self._set(state, current[0], current[0])  # the slot passed with nothing to do
            return
        self._update(state)

    def _persist_tick(self) -> None:
        # The next save first: a save that fails (a full disk) is tried again then.
        self._persist_handle = self.clock.call_later(
            self.config.baseline.persist_every, self._persist_tick
        )
        self.flush()
