"""``ambient insights [--person P] [--json]``: what the learner knows, read from the store the
daemon keeps, with the odds each rule's `choose_calming` step (pin, ban, floor) gives now."""

from __future__ import annotations

import re
from typing import TextIO

from ambient.config.root import AmbientConfig
from ambient.interventions.explain import insight_rows, write_insights
from ambient.interventions.orphans import learning_left_behind
from ambient.interventions.policies import policies_of
from ambient.store import Store, StoreError, existing_store_path

_PERSON_ID = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
_TABLE = "intervention_episode"


def run_insights(
    config: AmbientConfig,
    person: str | None,
    as_json: bool,
    stdout: TextIO,
    stderr: TextIO,
    now: float | None = None,
) -> int:
    """0 shown (also when nothing is learnt yet); 1 with one line on ``stderr`` saying why not.
    ``now``: the time the beliefs are aged to (older episodes counting less); None: as they
    were last aged, when an episode started."""
    if person is not None and not _PERSON_ID.fullmatch(person):
        print(f"ambient insights: `{person}` is not a person id", file=stderr)
        return 1
    try:
        existing_store_path(config.store, "nothing learnt outlives the daemon")
    except StoreError as exc:
        print(f"ambient insights: {exc}", file=stderr)
        return 1
    store = Store.from_config(config.store)
    try:
        if not store.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (_TABLE,)):
            rows, left_behind = [], []
        else:
            from ambient.interventions.episodes import EpisodeBook

            book = EpisodeBook(store)
            rows = insight_rows(book, policies_of(config), person, now)
            left_behind = learning_left_behind(book, config, person)
        check_ins = _check_in_counts(store, person)
    finally:
        store.close()
    if person is not None and not rows and person not in config.person_ids():
        known = config.person_ids_text()
        print(f"ambient insights: no person `{person}` (people: {known})", file=stderr)
        return 1
    if person is not None and not rows and not as_json:
        stdout.write(
            f"No calming episodes for {person} yet: a rule with `choose_calming` has not run "
            f"for {person}.\n"
        )
    else:
        write_insights(rows, as_json, stdout)
    if not as_json:
        for notice in left_behind:
            stdout.write(notice + "\n")
        for who, counts in sorted(check_ins.items()):
            stdout.write(
                f"{who} — check-ins: {counts.get('asked', 0)} open, "
                f"{counts.get('answered', 0)} answered, {counts.get('timed_out', 0)} unanswered; "
                f"{counts.get('given', 0)} daily moods\n"
            )
        for who in _not_listed(config, [row["person"] for row in rows], check_ins):
            stdout.write(
                f"{who}: not in the config's people: what was learnt before "
                f"(`ambient forget --person {who}` erases it)\n"
            )
    return 0


def _not_listed(
    config: AmbientConfig, people: list[str], check_ins: dict[str, dict[str, int]]
) -> list[str]:
    """The people shown whom the config no longer lists (they left, or an old id): what the
    store keeps of them stays until ``ambient forget``, as ``ambient report`` says too."""
    listed = set(config.person_ids())
    if not listed:  # no people listed: whoever the sensors read for is the config's
        return []
    return sorted({*people, *check_ins} - listed)


def _check_in_counts(store: Store, person: str | None) -> dict[str, dict[str, int]]:
    """Person -> check-in rows by status (asked, answered, timed_out; moods are ``given``)."""
    if not store.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name='check_in'"):
        return {}
    counts: dict[str, dict[str, int]] = {}
    for who, status, count in store.query(
        "SELECT person, status, count(*) FROM check_in GROUP BY person, status"
    ):
        if person is None or who == person:
            counts.setdefault(who, {})[status] = count
    return counts
