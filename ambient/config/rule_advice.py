"""Rule parts that load but can never run, which ``ambient check`` warns of: ``escalate`` and
``on_recovery`` on a rule that no signal trigger fires (only a signal trigger opens an episode
that can stay active or clear), and quiet hours that end when they start (no time at all)."""

from __future__ import annotations

from collections.abc import Iterator

from ambient.config.root import AmbientConfig
from ambient.config.triggers import SignalTriggerConfig
from ambient.config.yaml_source import KeyPath

Finding = tuple[KeyPath, str]

_FOLLOWS = {"on_recovery": "clearing", "escalate": "staying active"}


def unreachable_rule_parts(config: AmbientConfig) -> Iterator[Finding]:
    for r_index, rule in enumerate(config.rules):
        if any(isinstance(trigger, SignalTriggerConfig) for trigger in rule.triggers):
            continue
        for key, when in _FOLLOWS.items():
            if getattr(rule, key):
                yield (
                    ("rules", r_index, key),
                    f"never runs: `{key}` follows a signal trigger {when}, "
                    "and this rule has no `trigger: signal`",
                )
    quiet = config.quiet_hours
    if quiet is not None and _seconds(quiet.start) == _seconds(quiet.end):
        yield (
            ("quiet_hours",),
            f"`start` and `end` are both {quiet.start}, so there are no quiet hours "
            "(for a whole day without actions, use `pause`)",
        )


def _seconds(text: str) -> int:
    parts = [int(part) for part in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)
