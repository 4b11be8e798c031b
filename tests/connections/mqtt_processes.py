"""Real ``ambient record`` processes against a real Mosquitto, for the shutdown tests and the
fault benches: a recorder whose readings arrive on its stdout, a QoS-1 flood of timestamped
heart rates, and a broker that queues without limit (Mosquitto's default keeps 1,000 messages
per client and silently drops the rest, which would hide what ambient itself loses)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiomqtt
from fixtures.mosquitto import MosquittoBroker
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

INSTANCE = "home"
CLIENT_ID = "ambient-flood-test"
#: ``record`` connects as a second client of the instance, under a client id of its own.
RECORDER_CLIENT_ID = f"{CLIENT_ID}-record"
TOPIC = "flood/hr"
#: Publishes in flight at once (Mosquitto accepts 20 unacknowledged from one client).
PUBLISH_WINDOW = 20

CONFIG = """\
instance: {instance}
mqtt: {{host: {host}, port: {port}, discovery: false, client_id: {client_id}}}
people: [{{id: alex}}]
sensors:
  - {{type: mqtt, topic: {topic}, person: alex, metric: hr, value: hr{timestamp}}}
store: {{path: {store}}}
"""


def unlimited_queue_broker(directory: Path) -> MosquittoBroker:
    """A broker (not started) that queues every QoS-1 message for an absent or slow client."""
    broker = MosquittoBroker(directory)
    with broker.config_path.open("a") as config:
        config.write("max_queued_messages 0\n")
    return broker


def write_config(directory: Path, broker: MosquittoBroker, *, timestamps: bool = True) -> Path:
    """A config whose sensor reads ``{"hr": 70, "ts": ...}`` (or ``{"hr": 70}`` without
    ``timestamps``) on :data:`TOPIC`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ambient.yaml"
    path.write_text(
        CONFIG.format(
            instance=INSTANCE,
            client_id=CLIENT_ID,
            host=broker.host,
            port=broker.port,
            topic=TOPIC,
            timestamp=", timestamp: ts" if timestamps else "",
            store=directory / "ambient.db",
        )
    )
    return path


async def create_session(broker: MosquittoBroker) -> None:
    """Open ambient's persistent session (its client id, the sensor's subscription) so the
    broker queues the flood for it from the first message, whenever the recorder connects."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=RECORDER_CLIENT_ID,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=properties,
    ) as client:
        await client.subscribe(TOPIC, qos=1)


def reading_time(index: int, start_s: float) -> float:
    """Reading ``index`` of a flood: one millisecond apart, so each is told apart by its time."""
    return round(start_s + index / 1000.0, 3)


def payload(index: int, start_s: float) -> bytes:
    return b'{"hr": %d, "ts": %.3f}' % (60 + index % 60, reading_time(index, start_s))


async def flood(broker: MosquittoBroker, count: int, start_s: float, first: int = 0) -> None:
    """Publish readings ``first`` .. ``count - 1`` at QoS 1, each acknowledged by the broker."""
    async with aiomqtt.Client(broker.host, broker.port, identifier="flood") as client:
        for low in range(first, count, PUBLISH_WINDOW):
            high = min(count, low + PUBLISH_WINDOW)
            for index in range(low, high):
                await client.publish(TOPIC, payload(index, start_s), qos=1)


class Recorder:
    """``ambient record --out /dev/stdout``: each reading arrives as a CSV row on stdout."""

    def __init__(self, config: Path) -> None:
        command = [sys.executable, "-X", "faulthandler", "-m", "ambient", "record"]
        self.process = subprocess.Popen(
            [*command, "--config", str(config), "--out", "/dev/stdout"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.times: set[float] = set()
        self.rows = 0
        #: When (monotonic) the first row came, for a drain rate without the start-up.
        self.first_row_at: float | None = None
        self.stderr: list[str] = []
        self._logged = threading.Condition()
        self._ended = False
        #: Reading times, a chunk of the output at a time (one hand-over per row between
        #: threads would make this bench, not the recorder, the slow part).
        self._rows: queue.Queue[list[float] | None] = queue.Queue()
        threading.Thread(target=self._read_rows, daemon=True).start()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_rows(self) -> None:
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()  # read raw: nothing else reads stdout
        partial = b""
        while chunk := os.read(descriptor, 1 << 16):
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            times = [float(line.split(b",", 1)[0]) for line in lines if line[:1].isdigit()]
            if times:
                if self.first_row_at is None:
                    self.first_row_at = time.monotonic()
                self._rows.put(times)
        self._rows.put(None)

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._logged:
                self.stderr.append(line.rstrip("\n"))
                self._logged.notify_all()

    def wait_log(self, text: str, timeout_s: float) -> bool:
        """Until a log line holding ``text`` was written (or the timeout passed)."""
        with self._logged:
            return self._logged.wait_for(
                lambda: any(text in line for line in self.stderr), timeout_s
            )

    def wait_rows(self, count: int, deadline_s: float, known: set[float] | None = None) -> bool:
        """Until ``count`` distinct times were seen (with ``known``'s), the process ended, or
        the deadline (monotonic) passed; whether the count was reached."""
        known = known or set()
        distinct = len(self.times | known)  # counted once, then kept up to date: O(1) a row
        while distinct < count:
            remaining = deadline_s - time.monotonic()
            if remaining <= 0:
                return False
            try:
                rows = self._rows.get(timeout=remaining)
            except queue.Empty:
                return False
            if rows is None:
                self._ended = True
                return False
            self.rows += len(rows)
            for row in rows:
                if row not in self.times:
                    distinct += row not in known
                    self.times.add(row)
        return True

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, then every row it still writes; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        while not self._ended:
            rows = self._rows.get()
            if rows is None:
                self._ended = True
            else:
                self.rows += len(rows)
                self.times.update(rows)
        return code
