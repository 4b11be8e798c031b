"""What the learner knows, per person, for Home Assistant: a sensor whose state is the option
most likely to be chosen now and whose attributes hold the ``ambient insights`` rows.

The discovery publisher polls it (``hub.status_providers["calming"]``) every few seconds, so it
answers from a cache that is rebuilt after an episode is measured, a check-in answered or a mood
given, and at least every ``REFRESH_S``: older episodes count less as time goes by, so the odds
of a rule that has not run for weeks move without anything being learnt (each rebuild ages the
beliefs to the clock's now, as the chooser does when it decides)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ambient.clock import Clock
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.explain import Policy, insight_rows

#: How long the cached states stand when nothing is learnt: an hour ages the odds by far less
#: than the 1 % they are shown to.
REFRESH_S = 3600.0


def calming_states(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Person -> {"state": likeliest option now, "attributes": {...}}: the rule with the most
    episodes speaks for the person; every rule's rows are in the attributes."""
    by_person: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_person.setdefault(row["person"], []).append(row)
    states: dict[str, dict[str, Any]] = {}
    for person, mine in by_person.items():
        episodes: dict[str, int] = {}
        for row in mine:
            episodes[row["rule"]] = episodes.get(row["rule"], 0) + row["episodes"]
        rule = max(sorted(episodes), key=lambda r: episodes[r])
        likeliest = max(
            (row for row in mine if row["rule"] == rule), key=lambda row: row["probability"]
        )
        states[person] = {
            "state": likeliest["option"],
            "attributes": {
                "rule": rule,
                "options": [
                    {key: value for key, value in row.items() if key != "person"} for row in mine
                ],
            },
        }
    return states


class CalmingEntity:
    """The cached states; call :meth:`changed` when something was learnt."""

    def __init__(self, book: EpisodeBook, policies: Mapping[str, Policy], clock: Clock) -> None:
        self._book = book
        self._policies = dict(policies)
        self._clock = clock
        self._states: dict[str, dict[str, Any]] | None = None
        self._built_at = 0.0

    def changed(self, *_: object) -> None:
        self._states = None

    def states(self) -> dict[str, dict[str, Any]]:
        now = self._clock.now()
        # A clock stepped back (NTP) rebuilds too: the states were aged to a time not come yet.
        if self._states is None or not 0 <= now - self._built_at < REFRESH_S:
            self._states = calming_states(insight_rows(self._book, self._policies, now=now))
            self._built_at = now
        return self._states
