"""Retention deletes exactly what is older than its class's limit, on the daemon's clock, in
small batches that leave the event loop free, and the recording files past their limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures.ambient_process import AmbientProcess

from ambient.clock import VirtualClock
from ambient.config.retention import DAY_S, RetentionConfig
from ambient.privacy import data_classes as registry
from ambient.privacy.data_classes import DataClass
from ambient.privacy.retention import BATCH_ROWS, Retention, unmanaged_recording_note
from ambient.store import Store

NOW = 1_780_000_000.0


def trace(t: float, person: str | None = "alex") -> dict[str, object]:
    return {"t": t, "rule": "calm", "event": "fired", "person": person}


def trace_times(store: Store) -> list[float]:
    return [record["t"] for record in store.recent("traces", None, limit=10_000)]


async def test_purges_exactly_what_is_older_than_the_limit_across_a_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    store = Store(path)
    limit = 30 * DAY_S
    times = [NOW - limit - 3600, NOW - limit - 1, NOW - limit, NOW - limit + 1, NOW - 60]
    for t in times:
        store.append("traces", "calm", trace(t), keep=100)
    store.append("traces", "calm", trace(NOW - limit - 5, person=None), keep=100)
    store.put("signals.baseline", "alex", {"ready": True})
    store.close()

    reopened = Store(path)  # the daemon restarted: it purges what the last run left
    retention = Retention(RetentionConfig(traces=limit), reopened, VirtualClock(NOW))
    report = await retention.purge()

    assert report.rows["traces"] == 3
    assert trace_times(reopened) == [NOW - limit, NOW - limit + 1, NOW - 60]
    assert reopened.get("signals.baseline", "alex") == {"ready": True}  # state never ages
    reopened.close()


async def test_a_null_limit_keeps_everything(tmp_path: Path) -> None:
    store = Store(None)
    store.append("traces", "calm", trace(0.0), keep=100)
    await Retention(RetentionConfig(traces=None), store, VirtualClock(NOW)).purge()
    assert trace_times(store) == [0.0]


async def test_the_service_purges_at_start_and_every_interval_on_the_clock() -> None:
    clock = VirtualClock(NOW)
    store = Store(None)
    config = RetentionConfig(traces=DAY_S, interval=3600.0)
    store.append("traces", "calm", trace(NOW - 2 * DAY_S), keep=100)
    store.append("traces", "calm", trace(NOW - DAY_S + 1800), keep=100)
    retention = Retention(config, store, clock)
    task = asyncio.create_task(retention.run())
    try:
        await clock.run_until(NOW)
        assert retention.purges == 1
        assert trace_times(store) == [NOW - DAY_S + 1800]

        await clock.run_until(NOW + 1799)  # not yet older than a day, no purge due
        assert retention.purges == 1
        await clock.run_until(NOW + 3600)  # the next purge: now it is
        assert retention.purges == 2
        assert trace_times(store) == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_purge_the_store_refuses_is_one_line_and_the_next_one_tries_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A card that turned read-only (or full) fails a purge's DELETE; the daemon must go on
    (the purge is one of its services: an escaping error ended it) and purge once it can."""
    path = tmp_path / "ambient.db"
    clock = VirtualClock(NOW)
    store = Store(path)
    store.append("traces", "calm", trace(NOW - 2 * DAY_S), keep=100)
    store.query("PRAGMA query_only = ON")  # as SQLite sees a card remounted read-only
    retention = Retention(RetentionConfig(traces=DAY_S, interval=3600.0), store, clock)
    task = asyncio.create_task(retention.run())
    try:
        with caplog.at_level(logging.ERROR, logger="ambient.privacy.retention"):
            await clock.run_until(NOW)
        assert not task.done()
        assert [r.getMessage() for r in caplog.records] == [
            "Retention: purge failed, tried again at the next one: store "
            f"{path} cannot be used (attempt to write a readonly database)"
        ]
        assert trace_times(store) == [NOW - 2 * DAY_S]

        store.query("PRAGMA query_only = OFF")
        await clock.run_until(NOW + 3600)
        assert retention.purges == 1 and trace_times(store) == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_card_refusing_every_purge_is_one_line_until_one_goes_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full card failed the purge every hour, each an error line in the journal on that
    card. The first is said, the next at DEBUG, and one line once a purge goes through."""
    clock = VirtualClock(NOW)
    store = Store(tmp_path / "ambient.db")
    store.query("PRAGMA query_only = ON")  # the card refuses every write from now on
    retention = Retention(RetentionConfig(traces=DAY_S, interval=3600.0), store, clock)
    task = asyncio.create_task(retention.run())
    try:
        with caplog.at_level(logging.DEBUG, logger="ambient.privacy.retention"):
            await clock.run_until(NOW + 2 * 3600)  # three purges refused
        levels = [r.levelno for r in caplog.records if "purge failed" in r.getMessage()]
        assert levels == [logging.ERROR, logging.DEBUG, logging.DEBUG]
        caplog.clear()
        store.query("PRAGMA query_only = OFF")
        with caplog.at_level(logging.INFO, logger="ambient.privacy.retention"):
            await clock.run_until(NOW + 4 * 3600)  # two purges go through
        assert [r.getMessage() for r in caplog.records] == ["Retention: purges work again"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_large_purge_gives_the_loop_turns_between_batches() -> None:
    store = Store(None)
    with store.batch():
        for i in range(BATCH_ROWS * 3 + 7):
            store.append("traces", "calm", trace(float(i)), keep=100_000)
    store.append("traces", "calm", trace(NOW), keep=100_000)
    seen_during_purge: list[int] = []
    purging = True

    async def other_work() -> None:
        while purging:
            seen_during_purge.append(len(trace_times(store)))
            await asyncio.sleep(0)

    worker = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    report = await Retention(RetentionConfig(traces=DAY_S), store, VirtualClock(NOW)).purge()
    purging = False
    await worker

    assert report.rows["traces"] == BATCH_ROWS * 3 + 7
    assert trace_times(store) == [NOW]
    # Other work ran while the purge was half done (no single long transaction).
    assert any(1 < count < BATCH_ROWS * 3 + 8 for count in seen_during_purge)


async def test_recording_files_past_their_limit_are_removed(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    old, fresh, notes = recordings / "old.csv", recordings / "fresh.jsonl", recordings / "n.txt"
    for path in (old, fresh, notes):
        path.write_text("t,metric,value,person\n")
    os.utime(old, (NOW - 31 * DAY_S, NOW - 31 * DAY_S))
    os.utime(fresh, (NOW - 29 * DAY_S, NOW - 29 * DAY_S))
    os.utime(notes, (NOW - 90 * DAY_S, NOW - 90 * DAY_S))

    retention = Retention(
        RetentionConfig(recordings=30 * DAY_S), Store(None), VirtualClock(NOW), recordings
    )
    report = await retention.purge()

    assert report.files == [old]
    assert sorted(p.name for p in recordings.iterdir()) == ["fresh.jsonl", "n.txt"]


async def test_a_recording_file_that_cannot_be_removed_holds_back_none_of_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder made with sudo inside the recordings directory (`sudo ambient record --out
    .../2026-11/evening.csv`): the daemon's user may not remove its files. The first of them
    failed the whole purge, every hour, and every recording sorted after it was kept past its
    limit, heart data and all. (Root may remove any file: the refusal is played here by
    `unlink` raising as it does for the daemon's user.)"""
    recordings = tmp_path / "recordings"
    (recordings / "2026-11").mkdir(parents=True)
    stuck, after = recordings / "2026-11" / "evening.csv", recordings / "later.csv"
    for path in (stuck, after):
        path.write_text("t,metric,value,person\n")
        os.utime(path, (NOW - 31 * DAY_S, NOW - 31 * DAY_S))
    unlink = Path.unlink

    def refused(self: Path, missing_ok: bool = False) -> None:
        if self == stuck:
            raise PermissionError(13, "Permission denied", str(self))
        unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", refused)
    clock = VirtualClock(NOW)
    retention = Retention(RetentionConfig(recordings=30 * DAY_S), Store(None), clock, recordings)
    with caplog.at_level(logging.INFO, logger="ambient.privacy.retention"):
        report = await retention.purge()

    assert report.files == [after] and not after.exists() and stuck.exists()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"Retention: cannot remove {stuck} (Permission denied), past its limit: remove it "
            "by hand, or let the daemon's user write its folder; tried again at the next purge",
        ),
    ]


