"""kill -9 inside a `wait_for` whose timeout then falls due: real `ambient run` processes and a
real Mosquitto say what an uninterrupted run says (the scenario is in wait_for_scenario.py;
bench_restart.py repeats it N times)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.mosquitto import MosquittoBroker
from rules.wait_for_scenario import CALMER, interrupted, uninterrupted

pytestmark = pytest.mark.mosquitto


def test_a_wait_whose_timeout_falls_due_during_a_restart_decides_on_the_first_reading(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    assert uninterrupted(tmp_path / "uninterrupted", mosquitto.host, mosquitto.port) == CALMER

    said = interrupted(tmp_path / "interrupted", mosquitto.host, mosquitto.port)

    assert said.text == CALMER
    assert said.late_s is not None  # it decided on the first reading, and says how late
    # `ambient trace` shows the resumed run and what it did (beside the episode's recovery)
    assert said.traced[0] == ("fired", ("calm",))
    assert ("resumed", (CALMER,)) in said.traced
