"""A live daemon hands its rules the signals they read before it works out the rest: the rules
act on them first, and every listener of the updates still hears every signal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from ambient.clock import RealClock
from ambient.config import AmbientConfig
from ambient.config.signals import SIGNAL_NAMES
from ambient.daemon import Daemon, DaemonOptions
from ambient.messages import SignalUpdate, TraceRecord
from ambient.ports import ReadingSink
from ambient.readings import Reading

CONFIG = {
    "people": [{"id": "alex"}],
    "rules": [
        {
            "id": "fast",
            "person": "alex",
            "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
            "actions": [{"action": "log", "message": "fast"}],
        }
    ],
    "store": {"path": None},
}


class HeartRates:
    """A sensor that sends a few heart rates now, one loop turn apart, then finishes."""

    name = "heart rates"

    def __init__(self, clock: RealClock, rates: list[float]) -> None:
        self.clock = clock
        self.rates = rates

    async def run(self, sink: ReadingSink) -> None:
        for rate in self.rates:
            await sink.put(Reading(self.clock.now(), "alex", "hr", rate, self.name))
            await asyncio.sleep(0)  # the next reading in a later turn, as live

    def diagnostics(self) -> Mapping[str, Any]:
        return {"name": self.name}


class SeenWhenActing(logging.Handler):
    """When the rule's `log` action runs: the signals the daemon shows at that moment."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.daemon: Daemon | None = None
        self.seen: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.daemon is not None and record.getMessage() == "fast":
            self.seen.append(dict(self.daemon.status()["people"]["alex"]))


async def test_the_rules_act_before_the_rest_and_listeners_hear_every_signal() -> None:
    clock = RealClock()
    updates: list[SignalUpdate] = []
    traces: list[TraceRecord] = []
    options = DaemonOptions(
        sensors=[HeartRates(clock, [60.0, 120.0, 60.0])],
        store_in_memory=True,
        services=False,
        signal_listeners=[updates.append],
        trace_listeners=[traces.append],
    )
    daemon = Daemon(AmbientConfig.model_validate(CONFIG), clock, options)
    acting = SeenWhenActing()
    acting.daemon = daemon
    actions = logging.getLogger("ambient.actions")
    level = actions.level
    actions.addHandler(acting)
    actions.setLevel(logging.INFO)
    try:
        await daemon.run()
    finally:
        actions.removeHandler(acting)
        actions.setLevel(level)

    assert [(t.event, t.reason) for t in traces if t.event == "fired"] == [
        ("fired", "hr 120 above 100")
    ]
    with_hr = [u for u in updates if "hr" in u.values]
    assert [u.values["hr"].value for u in with_hr] == [60.0, 120.0, 60.0]
    assert set(with_hr[0].values) == SIGNAL_NAMES  # the first: every signal, worked out
    for update in with_hr:  # each the full update: what changed besides the rules' own
        assert "hr_delta_rest" in update.values
    # The action left (its first step runs in the turn that fired the rule) with `hr` worked
    # out for the 120 and `hr_delta_rest` still as the 60 left it: the rest came after.
    [seen] = acting.seen
    assert seen["hr"]["value"] == 120.0
    assert seen["hr_delta_rest"]["value"] == with_hr[0].values["hr_delta_rest"].value
    assert seen["hr_delta_rest"]["value"] != with_hr[1].values["hr_delta_rest"].value
