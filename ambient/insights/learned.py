"""What the intervention learning measured, where it runs: each calming episode's option, the
body's response (ln RMSSD change in baseline SDs) and the check-in answer, read from its table
in the store (absent when the learning never ran)."""

from __future__ import annotations

from typing import Any

from ambient.store import Store

_TABLE = "intervention_episode"


def learned_episodes(store: Store, person: str, begin: float, end: float) -> list[dict[str, Any]]:
    """The measured episodes of ``person`` that started in [begin, end), oldest first."""
    exists = store.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_TABLE,))
    if not exists:
        return []
    from ambient.interventions.episodes import EpisodeBook

    return [
        {
            "start": row.start,
            "rule": row.rule,
            "option": row.option,
            "response_sd": row.ln_rmssd_change_sd,
            "usable": row.usable,
            "reason": row.reason,
            "check_in": row.check_in,
        }
        for row in EpisodeBook(store).episodes(person, since=begin)
        if row.start < end
    ]
