"""Encryption at rest: with a key the store is an SQLCipher file that plain SQLite cannot open
and that holds none of what was written in the clear; every failure is one clear error."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, run_ambient

from ambient.clock import VirtualClock
from ambient.config import load_config
from ambient.config.store import StoreConfig
from ambient.daemon import Daemon, DaemonOptions
from ambient.store import ALONE_LOOK_S, ALONE_WAIT_S, Store, StoreError, StoreKey, encrypt_at_start
from ambient.store_crypto import CREDENTIALS_ENV, file_is_plain, key_opens, read_key, rekey

RAW_KEY = "3f" * 32
#: Values that must never be readable in the file on disk.
KNOWN = {
    "person": "alexandra_known_person",
    "hr": "173.25",
    "note": "felt-panicky-before-the-exam",
}


def write_known(store: Store) -> None:
    store.put("signals.baseline", KNOWN["person"], {"hr": KNOWN["hr"], "note": KNOWN["note"]})
    store.append("traces", "calm", {"t": 1.0, "person": KNOWN["person"]}, keep=20)


def raw_bytes(path: Path) -> bytes:
    """The file and its write-ahead log, as a thief with the SD card would read them."""
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_an_encrypted_store_holds_no_known_value_and_sqlite_cannot_open_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    store = Store(path, StoreKey(RAW_KEY, "test"))
    write_known(store)
    on_disk_while_open = raw_bytes(path)
    store.close()

    for value in KNOWN.values():
        assert value.encode() not in on_disk_while_open
        assert value.encode() not in raw_bytes(path)
    assert file_is_plain(path) is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(sqlite3.DatabaseError), sqlite3.connect(path) as db:
        db.execute("SELECT * FROM kv").fetchall()


def test_a_plain_store_does_hold_the_known_values(tmp_path: Path) -> None:
    """The check above can fail: without a key the same values are in the file."""
    path = tmp_path / "ambient.db"
    store = Store(path)
    write_known(store)
    store.close()
    assert KNOWN["note"].encode() in raw_bytes(path)


def test_a_restart_with_the_key_reads_everything_back(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    store = Store(path, StoreKey(RAW_KEY, "test"))
    write_known(store)
    store.close()
    again = Store(path, StoreKey(RAW_KEY, "test"))
    assert again.get("signals.baseline", KNOWN["person"]) == {
        "hr": KNOWN["hr"],
        "note": KNOWN["note"],
    }
    assert again.recent("traces", "calm") == [{"t": 1.0, "person": KNOWN["person"]}]
    assert again.encrypted
    again.close()


def test_a_passphrase_key_works_too(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    passphrase = "correct horse's battery"
    store = Store(path, StoreKey(passphrase, "test"))
    store.put("a", "b", 1)
    store.close()
    again = Store(path, StoreKey(passphrase, "test"))
    assert again.get("a", "b") == 1
    again.close()


def test_a_wrong_key_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    Store(path, StoreKey(RAW_KEY, "test")).close()
    with pytest.raises(StoreError) as error:
        Store(path, StoreKey("00" * 32, "/etc/ambient/store.key"))
    assert str(error.value) == (
        f"store {path} cannot be opened with the key from /etc/ambient/store.key "
        "(a wrong key, or not an ambient store)"
    )


def test_an_encrypted_store_opened_without_a_key_says_to_give_one(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    Store(path, StoreKey(RAW_KEY, "test")).close()
    with pytest.raises(StoreError, match=r"is encrypted .*give its key in store.encryption"):
        Store(path)


def test_a_plain_store_is_migrated_when_a_key_is_given(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    plain = Store(path)
    write_known(plain)
    plain.close()
    assert KNOWN["note"].encode() in raw_bytes(path)

    store = Store(path, StoreKey(RAW_KEY, "test"), migrate=True)  # the daemon, as it starts
    assert store.encrypted
    assert store.get("signals.baseline", KNOWN["person"]) == {
        "hr": KNOWN["hr"],
        "note": KNOWN["note"],
    }
    assert store.recent("traces", "calm") == [{"t": 1.0, "person": KNOWN["person"]}]
    store.close()
    assert file_is_plain(path) is False
    assert KNOWN["note"].encode() not in raw_bytes(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ambient.db"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_encrypting_a_plain_store_is_said_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon encrypted the store at start without a word: whoever turned encryption on
    could not tell from the journal that it had happened, or when."""
    path = tmp_path / "ambient.db"
    Store(path).close()
    with caplog.at_level(logging.INFO, logger="ambient.store_crypto"):
        Store(path, StoreKey(RAW_KEY, "/etc/ambient/store.key"), migrate=True).close()
        Store(path, StoreKey(RAW_KEY, "/etc/ambient/store.key"), migrate=True).close()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "INFO",
            f"Store {path}: the plain file is now encrypted with SQLCipher (key from "
            "/etc/ambient/store.key); on flash storage its old blocks may survive until reused",
        )
    ]
    assert RAW_KEY not in caplog.text


