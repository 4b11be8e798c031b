"""deploy/install.sh, run for real against a throwaway root (``AMBIENT_ROOT``).

Users, ownership and systemd are outside a throwaway root, so ``AMBIENT_NO_SYSTEM=1`` makes the
script print those steps instead of running them; the tests assert the printed commands.
Installing the package with pip is skipped (``AMBIENT_SKIP_PIP=1``): it needs the network.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient
from fixtures.install_script import REPO, SCRIPT, copy_install, install, script_env


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_install_upgrade_uninstall_purge(tmp_path: Path) -> None:
    root = tmp_path / "root"
    etc, state = root / "etc/ambient", root / "var/lib/ambient"
    unit = root / "etc/systemd/system/ambient.service"

    first = install(root)
    assert first.returncode == 0, first.stderr

    # Layout and permissions.
    assert (root / "opt/ambient/bin/python").exists()
    assert mode(etc) == 0o750
    assert mode(etc / "ambient.yaml") == 0o640
    assert mode(etc / "secrets.yaml") == 0o600
    assert mode(state) == 0o700
    assert unit.read_text() == (REPO / "deploy/systemd/ambient.service").read_text()
    assert (root / "usr/local/bin/ambient").readlink() == Path("/opt/ambient/bin/ambient")
    # The installed example (with its secrets file) is a config the real `ambient check` accepts.
    check = run_ambient("check", "--config", str(etc / "ambient.yaml"))
    assert check.returncode == 0, check.stdout + check.stderr
    # What would have been done to the real system.
    assert "skip: useradd --system --user-group --groups bluetooth" in first.stdout
    assert "skip: chown ambient:ambient " + str(etc / "secrets.yaml") in first.stdout
    assert "skip: systemctl enable ambient.service" in first.stdout
    # Waiting for NTP at boot is advised, never switched on behind the owner's back.
    assert (
        "note: ambient starts after time-sync.target, which does not wait for NTP unless\n"
        "ambient-install:   systemd-time-wait-sync is enabled: "
        "sudo systemctl enable systemd-time-wait-sync\n"
    ) in first.stdout
    assert "time-wait-sync" not in "".join(
        line for line in first.stdout.splitlines(keepends=True) if "skip:" in line
    )

    # The user edits the config; a second run (an upgrade) keeps it and is otherwise a no-op.
    (etc / "ambient.yaml").write_text("instance: mine\n")
    (etc / "secrets.yaml").write_text("homeassistant_token: abc\n")
    (etc / "secrets.yaml").chmod(0o644)  # a careless edit
    (state / "ambient.db").write_bytes(b"state")
    venv_inode = (root / "opt/ambient/bin/python").lstat().st_ino

    second = install(root)
    assert second.returncode == 0, second.stderr
    assert (etc / "ambient.yaml").read_text() == "instance: mine\n"
    assert (etc / "secrets.yaml").read_text() == "homeassistant_token: abc\n"
    assert mode(etc / "secrets.yaml") == 0o600
    assert (root / "opt/ambient/bin/python").lstat().st_ino == venv_inode
    assert "creating the virtual environment" not in second.stdout
    assert "writing" not in second.stdout
    assert "skip: systemctl start ambient.service" in second.stdout  # a running one restarts

    # --uninstall removes the program and the service, keeps config and state.
    removed = install(root, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (root / "opt/ambient").exists()
    assert not unit.exists()
    assert not (root / "usr/local/bin/ambient").is_symlink()
    assert (etc / "ambient.yaml").read_text() == "instance: mine\n"
    assert (state / "ambient.db").read_bytes() == b"state"
    assert "skip: systemctl disable --now ambient.service" in removed.stdout
    assert "userdel" not in removed.stdout
    # All that is left is said, so nothing is found later by surprise (the user, drop-ins).
    assert removed.stdout.endswith(
        "ambient-install: removed ambient; kept /etc/ambient, /var/lib/ambient, the store's "
        "copies in\nambient-install:   /var/backups/ambient, the unit's drop-ins and the user "
        "ambient (--purge removes them)\n"
    )

    # Uninstalling twice is fine; --purge then removes everything, the user included.
    assert install(root, "--uninstall").returncode == 0
    purged = install(root, "--purge")
    assert purged.returncode == 0, purged.stderr
    assert not etc.exists()
    assert not state.exists()
    assert "skip: userdel ambient" in purged.stdout


def test_custom_paths_are_written_into_the_unit(tmp_path: Path) -> None:
    root = tmp_path / "root"
    result = install(
        root,
        AMBIENT_PREFIX="/srv/ambient",
        AMBIENT_CONFIG_DIR="/srv/ambient-etc",
        AMBIENT_STATE_DIR="/srv/ambient-state",
    )
    assert result.returncode == 0, result.stderr

    unit = (root / "etc/systemd/system/ambient.service").read_text()
    assert "ExecStart=/srv/ambient/bin/ambient run --config /srv/ambient-etc/ambient.yaml" in unit
    assert "ReadWritePaths=/srv/ambient-state\n" in unit
    assert "/opt/ambient" not in unit
    assert (root / "srv/ambient-etc/secrets.yaml").exists()
    assert mode(root / "srv/ambient-state") == 0o700


def test_unknown_argument_is_refused(tmp_path: Path) -> None:
    result = install(tmp_path / "root", "--upgrade")

    assert result.returncode != 0
    assert "unknown argument: --upgrade" in result.stderr
    assert not (tmp_path / "root").exists()


def test_too_old_python_is_refused(tmp_path: Path) -> None:
    old = shutil.which("python3.9") or shutil.which("python3.8")
    if old is None:
        pytest.skip("no Python older than 3.11 on this machine")
    result = install(tmp_path / "root", AMBIENT_PYTHON=old)

    assert result.returncode != 0
    assert "needs Python 3.11 or newer" in result.stderr


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    scripts = [SCRIPT, *sorted((REPO / "deploy").rglob("*.sh"))]
    result = subprocess.run(
        [shellcheck, "--shell=bash", *map(str, dict.fromkeys(scripts))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_purge_after_uninstall_leaves_systemd_alone_and_takes_the_drop_ins(
    first_install: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """On a real system ``systemctl disable --now`` of a unit that is gone fails (its stop
    says "Unit ambient.service not loaded"), and the script stops there, before removing
    anything. systemd cannot run here (it is not PID 1), so the printed steps are asserted."""
    root = copy_install(first_install[0], tmp_path / "root")
    unit = root / "etc/systemd/system/ambient.service"
    drop_in = unit.with_name("ambient.service.d")
    drop_in.mkdir()
    (drop_in / "override.conf").write_text("[Service]\nEnvironment=TZ=Europe/Berlin\n")
    assert install(root, "--uninstall").returncode == 0
    assert drop_in.exists()  # --uninstall keeps the user's changes, as it keeps the config

    purged = install(root, "--purge")

    assert purged.returncode == 0, purged.stderr
    assert "systemctl disable" not in purged.stdout
    assert "skip: systemctl daemon-reload" in purged.stdout
    assert not drop_in.exists()
    assert not (root / "etc/ambient").exists()


def test_an_upgrade_builds_from_a_clean_copy_of_the_checkout(
    first_install: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """pip builds a folder in place, and setuptools packs what an earlier build left in its
    build/lib: a module removed upstream stayed installed after ``git pull`` and an upgrade,
    and root-owned build/ and *.egg-info were left in the user's checkout. A real pip build
    needs the network (setuptools from the index), so the venv's pip is a stand-in that
    records the folder it is given."""
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "deploy", checkout / "deploy")
    (checkout / "config").mkdir()
    shutil.copy(REPO / "config" / "ambient.example.yaml", checkout / "config")
    shutil.copy(REPO / "pyproject.toml", checkout)
    (checkout / "ambient").mkdir()
    (checkout / "ambient" / "__init__.py").write_text("")
    (checkout / "build" / "lib" / "ambient").mkdir(parents=True)
    (checkout / "build" / "lib" / "ambient" / "removed_upstream.py").write_text("")
    (checkout / "ambient.egg-info").mkdir()
    (checkout / ".git").mkdir()
    root = copy_install(first_install[0], tmp_path / "root")
    script = checkout / "deploy" / "install.sh"
    environ = {**os.environ, "AMBIENT_ROOT": str(root), "AMBIENT_NO_SYSTEM": "1"}
    given = tmp_path / "pip-was-given.txt"
    pip = root / "opt/ambient/bin/pip"
    pip.unlink()
    pip.write_text(  # the folder is its last argument
        f'#!/bin/sh\nfor last; do :; done\ncd "$last" && find . | sort >{given} && pwd >>{given}\n'
    )
    pip.chmod(0o755)

    upgrade = subprocess.run(
        [str(script)], env=environ, capture_output=True, text=True, check=False
    )

    assert upgrade.returncode == 0, upgrade.stderr
    assert f"installing {checkout} into" in upgrade.stdout
    *listing, folder = given.read_text().splitlines()
    assert "./pyproject.toml" in listing and "./ambient/__init__.py" in listing
    assert not [name for name in listing if name.startswith(("./build", "./.git", "./ambient."))]
    assert Path(folder) != checkout
    assert not Path(folder).exists()  # removed once pip is done


def test_a_venv_of_another_python_is_made_again(
    first_install: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """After a Debian release upgrade the venv's bin/python is the new Python, which finds
    neither ambient nor pip under the old lib/pythonX.Y; the upgrade stopped there. No older
    Python runs here, so the venv's own record of its version (pyvenv.cfg) is edited."""
    root = copy_install(first_install[0], tmp_path / "root")
    cfg = root / "opt/ambient/pyvenv.cfg"
    current = re.search(r"^version *= *(\d+\.\d+)", cfg.read_text(), re.MULTILINE)
    assert current is not None
    cfg.write_text(re.sub(r"^version *=.*$", "version = 3.9.2", cfg.read_text(), flags=re.M))
    (root / "opt/ambient/lib/python3.9/site-packages").mkdir(parents=True)

    again = install(root)

    assert again.returncode == 0, again.stderr
    assert f"is Python 3.9's; making it again for {current[1]}" in again.stdout
    assert f"version = {current[1]}" in cfg.read_text()
    assert not (root / "opt/ambient/lib/python3.9").exists()
    assert "making it again" not in install(root).stdout  # once is enough


