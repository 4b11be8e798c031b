"""``ambient forget``: after it, the store holds no row about the person (their bytes are gone
from the file), the broker holds no retained topic of theirs, Home Assistant has dropped their
device, and their recordings are gone; everyone else's data stays. Through the real CLI, the
real Mosquitto and the real Home Assistant."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.ambient_process import AmbientProcess, run_ambient
from fixtures.homeassistant import HaProbe, HomeAssistantInstance, mqtt_integration
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, make_connection, running

from ambient.actuators.mqtt_discovery import DiscoveryPublisher
from ambient.clock import RealClock
from ambient.config.loader import load_config
from ambient.config.root import AmbientConfig
from ambient.hub import Hub
from ambient.privacy import forget as privacy_forget
from ambient.privacy.commands import run_forget
from ambient.privacy.data_classes import data_classes
from ambient.store import Store

ROOT = Path(__file__).resolve().parents[2]
REPLAYED = ROOT / "ambient" / "data" / "demo.csv"


def write_config(tmp_path: Path, broker: MosquittoBroker | None, instance: str) -> Path:
    config: dict[str, Any] = {
        "instance": instance,
        "people": [{"id": "alex", "name": "Alex"}, {"id": "sam", "name": "Sam"}],
        "sensors": [{"type": "recording", "path": str(REPLAYED), "person": "alex"}],
        "store": {"path": str(tmp_path / "state" / "ambient.db")},
    }
    if broker is not None:
        config["mqtt"] = {"host": broker.host, "port": broker.port, "publish_interval": 0.05}
    path = tmp_path / "ambient.yaml"
    path.write_text(json.dumps(config))
    return path


def fill_store(db: Path) -> None:
    store = Store(db)
    for i, person in enumerate(["alex", "sam", "alex"]):
        store.append("traces", "calm", {"t": 100.0 + i, "rule": "calm", "person": person}, keep=20)
    store.put("signals.baseline", "alex", {"note": "alex-baseline-marker"})
    store.put("signals.baseline", "sam", {"note": "sam-baseline-marker"})
    store.put(
        "rules",
        "calm",
        {"fingerprint": "f", "persons": {"alex": {"phase": "idle"}, "sam": {"phase": "idle"}}},
    )
    store.close()


def fill_recordings(directory: Path) -> None:
    directory.mkdir(parents=True)
    (directory / "alex-only.csv").write_text("t,metric,value,person\n1.0,hr,70,alex\n")
    (directory / "both.jsonl").write_text(
        '{"t": 1.0, "metric": "hr", "value": 70, "person": "alex"}\n'
        '{"t": 1.0, "metric": "hr", "value": 64, "person": "sam"}\n'
    )
    (directory / "sam-only.csv").write_text("t,metric,value,person\n1.0,hr,64,sam\n")


def rows_about(db: Path, person: str) -> dict[str, int]:
    store = Store(db)
    try:
        return {
            c.name: store.query(
                f"SELECT count(*) FROM {c.table} WHERE {c.person_clause()}", (person,)
            )[0][0]
            for c in data_classes()
            if c.exists(store)
        }
    finally:
        store.close()


def forget(
    config: Path, person: str, *extra: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_ambient("forget", "--config", str(config), "--person", person, *extra, stdin=stdin)


def test_forget_erases_the_person_from_the_store_and_their_recordings(tmp_path: Path) -> None:
    config = write_config(tmp_path, None, "home")
    db = tmp_path / "state" / "ambient.db"
    fill_store(db)
    recordings = tmp_path / "state" / "recordings"
    fill_recordings(recordings)

    result = forget(config, "alex", "--yes")

    assert result.returncode == 0, result.stderr
    assert set(rows_about(db, "alex").values()) == {0}
    assert rows_about(db, "sam")["traces"] == 1
    assert rows_about(db, "sam")["baselines"] == 1
    raw = db.read_bytes()
    assert b"alex" not in raw  # not even in free pages (secure_delete)
    assert b"sam-baseline-marker" in raw
    store = Store(db)
    assert store.get("rules", "calm") == {"fingerprint": "f", "persons": {"sam": {"phase": "idle"}}}
    store.close()
    assert sorted(p.name for p in recordings.iterdir()) == ["both.jsonl", "sam-only.csv"]
    assert "alex" not in (recordings / "both.jsonl").read_text()
    assert (recordings / "both.jsonl").stat().st_mode & 0o777 == 0o600
    assert REPLAYED.exists()
    assert "store: 2 traces, 1 baselines, 1 rule_state" in result.stdout
    assert f"not touched: {REPLAYED}" in result.stdout
    assert "MQTT: not configured" in result.stdout
    assert "still in the config's people" in result.stderr


def test_a_recording_that_is_not_utf_8_or_holds_a_row_nested_deep_loses_only_the_persons_rows(
    tmp_path: Path,
) -> None:
    """A byte no UTF-8 reader accepts (a spreadsheet's export, a damaged card) ended forget
    with a traceback, after the store was erased and before the other recordings were: the
    report unsaid, the person still in the files after it. Now each file loses only the
    person's rows, and every other byte stays as it was."""
    config = write_config(tmp_path, None, "test")
    recordings = tmp_path / "state" / "recordings"
    recordings.mkdir(parents=True)
    latin = b"t,metric,value,person\n1.0,hr,70,alex\n# caf\xe9 \xff\n2.0,hr,64,sam\n"
    (recordings / "a-latin.csv").write_bytes(latin)
    deep = b"[" * 5000 + b"]" * 5000 + b"\n"
    (recordings / "b-deep.jsonl").write_bytes(
        deep + b'{"t": 1.0, "metric": "hr", "value": 70, "person": "alex"}\n'
    )
    (recordings / "c-alex.csv").write_text("t,metric,value,person\n1.0,hr,70,alex\n")

    result = forget(config, "alex", "--yes")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in recordings.iterdir()) == ["a-latin.csv", "b-deep.jsonl"]
    assert (recordings / "a-latin.csv").read_bytes() == (
        b"t,metric,value,person\n# caf\xe9 \xff\n2.0,hr,64,sam\n"
    )
    assert (recordings / "b-deep.jsonl").read_bytes() == deep
    assert f"removed {recordings / 'c-alex.csv'}" in result.stdout