def test_a_command_reads_a_plain_store_as_it_is_and_leaves_encrypting_to_the_daemon(
    tmp_path: Path,
) -> None:
    """Encryption just added to the config, the daemon not restarted yet: a command (`ambient
    trace`, `export`) must not encrypt the file in place under the running daemon, which goes
    on writing into the file it holds (and its write-ahead log), both replaced: lost."""
    path = tmp_path / "ambient.db"
    running = Store(path)  # the daemon, still on its plain config
    running.put("signals.baseline", "alex", {"minutes": 1})
    command = Store(path, StoreKey(RAW_KEY, "test"))
    assert command.get("signals.baseline", "alex") == {"minutes": 1}
    assert not command.encrypted
    command.close()
    running.put("signals.baseline", "alex", {"minutes": 2})  # written after the command
    running.close()
    assert file_is_plain(path) is True

    started = Store(path, StoreKey(RAW_KEY, "test"), migrate=True)  # the next start
    assert started.encrypted
    assert started.get("signals.baseline", "alex") == {"minutes": 2}
    started.close()
    assert file_is_plain(path) is False


def holding_it_open(path: Path) -> subprocess.Popen[str]:
    """Another process with the plain store at ``path`` open (HOLD_OPEN), once it is."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "open\n"
    return holder


def start_encrypting(
    path: Path, clock: VirtualClock, on_the_clock: Callable[[float], None] = lambda now: None
) -> None:
    """The daemon's start with a key for the plain store at ``path``: ``encrypt_at_start`` on
    ``clock``, moved on to each look it waits for (``on_the_clock`` told the time first)."""
    key_file = path.with_name("store.key")
    key_file.write_text(RAW_KEY)
    key_file.chmod(0o600)
    config = StoreConfig.model_validate(
        {"path": str(path), "encryption": {"key_file": str(key_file)}}
    )

    async def start() -> None:
        task = asyncio.create_task(encrypt_at_start(config, clock))
        while not task.done():
            due = clock.next_due()
            if due is not None:
                on_the_clock(due)
                await clock.run_until(due)
            else:
                await asyncio.sleep(0)
        task.result()

    asyncio.run(start())


def test_a_plain_store_another_process_holds_open_is_not_encrypted_under_it(
    tmp_path: Path,
) -> None:
    """A second `ambient run` with the key beside a daemon still running on the plain file
    (one the status socket cannot tell: elsewhere, or without it): encrypting then would
    replace the file under the first, whose writes after it would be lost. The start looks
    again every 0.1 s of its clock for 5 s (a command's read ends by then), then refuses,
    naming what it may be; the clock's waits, not a sleep that held up the whole start."""
    path = tmp_path / "ambient.db"
    holder = holding_it_open(path)
    clock = VirtualClock(start=1000.0)
    try:
        with pytest.raises(StoreError) as raised:
            Store(path, StoreKey(RAW_KEY, "test"), migrate=True)  # one look: no wait
        with pytest.raises(StoreError) as at_start:
            start_encrypting(path, clock)
        for error in (raised, at_start):
            assert str(error.value) == (
                f"store {path} is a plain file still open in another process (such as an "
                "ambient command, or an ambient daemon not yet restarted with the key): let it "
                "end or stop it, then start ambient to encrypt it"
            )
        assert clock.now() == pytest.approx(1000.0 + ALONE_WAIT_S)
        assert file_is_plain(path) is True
    finally:
        holder.communicate("")  # stdin closed: it writes once more and closes the store
    assert holder.returncode == 0
    store = Store(path, StoreKey(RAW_KEY, "test"), migrate=True)
    assert store.get("signals.baseline", "alex") == {"minutes": 2}
    store.close()


def test_a_start_beside_a_command_reading_the_plain_store_for_a_moment_encrypts_it(
    tmp_path: Path,
) -> None:
    """`ambient trace` opened the plain file just as the daemon started to encrypt it: the
    start waits for the read to end, and goes on at its next look, 0.1 s of its clock later
    (it slept half a second at a time, for real, the whole start held up meanwhile)."""
    path = tmp_path / "ambient.db"
    holder = holding_it_open(path)
    clock = VirtualClock(start=1000.0)
    let_go_at: list[float] = []

    def command_ends_after_a_moment(now: float) -> None:
        if now >= 1000.3 and not let_go_at:
            holder.communicate("")
            let_go_at.append(clock.now())

    try:
        start_encrypting(path, clock, command_ends_after_a_moment)
    finally:
        if holder.returncode is None:
            holder.communicate("")
    assert holder.returncode == 0 and let_go_at
    assert clock.now() - let_go_at[0] == pytest.approx(ALONE_LOOK_S)
    assert file_is_plain(path) is False
    store = Store(path, StoreKey(RAW_KEY, "test"))
    assert store.get("signals.baseline", "alex") == {"minutes": 2}
    store.close()


def test_the_daemon_waits_for_a_command_on_the_plain_store_on_its_clock_still_answering(
    tmp_path: Path,
) -> None:
    """The daemon's start beside a command reading the plain store: it waits on its clock,
    and meanwhile its loop goes on (its status says it is starting); it slept for real, the
    loop held. Once the command lets go, the store is encrypted and the config wired."""
    config_file, path = encrypting_config(tmp_path)
    config = load_config(config_file)
    holder = holding_it_open(path)
    clock = VirtualClock(start=1000.0)
    daemon = Daemon(config, clock, DaemonOptions(services=False))

    async def start() -> None:
        wiring = asyncio.create_task(daemon._wire_or_go_back(config))
        await clock.run_until(1000.25)  # it has looked three times
        assert not wiring.done() and daemon.status().get("starting") is True
        holder.communicate("")  # the command ends
        while not wiring.done():
            await clock.run_until(clock.now() + ALONE_LOOK_S)
        wired = wiring.result()
        assert wired is not None
        wired[1].store.close()

    try:
        asyncio.run(start())
    finally:
        if holder.returncode is None:
            holder.communicate("")
    assert clock.now() < 1000.0 + ALONE_WAIT_S
    assert file_is_plain(path) is False


def encrypting_config(tmp_path: Path) -> tuple[Path, Path]:
    """A config whose store.encryption is just set, and its plain store's path (not made)."""
    path = tmp_path / "state" / "ambient.db"
    key_file = tmp_path / "store.key"
    key_file.write_text(RAW_KEY)
    key_file.chmod(0o600)
    config = tmp_path / "ambient.yaml"
    config.write_text(
        f"people: [{{id: alex}}]\nstore:\n  path: {path}\n  encryption:\n    key_file: {key_file}\n"
    )
    return config, path


def test_a_daemon_stopped_while_it_waits_for_the_plain_store_stops_at_once_leaving_it_plain(
    tmp_path: Path,
) -> None:
    """SIGTERM (systemctl stop) while the start waits for a command to let go of the plain
    store: the start went on waiting, then failed with exit 1 blaming the other process (the
    unit left failed), or, the command gone, encrypted the store and started everything after
    being told to stop. It now stops as asked: exit 0, nothing encrypted, the command's own
    later write kept in the plain file."""
    config, path = encrypting_config(tmp_path)
    holder = holding_it_open(path)
    daemon = AmbientProcess("run", "--config", str(config))
    try:
        daemon.stderr.wait_for("the plain file is open in another process")
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=60) == 0
        assert holder.poll() is None  # it still has the file open: the start did not wait
    finally:
        daemon.stop()
        holder.communicate("")
    lines = daemon.stderr.all_lines()
    assert not [line for line in lines if "still open in another process" in line]
    assert any("Stopped on SIGTERM" in line for line in lines)
    assert holder.returncode == 0 and file_is_plain(path) is True
    plain = Store(path)
    assert plain.get("signals.baseline", "alex") == {"minutes": 2}
    plain.close()


