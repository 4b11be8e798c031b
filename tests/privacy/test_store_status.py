"""``ambient check`` and ``ambient status`` say whether the store is encrypted; a daemon with a
key keeps an encrypted store and reads it back after a restart."""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.ambient_process import AmbientProcess

from ambient.config.store import StoreConfig
from ambient.privacy import store_status
from ambient.privacy.store_status import run_refuses
from ambient.status_page import render_status
from ambient.store import STORE_FORMAT, Store, StoreKey
from ambient.store_crypto import file_is_plain

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "ambient" / "data" / "resting-hour.csv"
RAW_KEY = "7c" * 32


def ambient(
    *argv: str, python: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *python] if python else [sys.executable, "-m", "ambient"]
    return subprocess.run(
        [*command, *argv], capture_output=True, text=True, check=False, timeout=60, env=env
    )


def config_file(tmp_path: Path, store: dict[str, Any]) -> Path:
    path = tmp_path / "ambient.yaml"
    path.write_text(json.dumps({"store": store}))
    return path


def test_check_says_a_plain_store_is_not_encrypted(tmp_path: Path) -> None:
    db = tmp_path / "ambient.db"
    result = ambient("check", str(config_file(tmp_path, {"path": str(db)})))
    assert result.returncode == 0
    assert f"Store: {db}, not encrypted (store.encryption encrypts it" in result.stdout


