"""Which signals the parts wired for a config read, so the signal engine works out only those
at every update and the others only when asked (``ambient simulate``'s day is mostly updates).

Decided from the config when it is wired: a reloaded config is wired afresh with a new engine,
so a rule added on reload counts from then on.
"""

from __future__ import annotations

from ambient.config import AmbientConfig
from ambient.config.actions import WaitForStepConfig

#: What the insights take from each update: their minute bins (score, HR and ln RMSSD at
#: rest, activity) and the stress slope. Time-weighted, so an update that changed only
#: signals they do not read would add nothing.
INSIGHTS_READ = frozenset({"stress_score", "hr", "ln_rmssd", "activity_state"})


def signals_read(config: AmbientConfig, *, every_signal: bool) -> frozenset[str] | None:
    """The signals the rules and insights of ``config`` read, or None: work out every one.

    ``every_signal``: something shows or keeps them all (a live daemon's status and HA
    entities, a listener of every update such as ``evaluate`` or ``--plot``). A rule that
    chooses calming also needs all: the interventions' recorder takes a sample at every
    update, so it must see the updates of signals it does not read too.
    """
    from ambient.interventions.wiring import uses_choose_calming

    if every_signal or uses_choose_calming(config):
        return None
    read = set(rules_read(config))
    if config.insights.enabled and config.role == "standalone":
        read |= INSIGHTS_READ
    return frozenset(read)


def rules_read(config: AmbientConfig) -> frozenset[str]:
    """The signals the rules of ``config`` read: triggers, conditions (nested too) and
    ``wait_for`` steps."""
    from ambient.rules.rule import all_steps, build_rule

    read: set[str] = set()
    for rule in config.rules:
        read.update(build_rule(rule).signal_names)  # triggers and conditions, nested too
        read.update(
            step.wait_for.signal for step in all_steps(rule) if isinstance(step, WaitForStepConfig)
        )
    return frozenset(read)


def rules_first(
    config: AmbientConfig, read: frozenset[str] | None, *, virtual: bool
) -> frozenset[str] | None:
    """The signals a live daemon works out first at each update, to hand its rules before the
    rest (status, HA entities, insights) are worked out, or None: one pass.

    Only where every signal is worked out (``read`` None: the rest is worth putting off), the
    rules read some, no rule chooses calming (the interventions' recorder samples each update
    before the rules hear it) and the clock is real: on a virtual one the person's next timer,
    set after the rules heard the first half, could pass a rule's timer due at the same moment,
    and a simulation's output must not move.
    """
    from ambient.interventions.wiring import uses_choose_calming

    if read is not None or virtual or uses_choose_calming(config):
        return None
    first = rules_read(config)
    return first or None
