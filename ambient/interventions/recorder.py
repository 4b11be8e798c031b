"""Measures each calming episode on the clock and tells the learner what it found.

It keeps the last 25 minutes of each person's signals (enough for the 5 minutes before an
episode), opens an episode row when a rule performs a calming option, and 20 minutes later
measures the response and updates that option's belief. The before-span is recorded with the
episode when it opens, so an episode outlives a restart or a config reload as long as the
daemon is back to see half its after-span; otherwise the signals of the gap are gone, and it is
kept as not usable ("missing data") rather than guessed.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ambient.clock import Clock, TimerHandle
from ambient.interventions.episodes import HOUSEHOLD, EpisodeBook
from ambient.interventions.learner import (
    CHECKIN_RESPONSE_SD,
    CHECKIN_WEIGHT,
    OptionBelief,
    Prior,
)
from ambient.interventions.response import (
    AFTER_S,
    BEFORE_S,
    EpisodeResponse,
    Sample,
    Side,
    before_span,
    measure_response,
)
from ambient.messages import SignalUpdate
from ambient.store import StoreError
from ambient.warn_once import WarnOnce

_LOGGER = logging.getLogger(__name__)

#: Population norms (ln RMSSD SD, HR SD in bpm) until the person's baseline is known.
PRIOR_NORMS = (0.5, 8.0)
HISTORY_S = AFTER_S[1] - BEFORE_S[0]
#: The episode's context key of its before-span as recorded at the start (a restart keeps it).
BEFORE_KEY = "before"
#: A resumed episode that began this much later than the clock shows: the clock is behind (a
#: Pi boots at its last saved time), so the signals it stamps are from other minutes.
CLOCK_BEHIND_S = 120.0
#: The signals' HRV window unless told (`signals.windows`' first): what one sample looks back on.
DEFAULT_WINDOW_S = 60.0

Norms = Callable[[str], tuple[float, float]]


class EpisodeRecorder:
    """Signals in, measured episodes and updated beliefs out (into the :class:`EpisodeBook`)."""

    def __init__(
        self,
        clock: Clock,
        book: EpisodeBook,
        norms: Norms | None = None,
        window_s: float = DEFAULT_WINDOW_S,
    ) -> None:
        self._clock = clock
        self._book = book
        self._norms = norms or (lambda _person: PRIOR_NORMS)
        self._window_s = window_s
        self._samples: dict[str, deque[Sample]] = {}
        self._latest: dict[str, dict[str, Any]] = {}
        self._timers: dict[int, TimerHandle] = {}
        #: Resumed episodes whose after-span the clock reached while still behind.
        self._read_on_a_clock_behind: set[int] = set()
        self._clock_looks: list[TimerHandle] = []
        #: Called with each episode's id once it is measured (check-ins, the HA entity).
        self.measured_listeners: list[Callable[[int], None]] = []
        #: A full card refuses every episode's measurement: said at the first, not at each.
        self._refusals = WarnOnce(_LOGGER, logging.ERROR)

    def on_signals(self, update: SignalUpdate) -> None:
        latest = self._latest.setdefault(update.person, {})
        for name in ("ln_rmssd", "hr", "activity_state"):
            if name in update.values:
                latest[name] = update.values[name].value
        samples = self._samples.setdefault(update.person, deque())
        ln_rmssd, hr = latest.get("ln_rmssd"), latest.get("hr")
        samples.append(
            Sample(
                update.time,
                float(ln_rmssd) if isinstance(ln_rmssd, int | float) else None,
                float(hr) if isinstance(hr, int | float) else None,
                str(latest["activity_state"]) if latest.get("activity_state") else None,
            )
        )
        while samples and samples[0].time < update.time - HISTORY_S:
            samples.popleft()

    def start(
        self,
        person: str,
        rule: str,
        option: str,
        prior: Prior,
        context: Mapping[str, Any],
        start: float | None = None,
    ) -> int:
        """Open an episode (started ``start``, default now) and measure it when its after-span
        has passed."""
        now = self._clock.now() if start is None else start
        beliefs = self._book.beliefs(person, rule)
        if option not in beliefs:
            beliefs[option] = OptionBelief.from_prior(option, prior)
            self._book.save_beliefs(person, rule, beliefs)
        before = before_span(list(self._samples.get(person, ())), now, self._window_s)
        episode_id = self._book.open(
            person, rule, option, now, {**context, BEFORE_KEY: before.to_json()}
        )
        self._timers[episode_id] = self._clock.call_at(
            now + AFTER_S[1], functools.partial(self._measure, episode_id)
        )
        return episode_id

    def resume(self) -> None:
        """Measure, or re-arm, the episodes a previous run left unmeasured: when the clock shows
        the end of the after-span, as a time of day (a Pi boots with its clock behind until NTP
        steps it; a delay worked out then would measure late, its signals gone)."""
        now = self._clock.now()
        for row in self._book.unmeasured():
            due = row.start + AFTER_S[1]
            self._timers[row.id] = self._clock.call_at_wall(
                due, functools.partial(self._measure, row.id)
            )
            if row.start - now > CLOCK_BEHIND_S:
                self._watch_clock_behind(row.id, row.start - now)

    def _watch_clock_behind(self, episode_id: int, behind_s: float) -> None:
        """The clock shows a time before ``episode_id`` began: look again when, not stepped, it
        would show the start of the after-span. Still behind then (no network, or NTP late),
        the signals it stamps with those minutes are from later ones: not the episode's."""
        offset_s = self._clock.now() - self._clock.monotonic()

        def look() -> None:
            stepped_s = self._clock.now() - self._clock.monotonic() - offset_s
            if episode_id in self._timers and stepped_s < behind_s - CLOCK_BEHIND_S:
                self._read_on_a_clock_behind.add(episode_id)

        self._clock_looks.append(self._clock.call_later(behind_s + AFTER_S[0], look))

    def close(self) -> None:
        """Stop measuring (the daemon stops or reloads its config): the episodes waiting are
        left in the store, for the next run to measure."""
        for timer in [*self._timers.values(), *self._clock_looks]:
            timer.cancel()
        self._timers.clear()
        self._clock_looks.clear()

    def check_in(self, episode_id: int, answer: str) -> bool:
        """A person's answer (calmer / same / worse): stored, and a small nudge to the belief."""
        if answer not in CHECKIN_RESPONSE_SD:
            return False
        row = self._book.episode(episode_id)
        if row is None:
            return False
        self._book.record_check_in(episode_id, answer)
        self._update_belief(
            row.person, row.rule, row.option, CHECKIN_RESPONSE_SD[answer], CHECKIN_WEIGHT
        )
        return True

    def _measure(self, episode_id: int) -> None:
        self._timers.pop(episode_id, None)
        row = self._book.episode(episode_id)
        if row is None or row.usable is not None:
            return
        others = [
            other.start
            for other in self._book.episodes(row.person, since=row.start + BEFORE_S[0] - AFTER_S[1])
            if other.id != row.id
        ]
        ln_sd, hr_sd = self._norms(row.person)
        if row.person == HOUSEHOLD:
            response = EpisodeResponse(None, None, False, "no person to measure")
        elif episode_id in self._read_on_a_clock_behind:
            self._read_on_a_clock_behind.discard(episode_id)
            response = EpisodeResponse(None, None, False, "missing data")
        else:
            response = measure_response(
                list(self._samples.get(row.person, ())),
                row.start,
                ln_rmssd_sd=ln_sd,
                hr_sd=hr_sd,
                other_episode_starts=others,
                window_s=self._window_s,
                recorded_before=Side.from_json(row.context.get(BEFORE_KEY)),
            )
        which = f"Calming episode {episode_id} of {row.person} ({row.rule}, option {row.option})"
        try:
            self._book.record_response(episode_id, response, self._clock.now())
        except StoreError as exc:  # a full or read-only card: the next run reads it as missing
            self._refusals.failed("%s not measured: %s", which, exc)
            return
        try:
            if response.reward is not None:
                self._update_belief(row.person, row.rule, row.option, response.reward, 1.0)
        except StoreError as exc:
            self._refusals.failed("%s measured but not learned from: %s", which, exc)
        else:
            self._refusals.worked("Calming episodes are measured and learned from again")
        _LOGGER.info(
            "Episode %s of %s (%s, option %s) measured: %s",
            episode_id,
            row.person,
            row.rule,
            row.option,
            response.reason,
        )
        for listener in list(self.measured_listeners):
            try:
                listener(episode_id)
            except Exception:
                _LOGGER.exception("A listener of measured episodes failed")

    def _update_belief(
        self, person: str, rule: str, option: str, response_sd: float, weight: float
    ) -> None:
        beliefs = self._book.beliefs(person, rule)
        belief = beliefs.get(option)
        if belief is None:
            return  # forgotten since the episode started: nothing to learn for
        beliefs[option] = belief.observe(response_sd, weight)
        self._book.save_beliefs(person, rule, beliefs)