def test_check_reads_a_relative_store_path_beside_the_config(tmp_path: Path) -> None:
    """docs/first-rule.md's `store: {path: state/ambient.db}`: once the daemon has made the
    file, `check` reads its format there, beside the config, from whatever folder it runs in."""
    (tmp_path / "state").mkdir()
    Store(tmp_path / "state" / "ambient.db").close()
    config = config_file(tmp_path, {"path": "state/ambient.db"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "ambient", "check", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=elsewhere,
    )
    assert (result.returncode, result.stderr) == (0, "")
    store = tmp_path / "state" / "ambient.db"
    assert f"Store: {store}, not encrypted (store.encryption encrypts it" in result.stdout


def test_the_format_of_a_store_at_a_relative_path_is_read_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config gives the store's path absolute, but a relative one is read where the
    process runs: it stopped `check` with a traceback (a relative path can't be expressed as
    a file URI)."""
    (tmp_path / "state").mkdir()
    Store(tmp_path / "state" / "ambient.db").close()
    with sqlite3.connect(tmp_path / "state" / "ambient.db") as connection:
        connection.execute(f"PRAGMA user_version = {STORE_FORMAT + 1}")
    monkeypatch.chdir(tmp_path)

    refusal = run_refuses(Path("state/ambient.db"))

    assert refusal is not None and "was written by a newer version of ambient" in refusal


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_check_fails_for_a_store_a_newer_version_wrote(tmp_path: Path, encrypted: bool) -> None:
    """Back on an older ambient after an upgrade: `run` refuses the store, so `check` (the
    unit's check before each start) says so in its words instead of OK. Of an encrypted store
    it tried only the key, and said OK."""
    db = tmp_path / "ambient.db"
    key_file = tmp_path / "store.key"
    key_file.write_text(RAW_KEY)
    key_file.chmod(0o600)
    key = StoreKey(RAW_KEY, "test") if encrypted else None
    store = Store(db, key)
    store.execute(f"PRAGMA user_version = {STORE_FORMAT + 1}")
    store.close()
    encryption = {"encryption": {"key_file": str(key_file)}} if encrypted else {}
    config = config_file(tmp_path, {"path": str(db), **encryption})
    problem = (
        f"store {db} was written by a newer version of ambient (store format "
        f"{STORE_FORMAT + 1}; this one knows up to {STORE_FORMAT}): install that version again"
    )

    run = ambient("run", "--config", str(config))
    check = ambient("check", str(config))

    assert run.returncode == 1 and f"ambient run: {problem}" in run.stderr
    assert check.returncode == 1 and f"Store: {problem}" in check.stdout


def test_check_opens_a_plain_store_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its format and its tables, what `run` reads as it starts, are read through one
    connection: `check` opened the file twice, once for each."""
    db = tmp_path / "ambient.db"
    store = Store(db)
    store.put("rules", "calm", {"persons": {}})
    store.close()
    opened: list[str] = []
    connect = sqlite3.connect

    def counted(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(database)
        connection: sqlite3.Connection = connect(database, *args, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", counted)
    line, usable = store_status.describe_store(StoreConfig(path=db))

    assert (line, usable) == (
        f"{db}, not encrypted (store.encryption encrypts it; see docs/privacy.md)",
        True,
    )
    assert len(opened) == 1


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_check_fails_for_a_damaged_store_run_refuses(
    tmp_path: Path, damage: str, encrypted: bool
) -> None:
    """A power cut or a worn card damaged the store: `run` refused it in one line, but `check`
    (the unit's check before each start) said OK, the store "not encrypted" (or encrypted:
    only the key was tried, on the first page)."""
    db = tmp_path / "ambient.db"
    key_file = tmp_path / "store.key"
    key_file.write_text(RAW_KEY)
    key_file.chmod(0o600)
    store = Store(db, StoreKey(RAW_KEY, "test") if encrypted else None)
    for n in range(200):
        store.append("traces", "calm", {"t": n, "reason": "x" * 100}, keep=1000)
    store.put("rules", "calm", {"persons": {}})
    store.checkpoint()
    store.close()
    if damage == "truncated":
        with db.open("r+b") as file:
            file.truncate(8192)
    else:
        with db.open("r+b") as file:
            file.seek(4096)
            file.write(bytes(range(256)) * 32)
    encryption = {"encryption": {"key_file": str(key_file)}} if encrypted else {}
    config = config_file(tmp_path, {"path": str(db), **encryption})
    run = ambient("run", "--config", str(config))
    problem = (
        f"store {db} is damaged (database disk image is malformed): move it and its -wal and "
        "-shm files aside to start with a new one, or put back a copy"
    )
    assert run.returncode == 1 and problem in run.stderr

    result = ambient("check", str(config))

    assert result.returncode == 1
    assert f"Store: {problem}" in result.stdout
    assert problem in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_check_leaves_no_file_beside_a_store_no_one_has_open(
    tmp_path: Path, encrypted: bool
) -> None:
    """A store the daemon closed has no -wal and -shm beside it; check's read-only look made
    both and left them, root's under `sudo ambient check` (the install's next step), which
    `run` as the service's user cannot write: the service then would not start."""
    if encrypted:
        pytest.importorskip("sqlcipher3", reason="the optional `crypto` extra is not installed")
    db = tmp_path / "ambient.db"
    key_file = tmp_path / "store.key"
    key_file.write_text(RAW_KEY)
    key_file.chmod(0o600)
    store = Store(db, StoreKey(RAW_KEY, "test") if encrypted else None)
    store.put("rules", "calm", {"persons": {}})
    store.close()
    encryption = {"encryption": {"key_file": str(key_file)}} if encrypted else {}
    config = config_file(tmp_path, {"path": str(db), **encryption})
    before = sorted(path.name for path in tmp_path.iterdir())

    result = ambient("check", str(config))

    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_check_says_where_the_key_comes_from_and_what_the_file_is(tmp_path: Path) -> None:
    db = tmp_path / "ambient.db"
    key_file = tmp_path / "store.key"
    key_file.write_text(RAW_KEY)
    key_file.chmod(0o600)
    config = config_file(tmp_path, {"path": str(db), "encryption": {"key_file": str(key_file)}})
    first = ambient("check", str(config))
    assert first.returncode == 0
    assert (
        f"Store: {db}, encrypted with SQLCipher (created encrypted at the first start; "
        f"key from key file {key_file})"
    ) in first.stdout
    Store(db).close()
    assert "(a plain file now: encrypted at the next start;" in ambient("check", str(config)).stdout
    db.unlink()
    Store(db, StoreKey(RAW_KEY, "t")).close()
    assert "(encrypted; key from" in ambient("check", str(config)).stdout


def test_check_fails_for_an_encrypted_file_without_a_key_in_run_s_words(tmp_path: Path) -> None:
    """`check` said it in words of its own ("store.encryption gives no key"), the line `run`
    stops with said it another way: both now say the one line."""
    db = tmp_path / "ambient.db"
    Store(db, StoreKey(RAW_KEY, "t")).close()
    config = config_file(tmp_path, {"path": str(db)})
    problem = f"store {db} is encrypted (or not an SQLite file): give its key in store.encryption"

    run = ambient("run", "--config", str(config))
    check = ambient("check", str(config))

    assert (run.returncode, run.stderr.splitlines()) == (1, [f"ambient run: {problem}"])
    assert check.returncode == 1 and f"Store: {problem}\n" in check.stdout


@pytest.mark.parametrize("keyed", [False, True], ids=["no key", "a key to encrypt it"])
def test_a_plain_store_whose_header_a_worn_card_damaged_is_not_called_encrypted(
    tmp_path: Path, keyed: bool
) -> None:
    """Its first bytes overwritten, a plain store was said to be encrypted: `run` told a user
    who never set a key to give one, and `check` that the config gave none; with a key given
    to encrypt it at the next start, both said the key was wrong."""
    db = tmp_path / "ambient.db"
    store = Store(db)
    store.put("signals.baseline", "alex", {"minutes": 1})
    store.close()
    with db.open("r+b") as file:
        file.write(bytes(range(7, 107)))
    settings: dict[str, Any] = {"path": str(db)}
    if keyed:
        pytest.importorskip("sqlcipher3", reason="the optional `crypto` extra is not installed")
        key_file = tmp_path / "store.key"
        key_file.write_text(RAW_KEY)
        key_file.chmod(0o600)
        settings["encryption"] = {"key_file": str(key_file)}
    config = config_file(tmp_path, settings)
    problem = (
        f"store {db} is damaged (its SQLite header is unreadable): move it and its -wal and "
        "-shm files aside to start with a new one, or put back a copy"
    )

    run = ambient("run", "--config", str(config))
    check = ambient("check", str(config))

    assert (run.returncode, run.stderr.splitlines()) == (1, [f"ambient run: {problem}"])
    assert check.returncode == 1 and f"Store: {problem}" in check.stdout


@pytest.mark.parametrize(
    ("key_file", "problem"),
    [
        ("missing", "store key file {key_file} does not exist"),
        ("folder", "store key file {key_file} is not a file"),
        ("empty", "store key from {key_file} is empty"),
        ("loose", "store key file {key_file} is readable by group or others (mode 0644)"),
        ("zeros", "store key file {key_file} is not text: write the key as 64 hex digits"),
    ],
)
def test_check_fails_for_a_key_file_run_would_refuse(
    tmp_path: Path, key_file: str, problem: str
) -> None:
    """`run` would stop at once with this line: `check` says it first."""
    path = tmp_path / key_file
    if key_file == "folder":
        path.mkdir()
    elif key_file != "missing":
        path.write_bytes({"empty": b"", "zeros": bytes(32)}.get(key_file, RAW_KEY.encode()))
        path.chmod(0o644 if key_file == "loose" else 0o600)
    db = tmp_path / "ambient.db"
    config = config_file(tmp_path, {"path": str(db), "encryption": {"key_file": str(path)}})
    result = ambient("check", str(config))
    assert result.returncode == 1
    assert f"Store: {db}: {problem.format(key_file=path)}" in result.stdout


def test_check_fails_for_a_key_that_does_not_open_the_store(tmp_path: Path) -> None:
    """A key replaced (or a store put back from another machine's backup): `run` stops at
    once, so `check` must not say OK, and says it in `run`'s words. The file is only read,
    never changed."""
    db = tmp_path / "ambient.db"
    Store(db, StoreKey(RAW_KEY, "t")).close()
    before = db.read_bytes()
    key_file = tmp_path / "store.key"
    key_file.write_text("11" * 32)
    key_file.chmod(0o600)
    config = config_file(tmp_path, {"path": str(db), "encryption": {"key_file": str(key_file)}})
    problem = (
        f"store {db} cannot be opened with the key from {key_file} (a wrong key, or not an "
        "ambient store)"
    )
    result = ambient("check", str(config))
    assert result.returncode == 1
    assert f"Store: {problem}\n" in result.stdout
    assert f"store.encryption: {problem}\n" in result.stderr
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ambient.db", "ambient.yaml", "store.key"]
    key_file.write_text(RAW_KEY)
    assert ambient("check", str(config)).returncode == 0


def test_check_leaves_a_credential_to_the_service(tmp_path: Path) -> None:
    """systemd hands the service its credential; `check` outside it has none to read."""
    db = tmp_path / "ambient.db"
    config = config_file(tmp_path, {"path": str(db), "encryption": {"credential": "store_key"}})
    result = ambient("check", str(config))
    assert result.returncode == 0, result.stdout
    assert "key from systemd credential store_key" in result.stdout


def test_check_in_the_service_reads_the_credential_as_run_will(tmp_path: Path) -> None:
    """The unit runs `check` before every start with the service's credentials: a credential
    missing, or a key that does not open the store, fails it there instead of `run`."""
    db = tmp_path / "ambient.db"
    Store(db, StoreKey(RAW_KEY, "t")).close()
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    config = config_file(tmp_path, {"path": str(db), "encryption": {"credential": "store_key"}})
    service = {**os.environ, "CREDENTIALS_DIRECTORY": str(credentials)}

    missing = ambient("check", str(config), env=service)
    assert missing.returncode == 1
    assert f"store key file {credentials / 'store_key'} does not exist" in missing.stdout

    (credentials / "store_key").write_text("11" * 32)
    wrong = ambient("check", str(config), env=service)
    assert wrong.returncode == 1
    assert "cannot be opened with the key from" in wrong.stdout

    (credentials / "store_key").write_text(RAW_KEY)
    right = ambient("check", str(config), env=service)
    assert right.returncode == 0, right.stdout
    assert "(encrypted; key from systemd credential store_key)" in right.stdout


def test_check_fails_when_encryption_is_asked_for_and_sqlcipher_is_missing(
    tmp_path: Path,
) -> None:
    """Stand-in for a machine without the package: the import is made to fail."""
    db = tmp_path / "ambient.db"
    config = config_file(tmp_path, {"path": str(db), "encryption": {"key": RAW_KEY}})
    hide = "import sys; sys.modules['sqlcipher3'] = None; from ambient.cli import main; "
    result = ambient("check", str(config), python=("-c", hide + "sys.exit(main(sys.argv[1:]))"))
    assert result.returncode == 1
    assert "SQLCipher is not installed: pip install 'ambient[crypto]'" in result.stdout
    assert not db.exists()


def test_status_renders_the_store_line() -> None:
    encrypted = render_status({"store": {"path": "/var/lib/ambient/ambient.db", "encrypted": True}})
    plain = render_status({"store": {"path": "/var/lib/ambient/ambient.db", "encrypted": False}})
    assert "Store\n  /var/lib/ambient/ambient.db  encrypted (SQLCipher)" in encrypted
    assert "Store\n  /var/lib/ambient/ambient.db  NOT encrypted" in plain
    assert "Store\n  in memory" in render_status({"store": {"path": None, "encrypted": False}})


def test_a_daemon_with_a_key_reports_and_keeps_an_encrypted_store(tmp_path: Path) -> None:
    db = tmp_path / "state" / "ambient.db"
    key_file = tmp_path / "store.key"
    key_file.write_text(RAW_KEY + "\n")
    key_file.chmod(0o600)
    config = tmp_path / "ambient.yaml"
    config.write_text(
        json.dumps(
            {
                "people": [{"id": "alex"}],
                "sensors": [{"type": "recording", "path": str(RECORDING), "person": "alex"}],
                "store": {"path": str(db), "encryption": {"key_file": str(key_file)}},
            }
        )
    )
    daemon = AmbientProcess("run", "--config", str(config), "--speed", "10")
    try:
        daemon.stderr.wait_for("Running:")
        status = ambient("status", "--config", str(config), "--json")
    finally:
        daemon.process.terminate()
        assert daemon.process.wait(timeout=30) == 0
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["store"] == {"path": str(db), "encrypted": True}
    assert file_is_plain(db) is False
    # Every table the daemon's parts made is inside the one encrypted file, read with the key.
    store = Store(db, StoreKey(RAW_KEY, "t"))
    tables = {name for (name,) in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
    store.close()
    assert {"kv", "log"} <= tables
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith("ambient.db")) == [
        "ambient.db"
    ]


def test_the_unit_s_key_file_by_a_link_is_the_one_the_unit_hands_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit's key file a link to where the key is kept (another volume): the unit's
    ``LoadCredential=`` reads it all the same, so a service that cannot read it is told to
    write ``credential: store_key``, not to put the key in the very file it is in."""
    unit_key = tmp_path / "etc" / "store.key"
    kept = tmp_path / "keys" / "store.key"
    unit_key.parent.mkdir()
    kept.parent.mkdir()
    kept.write_text("a" * 64 + "\n")
    kept.chmod(0o600)
    unit_key.symlink_to(kept)
    monkeypatch.setattr(store_status, "UNIT_KEY_FILE", unit_key)
    for named in (unit_key, kept):
        assert store_status._unreadable_key_file(named).endswith(
            ": write `credential: store_key` beside it, which the unit hands over (docs/privacy.md)"
        )


def test_a_key_file_of_a_uid_without_a_name_is_said_to_be_that_uids(tmp_path: Path) -> None:
    """Whose a file is, for a user this machine does not name, is said as `ambient check` says
    it of the store's folder and files: `uid N`."""
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to a uid without a name")
    unnamed = 54321
    with pytest.raises(KeyError):
        pwd.getpwuid(unnamed)
    key = tmp_path / "store.key"
    key.write_text("a" * 64 + "\n")
    key.chmod(0o400)
    os.chown(key, unnamed, unnamed)
    said = store_status._unreadable_key_file(key)
    assert said.startswith(f"store key file {key}: the service cannot read it (uid 54321's, ")
