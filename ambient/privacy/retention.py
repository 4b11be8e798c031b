"""Retention: what is older than its class's limit is deleted, on the daemon's clock.

Runs as a daemon service: once at start (so data kept past its limit while ambient was stopped
goes at once), then every ``retention.interval``. Rows are deleted in small batches with a loop
turn between them, so a large purge never holds up readings or rules; recording files are
listed and removed in a worker thread, and the directory is made (0700) if it is missing.
Deleted rows are overwritten (``secure_delete``) and the write-ahead log folded back, at once
or, when another process is reading the store, at the next purge.
A purge the store or the file system refuses (a full or read-only card) is one error line; the
daemon goes on and the next purge tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ambient.clock import Clock
from ambient.config.retention import RetentionConfig
from ambient.privacy.data_classes import DataClass, data_classes
from ambient.privacy.recording_files import managed_recordings, replayed_recordings
from ambient.private_files import make_private_dir
from ambient.store import Store, StoreError
from ambient.warn_once import WarnOnce

if TYPE_CHECKING:
    from ambient.config.root import AmbientConfig

_LOGGER = logging.getLogger(__name__)

#: Rows deleted per statement; each batch is one short transaction.
BATCH_ROWS = 500


@dataclass
class PurgeReport:
    """How many rows of each class, and which recording files, one purge removed."""

    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    #: Recording files past their limit that could not be removed, with why.
    files_refused: list[tuple[Path, str]] = field(default_factory=list)
    #: False when another process reading the store kept the write-ahead log (and with it
    #: the deleted rows' old pages in the file) until the next purge.
    log_folded: bool = True

    @property
    def total(self) -> int:
        return sum(self.rows.values()) + len(self.files)


class Retention:
    """Purges the store and the recordings directory; also a :class:`~ambient.ports.Service`."""

    def __init__(
        self,
        config: RetentionConfig,
        store: Store,
        clock: Clock,
        recordings_dir: Path | None = None,
        replayed: Collection[Path] = (),
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.recordings_dir = recordings_dir
        #: Files the config replays: the user's, never purged.
        self.replayed = tuple(replayed)
        self._recordings_dir_warned = False
        #: A purge's checkpoint another reader held off: the file still holds deleted rows.
        self._fold_owed = False
        self.purges = 0
        #: A full card fails every purge: said at the first, not every hour.
        self._refusals = WarnOnce(_LOGGER, logging.ERROR)
        #: A reader holding the store for hours holds off every fold: said at the first.
        self._held = WarnOnce(_LOGGER)

    @classmethod
    def for_config(cls, config: AmbientConfig, store: Store, clock: Clock) -> Retention:
        """The daemon's retention: the ``retention:`` limits (the minute bins as insights keep
        them unless it says otherwise), the recordings directory beside the store, and the
        files the config replays left alone."""
        return cls(
            config.retention.following_insights(config.insights.keep_minutes_days),
            store,
            clock,
            config.retention.recordings_path(store.path),
            replayed_recordings(config),
        )

    async def run(self) -> None:
        while True:
            try:
                report = await self.purge()
            except (StoreError, OSError) as exc:  # a full or read-only card: never the daemon's end
                self._refusals.failed(
                    "Retention: purge failed, tried again at the next one: %s", exc
                )
                report = PurgeReport()
            else:
                self._refusals.worked("Retention: purges work again")
                if report.log_folded:
                    self._held.worked("Retention: the write-ahead log is folded back again")
            if report.total:
                _LOGGER.info(
                    "Retention: removed %s",
                    ", ".join(
                        [f"{count} {name}" for name, count in report.rows.items() if count]
                        + ([f"{len(report.files)} recording file(s)"] if report.files else [])
                    ),
                )
            if not report.log_folded:
                self._held.failed(
                    "Retention: another process is reading the store, so the deleted rows stay "
                    "in its file until the next purge folds the write-ahead log back"
                )
            await self.clock.sleep(self.config.interval)

    async def purge(self) -> PurgeReport:
        """Delete everything older than its limit as of ``clock.now()`` (strictly older: a row
        exactly at the limit stays until the next purge)."""
        now = self.clock.now()
        report = PurgeReport()
        self.store.secure_delete()
        for data_class in data_classes():
            limit_s = self._limit_s(data_class)
            if limit_s is None or not data_class.exists(self.store):
                continue
            report.rows[data_class.name] = await self._purge_rows(data_class, now - limit_s)
        if any(report.rows.values()) or self._fold_owed:
            # Never wait on the loop for another reader: the next purge tries again.
            report.log_folded = self.store.checkpoint(busy_wait_s=0.0)
            self._fold_owed = not report.log_folded
        limit_s = self.config.limit_s("recordings")
        directory = self.recordings_dir
        # Made even when its files are kept: `ambient record --out` writes into it.
        made = directory is not None and await self._recordings_dir_made(directory)
        if made and directory is not None and limit_s is not None:
            report.files = await asyncio.to_thread(
                purge_recordings, directory, now - limit_s, self.replayed, report.files_refused
            )
            _warn_refused(report.files_refused)
        self.purges += 1
        return report

    async def _recordings_dir_made(self, directory: Path) -> bool:
        """Make the recordings ``directory`` (0700) for `ambient record --out` to write into,
        as docs/privacy.md says; one warning, the first time, when it cannot be made."""
        try:
            await asyncio.to_thread(make_private_dir, directory)
        except OSError as exc:
            if not self._recordings_dir_warned:
                self._recordings_dir_warned = True
                _LOGGER.warning(
                    "Retention: cannot make the recordings directory %s (%s); nothing is "
                    "purged there until it can be",
                    directory,
                    exc.strerror or exc,
                )
            return False
        return True

    def _limit_s(self, data_class: DataClass) -> float | None:
        if data_class.retention is None or data_class.time is None:
            return None
        return self.config.limit_s(data_class.retention)

    async def _purge_rows(self, data_class: DataClass, cutoff: float) -> int:
        assert data_class.time is not None
        sql = (
            f"DELETE FROM {data_class.table} WHERE rowid IN (SELECT rowid FROM "
            f"{data_class.table} WHERE ({data_class.where}) AND ({data_class.time}) < ? "
            f"LIMIT {BATCH_ROWS})"
        )
        removed = 0
        while True:
            count = self.store.execute(sql, (cutoff,))
            removed += count
            if count < BATCH_ROWS:
                return removed
            await asyncio.sleep(0)  # a turn for readings and rules between batches


def _warn_refused(refused: list[tuple[Path, str]]) -> None:
    """One warning per folder and reason: a month recorded with sudo is one line at each
    purge, not one for each of its files."""
    by_folder: dict[tuple[Path, str], list[Path]] = {}
    for path, why in refused:
        by_folder.setdefault((path.parent, why), []).append(path)
    for (folder, why), paths in by_folder.items():
        if len(paths) == 1:
            _LOGGER.warning(
                "Retention: cannot remove %s (%s), past its limit: remove it by hand, or let "
                "the daemon's user write its folder; tried again at the next purge",
                paths[0],
                why,
            )
            continue
        _LOGGER.warning(
            "Retention: cannot remove %d recordings in %s (%s), past their limit, %s the first: "
            "remove them by hand, or let the daemon's user write the folder; tried again at "
            "the next purge",
            len(paths),
            folder,
            why,
            paths[0].name,
        )


def purge_recordings(
    directory: Path,
    cutoff: float,
    replayed: Collection[Path] = (),
    refused: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Remove recording files under ``directory`` last changed before ``cutoff`` (unix s),
    but for those the config replays. One that cannot be removed (a folder the daemon's user
    may not write) is put in ``refused`` with why, a subfolder it may not read is said, and the
    others are removed all the same."""
    removed: list[Path] = []
    unreadable: list[tuple[Path, str]] = []
    for path in managed_recordings(directory, replayed, unreadable):
        try:
            if path.lstat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # removed meanwhile (forget, or by hand)
            continue
        except OSError as exc:
            if refused is not None:
                refused.append((path, exc.strerror or str(exc)))
    for folder, why in unreadable:
        _LOGGER.warning(
            "Retention: cannot read the folder %s (%s): its recordings stay past their limit; "
            "let the daemon's user read it, or remove them by hand",
            folder,
            why,
        )
    return removed


def unmanaged_recording_note(path: Path, config: RetentionConfig, store: Path | None) -> str | None:
    """A note for ``ambient record`` when ``path`` is outside the recordings directory, where
    retention and forget cannot see it; None when it is inside."""
    directory = config.recordings_path(store)
    if directory is None:
        return f"{path} is kept until you delete it (no recordings directory: store.path is null)"
    if path.resolve().is_relative_to(directory.resolve()):
        return None
    return (
        f"{path} is outside {directory}, so retention and `ambient forget` do not manage it; "
        "move it there to have them do so"
    )
