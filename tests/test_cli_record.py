"""`ambient record` writes what the configured sensors read, so a session becomes a recording
that `ambient simulate` replays; it runs beside the daemon on the same config."""

from __future__ import annotations

import contextlib
import json
import queue
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, run_ambient
from fixtures.mosquitto import MosquittoBroker
from paho.mqtt import client as paho
from paho.mqtt import publish, subscribe
from paho.mqtt.enums import CallbackAPIVersion

from ambient.recordings import load_recording, read_recording
from ambient.store import Store


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_record_writes_every_reading_of_the_sensors(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "source.csv"
    source.write_text("t,metric,value\n0.0,hr,61\n0.1,rr,980\n0.2,rr,1010\n0.3,contact,1\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\nstore:\n  path: null\n"
    )
    out = tmp_path / f"session{suffix}"
    result = run_ambient("record", "--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    recorded = read_recording(out)
    assert [(r.person, r.metric, r.value) for r in recorded] == [
        ("sam", "hr", 61.0),
        ("sam", "rr", 980.0),
        ("sam", "rr", 1010.0),
        ("sam", "contact", 1.0),
    ]
    times = [r.time for r in recorded]
    assert times[0] > 1e9  # unix seconds: a real session's times
    assert times[-1] - times[0] == pytest.approx(0.3, abs=0.05)


def test_the_recording_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Heart data: 0600 under the usual umask 022, and when an older file is overwritten."""
    source = tmp_path / "source.csv"
    source.write_text("t,metric,value\n0.0,hr,61\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\nstore:\n  path: null\n"
    )
    fresh = tmp_path / "fresh.csv"
    overwritten = tmp_path / "overwritten.jsonl"
    overwritten.write_text("")
    overwritten.chmod(0o644)
    for out in (fresh, overwritten):
        result = run_ambient("record", "--config", str(config), "--out", str(out), umask=0o022)
        assert result.returncode == 0, result.stderr
        assert oct(out.stat().st_mode & 0o777) == oct(0o600), out.name


PROBES = 240  # probe readings sent before a recorder that never shows one fails its test


def timestamped_probe() -> str:
    """A probe heart rate of 50 with a fresh time each (one sent again is a repeat)."""
    return json.dumps({"hr": 50, "t": time.time()})


def recording_once_subscribed(
    config: Path, cwd: Path, broker: MosquittoBroker, probe: Callable[[], str] = timestamped_probe
) -> AmbientProcess:
    """`ambient record config --out /dev/stdout` once it records a ``probe`` reading sent on
    `home/alex/heart_rate` (its subscription in place: from then on nothing sent is missed)."""
    recorder = AmbientProcess("record", str(config), "--out", "/dev/stdout", cwd=cwd)
    for _ in range(PROBES):
        publish.single(
            "home/alex/heart_rate", probe(), qos=1, hostname=broker.host, port=broker.port
        )
        line = recorder.stdout.next_within(0.5)
        if line is not None and ",hr,50," in line:
            return recorder
    recorder.stop()
    pytest.fail(f"no probe reading recorded in {PROBES} tries: {recorder.stderr.seen}")


@pytest.mark.parametrize(
    ("store", "recorder_says"),
    [
        ("state/ambient.db", "Recording what the running daemon reads"),
        ("null", "as ambient-home-record"),  # no store, no status socket: its own sensors
    ],
    ids=["from-the-daemon", "own-client-id"],
)
def test_recording_beside_the_running_daemon_keeps_both_on_the_broker(
    tmp_path: Path, mosquitto: MosquittoBroker, store: str, recorder_says: str
) -> None:
    """`ambient record` with the daemon's own config records what the daemon reads, over its
    status socket; without a socket it runs the sensors itself as a second broker client with
    an id of its own. Either way neither knocks the other off, every reading is recorded, and
    the daemon stays `online` for Home Assistant after the recording ends."""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "instance: home\npeople:\n  - id: alex\n"
        "sensors:\n  - type: mqtt\n    topic: home/alex/heart_rate\n    metric: hr\n"
        "    value: hr\n    timestamp: t\n    person: alex\n"
        f"mqtt:\n  host: {mosquitto.host}\n  port: {mosquitto.port}\n"
        f"store:\n  path: {store}\n"
    )
    daemon = AmbientProcess("run", str(config), cwd=tmp_path)
    recorder: AmbientProcess | None = None
    try:
        daemon.stderr.wait_for("Connected to MQTT broker")
        recorder = recording_once_subscribed(config, tmp_path, mosquitto)
        recorder.stderr.wait_for(recorder_says)
        values = list(range(60, 68))
        # Timestamped, as a phone sends them (a reading the broker hands over as backlog
        # keeps its time).
        now = time.time()
        publish.multiple(
            [
                ("home/alex/heart_rate", json.dumps({"hr": v, "t": now + i}), 1, False)
                for i, v in enumerate(values)
            ],
            hostname=mosquitto.host,
            port=mosquitto.port,
        )
        rows = [recorder.stdout.wait_for(",hr,6").strip().split(",") for _ in values]
        assert [(row[2], row[3]) for row in rows] == [(str(v), "alex") for v in values]
        assert recorder.interrupt() == 0
        status = subscribe.simple(  # type: ignore[no-untyped-call]
            "ambient/home/status", hostname=mosquitto.host, port=mosquitto.port, retained=True
        )
        assert status.payload == b"online"
        connects = [line for line in daemon.stderr.drain() if "Connected to MQTT broker" in line]
        assert len(connects) == 1, daemon.stderr.seen
    finally:
        if recorder is not None:
            recorder.stop()
        daemon.stop()


def test_a_recorder_running_its_own_sensors_performs_no_action_and_announces_nothing(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    """Signals and rules do not run while recording: a rule's MQTT trigger does not act (its
    action would double the daemon's), and no HA discovery or entity state goes out (it would
    overwrite the daemon's with unknowns). Only the readings are written."""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "instance: home\npeople:\n  - id: alex\n"
        "sensors:\n  - type: mqtt\n    topic: home/alex/heart_rate\n    metric: hr\n"
        "    person: alex\n"
        f"mqtt:\n  host: {mosquitto.host}\n  port: {mosquitto.port}\n"
        "rules:\n  - id: button\n    triggers: [{trigger: mqtt, topic: home/button}]\n"
        "    actions:\n      - {action: mqtt.publish, topic: home/out, payload: acted}\n"
        "      - {action: log, message: button pressed}\n"
        "store:\n  path: null\n"  # no status socket: the recorder runs the sensors itself
    )
    topics: queue.Queue[str] = queue.Queue()
    subscribed = threading.Event()
    watcher = paho.Client(CallbackAPIVersion.VERSION2)
    watcher.on_message = lambda _client, _data, message: topics.put(message.topic)
    watcher.on_subscribe = lambda *_: subscribed.set()
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.subscribe("#", qos=1)
    watcher.loop_start()
    recorder: AmbientProcess | None = None
    try:
        assert subscribed.wait(30)
        recorder = recording_once_subscribed(config, tmp_path, mosquitto, lambda: "50")
        recorder.stderr.wait_for("as ambient-home-record")
        publish.single("home/button", "press", qos=1, hostname=mosquitto.host, port=mosquitto.port)
        publish.single(  # after the press: once it is recorded, the press has been handled
            "home/alex/heart_rate", "61", qos=1, hostname=mosquitto.host, port=mosquitto.port
        )
        recorder.stdout.wait_for(",hr,61,")
        assert recorder.interrupt() == 0
        publish.single("test/end", "", qos=1, hostname=mosquitto.host, port=mosquitto.port)
        seen: list[str] = []
        while (topic := topics.get(timeout=30)) != "test/end":
            seen.append(topic)
        ours = {"home/alex/heart_rate", "home/button", "ambient/home/record/backlog_end"}
        assert [topic for topic in seen if topic not in ours] == []
        assert not any("button pressed" in line for line in recorder.stderr.all_lines())
    finally:
        watcher.disconnect()
        watcher.loop_stop()
        if recorder is not None:
            recorder.stop()


def test_a_recording_unsubscribes_the_filters_an_earlier_recordings_config_had(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    """A recorder running its own sensors (no daemon answers on the status socket) keeps its
    store in memory, so it could not remember the filters it subscribed under its client id
    (`ambient-home-record`), whose session the broker keeps as the daemon's: a filter of an
    earlier recording's config stayed subscribed for good, said at every recording as one
    ambient `cannot unsubscribe`, and the broker went on queuing what it matched. The
    filters are now remembered in the store's file, as the daemon's are, and one the config
    no longer has is unsubscribed at the recording's start."""
    sensor = "  - {{type: mqtt, topic: {}, metric: hr, value: hr, timestamp: t, person: alex}}\n"
    earlier, later = tmp_path / "earlier.yaml", tmp_path / "later.yaml"
    common = (
        "instance: home\npeople:\n  - id: alex\n"
        f"mqtt:\n  host: {mosquitto.host}\n  port: {mosquitto.port}\n"
        "store:\n  path: state/ambient.db\nsensors:\n"
    )
    earlier.write_text(
        common + sensor.format("home/alex/heart_rate") + sensor.format("home/alex/pulse")
    )
    later.write_text(common + sensor.format("home/alex/heart_rate"))
    (tmp_path / "state").mkdir()
    Store(tmp_path / "state" / "ambient.db").close()  # the daemon ran once: its store is there

    def send(topic: str, bpm: int) -> None:
        reading = json.dumps({"hr": bpm, "t": time.time()})
        publish.single(topic, reading, qos=1, hostname=mosquitto.host, port=mosquitto.port)

    recorder = recording_once_subscribed(earlier, tmp_path, mosquitto)
    try:
        assert recorder.interrupt() == 0
    finally:
        recorder.stop()
    recorder = recording_once_subscribed(later, tmp_path, mosquitto)
    try:
        send("home/alex/pulse", 79)  # no sensor of this config reads it
        send("home/alex/heart_rate", 61)
        recorder.stdout.wait_for(",hr,61,")
        assert recorder.interrupt() == 0
        said = "".join(recorder.stderr.all_lines())
    finally:
        recorder.stop()
    assert "cannot unsubscribe" not in said, said
    assert "Unsubscribed MQTT filter home/alex/pulse: no longer in the config" in said
    send("home/alex/pulse", 80)  # while no recording runs: queued only for a filter it has
    send("home/alex/heart_rate", 81)
    assert topics_queued_for(mosquitto, "ambient-home-record") == ["home/alex/heart_rate"]


def topics_queued_for(broker: MosquittoBroker, client_id: str) -> list[str]:
    """The topics of what ``broker`` holds queued in the session of ``client_id``: taken over
    by a client of that id, all of it comes before a marker that client sends itself."""
    topics: queue.Queue[str] = queue.Queue()
    probe = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    probe.on_message = lambda _client, _data, message: topics.put(message.topic)
    probe.on_subscribe = lambda client, *_: client.publish("probe/end", b"", qos=1)
    probe.connect(broker.host, broker.port, clean_start=False)
    probe.subscribe("probe/end", qos=1)
    probe.loop_start()
    try:
        return list(iter(lambda: topics.get(timeout=30), "probe/end"))
    finally:
        probe.disconnect()
        probe.loop_stop()


@contextlib.contextmanager
def recording_beside_a_looping_daemon(
    tmp_path: Path, rows: str, out: str
) -> Iterator[tuple[AmbientProcess, AmbientProcess]]:
    """The daemon playing ``rows`` (``t,hr,bpm`` lines) for sam over and over, its store (and
    so its status socket) beside its config, and `ambient record --out out` reading from it;
    both stopped afterwards, whatever the test did to them."""
    (tmp_path / "source.csv").write_text("t,metric,value\n" + rows)
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\n    loop: true\nstore:\n  path: state/ambient.db\n"
    )
    daemon = AmbientProcess("run", str(config), cwd=tmp_path)
    recorder: AmbientProcess | None = None
    try:
        daemon.stderr.wait_for("Running:")
        recorder = AmbientProcess("record", str(config), "--out", out, cwd=tmp_path)
        recorder.stderr.wait_for("Recording what the running daemon reads")
        yield daemon, recorder
    finally:
        if recorder is not None:
            recorder.stop()
        daemon.stop()


def test_a_daemon_that_stops_ends_the_recording_and_is_not_held_up_by_it(
    tmp_path: Path,
) -> None:
    """The daemon's stop ends the stream it serves to the recorder quietly: on Python 3.11 it
    logged an ERROR with a traceback (a cancelled connection handler) in its journal."""
    rows = "0,hr,61\n1,hr,62\n"
    with recording_beside_a_looping_daemon(tmp_path, rows, "session.csv") as (daemon, recorder):
        daemon.process.terminate()
        assert daemon.process.wait(timeout=30) == 0
        assert recorder.process.wait(timeout=30) == 0
        said = "".join(recorder.stderr.all_lines())
        assert "The daemon stopped: the recording ends here" in said, said  # why it ended
        assert "wrote session.csv" in said
        logged = "".join(daemon.stderr.all_lines())
        assert "Traceback" not in logged and " ERROR " not in logged, logged


def test_a_reload_of_the_daemon_does_not_end_the_recording(tmp_path: Path) -> None:
    """A reload (SIGHUP, `systemctl reload ambient`) is no stop: the recording went on no
    further than the reload, ending as done (exit 0, `wrote session.csv`) with nothing said,
    so a week's recording could end on its first day. The recorder now connects again once
    the daemon answers with its new config, and records what it reads from then on."""
    rows = "0,hr,61\n0.5,hr,62\n"
    with recording_beside_a_looping_daemon(tmp_path, rows, "-") as (daemon, recorder):
        recorder.stdout.wait_for(",hr,6")
        daemon.process.send_signal(signal.SIGHUP)
        daemon.stderr.wait_for("Config reloaded")
        recorder.stderr.wait_for("the recording goes on once it answers again")
        after = len(recorder.stdout.drain())
        for _ in range(3):  # rows the daemon read with its reloaded config
            recorder.stdout.wait_for(",hr,6")
        assert len(recorder.stdout.seen) >= after + 3
        assert recorder.process.poll() is None
        assert recorder.interrupt() == 0
        assert "wrote the recording to stdout" in "".join(recorder.stderr.all_lines())


def test_a_config_without_sensors_is_one_line_and_exit_1_not_a_wait_for_nothing(
    tmp_path: Path,
) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text("people:\n  - id: sam\nstore:\n  path: null\n")
    result = run_ambient("record", str(config), "--out", str(tmp_path / "session.csv"))
    assert result.returncode == 1
    assert result.stderr == f"ambient record: {config} has no sensors to record\n"
    assert not (tmp_path / "session.csv").exists()


def test_help_says_ctrl_c_ends_a_recording_as_done_not_interrupted() -> None:
    """Ctrl-C is how a recording ends (exit 0, as the tests above see), not an interruption."""
    text = run_ambient("record", "--help").stdout
    assert "exit codes: 0 done (Ctrl-C, --duration or the daemon's stop ends it)" in text
    assert "130" not in text


def test_a_full_disk_ends_the_recording_with_one_line_naming_the_file(tmp_path: Path) -> None:
    """/dev/full fails every write as a full disk does: one line, exit 1, not an error (and a
    traceback) for every reading that follows."""
    source = tmp_path / "source.csv"
    source.write_text("t,metric,value\n" + "".join(f"{t / 10},rr,900\n" for t in range(50)))
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\nstore:\n  path: null\n"
    )
    result = run_ambient("record", "--config", str(config), "--out", "/dev/full")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("No space left on device") == 1
    assert result.stderr.splitlines()[-1] == "ambient record: /dev/full: No space left on device"


