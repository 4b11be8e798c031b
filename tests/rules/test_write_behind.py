"""Rule state is written just after its action; a write the file refuses (a full disk) is one
error line naming the file, and the rules go on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ambient.clock import VirtualClock
from ambient.rules.write_behind import HELD_TRACES, WRITE_BEHIND_S, WriteBehind
from ambient.store import Store, StoreKey


def full(store: Store) -> Store:
    """No room left: SQLite's own page limit fails a write as a full disk does."""
    store.query(f"PRAGMA max_page_count = {store.query('PRAGMA page_count')[0][0]}")
    return store


def pending_firing(clock: VirtualClock, store: Store) -> WriteBehind:
    behind = WriteBehind(clock, store)
    behind.put("rules.state", "calm_alex", lambda: {"phase": "fired", "note": "x" * 20_000})
    behind.append("traces", "calm_alex", {"fired": True}, keep=10)
    return behind


def test_writes_wait_for_the_clock_then_go_in_one_commit() -> None:
    clock = VirtualClock(start=0.0)
    store = Store(None)
    behind = pending_firing(clock, store)
    assert store.get("rules.state", "calm_alex") is None
    clock.advance_to(WRITE_BEHIND_S)
    assert store.get("rules.state", "calm_alex") == {"phase": "fired", "note": "x" * 20_000}
    assert store.recent("traces", "calm_alex") == [{"fired": True}]
    assert behind.commits == 1


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_full_disk_is_one_line_naming_the_file_and_the_rules_go_on(
    tmp_path: Path, encrypted: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """An encrypted store's errors are SQLCipher's, not sqlite3's: caught all the same."""
    if encrypted:
        pytest.importorskip("sqlcipher3", reason="the optional `crypto` extra is not installed")
    path = tmp_path / "ambient.db"
    store = full(Store(path, StoreKey("3f" * 32, "test") if encrypted else None))
    clock = VirtualClock(start=0.0)
    behind = pending_firing(clock, store)
    with caplog.at_level(logging.ERROR):
        behind.flush()
    assert [r.getMessage() for r in caplog.records] == [
        f"Rule state not written: store {path} cannot be used (database or disk is full)"
    ]
    assert behind.commits == 0
    behind.put("rules.state", "calm_alex", lambda: {"phase": "idle"})  # small: it fits
    behind.flush()
    assert store.get("rules.state", "calm_alex") == {"phase": "idle"}


def test_what_a_full_disk_refused_is_written_with_the_next_change(tmp_path: Path) -> None:
    """The refused firing's state and trace were dropped: once there was room again, its
    cooldown came back after a restart only if the rule had changed since, and `ambient trace`
    never showed the firing. They go in with the next write."""
    store = full(Store(tmp_path / "ambient.db"))
    behind = pending_firing(VirtualClock(start=0.0), store)
    behind.flush()  # refused
    store.query("PRAGMA max_page_count = 1000000")  # room again: old recordings removed
    behind.put("rules.state", "calm_sam", lambda: {"phase": "idle"})
    behind.flush()
    assert store.get("rules.state", "calm_alex") == {"phase": "fired", "note": "x" * 20_000}
    assert store.get("rules.state", "calm_sam") == {"phase": "idle"}
    assert store.recent("traces", "calm_alex") == [{"fired": True}]
    assert behind.commits == 1


def test_a_disk_full_for_days_holds_only_the_newest_traces(tmp_path: Path) -> None:
    """What is held for the next write stays bounded however long the card stays full: the
    newest HELD_TRACES traces go in once there is room, the older ones are left out."""
    store = full(Store(tmp_path / "ambient.db"))
    behind = WriteBehind(VirtualClock(start=0.0), store)
    for n in range(HELD_TRACES + 10):  # a firing each, each write refused
        behind.put("rules.state", "calm_alex", lambda: {"note": "x" * 20_000})
        behind.append("traces", "calm_alex", {"n": n}, keep=2 * HELD_TRACES)
        behind.flush()
    assert behind.commits == 0
    store.query("PRAGMA max_page_count = 1000000")  # room again
    behind.flush()
    held = store.recent("traces", "calm_alex", limit=2 * HELD_TRACES)
    assert held == [{"n": n} for n in range(10, HELD_TRACES + 10)]


def test_a_disk_full_for_long_is_one_error_until_a_write_goes_in_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each change of a rule (a signal going in and out of a `for:` window) is a write: on a
    full card each was an error line, all night, into the journal on that card. The first is
    said, the rest at DEBUG, and the write that goes in again is said once."""
    path = tmp_path / "ambient.db"
    store = full(Store(path))
    behind = pending_firing(VirtualClock(start=0.0), store)
    with caplog.at_level(logging.INFO, logger="ambient.rules.write_behind"):
        for _ in range(3):
            behind.put("rules.state", "calm_alex", lambda: {"note": "x" * 20_000})
            behind.flush()
        store.query("PRAGMA max_page_count = 1000000")  # room again
        behind.flush()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "ERROR",
            f"Rule state not written: store {path} cannot be used (database or disk is full)",
        ),
        ("INFO", "Rule state written again"),
    ]
