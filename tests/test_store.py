"""The store keeps state across restarts, privately (0600), in SQLite WAL mode."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ambient.config.store import StoreConfig
from ambient.store import STORE_FORMAT, Store, StoreError, StoreKey, existing_store_path


def test_values_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ambient.db"
    store = Store(path)
    store.put("baseline", "alex", {"ln_rmssd_mean": 3.9, "days": 12})
    store.close()
    again = Store(path)
    assert again.get("baseline", "alex") == {"ln_rmssd_mean": 3.9, "days": 12}
    assert again.get("baseline", "sam") is None
    again.close()


def test_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


#: A daemon's store cut off by a power cut: its -wal (the newest writes) and -shm stay beside it.
CUT_OFF = """
import os, sys
from pathlib import Path
from ambient.store import Store
store = Store(Path(sys.argv[1]))
store.put("signals.baseline", "alex", {"hr_mean": 61.5})
os._exit(0)
"""


def test_a_write_ahead_log_left_readable_by_others_is_made_private_too(tmp_path: Path) -> None:
    """A store put back with a copy that kept looser modes (0644), or left so by an older
    version, with its -wal and -shm beside it after a power cut: the file was made 0600 at the
    next start, but its -wal, which the daemon then went on writing every reading's state
    into, stayed readable by every user on the Pi."""
    path = tmp_path / "ambient.db"
    subprocess.run([sys.executable, "-c", CUT_OFF, str(path)], check=True, timeout=60)
    beside = [path.with_name(f"{path.name}-{end}") for end in ("wal", "shm")]
    for file in (path, *beside):
        file.chmod(0o644)

    store = Store(path)
    store.put("signals.baseline", "alex", {"hr_mean": 62.0})

    assert {file.name: stat.S_IMODE(file.stat().st_mode) for file in (path, *beside)} == {
        file.name: 0o600 for file in (path, *beside)
    }
    store.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a link owned by another user")
@pytest.mark.parametrize("planted", ["ambient.db", "ambient.db-wal", "ambient.db-shm"])
def test_a_link_the_service_user_planted_beside_the_store_is_not_followed_by_root(
    tmp_path: Path, planted: str
) -> None:
    """`sudo ambient trace` on the service's store: a link its user (uid 65534 here) put
    where the store, its -wal or its -shm is, to a file of root's, was followed and the file
    made 0600 (a program losing its setuid bit, /etc/passwd unreadable by all but root). It
    is refused in one line naming it; the file is as it was."""
    folder = tmp_path / "state"
    path = folder / "ambient.db"
    Store(path).close()
    victim = tmp_path / "victim.conf"
    victim.write_text("keep me\n")
    victim.chmod(0o644)
    link = folder / planted
    link.unlink(missing_ok=True)
    link.symlink_to(victim)
    for owned in (folder, path, link):
        os.lchown(owned, 65534, 65534)

    with pytest.raises(PermissionError, match=r"a link made by another user \(uid 65534\)"):
        Store(path)

    assert victim.read_text() == "keep me\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_every_folder_made_for_the_store_is_owner_only_whatever_the_umask(
    tmp_path: Path,
) -> None:
    """Only the store's own folder was made 0700: one above it that was missing too
    (/var/lib/ambient for /var/lib/ambient/state/ambient.db) took the umask's mode, 0777
    under umask 0000."""
    path = tmp_path / "lib" / "ambient" / "ambient.db"
    previous = os.umask(0)
    try:
        Store(path).close()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "lib").stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_bounded_lists_keep_the_newest(tmp_path: Path) -> None:
    store = Store(None)
    for i in range(30):
        store.append("traces", "calm", {"n": i}, keep=20)
    store.append("traces", "other", {"n": -1}, keep=20)
    assert [e["n"] for e in store.recent("traces", "calm", limit=100)] == list(range(10, 30))
    assert [e["n"] for e in store.recent("traces", "calm", limit=3)] == [27, 28, 29]
    assert store.recent("traces", None, limit=2) == [{"n": 29}, {"n": -1}]


def test_items_and_delete() -> None:
    store = Store(None)
    store.put("timers", "a", 1)
    store.put("timers", "b", 2)
    store.delete("timers", "a")
    assert store.items("timers") == {"b": 2}


def test_tables_added_through_the_store_share_its_file_and_transactions(tmp_path: Path) -> None:
    """A feature's own table (created with execute_script) lives in the same file, so the
    store's encryption covers it; `execute` commits, inside `batch` only at its end."""
    path = tmp_path / "ambient.db"
    store = Store(path)
    store.execute_script("CREATE TABLE IF NOT EXISTS day (person TEXT, n INTEGER)")
    assert store.execute("INSERT INTO day VALUES (?, ?)", ("alex", 1)) == 1
    with store.batch():
        store.execute("INSERT INTO day VALUES (?, ?)", ("sam", 2))
        with sqlite3.connect(path) as other:  # not committed yet: another reader sees one row
            assert other.execute("SELECT count(*) FROM day").fetchone()[0] == 1
    assert store.execute("DELETE FROM day WHERE person = ?", ("alex",)) == 1
    store.checkpoint()
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT person, n FROM day").fetchall() == [("sam", 2)]


