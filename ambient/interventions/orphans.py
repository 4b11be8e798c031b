"""Learning kept under a rule id the config no longer has: a rule's episodes and beliefs are
stored under its id, so renaming the rule starts it again from the priors. Said once at start
and in ``ambient insights``, so the restart is never silent (docs/interventions.md)."""

from __future__ import annotations

from collections.abc import Collection

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
