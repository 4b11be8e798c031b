"""deploy/install.sh upgrading an install: a copy of the store is taken before the new version
first runs, and a running ambient is restarted only onto a config the new version accepts.

The script runs for real against a throwaway root (``AMBIENT_ROOT``). systemd cannot run here
(it is not PID 1): with ``AMBIENT_NO_SYSTEM=1`` the service is taken as running and the
systemctl steps are printed, not done; the tests assert them and their order.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.install_script import SCRIPT, copy_install, install, script_env


@pytest.fixture
def root(first_install: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> Path:
    """An install as a first run of the script leaves it, in this test's own folder."""
    return copy_install(first_install[0], tmp_path / "root")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def copies(root: Path) -> list[Path]:
    return sorted((root / "var/backups/ambient").iterdir())


def write_store_with_unfolded_writes(path: Path) -> sqlite3.Connection:
    """A store as a daemon leaves it: the last writes still in its -wal (not folded back
    into the file), the connection open. The caller closes it."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE kv (key TEXT, value TEXT)")
    db.execute("INSERT INTO kv VALUES ('baseline', 'days of learning')")
    db.commit()
    return db


def test_an_upgrade_copies_the_store_with_its_wal_privately_while_stopped(
    root: Path,
) -> None:
    store = root / "var/lib/ambient/ambient.db"
    daemon = write_store_with_unfolded_writes(store)
    try:
        assert store.with_name("ambient.db-wal").stat().st_size > 0

        upgrade = install(root)
    finally:
        daemon.close()

    assert upgrade.returncode == 0, upgrade.stderr
    (copy,) = copies(root)
    assert mode(copy.parent) == 0o700
    assert mode(copy) == 0o700
    assert sorted(p.name for p in copy.iterdir()) == [
        "ambient.db",
        "ambient.db-shm",
        "ambient.db-wal",
    ]
    assert all(mode(p) == 0o600 for p in copy.iterdir())
    with sqlite3.connect(copy / "ambient.db") as copied:
        assert copied.execute("SELECT value FROM kv").fetchall() == [("days of learning",)]
    # Copied while the daemon is stopped (nothing writes), before the new version starts.
    out = upgrade.stdout
    line = next(line for line in out.splitlines() if "copied the store" in line)
    assert str(copy) in line
    assert (
        out.index("skip: systemctl stop ambient.service")
        < out.index("copied the store")
        < out.index("skip: systemctl start ambient.service")
    )


def test_the_last_three_copies_are_kept(root: Path) -> None:
    store = root / "var/lib/ambient/ambient.db"
    for upgrade in range(4):
        store.write_bytes(f"store before upgrade {upgrade}".encode())
        assert install(root).returncode == 0

    kept = [(copy / "ambient.db").read_text() for copy in copies(root)]

    assert kept == [f"store before upgrade {n}" for n in (1, 2, 3)]


def test_a_first_install_has_no_store_to_copy(
    first_install: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, first = first_install

    assert "copied" not in first.stdout
    assert not (root / "var/backups/ambient").exists()


def test_the_copy_can_be_skipped(root: Path) -> None:
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root, AMBIENT_SKIP_STORE_COPY="1")

    assert upgrade.returncode == 0, upgrade.stderr
    assert "no copy of the store taken (AMBIENT_SKIP_STORE_COPY=1)" in upgrade.stdout
    assert not (root / "var/backups/ambient").exists()


def test_purge_removes_the_copies_and_uninstall_keeps_them(root: Path) -> None:
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")
    assert install(root).returncode == 0

    removed = install(root, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert copies(root)
    purged = install(root, "--purge")
    assert purged.returncode == 0, purged.stderr
    assert not (root / "var/backups/ambient").exists()


def test_a_copy_that_fails_still_starts_ambient_and_says_so(root: Path) -> None:
    """A full disk is not made here; a copies folder under a file fails as it would."""
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root, AMBIENT_COPIES_DIR="/etc/ambient/ambient.yaml/copies")

    assert upgrade.returncode != 0
    assert "skip: systemctl start ambient.service" in upgrade.stdout
    assert (
        "could not copy the store to /etc/ambient/ambient.yaml/copies (above); ambient was "
        "started without a copy: free space there and run this again, or set "
        "AMBIENT_SKIP_STORE_COPY=1 to upgrade without a copy\n"
    ) in upgrade.stderr
    assert (root / "var/lib/ambient/ambient.db").read_bytes() == b"store"


def new_version_installed(root: Path) -> None:
    """The venv's ``ambient`` is this checkout's (pip, which would put it there, needs the
    network): what the upgrade installed."""
    ambient = root / "opt/ambient/bin/ambient"
    ambient.write_text(f'#!/bin/sh\nexec {sys.executable} -m ambient "$@"\n')
    ambient.chmod(0o755)


def test_a_config_the_new_version_refuses_leaves_ambient_running_and_says_what_to_do(
    root: Path,
) -> None:
    """Restarted, the unit's check before each start would keep the new version down: the
    home would be left without ambient until someone looked."""
    new_version_installed(root)
    config = root / "etc/ambient/ambient.yaml"
    config.write_text("instance: home\nbogus_key: 1\n")
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root)

    assert upgrade.returncode == 1
    assert f"{config}:2:1: bogus_key: unknown key `bogus_key`" in upgrade.stderr
    *_, last = upgrade.stderr.splitlines()
    assert last == (
        "ambient-install: error: the new version does not accept /etc/ambient/ambient.yaml "
        "(above), so ambient was not restarted: it runs the old version, whose files are the "
        "new one's now, so do not wait; fix the file (sudo ambient check), then run "
        "deploy/install.sh again: it copies the store and restarts ambient"
    )
    assert "skip: systemctl stop" not in upgrade.stdout
    assert "skip: systemctl start" not in upgrade.stdout
    assert not (root / "var/backups/ambient").exists()


def test_a_config_the_new_version_accepts_is_checked_before_the_restart(root: Path) -> None:
    new_version_installed(root)
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root)

    assert upgrade.returncode == 0, upgrade.stderr
    out = upgrade.stdout
    assert (
        out.index("the new version accepts /etc/ambient/ambient.yaml")
        < out.index("skip: systemctl stop ambient.service")
        < out.index("skip: systemctl start ambient.service")
    )


@pytest.mark.parametrize("state", ["activating", "reloading"])
def test_an_ambient_starting_or_between_two_tries_is_stopped_for_the_copy(
    root: Path, state: str
) -> None:
    """``activating`` is also a unit waiting to try again (Restart=on-failure): left alone,
    systemd would start the new version during the copy, before its config is checked."""
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root, AMBIENT_SERVICE_STATE=state)

    assert upgrade.returncode == 0, upgrade.stderr
    out = upgrade.stdout
    assert (
        out.index("skip: systemctl stop ambient.service")
        < out.index("copied the store")
        < out.index("skip: systemctl start ambient.service")
    )


@pytest.mark.parametrize("state", ["inactive", "failed"])
def test_an_ambient_that_is_not_running_is_copied_and_left_stopped(root: Path, state: str) -> None:
    new_version_installed(root)
    (root / "etc/ambient/ambient.yaml").write_text("bogus_key: 1\n")  # to be fixed first
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root, AMBIENT_SERVICE_STATE=state)

    assert upgrade.returncode == 0, upgrade.stderr
    assert "copied the store" in upgrade.stdout
    assert "skip: systemctl stop" not in upgrade.stdout
    assert "skip: systemctl start" not in upgrade.stdout
    assert "accept" not in upgrade.stdout  # checked when it starts, by the unit


def test_help_says_the_whole_layout_with_the_copies(tmp_path: Path) -> None:
    shown = install(tmp_path / "root", "--help")

    assert shown.returncode == 0
    assert shown.stdout.rstrip().endswith("(mode 0700; the last 3 are kept).")
    assert "Environment" not in shown.stdout


def test_an_upgrade_that_restarted_ambient_says_so_instead_of_first_steps(root: Path) -> None:
    """It said "installed. Next: edit the config ... systemctl start ambient", as if new."""
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root)

    assert upgrade.returncode == 0, upgrade.stderr
    assert "ambient-install: upgraded and restarted ambient: ambient status\n" in upgrade.stdout
    assert "Next: edit" not in upgrade.stdout


def interrupt(script: subprocess.Popen[str], sent: signal.Signals) -> tuple[str, str]:
    """``sent`` to the script's process group, as a terminal sends it; its output once it
    ended."""
    os.killpg(script.pid, sent)
    return script.communicate(timeout=60)


def run_to_the_copy_step(root: Path, fifo: Path, **env: str) -> subprocess.Popen[str]:
    """The script started in its own session (a terminal's foreground group, which Ctrl-C and a
    dropped SSH connection signal), held at the copy step until its test hook's fifo is
    written; returned once it said it is there."""
    os.mkfifo(fifo)
    script = subprocess.Popen(
        [str(SCRIPT)],
        env={**script_env(root), "AMBIENT_TEST_HOLD_COPY": str(fifo), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert script.stdout is not None
    for line in script.stdout:
        if "held at the copy step" in line:
            return script
    raise AssertionError(f"the script ended before the copy step: {script.wait()}")


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGHUP])
def test_an_upgrade_interrupted_during_the_copy_starts_ambient_again_and_says_so(
    root: Path, tmp_path: Path, sent: signal.Signals
) -> None:
    """Ctrl-C, or an SSH connection that dropped, between stop and start left the home
    without ambient."""
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")
    script = run_to_the_copy_step(root, tmp_path / "hold")

    out, err = interrupt(script, sent)

    assert script.returncode == 128 + sent
    assert "skip: systemctl start ambient.service" in out
    assert err.endswith(
        f"ambient-install: error: interrupted ({sent.name}) while ambient was stopped for "
        "the copy of the store: started it again; run deploy/install.sh again to finish the "
        "upgrade\n"
    )
    assert copies(root) == []  # half made: going back to it would lose data


def test_an_upgrade_interrupted_while_ambient_was_not_running_leaves_it_stopped(
    root: Path, tmp_path: Path
) -> None:
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")
    script = run_to_the_copy_step(root, tmp_path / "hold", AMBIENT_SERVICE_STATE="inactive")

    out, err = interrupt(script, signal.SIGINT)

    assert script.returncode == 128 + signal.SIGINT
    assert "systemctl start" not in out
    assert err.endswith(
        "ambient-install: error: interrupted (SIGINT) while ambient was not running and is "
        "left stopped; run deploy/install.sh again to finish the upgrade\n"
    )
    assert copies(root) == []


def test_an_ambient_still_stopping_is_waited_for_before_the_copy_and_left_stopped(
    root: Path,
) -> None:
    """``deactivating``: the daemon may still be writing its last saves; it was taken as not
    running and copied at once. ``systemctl stop`` waits for it (bounded: past the unit's
    TimeoutStopSec systemd kills it)."""
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")

    upgrade = install(root, AMBIENT_SERVICE_STATE="deactivating")

    assert upgrade.returncode == 0, upgrade.stderr
    out = upgrade.stdout
    assert (
        out.index("ambient is stopping: waiting until it has stopped before copying the store")
        < out.index("skip: systemctl stop ambient.service")
        < out.index("copied the store")
    )
    assert "skip: systemctl start" not in out


@contextlib.contextmanager
def undeletable(folder: Path) -> Iterator[None]:
    """``folder`` made one ``rm -rf`` cannot remove, for real: root removes whatever the
    modes say, so for root a file in it is made immutable (``chattr +i``)."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(0o700)
        return
    pinned = folder / "pinned"
    pinned.write_bytes(b"")
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(pinned)]).returncode:
        pytest.skip("root, and no chattr +i here: nothing rm -rf cannot remove")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(pinned)], check=True)


def test_an_old_copy_that_cannot_be_removed_is_said_as_such_and_the_upgrade_goes_on(
    root: Path,
) -> None:
    """It said "could not copy the store" (and failed) though the copy had been made."""
    (root / "var/lib/ambient/ambient.db").write_bytes(b"store")
    for _ in range(3):
        assert install(root).returncode == 0
    oldest, *_ = copies(root)

    with undeletable(oldest):
        upgrade = install(root)

    assert upgrade.returncode == 0, upgrade.stderr
    assert "could not copy" not in upgrade.stderr
    assert (
        f"ambient-install: could not remove the old copy {oldest} (above); the new copy is made\n"
    ) in upgrade.stdout
    assert "copied the store" in upgrade.stdout
    assert "upgraded and restarted ambient" in upgrade.stdout
    assert len(copies(root)) == 4
