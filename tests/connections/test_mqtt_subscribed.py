"""Filters taken out of the config are unsubscribed from the broker's session at the next
connect, as the filters each client id subscribed are remembered in the store."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiomqtt
import pytest
from fixtures.ambient_process import run_ambient
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, Collector, device_client, mqtt_config, running
from fixtures.small_disk import fill, small_disk

from ambient.clock import RealClock
from ambient.config import load_config
from ambient.config.store import StoreConfig
from ambient.connections.mqtt import MqttConnection
from ambient.connections.mqtt_subscribed import (
    NAMESPACE,
    SubscribedFilters,
    SubscribedFiltersInFile,
    subscribed_filters,
)
from ambient.counters import Counters
from ambient.daemon import Daemon, DaemonOptions
from ambient.store import Store, StoreError


def connection_of_home(
    broker: MosquittoBroker, store: Store | None, counters: Counters | None = None
) -> MqttConnection:
    """The connection of instance ``home`` (client id ``ambient-home``: one session on the
    broker, whichever run) remembering its filters in ``store`` (None: as a version before
    filters were remembered)."""
    return MqttConnection(
        mqtt_config(broker),
        "home",
        RealClock(),
        counters or Counters(),
        subscribed=None if store is None else SubscribedFilters(store),
    )


async def test_a_filter_taken_out_of_the_config_is_unsubscribed_at_the_next_start(
    mosquitto: MosquittoBroker,
) -> None:
    """A sensor's topic changed from `home/#` to `home/+/hr` left `home/#` in the broker's
    session for good: the broker sent (and, while ambient was away, queued) every message it
    matched, counted `old_subscription`. The next start now unsubscribes it: nothing comes for
    it any more, live or queued."""
    store = Store(None)
    first = connection_of_home(mosquitto, store)
    first.subscribe("home/#", Collector())
    async with running(first):
        await first.wait_subscribed("home/#")
    async with device_client(mosquitto) as device:  # while ambient is away
        await device.publish("home/x/other", b"queued", qos=1)

    counters = Counters()
    after = connection_of_home(mosquitto, store, counters)
    heart_rates = Collector()
    after.subscribe("home/+/hr", heart_rates)
    async with running(after), device_client(mosquitto) as device:
        await device.publish("home/x/other", b"live", qos=1)
        await device.publish("home/x/hr", b"61", qos=1)  # delivered after the one before
        assert (await heart_rates.next()).payload == b"61"
    assert counters.get("mqtt", "old_subscription") == 0
    assert store.get(NAMESPACE, "ambient-home") == ["ambient/home/backlog_end", "home/+/hr"]

    async with device_client(mosquitto) as device:  # away again
        await device.publish("home/x/other", b"queued again", qos=1)
    again = connection_of_home(mosquitto, store)
    other = Collector()
    again.subscribe("home/x/other", other)  # gets what the session queued first, if anything
    async with running(again), device_client(mosquitto) as device:
        await again.wait_subscribed("home/x/other")
        await device.publish("home/x/other", b"live again", qos=1)
        assert (await other.next()).payload == b"live again"


def home_config(broker: MosquittoBroker, store_path: Path, topic: str) -> str:
    """A daemon of instance ``home`` with one MQTT sensor on ``topic``, and a store on disk."""
    return f"""\
instance: home
people:
  - id: alex
mqtt:
  host: {broker.host}
  port: {broker.port}
  discovery: false
sensors:
  - {{type: mqtt, topic: "{topic}", metric: hr, person: alex}}
store:
  path: {store_path}