def test_a_recording_the_config_replays_from_the_recordings_directory_is_not_touched(
    tmp_path: Path,
) -> None:
    """Forget deleted it and then said `not touched: <it>`: the report contradicted itself,
    and the replayed file, promised to stay the user's, was gone."""
    recordings = tmp_path / "state" / "recordings"
    fill_recordings(recordings)
    replayed = recordings / "alex-only.csv"
    config_path = write_config(tmp_path, None, "home")
    config = json.loads(config_path.read_text())
    config["sensors"][0]["path"] = str(replayed)
    config_path.write_text(json.dumps(config))

    result = forget(config_path, "alex", "--yes")

    assert result.returncode == 0, result.stderr
    assert replayed.read_text() == "t,metric,value,person\n1.0,hr,70,alex\n"
    assert f"removed {replayed}" not in result.stdout
    assert f"not touched: {replayed}" in result.stdout
    assert "alex" not in (recordings / "both.jsonl").read_text()  # the others still go


def test_a_csv_recording_whose_person_is_not_the_fourth_column_loses_the_persons_rows(
    tmp_path: Path,
) -> None:
    """The recordings reader takes the person from the column the header names
    (`t,metric,value,source,person`), after any comment lines; forget read the fourth field
    of every line, so such a file kept every row of the person it plays as theirs."""
    config = write_config(tmp_path, None, "home")
    recordings = tmp_path / "state" / "recordings"
    recordings.mkdir(parents=True)
    shared = recordings / "shared.csv"
    shared.write_text(
        "# from the strap app\nt,metric,value,source,person\n"
        "1.0,hr,70,strap,alex\n1.0,hr,64,strap,sam\n2.0,hr,71,strap,alex\n"
    )

    result = forget(config, "alex", "--yes")

    assert result.returncode == 0, result.stderr
    assert shared.read_text() == (
        "# from the strap app\nt,metric,value,source,person\n1.0,hr,64,strap,sam\n"
    )
    assert f"rewrote {shared} without alex's rows" in result.stdout


