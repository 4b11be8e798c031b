"""SIGTERM loses nothing the broker handed over: real ``ambient record`` processes, a real
Mosquitto, a QoS-1 backlog of timestamped heart rates.

The first recorder is stopped while it is working through the backlog; what it had not taken
stays unacknowledged at the broker, and a second recorder (same client id, same session) gets
it. Every reading is in one of the two outputs (some may be in both: delivery is at least once).
"""

from __future__ import annotations

import time
from pathlib import Path

from connections.mqtt_processes import (
    Recorder,
    create_session,
    flood,
    reading_time,
    write_config,
)
from fixtures.mosquitto import MosquittoBroker

READINGS = 6000
WAIT_S = 120.0


async def test_sigterm_during_a_qos1_backlog_loses_no_reading(
    tmp_path: Path, queueing_broker: MosquittoBroker
) -> None:
    config = write_config(tmp_path / "ambient", queueing_broker)
    start_s = time.time() - 60.0
    await create_session(queueing_broker)
    await flood(queueing_broker, READINGS, start_s)
    expected = {reading_time(index, start_s) for index in range(READINGS)}

    first = Recorder(config)
    try:
        assert first.wait_rows(READINGS // 10, time.monotonic() + WAIT_S), first.stderr
    finally:
        assert first.stop() == 0, first.stderr
    assert len(first.times) < READINGS  # it was stopped half-way

    second = Recorder(config)
    try:
        second.wait_rows(READINGS, time.monotonic() + WAIT_S, known=first.times)
    finally:
        assert second.stop() == 0, second.stderr
    lost = expected - first.times - second.times
    assert not lost, f"{len(lost)} of {READINGS} readings lost"
    assert not [line for line in first.stderr + second.stderr if "Traceback" in line]
