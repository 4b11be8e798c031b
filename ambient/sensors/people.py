"""Which person ids a sensor may introduce when the ids come from whoever publishes.

A ``+`` topic level (``person_topic_level``) and a satellite's batch both name people chosen by
the publisher, and each person costs full signal state downstream. So only the configured
people are taken, plus, when the config opts in with ``unlisted_people: N``, the first ``N``
other ids (first come; the ones taken stay welcome). One rule for every such sensor.
"""

from __future__ import annotations

from collections.abc import Collection


class PeopleGate:
    """Admits the configured people and at most ``unlisted`` others; never grows beyond that."""

    def __init__(self, people: Collection[str], unlisted: int) -> None:
        self._admitted = set(people)
        self._unlisted_left = unlisted

    def admit(self, person: str) -> bool:
        """True when readings of ``person`` may pass (taking one unlisted place if need be)."""
        if person in self._admitted:
            return True
        if self._unlisted_left <= 0:
            return False
        self._unlisted_left -= 1
        self._admitted.add(person)
        return True
