"""The `choose_calming` step's decision: which option now, for this person, and why.

It honours what the user decided first (a pinned option, banned ones, the daily cap), then asks
the learner. Safety actions stay outside its reach by construction: quiet hours and pause hold
back every action before it is performed, and notify/escalation steps sit outside the options.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from ambient.clock import Clock
from ambient.config.actions import ChooseCalming
from ambient.interventions.episodes import HOUSEHOLD, EpisodeBook
from ambient.interventions.learner import OptionBelief, choose, prior_for
from ambient.interventions.recorder import EpisodeRecorder
from ambient.messages import CalmingDecision
from ambient.store import StoreError
from ambient.warn_once import WarnOnce

_LOGGER = logging.getLogger(__name__)


def _action_kinds(actions: list[Any]) -> list[str]:
    return [str(getattr(action, "action", "")) for action in actions]


def _aged(
    step: ChooseCalming, stored: Mapping[str, OptionBelief], now: float
) -> dict[str, OptionBelief]:
    """Each of the step's options' belief at ``now``: stored ones aged by the step's half-life
    toward their prior, the others at their prior."""
    beliefs: dict[str, OptionBelief] = {}
    for option in step.options:
        prior = prior_for(_action_kinds(option.actions))
        belief = stored.get(option.id)
        beliefs[option.id] = (
            OptionBelief.from_prior(option.id, prior, as_of=now)
            if belief is None
            else belief.aged(now, step.half_life, prior)
        )
    return beliefs


class CalmingChooser:
    """Chooses per episode and opens the episode the recorder will measure."""

    def __init__(
        self,
        clock: Clock,
        book: EpisodeBook,
        recorder: EpisodeRecorder,
        timezone: tzinfo,
        rng: random.Random | None = None,
        only_person: str | None = None,
    ) -> None:
        """``only_person``: the one person of a one-person home, whose body a run for no
        person (a button, a time of day) is measured on; None in a home of several."""
        self._clock = clock
        self._only_person = only_person
        #: What stops with the chooser: the recorder's and the check-ins' timers.
        self.on_close: list[Callable[[], None]] = []
        self._book = book
        self._recorder = recorder
        self._timezone = timezone
        self._rng = rng or random.Random()
        #: A full card refuses every episode: said at the first, not at each calming.
        self._refusals = WarnOnce(_LOGGER, logging.ERROR)
        #: A damaged card fails every read: said at the first calming, not at each.
        self._unread = WarnOnce(_LOGGER, logging.ERROR)

    def close(self) -> None:
        """The daemon stops or reloads its config: nothing of this wiring may fire later (on
        a closed store); what is waiting stays in the store for the next run."""
        for close in self.on_close:
            close()

    def _whose(self, person: str | None) -> str:
        return person or self._only_person or HOUSEHOLD

    def _day_start(self, now: float) -> float:
        local = datetime.fromtimestamp(now, self._timezone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def decide(self, step: ChooseCalming, rule: str, person: str | None) -> CalmingDecision:
        """The option for this episode. A store that cannot be read (a damaged card) is one
        error line (DEBUG while it lasts, one line when a read works again) and a choice on
        the priors alone, the daily cap unknown: the person is still calmed, and the run goes
        on to the steps after the options."""
        who = self._whose(person)
        now = self._clock.now()
        try:
            today = [
                episode
                for episode in self._book.episodes(who, since=self._day_start(now))
                if episode.rule == rule
            ]
            stored = self._book.beliefs(who, rule)
        except StoreError as exc:
            self._unread.failed("Calming for %s (%s) chosen on the priors: %s", who, rule, exc)
            today, stored = [], {}
        else:
            self._unread.worked("Calming choices read the store again")
        if len(today) >= step.per_day:
            return CalmingDecision(None, f"daily cap reached ({step.per_day} today)", {})
        beliefs = list(_aged(step, stored, now).values())
        # Options since removed from the config are never chosen, but their episodes still
        # tell how noisy the person's responses are (as `ambient insights` counts them).
        configured = {option.id for option in step.options}
        removed = [belief for option, belief in stored.items() if option not in configured]
        choice = choose(
            beliefs + removed,
            floor=step.floor,
            rng=self._rng,
            pinned=step.pin,
            banned=frozenset(step.ban) | {belief.option for belief in removed},
        )
        if choice is None:
            return CalmingDecision(None, "every option is banned", {})
        return CalmingDecision(choice.option, choice.reason, choice.probabilities)

    def started(
        self,
        step: ChooseCalming,
        rule: str,
        person: str | None,
        decision: CalmingDecision,
        context: Mapping[str, Any],
        started: float | None = None,
    ) -> int | None:
        """Open the episode of the option just performed (measured 20 minutes on). A store
        that refuses it (a full or read-only card) costs the episode, one error line, never
        the rest of the run: the steps after the options (a trusted person's notification)
        are still performed."""
        if decision.option is None:
            return None
        option = next(o for o in step.options if o.id == decision.option)
        start = self._clock.now() if started is None else started
        local = datetime.fromtimestamp(start, self._timezone)
        who = self._whose(person)
        try:
            # The rule's evidence aged to the episode's start: what it teaches counts from then.
            stored = self._book.beliefs(who, rule)
            aged = _aged(step, stored, start)
            kept = {o: aged[o] for o in aged if o in stored or o == option.id}
            self._book.save_beliefs(who, rule, {**stored, **kept})
            episode_id = self._recorder.start(
                who,
                rule,
                option.id,
                prior_for(_action_kinds(option.actions)),
                {"hour": local.hour, "weekday": local.strftime("%a"), **context},
                start,
            )
        except StoreError as exc:
            self._refusals.failed("Calming episode of %s (%s) not recorded: %s", who, rule, exc)
            return None
        self._refusals.worked("Calming episodes are recorded again")
        return episode_id