async def test_a_folder_of_recordings_that_cannot_be_removed_is_one_warning_not_one_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A month of recordings made with sudo: a warning for each of its files at every purge,
    every hour, filled the journal (on the card) with hundreds of lines saying one thing.
    One line names the folder, how many, and one of them. (The refusal is played by `unlink`
    raising as it does for the daemon's user: root may remove any file.)"""
    recordings = tmp_path / "recordings"
    month = recordings / "2026-11"
    month.mkdir(parents=True)
    stuck = [month / f"{day:02d}.csv" for day in range(1, 4)]
    for path in stuck:
        path.write_text("t,metric,value,person\n")
        os.utime(path, (NOW - 31 * DAY_S, NOW - 31 * DAY_S))

    def refused(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refused)
    retention = Retention(
        RetentionConfig(recordings=30 * DAY_S), Store(None), VirtualClock(NOW), recordings
    )
    with caplog.at_level(logging.INFO, logger="ambient.privacy.retention"):
        report = await retention.purge()

    assert report.files == [] and [path for path, _ in report.files_refused] == stuck
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"Retention: cannot remove 3 recordings in {month} (Permission denied), past their "
            f"limit, {stuck[0].name} the first: remove them by hand, or let the daemon's user "
            "write the folder; tried again at the next purge",
        ),
    ]


