"""The `log` action's placeholders: a true/false signal reads `on` or `off`, as ambient's
reasons and state conditions say it and as Home Assistant shows a binary sensor; the same
whether the action is performed (`run`) or only reported (`simulate`)."""

from __future__ import annotations

from ambient.actuators.dispatch import reported
from ambient.actuators.log import fill_reported, render_message
from ambient.config.actions import LogActionConfig
from ambient.messages import ActionContext

TEMPLATE = "strap {contact}, baseline {baseline_ready}, hr {hr}"
SENT = "strap on, baseline off, hr 71.2"
SIGNALS = {"contact": True, "baseline_ready": False, "hr": 71.25}
CONTEXT = ActionContext("strap", "alex", "strap:alex:0", 0.0, signals=SIGNALS)


def test_a_true_false_signal_reads_on_or_off_when_performed() -> None:
    assert render_message(TEMPLATE, CONTEXT, "fired") == SENT


def test_a_true_false_signal_reads_on_or_off_when_simulated() -> None:
    action = LogActionConfig(action="log", message=TEMPLATE)
    assert fill_reported(TEMPLATE, CONTEXT) == SENT
    assert reported(action, CONTEXT) == f"log message={SENT}"
