"""Each rule's `choose_calming` step as the explain module's :class:`Policy`: its options, the
floor, the half-life of what was learnt, what the user pinned or banned (read from the config,
so the CLI and the HA entity explain the odds the daemon itself uses)."""

from __future__ import annotations

from ambient.config.actions import ChooseCalmingStepConfig
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import walk_steps
from ambient.interventions.explain import Policy
from ambient.interventions.learner import prior_for


def option_ids_of(config: AmbientConfig) -> dict[str, frozenset[str]]:
    """Rule id -> the ids of the options of every `choose_calming` step it has (a rule may have
    one in its actions and another in `on_recovery` or an escalation level: one learning)."""
    found: dict[str, frozenset[str]] = {}
    for index, rule in enumerate(config.rules):
        for _path, step in walk_steps(rule, ("rules", index)):
            if isinstance(step, ChooseCalmingStepConfig):
                ids = {option.id for option in step.choose_calming.options}
                found[rule.id] = found.get(rule.id, frozenset()) | ids
    return found


def policies_of(config: AmbientConfig) -> dict[str, Policy]:
    """Rule id -> the policy of its first `choose_calming` step (rules without one are absent);
    the priors are the chooser's, from the kinds of action each option performs."""
    found: dict[str, Policy] = {}
    for index, rule in enumerate(config.rules):
        for _path, step in walk_steps(rule, ("rules", index)):
            if isinstance(step, ChooseCalmingStepConfig) and rule.id not in found:
                calming = step.choose_calming
                found[rule.id] = Policy(
                    options=tuple(option.id for option in calming.options),
                    floor=calming.floor,
                    half_life_s=calming.half_life,
                    pinned=calming.pin,
                    banned=frozenset(calming.ban),
                    priors={
                        option.id: prior_for(
                            [str(getattr(action, "action", "")) for action in option.actions]
                        )
                        for option in calming.options
                    },
                )
    return found