def test_a_csv_recording_named_in_capitals_loses_the_persons_rows(tmp_path: Path) -> None:
    """Retention, the recordings reader and forget's own listing take `S01.CSV` as a CSV
    recording; forget then read its rows as JSON lines, found nobody's, and left every row of
    the person in it."""
    config = write_config(tmp_path, None, "home")
    recordings = tmp_path / "state" / "recordings"
    recordings.mkdir(parents=True)
    shared = recordings / "S01.CSV"
    shared.write_text("t,metric,value,person\n1.0,hr,70,alex\n1.0,hr,64,sam\n")
    alone = recordings / "S02.Csv"
    alone.write_text("t,metric,value,person\n1.0,hr,70,alex\n")

    result = forget(config, "alex", "--yes")

    assert result.returncode == 0, result.stderr
    assert shared.read_text() == "t,metric,value,person\n1.0,hr,64,sam\n"
    assert not alone.exists()
    assert f"removed {alone}" in result.stdout


def test_forget_reaches_recordings_in_subfolders_of_the_recordings_directory(
    tmp_path: Path,
) -> None:
    """Only the files at the directory's top were read: the person stayed in a month's folder
    that `ambient record` had called managed."""
    config = write_config(tmp_path, None, "home")
    month = tmp_path / "state" / "recordings" / "2026-04"
    fill_recordings(month)

    result = forget(config, "alex", "--yes")

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in month.iterdir()) == ["both.jsonl", "sam-only.csv"]
    assert "alex" not in (month / "both.jsonl").read_text()
    assert f"removed {month / 'alex-only.csv'}" in result.stdout


def test_forgetting_someone_ambient_never_knew_is_said(tmp_path: Path) -> None:
    """`forget --person alx` (for alex) said `Forgot alx` and nothing else: the user went
    away believing alex erased."""
    config = write_config(tmp_path, None, "home")
    fill_store(tmp_path / "state" / "ambient.db")

    result = forget(config, "alx", "--yes")

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        "ambient forget: note: nothing about alx was found, who is not among the config's "
        "people (alex, sam)"
    )
    assert rows_about(tmp_path / "state" / "ambient.db", "alex")["traces"] == 2


def test_forget_removes_the_persons_delivered_weekly_reports(tmp_path: Path) -> None:
    """The scheduled report writes each week's page where HA serves files without a login;
    forget erased the random part of their names from the store and left the pages there."""
    config = write_config(tmp_path, None, "home")
    folder = tmp_path / "www"
    settings = json.loads(config.read_text())
    settings["insights"] = {"report": {"folder": str(folder)}}
    config.write_text(json.dumps(settings))
    folder.mkdir()
    pages = ["alex-2026-W48-Xy_z-1Ab2.html", "alex-2026-W49-Q9r-T0k3n.html"]
    others = ["sam-2026-W49-Q9r-T0k3n.html", "alex_2-2026-W49-abc.html", "alex-notes.html"]
    for name in pages + others:
        (folder / name).write_text("<html>a week</html>")

    result = forget(config, "alex", "--yes")

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(others)
    for name in pages:
        assert f"removed {folder / name}" in result.stdout


def test_forget_works_when_what_only_run_needs_is_gone(tmp_path: Path) -> None:
    """A recording moved away stops `check` and `run` (as would a missing TLS file or a weekly
    report without matplotlib), never the erasing of a person's data."""
    gone = tmp_path / "moved-away.csv"
    config_path = write_config(tmp_path, None, "home")
    config = json.loads(config_path.read_text())
    config["sensors"][0]["path"] = str(gone)
    config_path.write_text(json.dumps(config))
    db = tmp_path / "state" / "ambient.db"
    fill_store(db)

    checked = run_ambient("check", "--config", str(config_path))
    assert checked.returncode == 1
    assert f"recording {gone} does not exist" in checked.stderr

    result = forget(config_path, "alex", "--yes")
    assert result.returncode == 0, result.stderr
    assert set(rows_about(db, "alex").values()) == {0}


def test_without_yes_and_without_a_terminal_nothing_is_erased(tmp_path: Path) -> None:
    config = write_config(tmp_path, None, "home")
    db = tmp_path / "state" / "ambient.db"
    fill_store(db)
    result = forget(config, "alex", stdin="y\n")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ambient forget: nothing erased: confirm with --yes (stdin is not a terminal)"
    )
    assert rows_about(db, "alex")["traces"] == 2


