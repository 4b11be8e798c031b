"""Learning kept under an id the config no longer has: a rule's episodes and beliefs are
stored under its id, its person and its option's id, so renaming the rule or the option, or
giving the rule to another person, starts it again from the priors. Said once at start and in
``ambient insights`` (:func:`learning_left_behind`), so the restart is never silent
(docs/interventions.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping

from ambient.config.root import AmbientConfig
from ambient.interventions.episodes import EpisodeBook, EpisodeRow
from ambient.interventions.policies import option_ids_of, policies_of


def learning_left_behind(
    book: EpisodeBook, config: AmbientConfig, person: str | None = None
) -> list[str]:
    """A line for each learning (``person``'s, or everyone's) ``config`` no longer uses: a
    rule renamed, an option renamed, a rule given to another person. ``run`` says them at
    start and ``ambient insights`` after its table: one list, so neither misses one."""
    return [notice for _, notice in learning_left_behind_by_key(book, config, person)]


def learning_left_behind_by_key(
    book: EpisodeBook, config: AmbientConfig, person: str | None = None
) -> list[tuple[tuple[str, ...], str]]:
    """:func:`learning_left_behind`, each line with what it is about (the rule, option or
    person it names): the key stays the same while the number of episodes kept changes."""
    policies = policies_of(config)
    stored = book.episodes(person)  # read once, for the two looks below
    keyed: list[tuple[tuple[str, ...], str]] = [
        (("rule", rule), orphan_notice(rule, episodes))
        for rule, episodes in orphaned_rules(book, policies, person).items()
    ]
    keyed += [
        (("option", who, rule, option), orphaned_option_notice(who, rule, option, episodes))
        for who, rule, option, episodes in orphaned_options(stored, option_ids_of(config))
    ]
    rule_people = {rule.id: rule.person for rule in config.rules if rule.id in policies}
    keyed += [
        (("person", old, rule, now), old_person_notice(old, rule, now, episodes))
        for old, rule, now, episodes in left_with_old_person(stored, rule_people)
    ]
    return keyed


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


def _tally(keys: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str, int]]:
    """Each key, in order, with how many episodes gave it."""
    return [(*key, count) for key, count in sorted(Counter(keys).items())]


def left_with_old_person(
    episodes: Iterable[EpisodeRow], rule_people: Mapping[str, str | None]
) -> list[tuple[str, str, str, int]]:
    """(old person, rule, its person now, stored episodes) for each rule of the config whose
    `person:` (``rule_people``: rule id -> it) is another than the one its episodes are of:
    a rule with a person runs for them only, so what it learnt for the other is never used."""
    return _tally(
        (episode.person, episode.rule, now)
        for episode in episodes
        if (now := rule_people.get(episode.rule)) is not None and now != episode.person
    )


def old_person_notice(person: str, rule: str, now: str, episodes: int) -> str:
    return (
        f"{person} — rule {rule}: learned calming episodes ({episodes}) are kept, but the rule "
        f"is for {now} now and does not run for {person}: learning does not follow the rule "
        f"to another person; give it `person: {person}` back to go on from it "
        "(docs/interventions.md)"
    )


def orphaned_options(
    episodes: Iterable[EpisodeRow], option_ids: Mapping[str, Collection[str]]
) -> list[tuple[str, str, str, int]]:
    """(person, rule, option, its stored episodes) for each option with episodes that its rule,
    still in the config, no longer has in any `choose_calming` step (``option_ids``: rule id ->
    its options): renamed or removed. Its learning stays in the store (the noise still counts
    it) but the table shows only the rule's options now."""
    return _tally(
        (episode.person, episode.rule, episode.option)
        for episode in episodes
        if (options := option_ids.get(episode.rule)) is not None and episode.option not in options
    )


def orphaned_option_notice(person: str, rule: str, option: str, episodes: int) -> str:
    return (
        f"{person} — rule {rule}: learned option '{option}' ({episodes} "
        f"episode{'' if episodes == 1 else 's'}) is kept, but "
        "the rule has no option with that id now: renamed? Learning does not follow a new id; "
        "give the option its old id back to go on from it (docs/interventions.md)"
    )
