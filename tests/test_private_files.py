"""Files only their owner may read: created 0600 whatever the umask, an older file replaced
whole, its looser mode not kept."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.others_pipe import others_pipe

from ambient.private_files import make_private_dir, write_private
from ambient.stage_times import StageLog


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_owner_only_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_private(tmp_path / "week" / "alex.html", "<html></html>")
    finally:
        os.umask(previous)
    assert (tmp_path / "week" / "alex.html").read_text(encoding="utf-8") == "<html></html>"
    assert _mode(tmp_path / "week" / "alex.html") == 0o600


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask 022", "umask 000"])
def test_the_folders_it_makes_for_a_file_are_owner_only_too(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        write_private(tmp_path / "exports" / "2026" / "alex.json", "{}")
        made = make_private_dir(tmp_path / "plots" / "week")
    finally:
        os.umask(previous)
    assert made == tmp_path / "plots" / "week"
    for folder in ("exports", "exports/2026", "plots", "plots/week"):
        assert _mode(tmp_path / folder) == 0o700, folder


def test_a_folder_that_was_there_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    write_private(shared / "alex.json", "{}")
    make_private_dir(shared)
    assert _mode(shared) == 0o755


def test_an_older_readable_file_is_replaced_and_made_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_private(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json"]  # no temporary left


def test_stage_times_written_over_an_older_file_are_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "stages.tsv"
    target.write_text("old\n")
    target.chmod(0o644)
    log = StageLog(target)
    log("received")
    log.write()
    assert _mode(target) == 0o600
    assert target.read_text().startswith("received\t")


@contextlib.contextmanager
def files_limited_to(size_bytes: int) -> Iterator[None]:
    """Writes past ``size_bytes`` fail (EFBIG) as a full disk's do, for this process only."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not the signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (size_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_write_that_fails_keeps_the_older_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    target.write_bytes(b"older")
    with files_limited_to(1024), pytest.raises(OSError) as raised:
        write_private(target, b"x" * 4096)
    assert raised.value.filename == str(target)  # its one line names the file
    assert target.read_bytes() == b"older"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json"]


def test_a_pipe_is_written_through_not_replaced(tmp_path: Path) -> None:
    """``--out /dev/stdout`` into a pipe: the bytes go down the pipe, no file takes its place."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_private(fifo, b"report")
        assert os.read(reader, 100) == b"report"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_link_keeps_pointing_at_the_new_file(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "week.html"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.html"
    link.symlink_to(real)
    write_private(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert _mode(real) == 0o600


def test_an_interrupted_write_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C halfway through the write. A stand-in for the signal, whose moment cannot be
    chosen: the real file is written, then the interrupt is raised."""
    real_fdopen = os.fdopen

    class InterruptedFile:
        def __init__(self, descriptor: int, mode: str) -> None:
            self.handle = real_fdopen(descriptor, mode)

        def __enter__(self) -> InterruptedFile:
            return self

        def __exit__(self, *exc_info: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])
            raise KeyboardInterrupt

    monkeypatch.setattr("ambient.private_files.os.fdopen", InterruptedFile)
    target = tmp_path / "report.html"
    with pytest.raises(KeyboardInterrupt):
        write_private(target, b"x" * 4096)
    assert list(tmp_path.iterdir()) == []


@contextlib.contextmanager
def _link_planted_just_after_it_is_checked(path: Path, target: Path) -> Iterator[None]:
    """Another user's link put at ``path`` right after ambient's first look at it: a race an
    attacker can win at will in a folder they may write, made certain here by planting it from
    inside that first look (``os.lstat``)."""
    real_lstat = os.lstat
    planted: list[Path] = []

    def lstat_then_plant(name: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        try:
            return real_lstat(name, *args, **kwargs)
        finally:
            if not planted and Path(name) == path:
                path.symlink_to(target)
                os.lchown(path, 65534, 65534)  # nobody's link
                planted.append(path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "lstat", lstat_then_plant)
        yield
    assert planted, "the link was never planted: the test tests nothing"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a link owned by another user")
def test_a_link_planted_after_the_check_is_not_followed_either(tmp_path: Path) -> None:
    """The check of a link another user made looked once, then looked again to decide
    whether to resolve it: a link planted between the two was resolved, and the file it
    pointed at replaced. The one look decides: the rename replaces the link itself."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp
    victim = tmp_path / "victim.conf"
    victim.write_text("keep me\n")
    out = shared / "alex.json"
    with _link_planted_just_after_it_is_checked(out, victim):
        write_private(out, "{}")
    assert victim.read_text() == "keep me\n"
    assert not out.is_symlink()
    assert out.read_text() == "{}"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a pipe owned by another user")
def test_a_pipe_another_user_made_at_the_path_is_not_written_to(tmp_path: Path) -> None:
    """`sudo ambient export --out ~bob/alex.json`: a pipe bob made there was written through,
    and the export (heart data) went to whatever bob read it with, where a file would have
    been root's alone. Refused as another user's link is."""
    with others_pipe(tmp_path, "alex.json") as (pipe, reader):
        with pytest.raises(PermissionError, match=r"a pipe made by another user \(uid 65534\)"):
            write_private(pipe, "{}")
        assert os.read(reader, 100) == b""  # nothing reached bob