def test_a_daemon_whose_plain_store_stays_open_elsewhere_says_so_and_leaves_it_plain(
    tmp_path: Path,
) -> None:
    """Another process that keeps the plain store open for good (a daemon not yet restarted
    with the key): after the seconds it looks again, `run` stops with one line naming the file
    and what to do, exit 1, no traceback, and the plain file is left as it was, the other
    process's later write in it."""
    config, path = encrypting_config(tmp_path)
    holder = holding_it_open(path)
    try:
        result = run_ambient("run", "--config", str(config))
    finally:
        holder.communicate("")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"ambient run: store {path} is a plain file still open in another process (such as an "
        "ambient command, or an ambient daemon not yet restarted with the key): let it end or "
        "stop it, then start ambient to encrypt it"
    )
    assert "Traceback" not in result.stderr
    assert holder.returncode == 0 and file_is_plain(path) is True
    plain = Store(path)
    assert plain.get("signals.baseline", "alex") == {"minutes": 2}
    plain.close()


def test_a_write_into_the_plain_store_while_it_is_encrypted_is_refused_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process writing into the plain file after the daemon found it alone, while the
    encrypted copy was made (a moment; seconds for a large store on a Pi): its write went into
    the file about to be replaced, and was lost without a word. It waits, or is refused."""
    path = tmp_path / "ambient.db"
    plain = Store(path)
    plain.put("signals.baseline", "alex", {"minutes": 1})
    plain.close()
    writes: list[subprocess.CompletedProcess[str]] = []
    replace = Path.replace

    def write_then_replace(self: Path, target: Path) -> Path:
        if Path(target) == path:  # the encrypted copy is made: a write comes in now
            command = [sys.executable, "-c", WRITE_NOW, str(path)]
            writes.append(subprocess.run(command, capture_output=True, text=True))
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", write_then_replace)
    store = Store(path, StoreKey(RAW_KEY, "test"), migrate=True)
    monkeypatch.undo()
    [write] = writes
    written = store.get("signals.baseline", "sam")
    store.close()
    assert (write.returncode, written) in [(1, None), (0, {"minutes": 3})]
    assert write.returncode == 0 or "database is locked" in write.stderr


def test_a_command_while_the_daemon_encrypts_the_plain_store_says_to_try_again(
    tmp_path: Path,
) -> None:
    """The daemon holds the plain file's lock while it makes the encrypted copy (seconds for
    a large store on a Pi): `ambient trace` then said `cannot be used (database is locked)`,
    which says neither why nor what to do. The lock is held here as the daemon holds it."""
    path = tmp_path / "ambient.db"
    Store(path).close()
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people: [{{id: alex}}]\nstore: {{path: {path}}}\n")
    daemon = sqlite3.connect(path, isolation_level=None)
    try:
        daemon.execute("PRAGMA journal_mode=DELETE")
        daemon.execute("BEGIN IMMEDIATE")
        result = run_ambient("trace", "--config", str(config))
    finally:
        daemon.close()
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"ambient trace: store {path} cannot be used (database is locked): another process "
        "is writing it (ambient encrypting it as it starts, for one); try again in a moment"
    ]


#: Another process's write into the store, given up at once if the store is locked.
WRITE_NOW = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=0)
db.execute("INSERT INTO kv VALUES ('signals.baseline', 'sam', '{\\"minutes\\": 3}')")
db.commit()
"""


