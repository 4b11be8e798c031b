"""What a Raspberry Pi's SD card and journal get from ambient running for months, per day.

The real daemon wiring of ``bench_soak.py`` (its config: rules with holds, cooldowns, recovery
and escalation, a ``choose_calming`` step, insights, retention) runs ``--days`` on a virtual
clock for 1 and for 3 people wearing a strap, on a store file on this disk. A child process
runs it under ``strace`` (when installed), which counts what reached the kernel: bytes written
and fsyncs per file. Inside, the store counts its commits and the WAL frames (4 KiB pages) each
wrote, by namespace, read from the WAL index header; the log records at INFO and above and the
``ambient run`` timeline (what the journal gets) are counted by line and bytes, with their most
repeated message. A recording (what ``ambient record`` writes) is sized for the same beats.

    python bench/bench_writes.py [--days 3] [--people 1 3]
    python bench/bench_writes.py --idle 600

``--idle`` runs ``ambient run`` as real processes for that many seconds instead: one fed a
beat at a time over MQTT (the store's writes on the real clock), one with no strap sending
and one whose strap, broker and Home Assistant are all away. It reports CPU, wake-ups
(context switches), memory, bytes written (``write_bytes``) and the log lines.

On the virtual clock a day's commits come within seconds; what the card gets is measured as
the pages the commits dirty (the kernel's ``write_bytes``), with the store's files flushed as
the kernel would on the daemon's clock (30 s after a page was dirtied). That counts the
``-shm`` file (SQLite's WAL index), which SQLite writes through memory, not a system call, so
strace does not see it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ambient.clock import VirtualClock
from ambient.config import load_config
from ambient.daemon import DaemonOptions
from ambient.logs import ACTIONS_LOGGER, Timeline
from ambient.recordings import RecordingWriter
from ambient.simulate import SIMULATION_EPOCH
from ambient.store import Store
from bench.bench_soak import DAY_S, NAMES, SoakDaemon, SyntheticSensor, Wearer, bench_config

PAGE_BYTES = 4096
#: The kernel writes a dirty page back this long after it was dirtied (dirty_expire_centisecs).
WRITEBACK_S = 30.0
#: A WAL frame: a 24-byte header and the page.
FRAME_BYTES = PAGE_BYTES + 24


class WalMeter:
    """Per namespace: commits, the WAL frames each wrote (the WAL index header's ``mxFrame``
    before and after each outermost transaction) and the bytes the kernel will write back for
    it (``write_bytes`` of ``/proc/self/io``: pages dirtied, the WAL's and the ``-shm``'s,
    which SQLite writes through memory). The kernel writes a dirty page back 30 s after it
    was first dirtied, so rewrites within that window cost nothing more: on the virtual
    clock, where a day's commits come within seconds, the store's files are flushed before a
    transaction that comes ``WRITEBACK_S`` or more after the last flush."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._flushed_at = -WRITEBACK_S
        self.frames: collections.Counter[str] = collections.Counter()
        self.commits: collections.Counter[str] = collections.Counter()
        self.dirtied: collections.Counter[str] = collections.Counter()
        self.checkpoints = 0
        self._depth = 0
        self._namespaces: set[str] = set()

    @staticmethod
    def max_frame(store: Store) -> int:
        if store.path is None:
            return 0
        try:
            with Path(f"{store.path}-shm").open("rb") as shm:
                header = shm.read(20)
        except FileNotFoundError:
            return 0
        return int.from_bytes(header[16:20], sys.byteorder) if len(header) == 20 else 0

    def write_bytes(self, store: Store) -> int:
        """The process's ``write_bytes``, the store's files written back first when the
        kernel would have by now (fsync, not SQLite's fdatasync: strace's count leaves these
        out)."""
        if self.clock.now() - self._flushed_at >= WRITEBACK_S:
            self._flushed_at = self.clock.now()
            self._flush(store)
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
        return 0

    @staticmethod
    def _flush(store: Store) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                descriptor = os.open(f"{store.path}{suffix}", os.O_RDONLY)
                try:
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)

    @contextmanager
    def transaction(self, store: Store, namespace: str) -> Iterator[None]:
        self._namespaces.add(namespace)
        if self._depth or store.path is None:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        before, dirty_before = self.max_frame(store), self.write_bytes(store)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            after, dirty_after = self.max_frame(store), self.write_bytes(store)
            # A log restarted after a checkpoint counts from 0 again.
            written = after - before if after >= before else after
            key = "+".join(sorted(self._namespaces))
            self._namespaces = set()
            if written:
                self.frames[key] += written
                self.commits[key] += 1
            self.dirtied[key] += dirty_after - dirty_before

    def install(self) -> None:
        """Wrap the store's writing methods (this process only: a bench's instrument)."""
        meter = self

        def wrap(name: str, namespace_of: Callable[..., str]) -> None:
            method = getattr(Store, name)

            def metered(store: Store, *args: Any, **kwargs: Any) -> Any:
                with meter.transaction(store, namespace_of(*args)):
                    return method(store, *args, **kwargs)

            setattr(Store, name, metered)

        for name in ("put", "delete", "append"):
            wrap(name, lambda namespace, *_: namespace)
        for name in ("execute", "insert"):
            wrap(name, lambda sql, *_: _table_of(sql))
        batch = Store.batch

        @contextmanager
        def metered_batch(store: Store) -> Iterator[None]:
            with meter.transaction(store, "batch"), batch(store):
                yield

        Store.batch = metered_batch  # type: ignore[method-assign,assignment]
        checkpoint = Store.checkpoint

        def counted_checkpoint(store: Store, *args: Any, **kwargs: Any) -> bool:
            meter.checkpoints += 1
            return checkpoint(store, *args, **kwargs)

        Store.checkpoint = counted_checkpoint  # type: ignore[method-assign]