"""


async def test_a_reload_unsubscribes_a_filter_the_new_config_no_longer_has(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """A reload is a new connection on the same session: the sensor's old `home/#` is
    unsubscribed by it as by a restart, and the broker queues nothing for it afterwards."""
    path = tmp_path / "ambient.yaml"
    store_path = tmp_path / "state" / "ambient.db"
    path.write_text(home_config(mosquitto, store_path, "home/#"))
    await run_and_reload(
        mosquitto,
        path,
        home_config(mosquitto, store_path, "home/+/hr"),
    )
    async with device_client(mosquitto) as device:  # while ambient is away
        await device.publish("home/x/other", b"queued", qos=1)
    assert await first_in_session_of(mosquitto, "ambient-home") == "its own marker"


async def run_and_reload(mosquitto: MosquittoBroker, path: Path, reloaded: str) -> None:
    """Run the daemon on the config at ``path`` until its filters are subscribed, reload it
    on ``reloaded``, and stop it once the new session's filters are (un)subscribed."""
    daemon = Daemon(load_config(path), RealClock(), DaemonOptions(services=False), path)
    async with device_client(mosquitto) as watcher:
        # Published by each session once its filters are subscribed (and unsubscribed).
        await watcher.subscribe("ambient/home/backlog_end", qos=1)
        running = asyncio.create_task(daemon.run())
        markers = aiter(watcher.messages)
        await asyncio.wait_for(anext(markers), WAIT_S)
        await asyncio.to_thread(path.write_text, reloaded)
        daemon.request_reload()
        await asyncio.wait_for(anext(markers), WAIT_S)
        daemon.request_stop()
        assert await asyncio.wait_for(running, WAIT_S) == 0


async def first_in_session_of(broker: MosquittoBroker, client_id: str) -> str:
    """What the session of ``client_id`` sends first when taken up again: a message it queued,
    or (nothing queued) a marker published to it once connected. Its own backlog markers are
    passed over: one stopped right after its marker went out may not have acknowledged its
    copy yet, which the broker then sends again before anything queued later."""
    session = aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        timeout=WAIT_S,
    )
    async with session:
        await session.subscribe("test/marker", qos=1)
        await session.publish("test/marker", b"", qos=1)
        messages = aiter(session.messages)
        first = await asyncio.wait_for(anext(messages), WAIT_S)
        while first.topic.value.endswith("/backlog_end"):
            first = await asyncio.wait_for(anext(messages), WAIT_S)
    return "its own marker" if first.topic.value == "test/marker" else first.topic.value


