"""What a user can get wrong, or what the machine can do to a command (a damaged file, a full
disk, a closed pipe), ends every command the same way: one line naming the file, exit 1,
never a traceback, and no half-written output left as if it were whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient

from ambient.store import Store

STORE_COMMANDS = [
    ("run",),
    ("trace",),
    ("report", "--person", "alex"),
    ("export", "--person", "alex"),
    ("forget", "--person", "alex", "--yes"),
    ("baseline", "show", "--person", "alex"),
    ("insights",),
]


def store_config(tmp_path: Path) -> tuple[Path, Path]:
    """A config whose store is ``tmp_path/state/ambient.db``: (config, store file)."""
    store = tmp_path / "state" / "ambient.db"
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store}\n")
    return config, store


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_damaged_store_is_one_line_for_every_command_that_reads_it(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config, store = store_config(tmp_path)
    Store(store).close()
    store.write_bytes(store.read_bytes()[:4096])  # cut short, as by a power cut
    result = run_ambient(*command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ambient {command[0]}: store {store} is damaged (database disk image is malformed): "
        "move it and its -wal and -shm files aside to start with a new one, or put back a copy"
    ]


@pytest.mark.parametrize("command", [("trace",), ("export", "--person", "alex")], ids=str)
def test_damage_found_past_the_first_pages_is_one_line_too(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config, path = store_config(tmp_path)
    store = Store(path)
    for n in range(300):
        store.append("traces", "calm_alex", {"n": n, "note": "x" * 300}, keep=1000)
    store.checkpoint()
    store.close()
    damaged = bytearray(path.read_bytes())
    for page in range(3, len(damaged) // 4096):  # the schema pages stay whole: it opens
        damaged[page * 4096 : page * 4096 + 200] = b"\xff" * 200
    path.write_bytes(bytes(damaged))
    result = run_ambient(*command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ambient {command[0]}: the state file is damaged (database disk image is malformed): "
        "move it and its -wal and -shm files aside"
    ]