#: A daemon on a plain store: it writes, says so, waits for stdin to close, writes again.
HOLD_OPEN = """
import sys
from pathlib import Path
from ambient.store import Store
store = Store(Path(sys.argv[1]))
store.put("signals.baseline", "alex", {"minutes": 1})
print("open", flush=True)
sys.stdin.read()
store.put("signals.baseline", "alex", {"minutes": 2})
store.close()
"""


def test_the_key_is_never_in_its_repr() -> None:
    key = StoreKey(RAW_KEY, "/etc/ambient/store.key")
    assert RAW_KEY not in repr(key)
    assert "/etc/ambient/store.key" in repr(key)


# -- where the key comes from ----------------------------------------------------------------


def encryption(**source: object) -> StoreConfig:
    return StoreConfig.model_validate({"path": "/x/ambient.db", "encryption": source})


def test_a_key_file_is_read_and_must_be_private(tmp_path: Path) -> None:
    key_file = tmp_path / "store.key"
    key_file.write_text(RAW_KEY + "\n")
    key_file.chmod(0o600)
    config = encryption(key_file=str(key_file))
    assert config.encryption is not None
    assert read_key(config.encryption).sql_value() == f"x'{RAW_KEY}'"
    key_file.chmod(0o640)
    with pytest.raises(StoreError, match=r"readable by group or others \(mode 0640\); chmod 600"):
        read_key(config.encryption)


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    config = encryption(key_file=str(tmp_path / "nope.key"))
    assert config.encryption is not None
    with pytest.raises(StoreError, match=r"store key file .*nope.key does not exist"):
        read_key(config.encryption)


