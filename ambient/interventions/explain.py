"""What the learner knows, in words and numbers: `ambient insights` and the HA entity's
attributes read the same rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from ambient.config.actions import CALMING_HALF_LIFE_S
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.learner import (
    OptionBelief,
    Prior,
    effects,
    pooled_noise,
    thompson_probabilities,
    with_floor,
)

DEFAULT_FLOOR = 0.1


@dataclass(frozen=True, slots=True)
class Policy:
    """How a rule lets ambient choose: its options, the floor, what the user pinned or banned."""

    options: tuple[str, ...]
    floor: float = DEFAULT_FLOOR
    pinned: str | None = None
    banned: frozenset[str] = field(default_factory=frozenset)
    #: Each option's prior: an option not tried yet is believed what the chooser believes.
    priors: Mapping[str, Prior] = field(default_factory=dict)
    #: After how long what an episode taught counts half (None: never less).
    half_life_s: float | None = CALMING_HALF_LIFE_S

    def with_priors(
        self, beliefs: Mapping[str, OptionBelief], now: float | None = None
    ) -> dict[str, OptionBelief]:
        """``beliefs`` with the options not tried yet added at their prior; with ``now``, each
        belief whose prior is known aged to then, as the chooser ages it."""
        filled = dict(beliefs)
        for option, prior in self.priors.items():
            belief = filled.get(option)
            if belief is None:
                filled[option] = OptionBelief.from_prior(option, prior)
            elif now is not None:
                filled[option] = belief.aged(now, self.half_life_s, prior)
        return filled


def probabilities_now(beliefs: Mapping[str, OptionBelief], policy: Policy) -> dict[str, float]:
    """How likely each option is to be chosen at the next episode."""
    allowed = [
        beliefs[option]
        for option in policy.options
        if option in beliefs and option not in policy.banned
    ]
    if policy.pinned is not None and policy.pinned in beliefs:
        return {option: float(option == policy.pinned) for option in policy.options}
    noise = pooled_noise(list(beliefs.values()))
    odds = with_floor(thompson_probabilities(allowed, noise), policy.floor) if allowed else {}
    return {option: odds.get(option, 0.0) for option in policy.options}


def insight_rows(
    book: EpisodeBook,
    policies: Mapping[str, Policy],
    person: str | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """One row per person, rule and option: episodes, response, belief and odds at ``now``
    (None: as the beliefs were last aged, when an episode started)."""
    episodes = book.episodes(person)
    rows: list[dict[str, Any]] = []
    for (who, rule), beliefs in sorted(book.all_beliefs().items()):
        if person is not None and who != person:
            continue
        # A rule no longer in the config: shown as its learning was left, nothing aged.
        policy = policies.get(rule, Policy(tuple(beliefs), half_life_s=None))
        beliefs = policy.with_priors(beliefs, now)
        odds = probabilities_now(beliefs, policy)
        noise = pooled_noise(list(beliefs.values()))
        believed = {effect.option: effect for effect in effects(list(beliefs.values()), noise)}
        for option in policy.options or tuple(beliefs):
            belief = believed.get(option)
            mine = [
                e for e in episodes if e.person == who and e.rule == rule and e.option == option
            ]
            rewards = [
                e.ln_rmssd_change_sd
                if e.ln_rmssd_change_sd is not None
                else -(e.hr_change_sd or 0.0)
                for e in mine
                if e.usable
            ]
            rows.append(
                {
                    "person": who,
                    "rule": rule,
                    "option": option,
                    "episodes": len(mine),
                    "usable": len(rewards),
                    "check_ins": sum(1 for e in mine if e.check_in),
                    "mean_response_sd": round(sum(rewards) / len(rewards), 3) if rewards else None,
                    "belief_mean_sd": None if belief is None else round(belief.mean, 3),
                    "belief_sd": None if belief is None else round(belief.sd, 3),
                    "worth_episodes": round(beliefs[option].weight, 3)
                    if option in beliefs
                    else None,
                    "half_life_days": None
                    if policy.half_life_s is None
                    else round(policy.half_life_s / 86_400, 3),
                    "noise_sd": round(noise.sd, 3),
                    "probability": round(odds.get(option, 0.0), 3),
                    "pinned": option == policy.pinned,
                    "banned": option in policy.banned,
                }
            )
    return rows


def write_insights(rows: list[dict[str, Any]], as_json: bool, out: TextIO) -> None:
    if as_json:
        for row in rows:
            out.write(json.dumps(row) + "\n")
        return
    if not rows:
        out.write("No calming episodes yet: a rule with `choose_calming` has not run.\n")
        return
    current: tuple[str, str] | None = None
    for row in rows:
        if (row["person"], row["rule"]) != current:
            current = (row["person"], row["rule"])
            half_life = row["half_life_days"]
            recency = (
                ""
                if half_life is None
                else f": older episodes count less, half after {half_life:g} days"
            )
            out.write(f"{row['person']} — rule {row['rule']}{recency}\n")
            out.write(
                "  option               episodes  usable  mean response   belief          "
                "recent   now\n"
            )
        mean = "-" if row["mean_response_sd"] is None else f"{row['mean_response_sd']:+.2f} SD"
        belief = (
            "-"
            if row["belief_mean_sd"] is None
            else f"{row['belief_mean_sd']:+.2f} ± {row['belief_sd']:.2f}"
        )
        recent = "-" if row["worth_episodes"] is None else f"{row['worth_episodes']:.1f}"
        flag = " (pinned)" if row["pinned"] else " (banned)" if row["banned"] else ""
        out.write(
            f"  {row['option']:<20} {row['episodes']:>8}  {row['usable']:>6}  {mean:>13}   "
            f"{belief:<14}  {recent:>6}  {row['probability']:>4.0%}{flag}\n"
        )
