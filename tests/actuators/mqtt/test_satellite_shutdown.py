"""A satellite forwarder stops when cancelled, even when the cancel races a broker acknowledgement.

On Python 3.11 ``asyncio.wait_for`` (which aiomqtt's publish uses) returns the result instead of
raising when the awaited acknowledgement completes in the same loop turn as the cancel; the
forwarder then used to wait forever for a connection that had stopped, and ``ambient run`` with
``role: satellite`` hung on SIGTERM (seen in test_satellite_processes.py). A real broker cannot
produce that race on demand, so the connection here is a stand-in whose publish awaits the
acknowledgement through ``asyncio.wait_for`` exactly like aiomqtt's, and which the test
acknowledges in the same turn as it cancels.
"""

from __future__ import annotations

import asyncio
import contextlib

from ambient.actuators.mqtt_satellite import SatelliteForwarder
from ambient.clock import RealClock
from ambient.config.mqtt import MqttConfig
from ambient.counters import Counters
from ambient.readings import Reading


class AckOnDemandConnection:
    """Connected until ``stop()``; each publish waits for ``acknowledge()``."""

    config = MqttConfig()
    instance = "kitchen"

    def __init__(self) -> None:
        self.connected_event = asyncio.Event()
        self.connected_event.set()
        self.pending_ack: asyncio.Future[None] | None = None
        self.publishing = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self.connected_event.is_set()

    async def wait_connected(self) -> None:
        await self.connected_event.wait()

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.pending_ack = asyncio.get_running_loop().create_future()
        self.publishing.set()
        await asyncio.wait_for(self.pending_ack, timeout=10)

    def acknowledge(self) -> None:
        assert self.pending_ack is not None
        self.pending_ack.set_result(None)

    def stop(self) -> None:
        self.connected_event.clear()


async def test_a_cancel_arriving_with_the_acknowledgement_still_stops_the_forwarder() -> None:
    connection = AckOnDemandConnection()
    forwarder = SatelliteForwarder(
        connection,  # type: ignore[arg-type]  # the stand-in described above
        RealClock(),
        Counters(),
        batch_interval_s=0.0,
    )
    task = asyncio.ensure_future(forwarder.run())
    forwarder.put_nowait(Reading(RealClock().now(), "alex", "rr", 800.0, "strap"))
    await asyncio.wait_for(connection.publishing.wait(), 5)
    # The daemon's shutdown: the acknowledgement and the cancel land in the same turn, and the
    # connection task stops too.
    connection.acknowledge()
    task.cancel()
    connection.stop()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done, "the forwarder kept running after it was cancelled"
    assert task.cancelled()
    with contextlib.suppress(asyncio.CancelledError):
        await task
