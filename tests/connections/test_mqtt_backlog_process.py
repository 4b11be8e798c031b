"""A restarted ``ambient record`` refuses readings of unknown age that the broker queued while
it was away (no timestamp), counts them, and takes live ones: real process, real Mosquitto."""

from __future__ import annotations

import time
from pathlib import Path

import aiomqtt
from connections.mqtt_processes import (
    TOPIC,
    Recorder,
    create_session,
    write_config,
)
from fixtures.mosquitto import MosquittoBroker

WAIT_S = 60.0


async def test_a_backlog_without_timestamps_is_refused_and_live_readings_are_taken(
    tmp_path: Path, queueing_broker: MosquittoBroker
) -> None:
    config = write_config(tmp_path / "ambient", queueing_broker, timestamps=False)
    await create_session(queueing_broker)
    async with aiomqtt.Client(
        queueing_broker.host, queueing_broker.port, identifier="watch"
    ) as watch:
        for value in (70, 71, 72):  # published while ambient is away
            await watch.publish(TOPIC, b'{"hr": %d}' % value, qos=1)
        recorder = Recorder(config)
        try:
            assert recorder.wait_log("backlog_without_time", WAIT_S), recorder.stderr
            await watch.publish(TOPIC, b'{"hr": 73}', qos=1)  # live, after the backlog
            assert recorder.wait_rows(1, time.monotonic() + WAIT_S), recorder.stderr
        finally:
            assert recorder.stop() == 0, recorder.stderr
    assert recorder.rows == 1
    assert not [line for line in recorder.stderr if "Traceback" in line]
