"""Start-up and memory of the daemon as it runs on a Pi.

Prints:
- `ambient check` wall time (median of several runs) and its `-X importtime` top modules;
- daemon-ready time: spawn of `ambient run` to READY=1 on a NOTIFY_SOCKET this script owns,
  with the import breakdown of that start;
- RSS of the daemon with BLE, MQTT and HA configured after a 1-hour replay at speed, and its
  growth over a simulated day (24 replayed hours), sampled each simulated hour.
- with --encrypting-only: from the status socket to READY=1 of a start that encrypts a plain
  store (store.encryption just configured), alone and with a command reading the plain file
  as the daemon comes to it.

What is live: a real Mosquitto broker on a free loopback port (when `mosquitto` is installed).
What is not: this machine has no Bluetooth (the BLE sensor loads bleak and retries with
backoff) and no Home Assistant is started (HA points at a closed loopback port, so the client
and aiohttp are loaded and reconnect with backoff). The beats come from a recording sensor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from ambient.status import StatusUnavailable, query_status

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "ambient" / "data" / "resting-hour.csv"
SPEED = 3600.0  # start-up runs: one recorded hour per second of wall time
DAY_SPEED = 1200.0  # the day: 3 s of wall time per simulated hour, so each hour is sampled
CHECK_RUNS = 7
READY_RUNS = 5
DAY_HOURS = 24

CONFIG = """\
instance: bench
people:
  - id: alex
sensors:
  - id: replay
    type: recording
    path: {recording}
    person: alex
    loop: {loop}
  - id: strap
    type: ble
    address: "A0:9E:1A:00:00:01"
    person: alex
  - id: watch
    type: mqtt
    topic: bench/alex/hr
    metric: hr
    person: alex
homeassistant:
  url: http://127.0.0.1:{ha_port}
  token: not-a-real-token
mqtt:
  host: 127.0.0.1
  port: {mqtt_port}
  discovery: true
rules:
  - id: calm
    person: alex
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
        for: 2 min
    cooldown: 30 min
    actions:
      - action: log
store:
  path: {store}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ambient(*args: str) -> list[str]:
    return [sys.executable, "-m", "ambient", *args]


def write_config(directory: Path, recording: Path, mqtt_port: int, loop: bool = False) -> Path:
    config = directory / ("ambient-loop.yaml" if loop else "ambient.yaml")
    config.write_text(
        CONFIG.format(
            recording=recording,
            loop=str(loop).lower(),
            ha_port=free_port(),
            mqtt_port=mqtt_port,
            store=directory / "state" / "ambient.db",
        )
    )
    return config


def start_mosquitto(directory: Path) -> tuple[subprocess.Popen[bytes] | None, int]:
    port = free_port()
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        return None, port
    conf = directory / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, port


# --- import time -----------------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def import_breakdown(
    stderr: str, top: int = 10
) -> tuple[float, list[tuple[str, float]], list[tuple[str, float]]]:
    """Total import time, top-level packages by self time, and ambient's own modules (ms)."""
    per_package: dict[str, float] = defaultdict(float)
    own: dict[str, float] = {}
    total_us = 0
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        self_us, _cumulative_us, indent, module = match.groups()
        per_package[module.split(".")[0]] += int(self_us) / 1000
        if module.startswith("ambient"):
            own[module] = int(self_us) / 1000
        if len(indent) == 1:  # a top-level import: its cumulative time counts once
            total_us += int(_cumulative_us)
    ranked = sorted(per_package.items(), key=lambda item: item[1], reverse=True)[:top]
    own_ranked = sorted(own.items(), key=lambda item: item[1], reverse=True)[:6]
    return total_us / 1000, ranked, own_ranked


def print_breakdown(title: str, stderr: str) -> None:
    total_ms, ranked, own = import_breakdown(stderr)
    print(f"  {title}: imports {total_ms:.0f} ms in all; top packages by self time:")
    for package, ms in ranked:
        print(f"    {package:<36} {ms:7.1f} ms")
    print("  of which ambient's own modules, top by self time:")
    for module, ms in own:
        print(f"    {module:<36} {ms:7.1f} ms")


# --- check ------------------------------------------------------------------------------------


