"""Files only their owner may read: created 0600 whatever the umask, an older file replaced
whole, its looser mode not kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ambient.private_files import write_private
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