@pytest.mark.parametrize(
    "written",
    [bytes([0x41, 0x42, 0xE9, 0x10] * 8), bytes(32), b"3f" * 16 + bytes(1)],
    ids=["random bytes", "zero bytes", "a NUL byte"],
)
def test_a_key_file_that_is_not_text_is_named_without_a_byte_of_the_key(
    tmp_path: Path, written: bytes
) -> None:
    """Random bytes written as the key (`head -c 32 /dev/urandom`): the line quoted UTF-8's
    complaint, the key's byte that broke it and where (`can't decode byte 0xe9 in position
    2`), in the journal, and did not say what a key is. Zero bytes (`/dev/zero`) are UTF-8:
    they were taken as the key, which SQLite refused with a traceback as the store opened."""
    key_file = tmp_path / "store.key"
    key_file.write_bytes(written)
    key_file.chmod(0o600)
    config = encryption(key_file=str(key_file))
    assert config.encryption is not None
    with pytest.raises(StoreError) as error:
        read_key(config.encryption)
    assert str(error.value) == (
        f"store key file {key_file} is not text: write the key as 64 hex digits (openssl rand "
        "-hex 32) or a passphrase"
    )


def test_a_key_in_the_config_with_a_nul_byte_is_refused_in_one_line(tmp_path: Path) -> None:
    """`key: "\\0…"` in the config or secrets.yaml: SQLite refused the key's PRAGMA with a
    traceback as the store opened; it is one line, naming where the key is, not the key."""
    secret = "abc\x00def"
    with pytest.raises(StoreError) as error:
        Store(tmp_path / "ambient.db", StoreKey(secret, "store.encryption.key"))
    assert str(error.value) == (
        "store key from store.encryption.key is not text: write the key as 64 hex digits "
        "(openssl rand -hex 32) or a passphrase"
    )
    assert "abc" not in str(error.value)


