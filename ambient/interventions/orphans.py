"""Learning kept under a rule id the config no longer has: a rule's episodes and beliefs are
stored under its id (and person), so renaming the rule, or giving it to another person,
starts it again from the priors. Said once at start
and in ``ambient insights``, so the restart is never silent (docs/interventions.md)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ambient.interventions.episodes import EpisodeBook


def orphaned_rules(
    book: EpisodeBook, rule_ids: Collection[str], person: str | None = None
) -> dict[str, int]:
    """Rule id -> its stored episodes (``person``'s, or everyone's), for each id with episodes
    that is not among ``rule_ids`` (the rules with `choose_calming` now). Kept episodes are what
    keeps it said: they expire with ``retention.episodes``, while beliefs are kept until
    forgotten."""
    counts = book.counts_by_rule(person)
    return {rule: counts[rule] for rule in sorted(counts) if rule not in rule_ids}


def orphan_notice(rule: str, episodes: int) -> str:
    return (
        f"Learned calming episodes of rule '{rule}' ({episodes}) are kept, but no rule with "
        "choose_calming has that id now: renamed? Learning does not follow a new id; give the "
        "rule its old id back to go on from it (docs/interventions.md)"
    )


def left_with_old_person(
    book: EpisodeBook, rule_people: Mapping[str, str | None], person: str | None = None
) -> list[tuple[str, str, str, int]]:
    """(old person, rule, its person now, stored episodes) for each rule of the config whose
    `person:` (``rule_people``: rule id -> it) is another than the one its episodes are of:
    a rule with a person runs for them only, so what it learnt for the other is never used."""
    found: dict[tuple[str, str, str], int] = {}
    for episode in book.episodes(person):
        now = rule_people.get(episode.rule)
        if now is not None and now != episode.person:
            key = (episode.person, episode.rule, now)
            found[key] = found.get(key, 0) + 1
    return [(*key, count) for key, count in sorted(found.items())]


def old_person_notice(person: str, rule: str, now: str, episodes: int) -> str:
    return (
        f"{person} — rule {rule}: learned calming episodes ({episodes}) are kept, but the rule "
        f"is for {now} now and does not run for {person}: learning does not follow the rule "
        f"to another person; give it `person: {person}` back to go on from it "
        "(docs/interventions.md)"
    )
