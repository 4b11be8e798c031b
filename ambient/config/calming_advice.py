"""Advice on `choose_calming` options that would spoil their own measurement: shown by
``ambient check`` as warnings (a long session may still be wanted; it just teaches nothing)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ambient.config.actions import (
    ActionConfig,
    BreathingActionConfig,
    ChooseCalmingStepConfig,
    ChooseStepConfig,
    DelayStepConfig,
    IfStepConfig,
    WaitForStepConfig,
)
from ambient.config.breathing import cycle_s, paced_s
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import walk_steps
from ambient.config.yaml_source import KeyPath

Finding = tuple[KeyPath, str]

#: Seconds after an episode's start where its response starts being measured (the after-span,
#: ``ambient.interventions.response.AFTER_S``: the first 5 minutes are the session itself).
AFTER_START_S = 5 * 60.0


def calming_advice(config: AmbientConfig) -> Iterator[Finding]:
    """A breathing session of a `choose_calming` option still pacing at +5 minutes after the
    option's first action (the episode's start): its own paced breathing would be measured as
    the body's response. Counts the option's own steps in order (delays, sessions); a
    `wait_for` counts as nothing and nested `if`/`choose` are not looked into, so it warns only
    of what certainly overlaps."""
    for r_index, rule in enumerate(config.rules):
        for path, step in walk_steps(rule, ("rules", r_index)):
            if not isinstance(step, ChooseCalmingStepConfig):
                continue
            for o_index, option in enumerate(step.choose_calming.options):
                option_path = (*path, "choose_calming", "options", o_index, "actions")
                for a_index, ends_s, action in _sessions(option.actions):
                    if ends_s <= AFTER_START_S:
                        continue
                    message = (
                        f"rule '{rule.id}', option '{option.id}': this breathing session lasts "
                        f"until about +{ends_s / 60:.1f} min after the option's first action, "
                        "into the +5 to +20 min span its response is measured in, so its own "
                        "paced breathing is read as the response; keep it under 5 min"
                    )
                    fitting = math.floor(
                        (AFTER_START_S - ends_s + paced_s(action)) / cycle_s(action)
                    )
                    if fitting >= 1:
                        message += f" (e.g. cycles: {fitting} or fewer)"
                    yield (*option_path, a_index), message


def _sessions(
    actions: Sequence[ActionConfig],
) -> Iterator[tuple[int, float, BreathingActionConfig]]:
    """Each breathing session of an option's own steps, with when it ends at the earliest, in
    seconds after the option's first action."""
    started = False
    elapsed_s = 0.0
    for index, action in enumerate(actions):
        if isinstance(action, DelayStepConfig):
            elapsed_s += action.delay if started else 0.0
        elif isinstance(
            action, WaitForStepConfig | IfStepConfig | ChooseStepConfig | ChooseCalmingStepConfig
        ):
            continue
        else:
            started = True
            if isinstance(action, BreathingActionConfig):
                elapsed_s += paced_s(action)
                yield index, elapsed_s, action