def test_nothing_installed_is_writable_by_others_under_root_s_umask_0000(tmp_path: Path) -> None:
    """Run from a root shell with umask 0000, the program in /opt/ambient (its Python, its
    site-packages) was made world-writable: any local user could put code there, which ran
    as root at the next `sudo ambient` and as the daemon."""
    root = tmp_path / "root"
    result = subprocess.run(
        [str(SCRIPT)],
        env=script_env(root),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0),
    )
    assert result.returncode == 0, result.stderr
    writable = [
        str(path.relative_to(root))
        for path in [root, *root.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ]
    assert writable == []


def test_a_first_install_gives_next_steps_that_can_be_pasted(tmp_path: Path) -> None:
    """The config folder (0750), the service and its status socket are root's and ambient's:
    each step needs sudo, or it says "Permission denied" (the steps had none)."""
    first = install(tmp_path / "root", AMBIENT_SERVICE_STATE="inactive")

    assert first.returncode == 0, first.stderr
    assert (
        "ambient-install: installed. Next: edit /etc/ambient/ambient.yaml and secrets.yaml,\n"
        "ambient-install:   sudo /opt/ambient/bin/ambient check --config "
        "/etc/ambient/ambient.yaml\n"
        "ambient-install:   sudo systemctl start ambient && sudo ambient status\n"
    ) in first.stdout


def test_the_state_folder_is_given_to_the_service_with_all_it_holds(
    first_install: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """A store that `sudo ambient run` made root's stops the service at its check (`run` as
    ambient cannot use it); running the script again gives it back, as the chown the check's
    line gives does. (No users here: the step is printed, not run.)"""
    root, first = first_install
    state = root / "var/lib/ambient"

    assert f"skip: chown -R ambient:ambient {state}\n" in first.stdout
