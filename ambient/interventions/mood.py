"""The optional daily mood ("good / ok / bad"), kept beside the day's check-ins and fed to the
learner lightly: as a check-in worth ``MOOD_WEIGHT`` of an episode on each option measured
that day. A mood says little about one option (the day had many causes), hence half a
check-in's weight; words other than good / ok / bad are kept but teach nothing. The day's mood
is its latest: a mood given again (an automation republishing it, a mis-tap corrected) first
takes back what the day's previous one taught, so a day never counts twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import tzinfo

from ambient.clock import Clock
from ambient.interventions.checkin_book import CheckInBook
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.learner import CHECKIN_WEIGHT
from ambient.store import StoreError

_LOGGER = logging.getLogger(__name__)

#: A mood as a response in baseline SD (as the check-in answers calmer / same / worse).
MOOD_RESPONSE_SD = {"good": 0.5, "ok": 0.0, "bad": -0.5}
MOOD_WEIGHT = CHECKIN_WEIGHT / 2
_LONGEST_WORD = 40


#: Told (person, what, why) of a mood the store could not keep: the check-ins' count and line.
NotRecorded = Callable[[str, str, StoreError], None]


class Moods:
    def __init__(
        self,
        clock: Clock,
        zone: tzinfo,
        episodes: EpisodeBook,
        book: CheckInBook,
        not_recorded: NotRecorded | None = None,
    ) -> None:
        self._clock = clock
        self._zone = zone
        self._episodes = episodes
        self._book = book
        self._not_recorded = not_recorded
        #: Called with the person after each mood kept (the HA entity shows what it taught).
        self.given_listeners: list[Callable[[str], None]] = []

    def give(self, person: str, mood: str, source: str) -> bool:
        """Keep ``person``'s mood now; True when it taught the learner something. One the
        store cannot keep (a full or read-only card) goes to ``not_recorded`` (without one,
        the StoreError is raised) and teaches nothing."""
        word = mood.strip().lower()[:_LONGEST_WORD]
        if not word or word in ("unknown", "unavailable"):
            return False
        try:
            taught = self._keep(person, word, source)
        except StoreError as exc:
            if self._not_recorded is None:
                raise
            self._not_recorded(person, f"Daily mood of {person}", exc)
            return False
        for listener in list(self.given_listeners):
            listener(person)
        return taught

    def _keep(self, person: str, word: str, source: str) -> bool:
        now = self._clock.now()
        day_start = self._day_start()
        previous = [
            row
            for row in self._book.rows(person, "mood", since=day_start)
            if row.answer in MOOD_RESPONSE_SD
        ]
        self._book.mood(person, word, now, source)
        response = MOOD_RESPONSE_SD.get(word)
        if response is not None and previous:
            last = previous[-1]
            self._nudge(person, MOOD_RESPONSE_SD[str(last.answer)], last.time, take_back=True)
        taught = response is not None and self._nudge(person, response, now)
        # How someone feels is health data: only at DEBUG, like heart data.
        _LOGGER.debug("%s's mood today: %s (options nudged: %s)", person, word, taught)
        return taught

    def _day_start(self) -> float:
        local = self._clock.local(self._zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def _nudge(self, person: str, response: float, at: float, take_back: bool = False) -> bool:
        """Teach (or take back) a mood given ``at`` on each option measured that day by then;
        True when there was one."""
        measured = {
            (e.rule, e.option)
            for e in self._episodes.episodes(person, since=self._day_start())
            if e.usable is not None and e.measured_at is not None and e.measured_at <= at
        }
        for rule, option in sorted(measured):
            beliefs = self._episodes.beliefs(person, rule)
            if option in beliefs:
                belief = beliefs[option]
                beliefs[option] = (
                    belief.without(response, MOOD_WEIGHT)
                    if take_back
                    else belief.observe(response, MOOD_WEIGHT)
                )
                self._episodes.save_beliefs(person, rule, beliefs)
        return bool(measured)