def test_a_command_reads_only_a_store_that_is_kept_and_there(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"keeps no store \(store.path: null\), so nothing"):
        existing_store_path(StoreConfig(path=None), "nothing")
    path = tmp_path / "ambient.db"
    with pytest.raises(StoreError, match=r"no store at .* yet: has the daemon run\?"):
        existing_store_path(StoreConfig(path=path), "nothing")
    Store(path).close()
    assert existing_store_path(StoreConfig(path=path), "nothing") == path


def test_no_store_at_a_relative_path_names_the_file_and_no_wrong_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a config made in code keeps a relative store.path (the loader puts one written in a
    file in the file's folder): the line names the file it looked for, and does not say
    store.path is relative to the folder ambient runs in, which is no longer the rule."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as raised:
        existing_store_path(StoreConfig(path=Path("state/ambient.db")), "nothing")
    assert str(raised.value) == (
        f"no store at state/ambient.db ({tmp_path / 'state' / 'ambient.db'}) yet: "
        "has the daemon run?"
    )


def test_insert_gives_the_new_rows_id() -> None:
    store = Store(None)
    store.execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
    assert store.insert("INSERT INTO t (x) VALUES (?)", ("a",)) == 1
    assert store.insert("INSERT INTO t (x) VALUES (?)", ("b",)) == 2
    assert store.query("SELECT id, x FROM t ORDER BY id") == [(1, "a"), (2, "b")]


def test_a_damaged_file_is_one_error_that_names_it_and_what_to_do(tmp_path: Path) -> None:
    """A power cut or a failing SD card can cut the file short: every command says so in
    one line instead of SQLite's traceback."""
    path = tmp_path / "ambient.db"
    Store(path).close()
    path.write_bytes(path.read_bytes()[:4096])  # the first page of three
    with pytest.raises(StoreError) as raised:
        Store(path)
    assert str(raised.value) == (
        f"store {path} is damaged (database disk image is malformed): move it and its -wal "
        "and -shm files aside to start with a new one, or put back a copy"
    )


def test_a_query_that_breaks_a_rule_or_misuses_sqlite_is_no_fault_of_the_file() -> None:
    """A constraint broken or a query misused is a bug, whose traceback a report needs; no
    line blames the state file for it."""
    from ambient.cli import expected_failure
    from ambient.store import file_problem

    store = Store(None)
    store.execute_script("CREATE TABLE t (x TEXT UNIQUE)")
    store.insert("INSERT INTO t (x) VALUES (?)", ("a",))
    with pytest.raises(sqlite3.IntegrityError) as broken:
        store.insert("INSERT INTO t (x) VALUES (?)", ("a",))
    with pytest.raises(sqlite3.ProgrammingError) as misused:
        store.query("SELECT x FROM t WHERE x = ?", ("a", "b"))
    for bug in (broken.value, misused.value):
        assert file_problem(bug) is None
        assert expected_failure(bug) is None


def filled_up(store: Store) -> Store:
    """``store`` with no room left: SQLite's own page limit fails the next write that needs a
    page exactly as a full disk does ("database or disk is full")."""
    pages = store.query("PRAGMA page_count")[0][0]
    store.query(f"PRAGMA max_page_count = {pages}")
    return store


def test_a_write_on_a_full_disk_is_one_error_that_names_the_file(tmp_path: Path) -> None:
    """Any call may meet the full disk (a timer's save, a command's write); its one line
    must say which file, not only SQLite's words."""
    path = tmp_path / "ambient.db"
    store = filled_up(Store(path))
    expected = f"store {path} cannot be used (database or disk is full)"
    with pytest.raises(StoreError) as put:
        store.put("baseline", "alex", {"note": "x" * 20_000})
    with pytest.raises(StoreError) as in_batch, store.batch():
        store.append("traces", "calm_alex", {"note": "x" * 20_000}, keep=10)
    assert str(put.value) == str(in_batch.value) == expected
    assert store.get("baseline", "alex") is None  # nothing half written
    assert store.recent("traces", "calm_alex") == []


def test_a_query_of_a_table_that_is_not_there_is_a_bug_not_the_files_fault() -> None:
    """SQLite's generic error (no such table, a syntax error) comes from the query: it keeps
    its type and traceback, and no line blames the file."""
    from ambient.cli import expected_failure

    store = Store(None)
    with pytest.raises(sqlite3.OperationalError) as raised:
        store.query("SELECT x FROM nowhere")
    assert expected_failure(raised.value) is None


def test_a_checkpoint_says_whether_a_reader_kept_the_log_from_being_emptied(
    tmp_path: Path,
) -> None:
    """Forget and retention fold the write-ahead log back so no deleted row lingers in the file;
    another process reading the store keeps the log, and that must be known, not assumed."""
    path = tmp_path / "ambient.db"
    store = Store(path)
    store.put("signals.baseline", "alex", {"ready": True})
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM kv").fetchone()  # a read transaction stays open

    assert store.checkpoint(busy_wait_s=0.0) is False
    assert (tmp_path / "ambient.db-wal").stat().st_size > 0

    reader.execute("COMMIT")
    reader.close()
    assert store.checkpoint() is True
    assert (tmp_path / "ambient.db-wal").stat().st_size == 0
    store.close()


def test_the_daemon_stamps_the_store_with_the_format_it_writes(tmp_path: Path) -> None:
    """So that a later version that changes a stored value's layout can raise the number, and
    this one refuse its file (below) instead of misreading it."""
    path = tmp_path / "ambient.db"
    Store(path).close()  # a command: reads what is there, writes no stamp
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    Store(path, migrate=True).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == STORE_FORMAT


@pytest.mark.parametrize("migrate", [True, False], ids=["the daemon", "a command"])
def test_a_store_from_a_newer_version_is_refused_untouched(tmp_path: Path, migrate: bool) -> None:
    """Going back to an older ambient after an upgrade: an older version read a baseline it did
    not know as unreadable and wrote a fresh one over it (days of learning lost). A store stamped
    by a newer version is now refused in one line, and left as it is."""
    path = tmp_path / "ambient.db"
    store = Store(path, migrate=True)
    store.put("signals.baseline", "alex", {"version": 99, "days": {}})
    store.close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {STORE_FORMAT + 1}")
    with pytest.raises(StoreError) as raised:
        Store(path, migrate=migrate)
    assert str(raised.value) == (
        f"store {path} was written by a newer version of ambient (store format "
        f"{STORE_FORMAT + 1}; this one knows up to {STORE_FORMAT}): install that version again, "
        "or put back a copy of the store from before the upgrade"
    )
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM kv").fetchall() == [('{"version":99,"days":{}}',)]


def test_a_newer_versions_plain_store_is_refused_before_it_is_encrypted(tmp_path: Path) -> None:
    """The daemon encrypts a plain store in place when the config gains a key; a store a newer
    version wrote is refused first, so the file stays as that version left it."""
    path = tmp_path / "ambient.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {STORE_FORMAT + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="was written by a newer version of ambient"):
        Store(path, StoreKey("7c" * 32, "test"), migrate=True)
    assert path.read_bytes() == before
