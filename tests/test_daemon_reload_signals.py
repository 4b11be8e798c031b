"""A reload of a live daemon goes on with each person's signal state when the signals section
is unchanged: HRV known at once after it (it was unknown for a minute, the smoothing and an
exercise hold-off lost), and the new wiring's rules hear every signal at the next update."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ambient.clock import Clock, VirtualClock
from ambient.config import load_config
from ambient.daemon import Daemon, DaemonOptions
from ambient.messages import SignalUpdate
from ambient.ports import ReadingSink
from ambient.readings import Reading

CONFIG = """\
people:
  - id: alex
rules:
  - id: calm
    person: alex
    triggers: [{trigger: signal, signal: rmssd, below: 20}]
    actions: [{action: log, message: low}]
store:
  path: null
"""


class Strap:
    """Two minutes of beats (RMSSD 40 ms) up to now at its first start, none after: each
    start is told to the test."""

    name = "strap"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.starts = 0
        self.started = asyncio.Event()

    async def run(self, sink: ReadingSink) -> None:
        self.starts += 1
        if self.starts == 1:
            rr_ms = [800.0 + (20 if i % 2 else -20) for i in range(150)]
            t = self.clock.now() - sum(rr_ms) / 1000
            for rr in rr_ms:
                t += rr / 1000
                await sink.put(Reading(t, "alex", "rr", rr, self.name))
        self.started.set()
        await asyncio.Event().wait()  # a strap that stays connected

    def diagnostics(self) -> Mapping[str, Any]:
        return {"name": self.name}


async def test_a_reload_goes_on_with_each_persons_signals(tmp_path: Path) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG)
    clock = VirtualClock(start=1_000_000.0)  # time moves only when the test says
    strap = Strap(clock)
    hrv_known = asyncio.Event()

    def listen(update: SignalUpdate) -> None:
        if update.values.get("rmssd") is not None and update.values["rmssd"].value is not None:
            hrv_known.set()

    options = DaemonOptions(
        sensors=[strap], store_in_memory=True, services=False, signal_listeners=[listen]
    )
    daemon = Daemon(load_config(path), clock, options, config_path=path)
    running = asyncio.create_task(daemon.run())
    await strap.started.wait()
    await clock.run_until(clock.now() + 2.0)  # the update slot: every beat counted
    assert hrv_known.is_set()
    strap.started.clear()

    daemon.request_reload()
    await strap.started.wait()  # the new wiring runs

    rmssd = daemon.status()["people"]["alex"]["rmssd"]
    daemon.request_stop()
    await running
    assert strap.starts == 2
    assert rmssd["value"] == 40.0, rmssd
