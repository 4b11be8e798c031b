"""A placeholder for a signal the rule read while it was unknown says `unknown` in the message an
action sends, as `ambient simulate` shows it, never Python's `None`."""

from __future__ import annotations

from ambient.actuators.dispatch import reported
from ambient.actuators.log import render_message
from ambient.config.actions import LogActionConfig
from ambient.messages import ActionContext

TEMPLATE = "{person}: score {stress_score}, hr {hr}"


def test_an_unknown_signal_reads_unknown_when_performed_and_when_simulated() -> None:
    signals = {"stress_score": None, "hr": 71.25}
    context = ActionContext("calm", "alex", "calm:alex:0", 0.0, signals=signals)
    performed = render_message(TEMPLATE, context, "fired")
    simulated = reported(LogActionConfig(action="log", message=TEMPLATE), context)
    assert performed == "alex: score unknown, hr 71.2"
    assert simulated == f"log message={performed}"