def test_a_systemd_credential_is_read_from_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "store_key").write_text(RAW_KEY)
    config = encryption(credential="store_key")
    assert config.encryption is not None
    monkeypatch.setenv(CREDENTIALS_ENV, str(tmp_path))
    assert read_key(config.encryption).sql_value() == f"x'{RAW_KEY}'"
    monkeypatch.delenv(CREDENTIALS_ENV)
    with pytest.raises(StoreError, match=r"CREDENTIALS_DIRECTORY is not set; .*LoadCredential="):
        read_key(config.encryption)


def test_outside_systemd_a_credential_falls_back_to_its_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root running `ambient export` reads the file the unit loads the credential from."""
    key_file = tmp_path / "store.key"
    key_file.write_text("ab" * 32)
    key_file.chmod(0o600)
    monkeypatch.delenv(CREDENTIALS_ENV, raising=False)
    config = encryption(credential="store_key", key_file=str(key_file))
    assert config.encryption is not None
    assert read_key(config.encryption).source == str(key_file)


def test_one_key_source_is_required() -> None:
    with pytest.raises(ValueError, match="give one of"):
        encryption()
    with pytest.raises(ValueError, match=r"got key_file, key"):
        encryption(key_file="/k", key="x")


def test_from_config_opens_the_store_encrypted(tmp_path: Path) -> None:
    config = StoreConfig.model_validate(
        {"path": str(tmp_path / "ambient.db"), "encryption": {"key": RAW_KEY}}
    )
    store = Store.from_config(config)
    store.put("a", "b", 1)
    store.close()
    assert file_is_plain(tmp_path / "ambient.db") is False


def test_without_sqlcipher_an_encrypted_config_fails_and_writes_no_plain_file(
    tmp_path: Path,
) -> None:
    """Stand-in: SQLCipher is installed here, so the subprocess hides it (sys.modules entry
    None makes its import fail exactly as when the package is absent)."""
    path = tmp_path / "ambient.db"
    script = (
        "import sys; sys.modules['sqlcipher3'] = None\n"
        "from pathlib import Path\n"
        "from ambient.store import Store, StoreError, StoreKey\n"
        "try:\n"
        f"    Store(Path({str(path)!r}), StoreKey({RAW_KEY!r}, 'k'))\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "SQLCipher is not installed: pip install 'ambient[crypto]'" in result.stdout
    assert file_is_plain(path) is not True


def test_check_reports_and_cli_fails_cleanly_on_a_wrong_key(tmp_path: Path) -> None:
    """Through the real CLI: a wrong key is one line on stderr and exit 1, no traceback."""
    db = tmp_path / "ambient.db"
    Store(db, StoreKey(RAW_KEY, "test")).close()
    config = tmp_path / "ambient.yaml"
    config.write_text(json.dumps({"store": {"path": str(db), "encryption": {"key": "11" * 32}}}))
    result = run_ambient("trace", "--config", str(config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"ambient trace: store {db} cannot be opened with the key from store.encryption.key "
        "(a wrong key, or not an ambient store)"
    ]


def test_a_rekey_while_another_connection_has_the_store_open_is_refused(tmp_path: Path) -> None:
    """The daemon (another connection) would go on with the old key: nothing changes."""
    path = tmp_path / "ambient.db"
    old, new = StoreKey(RAW_KEY, "old"), StoreKey("a new passphrase", "new")
    daemon = Store(path, old)
    daemon.put("signals.baseline", "alex", {"ready": True})

    with pytest.raises(StoreError, match=r"is open in another process .*: stop it, then rekey"):
        rekey(path, old, new)

    daemon.close()
    assert key_opens(path, old) and not key_opens(path, new)