async def test_a_subfolder_the_daemon_may_not_read_is_said_not_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder made 0700 with sudo inside the recordings directory: its recordings were kept
    past their limit, every purge, without a word. (Root may read any folder: the refusal is
    played here by listing it raising as it does for the daemon's user.)"""
    recordings = tmp_path / "recordings"
    closed = recordings / "2026-11"
    closed.mkdir(parents=True)
    (closed / "evening.csv").write_text("t,metric,value,person\n")
    scandir = os.scandir

    def refused(path: Any) -> Any:
        if Path(path) == closed:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refused)
    retention = Retention(
        RetentionConfig(recordings=30 * DAY_S), Store(None), VirtualClock(NOW), recordings
    )
    with caplog.at_level(logging.WARNING, logger="ambient.privacy.retention"):
        await retention.purge()

    assert [r.getMessage() for r in caplog.records] == [
        f"Retention: cannot read the folder {closed} (Permission denied): its recordings stay "
        "past their limit; let the daemon's user read it, or remove them by hand"
    ]


async def test_recordings_in_a_subfolder_of_the_recordings_directory_are_purged_too(
    tmp_path: Path,
) -> None:
    """`ambient record` calls any path inside the directory managed (no note), but only the
    files at its top were purged: a folder per month kept its beats forever."""
    recordings = tmp_path / "recordings"
    month = recordings / "2026-04"
    month.mkdir(parents=True)
    old, fresh = month / "evening.csv", month / "morning.jsonl"
    for path in (old, fresh):
        path.write_text("t,metric,value,person\n")
    os.utime(old, (NOW - 31 * DAY_S, NOW - 31 * DAY_S))
    os.utime(fresh, (NOW - 29 * DAY_S, NOW - 29 * DAY_S))
    (recordings / "elsewhere").symlink_to(tmp_path / "not-managed")  # never followed
    (tmp_path / "not-managed").mkdir()
    outside = tmp_path / "not-managed" / "old.csv"
    outside.write_text("t,metric,value,person\n")
    os.utime(outside, (NOW - 90 * DAY_S, NOW - 90 * DAY_S))
    assert unmanaged_recording_note(old, RetentionConfig(recordings_dir=recordings), None) is None

    retention = Retention(
        RetentionConfig(recordings=30 * DAY_S), Store(None), VirtualClock(NOW), recordings
    )
    report = await retention.purge()

    assert report.files == [old]
    assert [p.name for p in month.iterdir()] == ["morning.jsonl"]
    assert outside.exists()