async def test_a_filter_subscribed_before_filters_were_remembered_is_said_once_with_the_way_out(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The first start of a version that remembers filters knows none of the session's: one
    taken out of the config before it cannot be unsubscribed. Its live copies are skipped as
    before, and said once, pointing to the one-time clean start of the docs."""
    older = connection_of_home(mosquitto, None)
    older.subscribe("home/#", Collector())
    async with running(older):
        await older.wait_subscribed("home/#")
    counters = Counters()
    upgraded = connection_of_home(mosquitto, Store(None), counters)
    heart_rates = Collector()
    upgraded.subscribe("home/+/hr", heart_rates)
    with caplog.at_level(logging.WARNING, logger="ambient.connections.mqtt"):
        async with running(upgraded), device_client(mosquitto) as device:
            await device.publish("home/x/other", b"1", qos=1)
            await device.publish("home/x/other", b"2", qos=1)
            await device.publish("home/x/hr", b"61", qos=1)
            assert (await heart_rates.next()).payload == b"61"
    assert counters.get("mqtt", "old_subscription") >= 2
    [line] = [r.getMessage() for r in caplog.records if "cannot unsubscribe" in r.getMessage()]
    assert "client id ambient-home" in line and "docs/mqtt.md" in line


def test_a_remembered_entry_not_a_list_of_filters_is_nothing_remembered() -> None:
    """An entry of another shape (edited by hand, a later version's) is not read as filters to
    unsubscribe: nothing is remembered, as at the first start."""
    store = Store(None)
    filters = SubscribedFilters(store)
    filters.save("ambient-home", {"home/+/hr", "ambient/home/backlog_end"})
    assert filters.load("ambient-home") == {"home/+/hr", "ambient/home/backlog_end"}
    assert filters.load("ambient-home-record") is None
    for odd in ("home/#", ["home/#", 7], {"filters": ["home/#"]}):
        store.put(NAMESPACE, "ambient-home", odd)
        assert filters.load("ambient-home") is None


async def test_a_filter_not_known_is_said_again_at_each_start_while_the_session_keeps_it(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """After the first start the store knows the config's filters, but still not the old one
    the session keeps: its copies come at every start, and every start says so once (the
    second start skipped them without a word, the problem still there)."""
    older = connection_of_home(mosquitto, None)
    older.subscribe("home/#", Collector())
    async with running(older):
        await older.wait_subscribed("home/#")
    store = Store(None)
    for _start in range(2):
        upgraded = connection_of_home(mosquitto, store)
        heart_rates = Collector()
        upgraded.subscribe("home/+/hr", heart_rates)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ambient.connections.mqtt"):
            async with running(upgraded), device_client(mosquitto) as device:
                await device.publish("home/x/other", b"1", qos=1)
                await device.publish("home/x/other", b"2", qos=1)
                await device.publish("home/x/hr", b"61", qos=1)
                assert (await heart_rates.next()).payload == b"61"
        said = [r for r in caplog.records if "cannot unsubscribe" in r.getMessage()]
        assert len(said) == 1


class CountedStore(Store):
    """A real store in memory that counts its writes (a Pi's SD card wears with each)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.puts = 0

    def put(self, namespace: str, key: str, value: object) -> None:
        self.puts += 1
        super().put(namespace, key, value)


async def test_a_start_with_the_filters_remembered_already_writes_nothing(
    mosquitto: MosquittoBroker,
) -> None:
    """The filters are written when they change, never at a connect that changes nothing: a
    broker that keeps dropping ambient (a takeover, a flaky link) does not wear the card."""
    store = CountedStore()
    for _start in range(3):
        connection = connection_of_home(mosquitto, store)
        connection.subscribe("home/+/hr", Collector())
        async with running(connection):
            await connection.wait_subscribed("home/+/hr")
    assert store.puts == 1
    assert store.get(NAMESPACE, "ambient-home") == ["ambient/home/backlog_end", "home/+/hr"]


ROOT = Path(__file__).resolve().parents[2]


async def test_simulate_of_a_config_with_mqtt_never_connects_to_its_broker(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """`simulate` replays a recording offline: with an `mqtt:` section it never connects, so
    it says no instance online, subscribes and unsubscribes nothing in the daemon's session
    (its store, in memory, remembers no filter) and writes no store."""
    store = tmp_path / "state.db"
    config = tmp_path / "ambient.yaml"
    config.write_text(
        (ROOT / "config" / "demo.yaml")
        .read_text()
        .replace("../ambient/data/demo.csv", str(ROOT / "ambient" / "data" / "demo.csv"))
        .replace("path: null", f"path: {store}")
        + f"instance: home\nmqtt:\n  host: {mosquitto.host}\n  port: {mosquitto.port}\n"
    )
    async with device_client(mosquitto) as watcher:
        await watcher.subscribe("#", qos=1)
        result = await asyncio.to_thread(run_ambient, "simulate", "--config", str(config), "--json")
        assert result.returncode == 0, result.stderr
        await watcher.publish("test/marker", b"", qos=1)
        first = await asyncio.wait_for(anext(aiter(watcher.messages)), WAIT_S)
    assert first.topic.value == "test/marker"
    assert not store.exists()


async def test_the_daemon_and_a_recorder_never_unsubscribe_each_others_filters(
    mosquitto: MosquittoBroker,
) -> None:
    """A recorder beside the daemon has a client id of its own (`ambient-home-record`), so a
    session and an entry of its own: its start, with other filters, neither unsubscribes nor
    forgets the daemon's, and the daemon's next start still unsubscribes its own old one."""
    store = Store(None)
    daemon = connection_of_home(mosquitto, store)
    daemon.subscribe("home/+/hr", Collector())
    async with running(daemon):
        await daemon.wait_subscribed("home/+/hr")
    recorder = MqttConnection(
        mqtt_config(mosquitto),
        "home",
        RealClock(),
        Counters(),
        "record",
        subscribed=SubscribedFilters(store),
    )
    recorder.subscribe("lab/+/hr", Collector())
    async with running(recorder):
        await recorder.wait_connected()
    assert store.get(NAMESPACE, "ambient-home") == ["ambient/home/backlog_end", "home/+/hr"]

    changed = connection_of_home(mosquitto, store)  # the sensor now reads home/+/rr
    changed.subscribe("home/+/rr", Collector())
    async with running(changed):
        await changed.wait_connected()  # subscribed, and the old filter unsubscribed
    async with device_client(mosquitto) as device:  # while ambient is away
        await device.publish("home/x/hr", b"61", qos=1)
    assert await first_in_session_of(mosquitto, "ambient-home") == "its own marker"
    assert store.get(NAMESPACE, "ambient-home-record") == [
        "ambient/home/record/backlog_end",
        "lab/+/hr",
    ]


def shared_filter_config(broker: MosquittoBroker, store_path: Path, with_rule: bool) -> str:
    """A sensor on `home/+/hr`; ``with_rule``: a rule's `mqtt` trigger on the same filter."""
    rule = """\
rules:
  - id: hr_seen
    triggers:
      - {trigger: mqtt, topic: "home/+/hr"}
    actions:
      - {action: log, message: seen}
"""
    return home_config(broker, store_path, "home/+/hr") + (rule if with_rule else "")


async def test_a_filter_a_sensor_and_a_rule_share_stays_when_only_the_rule_goes(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """A filter is one subscription for every part that reads it: a reload that removes the
    rule's trigger but keeps the sensor on the same filter does not unsubscribe it, and the
    broker still queues the sensor's readings while ambient is away."""
    path = tmp_path / "ambient.yaml"
    store_path = tmp_path / "state" / "ambient.db"
    path.write_text(shared_filter_config(mosquitto, store_path, with_rule=True))
    await run_and_reload(
        mosquitto,
        path,
        shared_filter_config(mosquitto, store_path, with_rule=False),
    )
    async with device_client(mosquitto) as device:  # while ambient is away
        await device.publish("home/x/hr", b"61", qos=1)
    assert await first_in_session_of(mosquitto, "ambient-home") == "home/x/hr"
    store = Store(store_path)
    try:
        assert store.get(NAMESPACE, "ambient-home") == ["ambient/home/backlog_end", "home/+/hr"]
    finally:
        store.close()


class StoreRefusingOneRead(Store):
    """A real store in memory whose next read of the remembered filters is refused, as a store
    another process holds locked refuses it. A stand-in for the lock: a real one cannot be let
    go between the connect's read and its write."""

    def __init__(self) -> None:
        super().__init__(None)
        self.refuse_next_read = True

    def get(self, namespace: str, key: str) -> object:
        if namespace == NAMESPACE and self.refuse_next_read:
            self.refuse_next_read = False
            raise StoreError("store in memory cannot be used (database is locked)")
        return super().get(namespace, key)


async def test_a_read_the_store_refuses_leaves_the_remembered_filters_as_they_were(
    mosquitto: MosquittoBroker,
) -> None:
    """A connect whose read of the filters the store refuses does not know what is remembered:
    it wrote the config's filters over them once the store took writes again, and the old
    filter was never unsubscribed. They are left as they were, for the next start to do it."""
    earlier = connection_of_home(mosquitto, None)  # the session holds home/#, as remembered
    earlier.subscribe("home/#", Collector())
    async with running(earlier):
        await earlier.wait_subscribed("home/#")
    store = StoreRefusingOneRead()
    store.put(NAMESPACE, "ambient-home", ["ambient/home/backlog_end", "home/#"])

    for start in ("refused", "read"):  # the store refuses the first start's read only
        connection = connection_of_home(mosquitto, store)
        connection.subscribe("home/+/hr", Collector())
        async with running(connection):
            await connection.wait_connected()
        if start == "refused":
            remembered = store.get(NAMESPACE, "ambient-home")
            assert remembered == ["ambient/home/backlog_end", "home/#"]
    async with device_client(mosquitto) as device:  # while ambient is away
        await device.publish("home/x/other", b"queued", qos=1)
    assert await first_in_session_of(mosquitto, "ambient-home") == "its own marker"


def open_files() -> set[Path]:
    """What this process has open (Linux; the listing's own descriptor is gone when read)."""
    return {fd.readlink() for fd in list(Path("/proc/self/fd").iterdir()) if fd.is_symlink()}


def test_a_recorder_keeps_its_filters_in_the_store_file_without_holding_it_open(
    tmp_path: Path,
) -> None:
    """`ambient record` running its own sensors keeps its store in memory (it must not write
    the daemon's state), so its filters were never remembered; they go in the configured
    store's file all the same, opened for each read and write only (a daemon starting
    meanwhile finds it as it left it). With `store.path: null` they are kept in memory."""
    config = StoreConfig(path=tmp_path / "state" / "ambient.db")
    assert config.path is not None
    Store(config.path).close()  # the daemon ran once
    filters = subscribed_filters(config, Store(None), "record")
    assert isinstance(filters, SubscribedFiltersInFile)
    assert filters.load("ambient-home-record") is None
    filters.save("ambient-home-record", {"ambient/home/record/backlog_end", "home/+/hr"})
    assert filters.load("ambient-home-record") == {"ambient/home/record/backlog_end", "home/+/hr"}
    assert config.path not in open_files()
    daemon_store = Store(config.path)
    try:
        assert type(subscribed_filters(config, daemon_store, None)) is SubscribedFilters
        assert daemon_store.get(NAMESPACE, "ambient-home-record") == [
            "ambient/home/record/backlog_end",
            "home/+/hr",
        ]
    finally:
        daemon_store.close()
    in_memory = subscribed_filters(StoreConfig(path=None), Store(None), "record")
    assert type(in_memory) is SubscribedFilters


def test_a_recorder_never_makes_the_store_the_daemon_has_not_made(tmp_path: Path) -> None:
    """A recorder run before the daemon ever ran (as root, or another user) made the store's
    file and folder its own, which the daemon could then not open. It uses only a store that
    is there; without one it remembers nothing, as before recorders remembered theirs."""
    config = StoreConfig(path=tmp_path / "state" / "ambient.db")
    filters = subscribed_filters(config, Store(None), "record")
    assert filters is not None
    assert filters.load("ambient-home-record") is None
    filters.save("ambient-home-record", {"home/+/hr"})
    assert filters.load("ambient-home-record") is None
    assert not (tmp_path / "state").exists()


def test_a_store_file_that_cannot_be_opened_is_said_and_changes_nothing_else(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store file that is no SQLite file (damaged, or not ambient's): the read is refused
    (the connect then unsubscribes nothing) and the write too, each said in one line, never
    raised past; the file is left as it was."""
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "ambient.db").write_bytes(b"not a store at all" * 100)
    filters = SubscribedFiltersInFile(StoreConfig(path=tmp_path / "state" / "ambient.db"))
    with caplog.at_level(logging.WARNING):
        with pytest.raises(StoreError):
            filters.load("ambient-home-record")
        filters.save("ambient-home-record", {"home/+/hr"})
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2
    assert said[0].startswith("Could not read the MQTT filters subscribed in the store (store ")
    assert said[1].startswith("Could not write the MQTT filters subscribed in the store (store ")
    assert (tmp_path / "state" / "ambient.db").read_bytes() == b"not a store at all" * 100


def test_a_full_card_is_one_warning_until_the_filters_are_written_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real small file system filled up: each connect's write of the filters was refused
    again, said once a minute for as long as the card stayed full (a link flapping all night
    filled the journal). Said once, then once when a write goes in again."""
    name = "ambient.connections.mqtt_subscribed"
    with small_disk(tmp_path / "card") as card:
        store = Store(card / "ambient.db")
        try:
            filters = SubscribedFilters(store)
            filters.save("ambient-home", {"home/+/hr"})
            fill(card)
            with caplog.at_level(logging.DEBUG, logger=name):
                for topic in ("home/+/rr", "home/+/spo2", "home/+/temp"):  # three connects
                    filters.save("ambient-home", {"home/+/hr", topic})
            said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == name]
            assert [level for level, _ in said] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
            assert said[0][1].startswith(
                "Could not write the MQTT filters subscribed in the store (store "
            )
            caplog.clear()
            (card / "recordings.csv").unlink()  # room again
            with caplog.at_level(logging.DEBUG, logger=name):
                filters.save("ambient-home", {"home/+/hr", "home/+/rr"})
                filters.save("ambient-home", {"home/+/hr", "home/+/rr"})
            assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == name] == [
                (logging.INFO, "The MQTT filters subscribed are written in the store again")
            ]
            assert filters.load("ambient-home") == {"home/+/hr", "home/+/rr"}
        finally:
            store.close()
