"""The broker of the ``ambient record`` process tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from connections.mqtt_processes import unlimited_queue_broker
from fixtures.mosquitto import MosquittoBroker, mosquitto_available


@pytest.fixture
def queueing_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A running broker that queues every QoS-1 message, however many (see
    :func:`unlimited_queue_broker`)."""
    if not mosquitto_available():
        pytest.skip("mosquitto is not installed (scripts/test installs it)")
    broker = unlimited_queue_broker(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()