def _table_of(sql: str) -> str:
    found = re.search(r"(?:INTO|UPDATE|FROM)\s+\"?(\w+)", sql, re.IGNORECASE)
    return f"table {found.group(1)}" if found else "sql"


class JournalMeter(logging.Handler):
    """The log records a journal would get at the default level (INFO), by message."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = 0
        self.bytes = 0
        self.by_message: collections.Counter[str] = collections.Counter()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == ACTIONS_LOGGER and record.levelno == logging.INFO:
            return  # ``ambient run`` leaves the log action's lines to its timeline
        self.lines += 1
        self.bytes += len(self.format(record)) + 1
        self.by_message[f"{record.name}: {record.msg}"] += 1


def child(days: int, people: list[str], folder: Path) -> dict[str, Any]:
    """Run the daemon ``days`` on a virtual clock in ``folder``; what it wrote and logged."""
    clock = VirtualClock(SIMULATION_EPOCH)
    wal = WalMeter(clock)
    wal.install()
    journal = JournalMeter()
    logging.getLogger().addHandler(journal)
    logging.getLogger().setLevel(logging.INFO)
    timeline_out = io.StringIO()
    config_path = folder / "ambient.yaml"
    config_path.write_text(bench_config(folder, people))
    config = load_config(config_path)
    sensor = SyntheticSensor(clock, people, days, lambda day: None)
    options = DaemonOptions(
        sensors=[sensor], services=False, trace_listeners=[Timeline(timeline_out)]
    )
    asyncio.run(SoakDaemon(config, clock, options, config_path).run())
    timeline = timeline_out.getvalue()
    return {
        "frames": dict(wal.frames),
        "dirtied": dict(wal.dirtied),
        "commits": dict(wal.commits),
        "checkpoints": wal.checkpoints,
        "journal_lines": journal.lines,
        "journal_bytes": journal.bytes,
        "journal_top": journal.by_message.most_common(3),
        "timeline_lines": timeline.count("\n"),
        "timeline_bytes": len(timeline.encode()),
        "beats": sensor.beats,
        "recording_bytes": recording_bytes(people, folder),
    }


def recording_bytes(people: list[str], folder: Path) -> int:
    """The size of a day of these people's beats as ``ambient record`` writes them (CSV)."""
    path = folder / "day.csv"
    writer = RecordingWriter(path)
    rng = random.Random(7)
    wearers = [Wearer(person, SIMULATION_EPOCH, rng) for person in people]
    for hour in range(1, 25):
        for wearer in wearers:
            writer.write_all(wearer.beats_until(SIMULATION_EPOCH + hour * 3600))
    writer.close()
    return path.stat().st_size


_SYSCALL = re.compile(r"^\d+\s+(\w+)\(\d+<([^>]*)>.*\)\s+=\s+(-?\d+)")


def syscalls_per_file(trace: Path, folder: Path) -> dict[str, dict[str, int]]:
    """Bytes written, write calls and fsyncs per file of ``folder`` (``strace -y`` output)."""
    files: dict[str, dict[str, int]] = collections.defaultdict(collections.Counter)
    for line in trace.read_text().splitlines():
        found = _SYSCALL.match(line)
        if not found or not found.group(2).startswith(str(folder)):
            continue
        call, path, result = found.group(1), found.group(2), int(found.group(3))
        name = os.path.relpath(path, folder)
        if call == "fdatasync":  # SQLite's (the bench's own flushes are fsync)
            files[name]["fsyncs"] += 1
        elif result > 0:
            files[name]["bytes"] += result
            files[name]["writes"] += 1
    return files


