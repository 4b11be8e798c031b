"""A store on a full card: the line says the disk is full, as docs/raspberry-pi.md promises,
not "disk I/O error" (which reads as a failing card, to be replaced)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fixtures.small_disk import fill, small_disk

from ambient.store import Store


@contextmanager
def store_on_a_full_card(made: Path, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A copy of the store ``made`` on a small card filled to the last byte, and a config
    that uses it: gives the card and the config."""
    with small_disk(tmp_path / "card") as card:
        path = card / "ambient.db"
        path.write_bytes(made.read_bytes())
        path.chmod(0o600)
        fill(card)
        config = tmp_path / "ambient.yaml"
        config.write_text(f"people: [{{id: alex}}]\nstore: {{path: {path}}}\n")
        yield card, config


def ambient(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI run as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "ambient", *args], capture_output=True, text=True, check=False
    )


def test_a_store_on_a_full_disk_says_the_disk_is_full(tmp_path: Path) -> None:
    """Its shared-memory file cannot grow on a full disk, and SQLite says "disk I/O error":
    every command (run, export, trace, forget) said that, of a card merely full."""
    made = tmp_path / "made.db"
    store = Store(made)
    store.put("signals.baseline", "alex", {"minutes": 1})
    store.close()
    with store_on_a_full_card(made, tmp_path) as (card, config):
        path = card / "ambient.db"
        result = ambient("trace", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ambient trace: store {path} cannot be used (database or disk is full)"
    ]


def test_an_io_error_where_no_room_is_left_is_said_as_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same without root: the file system says it has no room left (a stand-in for the
    full card), and SQLite's I/O error is the one it gives for the shared-memory file."""
    store = Store(tmp_path / "ambient.db")
    io_error: Any = sqlite3.OperationalError("disk I/O error")
    io_error.sqlite_errorcode = 4874  # SQLITE_IOERR_SHMSIZE
    real = os.statvfs

    def no_room(path: Any) -> Any:
        found = real(path)
        return os.statvfs_result((*found[:4], 0, *found[5:]))  # f_bavail: nothing left

    assert str(store.named_problem(io_error)).endswith("cannot be used (disk I/O error)")
    monkeypatch.setattr(os, "statvfs", no_room)
    problem = store.named_problem(io_error)
    store.close()
    assert (
        str(problem) == f"store {tmp_path / 'ambient.db'} cannot be used (database or disk is full)"
    )


def test_check_fails_for_a_store_on_a_full_disk_as_run_does(tmp_path: Path) -> None:
    """`check` (the unit's check before each start) said OK of a store on a full card, read
    without writing, while `run` could not open it (its -shm and -wal need room)."""
    made = tmp_path / "made.db"
    Store(made).close()
    with store_on_a_full_card(made, tmp_path) as (card, config):
        path = card / "ambient.db"
        checked = ambient("check", str(config))
        (card / "recordings.csv").unlink()  # room made: the same store is OK
        with_room = ambient("check", str(config))
    assert checked.returncode == 1
    assert (
        f"Store: store {path} cannot be used (database or disk is full): 0 KiB left on its "
        "disk, and run needs about 64 KiB to open it (its -wal and -shm files); make room (old "
        "recordings, logs) and check again\n"
    ) in checked.stdout
    assert "cannot be used (database or disk is full)" in checked.stderr
    assert with_room.returncode == 0, with_room.stderr
    assert f"Store: {path}, not encrypted" in with_room.stdout
