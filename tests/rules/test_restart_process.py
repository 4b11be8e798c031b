"""kill -9 before a deadline: real `ambient run` processes and a real Mosquitto end exactly as a
run that was never interrupted (the scenario is in restart_scenario.py; bench_restart.py
repeats it N times)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.mosquitto import MosquittoBroker
from rules.restart_scenario import interrupted, uninterrupted

pytestmark = pytest.mark.mosquitto


def test_deadlines_that_fall_due_during_restarts_decide_as_an_uninterrupted_run(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    expected = uninterrupted(tmp_path / "uninterrupted", mosquitto.host, mosquitto.port)
    assert expected.events == ["fired", "escalated", "recovered"]
    assert expected.actions == ["calm", "level 1", "recovered"]

    outcome = interrupted(tmp_path / "interrupted", mosquitto.host, mosquitto.port)

    assert outcome.events == expected.events
    assert outcome.actions == expected.actions
    assert len(outcome.notes) == 2  # both decisions say they were due during a restart