def files_limited_to(size_bytes: int) -> None:
    """In the child: writes past ``size_bytes`` fail (EFBIG) as a full disk's do, the last one
    written in part."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not the signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (size_bytes, resource.RLIM_INFINITY))


def test_a_disk_that_fills_up_leaves_the_recording_whole_to_its_last_row(tmp_path: Path) -> None:
    """The write that fails on a full disk wrote part of its row: the file ended in half a
    row, read back as a bad row or, worse, as a wrong value (`rr,234` of `rr,2345`). The
    recording now ends at its last whole row, every row in it readable."""
    source = tmp_path / "source.csv"
    source.write_text(
        "t,metric,value\n" + "".join(f"{t / 1000},rr,{1200 + t}\n" for t in range(400))
    )
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\nstore:\n  path: null\n"
    )
    out = tmp_path / "session.csv"
    result = run_ambient(
        "record", str(config), "--out", str(out), preexec_fn=lambda: files_limited_to(4000)
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"ambient record: {out}: File too large"
    text = out.read_text()
    assert text.endswith("\n")
    recording = load_recording(out)
    assert recording.problems == []
    assert [r.value for r in recording.readings] == [
        1200.0 + t for t in range(text.count("\n") - 1)
    ]


def test_out_dash_streams_the_recording_to_stdout_and_writes_no_file_named_dash(
    tmp_path: Path,
) -> None:
    """`--out -` made a file called `-` in the current folder (heart data, outside the
    recordings directory), where `ambient export --out -` means stdout. It is a CSV stream now,
    for a pipe; stderr says where it went."""
    (tmp_path / "source.csv").write_text("t,metric,value\n0.0,hr,61\n0.1,rr,980\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: sam\nsensors:\n  - type: recording\n    path: source.csv\n"
        "    person: sam\nstore:\n  path: null\n"
    )

    result = run_ambient("record", "--config", str(config), "--out", "-", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "t,metric,value,person"
    assert [line.split(",", 1)[1] for line in lines[1:]] == ["hr,61,sam", "rr,980,sam"]
    assert not (tmp_path / "-").exists()
    assert "wrote the recording to stdout" in result.stderr
