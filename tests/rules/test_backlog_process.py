"""kill -9, button presses while ambient is down, restart: a real `ambient run` process on a real
Mosquitto acts only on the queued press that says it is recent (the scenario is in
backlog_scenario.py; bench_restart.py repeats it N times)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.mosquitto import MosquittoBroker
from rules.backlog_scenario import EXPECTED, queued_presses

pytestmark = pytest.mark.mosquitto


def test_presses_queued_while_ambient_was_killed_act_only_when_recent(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    outcome = queued_presses(tmp_path, mosquitto.host, mosquitto.port)

    assert outcome.events == EXPECTED.events
    assert outcome.actions == EXPECTED.actions