def bench_check(config: Path) -> None:
    times = []
    for _ in range(CHECK_RUNS):
        started = time.perf_counter()
        subprocess.run(ambient("check", "--config", str(config)), capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    print(
        f"ambient check: median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms over {CHECK_RUNS} runs"
    )
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ambient", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    print_breakdown("ambient check", traced.stderr)


# --- ready ------------------------------------------------------------------------------------


class Daemon:
    """`ambient run` with a NOTIFY_SOCKET owned here; READY is awaited on it."""

    def __init__(
        self,
        config: Path,
        directory: Path,
        importtime: bool = False,
        speed: float = SPEED,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.notify_path = directory / f"notify-{time.monotonic_ns()}.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.stderr_path = directory / "daemon.err"
        env = {**os.environ, **(extra_env or {}), "NOTIFY_SOCKET": str(self.notify_path)}
        command = ambient("run", "--config", str(config), "--speed", str(speed))
        if importtime:
            command.insert(1, "-X")
            command.insert(2, "importtime")
        self.started = time.perf_counter()
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=stderr
            )

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        self.notify.settimeout(timeout_s)
        while True:
            try:
                message = self.notify.recv(4096).decode()
            except TimeoutError:
                log = self.stderr_path.read_text()[-3000:]
                raise SystemExit(
                    f"no READY=1 within {timeout_s:g} s; the daemon said:\n{log}"
                ) from None
            if "READY=1" in message.splitlines():
                return time.perf_counter() - self.started

    def rss_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) of the daemon in KiB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
        return fields["VmRSS"], fields["VmHWM"]

    def threads(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return 0

    def shares_kib(self) -> dict[str, int]:
        """Pss, Anonymous and Shared_Clean in KiB: RSS counts shared library pages (libpython,
        libcrypto, pydantic-core) in full, though other processes map the same pages."""
        fields = {}
        rollup = Path(f"/proc/{self.process.pid}/smaps_rollup")
        for line in rollup.read_text().splitlines()[1:]:
            key, _, value = line.partition(":")
            if key in ("Pss", "Anonymous", "Shared_Clean"):
                fields[key] = int(value.split()[0])
        return fields

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.notify.close()
        self.notify_path.unlink(missing_ok=True)


def bench_ready(config: Path, directory: Path) -> None:
    times = []
    for _ in range(READY_RUNS):
        daemon = Daemon(config, directory)
        try:
            times.append(daemon.wait_ready())
        finally:
            daemon.stop()
    print(
        f"daemon ready (spawn to READY=1): median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms over {READY_RUNS} runs"
    )
    daemon = Daemon(config, directory, importtime=True)
    try:
        daemon.wait_ready()
    finally:
        daemon.stop()
    print_breakdown("ambient run to READY", daemon.stderr_path.read_text())


# --- encrypting a plain store at start ------------------------------------------------------

#: Another process reading the plain store as the daemon comes to it (`ambient trace`): how long.
HELD_S = 1.0
#: A command on the plain store: it reads it, keeps it open (or not, for 0 s) until the daemon
#: has claimed its status socket (which it does just before it opens the store), then this long.
HOLD_OPEN = """
import sys, time
from pathlib import Path
from ambient.store import Store
path, held_s = Path(sys.argv[1]), float(sys.argv[2])
store = Store(path)
store.get("signals.baseline", "alex")
if not held_s:
    store.close()
print("open", flush=True)
while not path.with_name("ambient.sock").exists():
    time.sleep(0.002)
print(time.monotonic(), flush=True)
if held_s:
    time.sleep(held_s)
    store.close()
"""


def bench_encrypting_start(directory: Path, mqtt_port: int) -> None:
    """From the daemon's status socket (claimed just before it opens the store) to READY=1, in
    a start that finds a plain store where `store.encryption` is configured, which it encrypts
    as it starts: alone, and with another process reading the plain file for HELD_S then."""
    key_file = directory / "store.key"
    key_file.write_text("3f" * 32)
    key_file.chmod(0o600)
    config = write_config(directory, RECORDING, mqtt_port)
    config.write_text(config.read_text() + f"  encryption:\n    key_file: {key_file}\n")
    store = directory / "state" / "ambient.db"
    for held_s in (0.0, HELD_S):
        times = []
        for _ in range(READY_RUNS):
            for path in store.parent.glob(f"{store.name}*"):
                path.unlink()
            command = subprocess.Popen(
                [sys.executable, "-c", HOLD_OPEN, str(store), str(held_s)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert command.stdout is not None and command.stdout.readline() == "open\n"
            daemon = Daemon(config, directory)
            try:
                daemon.wait_ready()
                ready = time.monotonic()
            finally:
                daemon.stop()
            times.append(ready - float(command.stdout.readline()))
            command.wait()
        what = f"a command reading it for {held_s:g} s then" if held_s else "alone"
        print(
            f"status socket to READY=1, encrypting a plain store ({what}): median "
            f"{statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms over "
            f"{READY_RUNS} runs"
        )


# --- memory ------------------------------------------------------------------------------------


async def replayed(socket_path: Path) -> int | None:
    try:
        status = await query_status(socket_path, timeout_s=5.0)
    except StatusUnavailable:
        return None
    for sensor in status.get("sensors", []):
        if sensor.get("name") == "replay":
            value = sensor.get("replayed")
            return int(value) if isinstance(value, int) else None
    return None


def bench_memory(
    directory: Path, mqtt_port: int, hours: int = DAY_HOURS, extra_env: dict[str, str] | None = None
) -> int | None:
    """The bundled hour on a loop: the recording's own rows stay one hour's worth, so what grows
    is the daemon (signal windows, baselines, traces, counters), not the replay's input.
    Returns VmRSS after the first replayed hour (KiB)."""
    per_hour = sum(1 for line in RECORDING.read_text().splitlines() if line and line[0].isdigit())
    config = write_config(directory, RECORDING, mqtt_port, loop=True)
    socket_path = directory / "state" / "ambient.sock"
    daemon = Daemon(config, directory, speed=DAY_SPEED, extra_env=extra_env)
    samples: list[tuple[int, int, int]] = []
    try:
        daemon.wait_ready()
        rss_ready, _ = daemon.rss_kib()
        print(f"RSS at READY: {rss_ready / 1024:.1f} MiB")
        next_hour = 1
        deadline = time.monotonic() + 600
        while next_hour <= hours and time.monotonic() < deadline:
            done = asyncio.run(replayed(socket_path)) or 0
            while next_hour <= hours and done >= next_hour * per_hour:
                rss, hwm = daemon.rss_kib()
                samples.append((next_hour, rss, hwm))
                if next_hour == 1:
                    shares = daemon.shares_kib()
                    print(
                        "  after 1 h: "
                        + ", ".join(f"{key} {kib / 1024:.1f} MiB" for key, kib in shares.items())
                        + f", threads {daemon.threads()}"
                    )
                next_hour += 1
            time.sleep(0.1)  # a benchmark polling a live process, not a test waiting
    finally:
        daemon.stop()
    if not samples:
        print("memory: the replay made no progress")
        return None
    for hour, rss, hwm in samples:
        if hour in (1, 2, 6, 12, 24) or hour == samples[-1][0]:
            print(f"  after {hour:2d} h replayed: RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f})")
    first, last = samples[0], samples[-1]
    if last[0] > first[0]:
        growth = (last[1] - first[1]) / 1024
        span = last[0] - first[0]
        print(
            f"RSS after a 1-hour replay: {first[1] / 1024:.1f} MiB; growth from hour 1 to hour "
            f"{last[0]}: {growth:+.1f} MiB ({growth / max(span, 1):+.2f} MiB per simulated hour)"
        )
    else:
        print(f"RSS after a 1-hour replay: {first[1] / 1024:.1f} MiB")
    return first[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Start-up and memory of the daemon.")
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="skip the check and ready timings; run only the memory figure",
    )
    parser.add_argument(
        "--encrypting-only",
        action="store_true",
        help="only the start that encrypts a plain store (needs the crypto extra)",
    )
    parser.add_argument(
        "--hours", type=int, default=DAY_HOURS, help="simulated hours to replay (default: a day)"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="memory runs (median RSS after 1 h is printed)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the daemon (e.g. MALLOC_ARENA_MAX=2), repeatable",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, replay speed x{SPEED:.0f}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: uncached modules are compiled at every start")
    if extra_env:
        print(f"daemon environment: {extra_env}")
    with tempfile.TemporaryDirectory(prefix="ambient-bench-") as tmp:
        directory = Path(tmp)
        broker, mqtt_port = start_mosquitto(directory)
        print(
            "configured: recording + BLE (no adapter here) + MQTT sensor and discovery "
            f"({'live Mosquitto' if broker else 'no broker running'}) + HA (closed port)"
        )
        try:
            config = write_config(directory, RECORDING, mqtt_port)
            if args.encrypting_only:
                bench_encrypting_start(directory, mqtt_port)
                return
            if not args.memory_only:
                bench_check(config)
                bench_ready(config, directory)
            after_hour = []
            for _ in range(args.runs):
                rss = bench_memory(directory, mqtt_port, args.hours, extra_env)
                if rss is not None:
                    after_hour.append(rss)
            if len(after_hour) > 1:
                print(
                    f"RSS after 1 h over {len(after_hour)} runs: median "
                    f"{statistics.median(after_hour) / 1024:.1f} MiB, min "
                    f"{min(after_hour) / 1024:.1f}, max {max(after_hour) / 1024:.1f}"
                )
        finally:
            if broker is not None:
                broker.terminate()
                broker.wait()


if __name__ == "__main__":
    main()
