"""A store on a full card: the line says the disk is full, as docs/raspberry-pi.md promises,
not "disk I/O error" (which reads as a failing card, to be replaced)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.small_disk import fill, small_disk

from ambient.store import Store


def test_a_store_on_a_full_disk_says_the_disk_is_full(tmp_path: Path) -> None:
    """Its shared-memory file cannot grow on a full disk, and SQLite says "disk I/O error":
    every command (run, export, trace, forget) said that, of a card merely full."""
    made = tmp_path / "made.db"
    store = Store(made)
    store.put("signals.baseline", "alex", {"minutes": 1})
    store.close()
    with small_disk(tmp_path / "card") as card:
        path = card / "ambient.db"
        path.write_bytes(made.read_bytes())
        path.chmod(0o600)
        fill(card)
        config = tmp_path / "ambient.yaml"
        config.write_text(f"people: [{{id: alex}}]\nstore: {{path: {path}}}\n")
        result = subprocess.run(
            [sys.executable, "-m", "ambient", "trace", "--config", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
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
    with small_disk(tmp_path / "card") as card:
        path = card / "ambient.db"
        path.write_bytes(made.read_bytes())
        path.chmod(0o600)
        fill(card)
        config = tmp_path / "ambient.yaml"
        config.write_text(f"people: [{{id: alex}}]\nstore: {{path: {path}}}\n")
        checked = subprocess.run(
            [sys.executable, "-m", "ambient", "check", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
        (card / "recordings.csv").unlink()  # room made: the same store is OK
        with_room = subprocess.run(
            [sys.executable, "-m", "ambient", "check", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
    assert checked.returncode == 1
    assert (
        f"Store: store {path} cannot be used (database or disk is full): 0 KiB left on its "
        "disk, and run needs about 64 KiB to open it (its -wal and -shm files); make room (old "
        "recordings, logs) and check again\n"
    ) in checked.stdout
    assert "cannot be used (database or disk is full)" in checked.stderr
    assert with_room.returncode == 0, with_room.stderr
    assert f"Store: {path}, not encrypted" in with_room.stdout