async def test_a_recording_the_config_replays_is_never_purged(tmp_path: Path) -> None:
    """A recording made with `ambient record` into the recordings directory and then replayed
    by a `type: recording` sensor was deleted at the next start once 30 days old: the daemon
    removed the very file it was told to play (forget leaves such files too: they are yours)."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    replayed, other = recordings / "evening.csv", recordings / "morning.csv"
    for path in (replayed, other):
        path.write_text("t,metric,value,person\n")
        os.utime(path, (NOW - 31 * DAY_S, NOW - 31 * DAY_S))

    retention = Retention(
        RetentionConfig(recordings=30 * DAY_S),
        Store(None),
        VirtualClock(NOW),
        recordings,
        replayed=[replayed],
    )
    report = await retention.purge()

    assert report.files == [other]
    assert replayed.exists()


@pytest.mark.parametrize("limit_s", [30 * DAY_S, None], ids=["purged", "kept"])
async def test_the_recordings_directory_is_made_owner_only_for_record_to_write_into(
    tmp_path: Path, limit_s: float | None
) -> None:
    """docs/privacy.md's `ambient record --out <recordings_dir>/evening.csv` failed with `No
    such file or directory`: nothing made the folder the daemon manages."""
    recordings = tmp_path / "state" / "recordings"
    retention = Retention(
        RetentionConfig(recordings=limit_s), Store(None), VirtualClock(NOW), recordings
    )
    previous = os.umask(0)
    try:
        await retention.purge()
    finally:
        os.umask(previous)
    assert recordings.is_dir()
    assert recordings.stat().st_mode & 0o777 == 0o700


async def test_a_recordings_directory_that_cannot_be_made_is_one_warning_not_a_failed_purge(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The rows are still purged and said; the folder's trouble is said once, not hourly."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    store = Store(None)
    store.append("traces", "calm", trace(NOW - 31 * DAY_S), keep=20)
    retention = Retention(RetentionConfig(), store, VirtualClock(NOW), blocker / "recordings")

    with caplog.at_level(logging.INFO, logger="ambient.privacy.retention"):
        first = await retention.purge()
        await retention.purge()

    assert first.rows["traces"] == 1
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"Retention: cannot make the recordings directory {blocker / 'recordings'} "
            "(Not a directory); nothing is purged there until it can be",
        )
    ]


async def test_a_registered_data_class_is_purged_by_its_own_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What another module registers (a daily summary table here) follows retention."""
    monkeypatch.setattr(registry, "_CLASSES", dict(registry._CLASSES))
    registry.register(
        DataClass(
            name="daily_summaries",
            table="daily_summary",
            person="person",
            time="day_start",
            retention="daily_summaries",
            description="one summary per person and day",
        )
    )
    store = Store(None)
    store.execute_script("CREATE TABLE daily_summary (person TEXT, day_start REAL, body TEXT)")
    for day in (800, 700, 10):
        store.execute(
            "INSERT INTO daily_summary VALUES (?, ?, ?)", ("alex", NOW - day * DAY_S, "{}")
        )
    config = RetentionConfig(daily_summaries=730 * DAY_S)
    report = await Retention(config, store, VirtualClock(NOW)).purge()
    assert report.rows["daily_summaries"] == 1
    assert store.query("SELECT day_start FROM daily_summary ORDER BY day_start") == [
        (NOW - 700 * DAY_S,),
        (NOW - 10 * DAY_S,),
    ]


def test_a_data_class_must_name_a_retention_field() -> None:
    with pytest.raises(ValueError, match="retention `forever` is not a field"):
        registry.register(
            DataClass("x", "t", "person", "time", retention="forever", description="")
        )


def test_a_recording_outside_the_recordings_directory_gets_a_note(tmp_path: Path) -> None:
    store = tmp_path / "state" / "ambient.db"
    config = RetentionConfig()
    inside = tmp_path / "state" / "recordings" / "evening.csv"
    assert unmanaged_recording_note(inside, config, store) is None
    note = unmanaged_recording_note(tmp_path / "evening.csv", config, store)
    assert note is not None
    assert f"is outside {tmp_path / 'state' / 'recordings'}, so retention" in note
    assert "kept until you delete it" in str(unmanaged_recording_note(inside, config, None))


def test_the_daemon_purges_what_a_previous_run_left_as_it_starts(tmp_path: Path) -> None:
    """A real `ambient run`: the trace and the recording older than their limits go at start,
    the recent trace stays, and so does the old recording the config replays."""
    bundled = Path(__file__).resolve().parents[2] / "ambient" / "data" / "resting-hour.csv"
    recordings = tmp_path / "state" / "recordings"
    recordings.mkdir(parents=True)
    recording, old = recordings / "resting-hour.csv", recordings / "old.csv"
    recording.write_bytes(bundled.read_bytes())
    old.write_text("t,metric,value,person\n")
    db = tmp_path / "state" / "ambient.db"
    store = Store(db)
    wall_now = time.time()
    store.append("traces", "calm", trace(wall_now - 31 * DAY_S), keep=20)
    store.append("traces", "calm", trace(wall_now - 29 * DAY_S), keep=20)
    store.close()
    for path in (recording, old):
        os.utime(path, (wall_now - 31 * DAY_S, wall_now - 31 * DAY_S))
    config = tmp_path / "ambient.yaml"
    config.write_text(
        json.dumps(
            {
                "people": [{"id": "alex"}],
                "sensors": [{"type": "recording", "path": str(recording), "person": "alex"}],
                "store": {"path": str(db)},
                "retention": {"traces": "30d"},
            }
        )
    )
    daemon = AmbientProcess("run", str(config))
    try:
        purged = daemon.stderr.wait_for("Retention: removed")
    finally:
        daemon.stop()
    assert "Retention: removed 1 traces, 1 recording file(s)" in purged
    assert [p.name for p in recordings.iterdir()] == ["resting-hour.csv"]
    store = Store(db)
    assert trace_times(store) == [wall_now - 29 * DAY_S]
    store.close()


async def test_a_log_another_reader_kept_is_folded_back_at_the_next_purge(
    tmp_path: Path,
) -> None:
    """A purge whose checkpoint a reader (a backup, a sqlite3 shell) held off left the deleted
    rows in the file until some later purge happened to delete something. The purge no longer
    waits on the loop for the reader: it says so, and the next one folds the log back."""
    path = tmp_path / "ambient.db"
    store = Store(path)
    store.append("traces", "calm", trace(NOW - 40 * DAY_S), keep=100)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM kv").fetchone()
    retention = Retention(RetentionConfig(), store, VirtualClock(NOW))

    assert (await retention.purge()).log_folded is False
    reader.execute("COMMIT")
    reader.close()
    assert (await retention.purge()).log_folded is True  # nothing deleted this time
    assert (tmp_path / "ambient.db-wal").stat().st_size == 0
    store.close()


async def test_a_reader_holding_the_store_for_hours_is_one_warning_until_the_log_is_folded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader kept open for hours (a forgotten sqlite3 shell) held off every hourly purge's
    fold, each a warning of its own. The first is said, the next at DEBUG, and one line once
    the log is folded back."""
    path = tmp_path / "ambient.db"
    clock = VirtualClock(NOW)
    store = Store(path)
    store.append("traces", "calm", trace(NOW - 40 * DAY_S), keep=100)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM kv").fetchone()
    retention = Retention(RetentionConfig(interval=3600.0), store, clock)
    task = asyncio.create_task(retention.run())
    try:
        with caplog.at_level(logging.DEBUG, logger="ambient.privacy.retention"):
            await clock.run_until(NOW + 2 * 3600)  # three purges, each held off
        levels = [r.levelno for r in caplog.records if "another process" in r.getMessage()]
        assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG]
        caplog.clear()
        reader.execute("COMMIT")
        reader.close()
        with caplog.at_level(logging.INFO, logger="ambient.privacy.retention"):
            await clock.run_until(NOW + 4 * 3600)  # two purges, the first folds the log
        assert [r.getMessage() for r in caplog.records] == [
            "Retention: the write-ahead log is folded back again"
        ]
        assert (tmp_path / "ambient.db-wal").stat().st_size == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        store.close()