def measure(days: int, count: int) -> None:
    people = NAMES[:count]
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:  # this disk, not tmpfs
        folder = Path(tmp).resolve()
        run_child = [sys.executable, __file__, "--child", str(folder), "--days", str(days)]
        run_child += ["--people", str(count)]
        trace = folder / "strace.txt"
        strace = shutil.which("strace")
        if strace:
            calls = "trace=write,pwrite64,writev,pwritev,fsync,fdatasync"
            options = ["-f", "-qq", "-y", "--seccomp-bpf", "-e", calls, "-e", "signal=none"]
            run_child = [strace, *options, "-o", str(trace), *run_child]
        done = subprocess.run(run_child, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        files = syscalls_per_file(trace, folder) if strace else {}
    report(days, people, result, files)


def report(days: int, people: list[str], result: dict[str, Any], files: Any) -> None:
    kib = 1024
    commits = sum(result["commits"].values())
    frames = sum(result["frames"].values())
    dirtied = sum(result["dirtied"].values())
    print(f"{len(people)} person(s) x {days} days, {result['beats'] / days:,.0f} beats a day")
    print(
        f"  store: {commits / days:.0f} commits a day writing {frames / days:.0f} WAL pages "
        f"({frames * FRAME_BYTES / days / kib:.0f} KiB); the card gets "
        f"{dirtied / days / kib:.0f} KiB a day (pages dirtied: WAL, -shm, checkpoints); "
        f"{result['checkpoints'] / days:.1f} purge checkpoints a day"
    )
    for key, count in sorted(result["dirtied"].items(), key=lambda item: -item[1])[:6]:
        made, pages = result["commits"].get(key, 0), result["frames"].get(key, 0)
        print(
            f"    {key:<40} {made / days:5.0f} commits {pages / days:5.0f} WAL pages "
            f"{count / days / kib:6.0f} KiB a day"
        )
    for name, counts in sorted(files.items()):
        if name in ("strace.txt", "day.csv"):
            continue
        print(
            f"  {name:<18} write(): {counts['bytes'] / days / kib:6.0f} KiB in "
            f"{counts['writes'] / days:5.0f} calls, {counts['fsyncs'] / days:4.1f} fdatasyncs a day"
        )
    print(
        f"  journal at INFO: {result['journal_lines'] / days:.0f} log lines "
        f"({result['journal_bytes'] / days / kib:.1f} KiB) + timeline "
        f"{result['timeline_lines'] / days:.0f} lines ({result['timeline_bytes'] / days / kib:.1f}"
        " KiB) a day; the most repeated:"
    )
    for message, count in result["journal_top"]:
        print(f"    {count / days:4.0f} a day: {message[:100]}")
    print(f"  a day's recording (ambient record): {result['recording_bytes'] / kib / kib:.1f} MiB")


IDLE_CONFIGS = {
    "wearing": "a strap sending a beat at a time over MQTT, for the store's real writes",
    "idle": "a strap's topic on a running broker, nobody wearing it",
    "links down": "a Bluetooth strap with no adapter, the broker and Home Assistant away",
}


def idle_config(folder: Path, scenario: str, broker_port: int, closed_port: int) -> str:
    """One person, the example's first rule; ``scenario`` says what is there to connect to."""
    if scenario in ("idle", "wearing"):
        topic = f"straps/{scenario}"
        sensor = f"  - type: mqtt\n    topic: {topic}\n    metric: rr\n    person: alex\n"
        links = f"mqtt:\n  host: 127.0.0.1\n  port: {broker_port}\n"
    else:
        sensor = '  - type: ble\n    address: "A0:9E:1A:12:34:56"\n    person: alex\n'
        links = f"mqtt:\n  host: 127.0.0.1\n  port: {closed_port}\n"
        links += f"homeassistant:\n  url: http://127.0.0.1:{closed_port}\n  token: t0ken\n"
    return (
        f"instance: {scenario.replace(' ', '_')}\ntimezone: UTC\n"
        "people:\n  - id: alex\n    age: 38\n"
        f"sensors:\n{sensor}{links}"
        "rules:\n  - id: calm\n    person: alex\n    triggers:\n      - trigger: signal\n"
        "        signal: stress_score\n        above: 70\n        for: 2min\n"
        "    actions:\n      - action: log\n        message: calm down\n"
        f"store:\n  path: {folder / 'ambient.db'}\n"
    )


def process_sample(pid: int) -> dict[str, int]:
    """CPU ticks, context switches (every thread's: a wake-up each), RSS and bytes written."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    sample = {"cpu_ticks": int(fields[11]) + int(fields[12]), "switches": 0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches:") or "ctxt_switches:" in line:
                    sample["switches"] += int(line.split()[1])
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "Threads:")):
            sample[line.split(":")[0]] = int(line.split()[1])
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            sample["write_bytes"] = int(line.split()[1])
    return sample


def wear(port: int, stop: threading.Event) -> None:
    """Beats to ``straps/wearing`` at their own pace (one ``rr`` in ms a message)."""
    command = ["mosquitto_pub", "-p", str(port), "-t", "straps/wearing", "-l"]
    publisher = subprocess.Popen(command, stdin=subprocess.PIPE, text=True)
    assert publisher.stdin is not None
    wearer = Wearer("alex", time.time(), random.Random(7))
    while not stop.is_set():
        beat = wearer.beats_until(wearer.t + 1)[0]
        publisher.stdin.write(f"{beat.value:g}\n")
        publisher.stdin.flush()
        stop.wait(beat.value / 1000)
    publisher.stdin.close()
    publisher.wait(timeout=10)


def idle(seconds: float, settle_s: float = 30.0) -> None:
    """``ambient run`` as a real process in each scenario of ``IDLE_CONFIGS`` for ``seconds``
    after ``settle_s`` of start-up: CPU, wake-ups, memory, bytes written and its log lines."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fixtures.mosquitto import MosquittoBroker, free_port

    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        folder = Path(tmp)
        broker = MosquittoBroker(folder / "broker")
        broker.start()
        runs = {}
        stop = threading.Event()
        try:
            for scenario in IDLE_CONFIGS:
                home = folder / scenario.replace(" ", "_")
                home.mkdir()
                config = home / "ambient.yaml"
                config.write_text(idle_config(home, scenario, broker.port, free_port()))
                env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
                with (home / "stderr").open("w") as err, (home / "stdout").open("w") as out:
                    command = [sys.executable, "-m", "ambient", "run", str(config)]
                    runs[scenario] = (
                        home,
                        subprocess.Popen(command, stdout=out, stderr=err, env=env),
                    )
            publisher = threading.Thread(target=wear, args=(broker.port, stop), daemon=True)
            publisher.start()
            time.sleep(settle_s)
            first = {name: process_sample(run.pid) for name, (_, run) in runs.items()}
            lines_before = {
                name: len((home / "stderr").read_text().splitlines())
                for name, (home, _) in runs.items()
            }
            time.sleep(seconds)
            last = {name: process_sample(run.pid) for name, (_, run) in runs.items()}
        finally:
            stop.set()
            for _, run in runs.values():
                run.terminate()
                run.wait(timeout=30)
            broker.kill()
        tick_s = 1 / os.sysconf("SC_CLK_TCK")
        for name, (home, _) in runs.items():
            a, b = first[name], last[name]
            lines = (home / "stderr").read_text().splitlines()[lines_before[name] :]
            repeated = collections.Counter(
                re.sub(r"\d+", "N", line.partition(": ")[2]) for line in lines
            )
            print(f"{name} ({IDLE_CONFIGS[name]}), {seconds:.0f} s after {settle_s:.0f} s:")
            print(
                f"  CPU {(b['cpu_ticks'] - a['cpu_ticks']) * tick_s / seconds * 100:.2f} %, "
                f"{(b['switches'] - a['switches']) / seconds:.1f} wake-ups/s "
                f"({b['Threads']} threads), RSS {b['VmRSS'] / 1024:.1f} MiB, wrote "
                f"{(b['write_bytes'] - a['write_bytes']) / 1024:.0f} KiB"
            )
            per_day = (b["write_bytes"] - a["write_bytes"]) / seconds * DAY_S / 1024 / 1024
            print(f"  written at that rate: {per_day:.1f} MiB a day")
            print(f"  log lines: {len(lines)} ({len(lines) / seconds * 3600:.0f} an hour)")
            for text, count in repeated.most_common(3):
                print(f"    {count} x {text[:110]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="simulated days (default 3)")
    parser.add_argument("--people", type=int, nargs="+", default=[1, 3], help="people counts")
    parser.add_argument(
        "--idle", type=float, metavar="SECONDS", help="measure idle real processes instead"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.idle:
        idle(args.idle)
        return 0
    if args.child:
        json.dump(child(args.days, NAMES[: args.people[0]], args.child), sys.stdout)
        return 0
    for count in args.people:
        measure(args.days, count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