def test_forget_refuses_while_the_daemon_runs(tmp_path: Path) -> None:
    """The daemon holds the person in memory and would write them back."""
    config = write_config(tmp_path, None, "home")
    daemon = AmbientProcess("run", "--config", str(config))
    try:
        daemon.stderr.wait_for("Running:")
        result = forget(config, "alex", "--yes")
    finally:
        daemon.stop()
    assert result.returncode == 1
    assert "the daemon is running" in result.stderr
    assert "Forgot" not in result.stdout


# -- the broker and Home Assistant -------------------------------------------------------


async def retained_now(broker: MosquittoBroker, filters: list[str]) -> dict[str, bytes]:
    """Every non-empty retained message under ``filters`` at this moment (a marker published
    after subscribing says when the broker has handed them all over)."""
    found: dict[str, bytes] = {}
    marker = "forget-test/marker"
    async with device_client(broker, identifier="forget-reader") as client:
        for topic_filter in [*filters, marker]:
            await client.subscribe(topic_filter, qos=1)
        await client.publish(marker, b"1", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for message in client.messages:
                if message.topic.value == marker:
                    break
                if message.retain and isinstance(message.payload, bytes) and message.payload:
                    found[message.topic.value] = message.payload
    return found


@contextlib.asynccontextmanager
async def discovery_published(config_path: Path, broker: MosquittoBroker) -> AsyncIterator[None]:
    """ambient's real discovery publisher ran for this config (then stopped)."""
    text = await asyncio.to_thread(config_path.read_text)
    config = AmbientConfig.model_validate(json.loads(text))
    connection = make_connection(broker, instance=config.instance)
    publisher = DiscoveryPublisher(config, connection, Hub(), RealClock())
    task = asyncio.ensure_future(publisher.run())
    try:
        async with running(connection):
            await asyncio.wait_for(publisher.wait_published(), WAIT_S)
            yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def forget_async(config: Path, person: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(forget, config, person, "--yes")


@pytest.mark.mosquitto
async def test_forget_empties_the_persons_retained_topics(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    config = write_config(tmp_path, mosquitto, "home")
    async with discovery_published(config, mosquitto):
        pass
    alex = ["ambient/home/alex/#", "homeassistant/device/ambient_home_alex/config"]
    sam = ["ambient/home/sam/#", "homeassistant/device/ambient_home_sam/config"]
    alex_before = await retained_now(mosquitto, alex)
    sam_before = await retained_now(mosquitto, sam)
    assert "homeassistant/device/ambient_home_alex/config" in alex_before
    assert alex_before["ambient/home/alex/heart_rate"] == b"None"
    # Something else retained under alex's root is cleared too.
    async with device_client(mosquitto, identifier="other") as other:
        await other.publish("ambient/home/alex/custom_note", b"x", qos=1, retain=True)

    result = await forget_async(config, "alex")

    assert result.returncode == 0, result.stderr
    assert await retained_now(mosquitto, alex) == {}
    assert await retained_now(mosquitto, sam) == sam_before
    # What was retained, the other one, and every topic ambient may ever have published for
    # alex (an entity this config does not announce has no retained state).
    _discovery, _root, known = privacy_forget.person_topics(load_config(config), "alex")
    emptied = set(alex_before) | set(known) | {"ambient/home/alex/custom_note"}
    assert f"{len(emptied)} retained topic(s) emptied" in result.stdout
    assert "recorder.purge_entities" in result.stdout
    assert "      - sensor.home_alex_heart_rate" in result.stdout


def test_an_unreachable_broker_is_said_and_fails_the_command(tmp_path: Path) -> None:
    from fixtures.mosquitto import free_port

    config_path = tmp_path / "ambient.yaml"
    config = {
        "people": [],
        "store": {"path": str(tmp_path / "ambient.db")},
        "mqtt": {"host": "127.0.0.1", "port": free_port()},
    }
    config_path.write_text(json.dumps(config))
    fill_store(tmp_path / "ambient.db")
    result = forget(config_path, "alex", "--yes")
    assert result.returncode == 1
    assert "retained topics NOT cleared; run forget again" in result.stdout
    assert "Traceback" not in result.stderr
    assert rows_about(tmp_path / "ambient.db", "alex")["traces"] == 0  # the store still was


def test_the_persons_sensor_topics_are_named_as_not_touched(tmp_path: Path) -> None:
    """A phone or a bridge may keep the person's last heart rate retained on the topic ambient
    reads; the report said nothing of it, as if the broker held nothing more of them."""
    from fixtures.mosquitto import free_port

    config_path = tmp_path / "ambient.yaml"
    sensors = [
        {"type": "mqtt", "topic": "phone/alex/hr", "metric": "hr", "person": "alex"},
        {"type": "mqtt", "topic": "watch/+/hr", "metric": "hr", "person_topic_level": 1},
        {"type": "mqtt", "topic": "phone/sam/hr", "metric": "hr", "person": "sam"},
    ]
    config = {
        "people": [{"id": "alex"}, {"id": "sam"}],
        "sensors": sensors,
        "store": {"path": str(tmp_path / "ambient.db")},
        "mqtt": {"host": "127.0.0.1", "port": free_port()},
    }
    config_path.write_text(json.dumps(config))
    result = forget(config_path, "alex", "--yes")
    assert (
        "  not touched: MQTT phone/alex/hr, watch/alex/hr (what a sensor reads: a retained "
        "reading there is its publisher's to clear)"
    ) in result.stdout.splitlines()
    assert "sam" not in result.stdout


def device_of(devices: list[dict[str, Any]], identifier: str) -> dict[str, Any] | None:
    return next((d for d in devices if ["mqtt", identifier] in d["identifiers"]), None)


@pytest.mark.ha
async def test_home_assistant_drops_the_forgotten_persons_device(
    tmp_path: Path, ha: HomeAssistantInstance, mosquitto: MosquittoBroker
) -> None:
    config = write_config(tmp_path, mosquitto, "forgettest")
    async with mqtt_integration(ha, mosquitto), HaProbe(ha.url, ha.token) as probe:
        await probe.subscribe("state_changed")
        await probe.subscribe("device_registry_updated")
        async with discovery_published(config, mosquitto):
            for entity_id in ("sensor.forgettest_alex_heart_rate", "sensor.forgettest_sam_rmssd"):
                await probe.wait_for_state(entity_id, lambda s: s is not None)
        devices = await probe.call("config/device_registry/list")
        alex = device_of(devices, "ambient_forgettest_alex")
        assert alex is not None
        assert device_of(devices, "ambient_forgettest_sam") is not None

        result = await forget_async(config, "alex")
        assert result.returncode == 0, result.stderr

        await probe.wait_for(
            lambda e: (
                e.event_type == "device_registry_updated"
                and e.data.get("action") == "remove"
                and e.data.get("device_id") == alex["id"]
            )
        )
        devices = await probe.call("config/device_registry/list")
        assert device_of(devices, "ambient_forgettest_alex") is None
        assert device_of(devices, "ambient_forgettest_sam") is not None
        entities = await probe.call("config/entity_registry/list")
        assert not [e for e in entities if e["unique_id"].startswith("ambient_forgettest_alex")]
        assert [e for e in entities if e["unique_id"].startswith("ambient_forgettest_sam")]


def test_a_reader_that_keeps_the_log_is_said_and_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another process read the store for 5 s the write-ahead log was not emptied, so the
    file still held the deleted rows, and forget said they were overwritten. Run in process, the
    wait set to none (the CLI waits FOLD_WAIT_S): the reader stands in for a backup or a
    sqlite3 shell left open."""
    config_path = write_config(tmp_path, None, "home")
    db = tmp_path / "state" / "ambient.db"
    fill_store(db)
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM kv").fetchone()
    monkeypatch.setattr(privacy_forget, "FOLD_WAIT_S", 0.0)
    config = load_config(config_path)
    stdout, stderr = io.StringIO(), io.StringIO()

    code = run_forget(config, "alex", True, io.StringIO(), stdout, stderr)

    assert code == 1
    assert "(deleted rows overwritten)" not in stdout.getvalue()
    assert (
        f"the file still holds them: another process is reading {db}, so its write-ahead log "
        "could not be folded back; close it and run forget again"
    ) in stdout.getvalue()
    reader.execute("COMMIT")
    reader.close()
    again = io.StringIO()
    assert run_forget(config, "alex", True, io.StringIO(), again, io.StringIO()) == 0
    assert "(deleted rows overwritten)" in again.getvalue()
    assert b"alex-baseline-marker" not in db.read_bytes()
