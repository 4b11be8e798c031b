"""Fault bench: broker restarts under load; how soon ambient is back, and what it lost.

A real Mosquitto on loopback with persistence (sessions and queued QoS-1 messages survive a
restart), ambient's MQTT connection and sensor with the default backoff, and a phone publishing
timestamped heart rates at QoS 1 all along. The broker is killed, stays away for a while (0.5 s
to 10 s), and comes back; each time the bench measures from "broker running again" to "ambient
connected again". Readings the phone could publish (the broker acknowledged them) must all reach
the sensor.

Run: ``python bench/bench_faults_reconnect.py [--backoff-min S --backoff-max S]`` (needs
mosquitto; the default backoff unless given). Stops by itself; prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import aiomqtt
from fixtures.mosquitto import MosquittoBroker

from ambient.clock import RealClock
from ambient.config.mqtt import MqttConfig
from ambient.config.sensors import MqttSensorConfig
from ambient.connections.mqtt import MqttConnection
from ambient.counters import Counters
from ambient.readings import Reading
from ambient.sensors.mqtt import MqttSensor

DOWNTIMES_S = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
PUBLISH_EVERY_S = 0.005  # 200 readings/s
TOPIC = "phone/alex/hr"
CONNECT_WAIT_S = 30.0


class Sink:
    def __init__(self) -> None:
        self.times: set[float] = set()

    def put_nowait(self, reading: Reading) -> None:
        self.times.add(round(reading.time, 3))

    async def put(self, reading: Reading) -> None:
        self.put_nowait(reading)


async def phone(broker: MosquittoBroker, published: set[float], stop: asyncio.Event) -> None:
    """Publishes while the broker is there; reconnects at once when it is not (its own quick
    loop: the phone's behaviour is not under test). Reading ``i`` is stamped ``i`` ms after
    the start, so each is told apart by its time."""
    start_s = time.time() - 100.0
    index = 0
    while not stop.is_set():
        client = aiomqtt.Client(broker.host, broker.port, identifier="phone")
        try:
            async with client:
                while not stop.is_set():
                    stamp = round(start_s + index / 1000.0, 3)
                    await client.publish(TOPIC, b'{"hr": 70, "ts": %.3f}' % stamp, qos=1)
                    published.add(stamp)  # acknowledged by the broker
                    index += 1
                    await asyncio.sleep(PUBLISH_EVERY_S)
        except aiomqtt.MqttError:
            # aiomqtt keeps why the session ended in a future it reads only when nobody's
            # publish failed first; take it, or asyncio prints "Future exception was never
            # retrieved" for the phone at exit (ambient's own connection takes its own).
            session_end = client._disconnected
            if session_end.done() and not session_end.cancelled():
                session_end.exception()
            await asyncio.sleep(0.05)


async def run(backoff: dict[str, float]) -> int:
    with tempfile.TemporaryDirectory() as directory:
        broker = MosquittoBroker(Path(directory) / "mosquitto", persistent=True)
        broker.start()
        counters = Counters()
        config = MqttConfig(host=broker.host, port=broker.port, **backoff)
        connection = MqttConnection(config, "home", RealClock(), counters)
        sensor_config = MqttSensorConfig.model_validate(
            {"type": "mqtt", "topic": TOPIC, "person": "alex", "metric": "hr"}
            | {"value": "hr", "timestamp": "ts"}
        )
        sensor = MqttSensor(sensor_config, connection, RealClock(), counters, name="phone")
        sink = Sink()
        published: set[float] = set()
        stop = asyncio.Event()
        tasks = [
            asyncio.ensure_future(connection.run()),
            asyncio.ensure_future(sensor.run(sink)),
        ]
        reconnect_s: list[float] = []
        try:
            await asyncio.wait_for(connection.wait_connected(), CONNECT_WAIT_S)
            tasks.append(asyncio.ensure_future(phone(broker, published, stop)))
            for downtime_s in DOWNTIMES_S:
                await asyncio.sleep(1.0)  # load flows
                lost_link = asyncio.ensure_future(connection.wait_attempt_ended())
                broker.kill()
                await asyncio.wait_for(lost_link, CONNECT_WAIT_S)
                await asyncio.sleep(downtime_s)
                await asyncio.to_thread(broker.start)
                back_at = time.monotonic()
                await asyncio.wait_for(connection.wait_connected(), CONNECT_WAIT_S)
                reconnect_s.append(time.monotonic() - back_at)
                print(
                    f"broker away {downtime_s:4.1f} s: ambient reconnected "
                    f"{reconnect_s[-1]:.2f} s after it was back"
                )
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.sleep(1.0)  # the last acknowledged readings arrive
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await task
            broker.kill()
    lost = published - sink.times
    print(f"reconnect after the broker is back: max {max(reconnect_s):.2f} s")
    print(f"readings published (acknowledged by the broker): {len(published)}")
    print(f"readings received: {len(sink.times & published)}; lost: {len(lost)}")
    print(f"connection counters: {counters.scope('mqtt')}")
    return 0 if max(reconnect_s) <= 2.0 and not lost else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backoff-min", type=float, help="first wait, s (default: the config's)")
    parser.add_argument("--backoff-max", type=float, help="longest wait, s (default: the config's)")
    args = parser.parse_args()
    backoff = {
        name: value
        for name, value in (("backoff_min", args.backoff_min), ("backoff_max", args.backoff_max))
        if value is not None
    }
    return asyncio.run(run(backoff))


if __name__ == "__main__":
    sys.exit(main())
