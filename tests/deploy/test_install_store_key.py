"""install.sh makes the store's encryption key once (root's, 0600), keeps it on upgrades, and
the unit hands it to the service as a systemd credential from wherever the config lives."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

from fixtures.install_script import copy_install, install


def test_the_key_is_made_once_private_and_kept(
    first_install: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    root = copy_install(first_install[0], tmp_path / "root")
    first = first_install[1]
    key_file = root / "etc/ambient/store.key"
    key = key_file.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}\n", key)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generating the store's encryption key" in first.stdout

    key_file.chmod(0o644)  # a careless edit
    second = install(root)
    assert second.returncode == 0, second.stderr
    assert key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generating" not in second.stdout


def test_the_unit_loads_the_key_from_the_config_directory(tmp_path: Path) -> None:
    root = tmp_path / "root"
    assert install(root, AMBIENT_CONFIG_DIR="/srv/ambient-etc").returncode == 0
    unit = (root / "etc/systemd/system/ambient.service").read_text()
    assert "LoadCredential=store_key:/srv/ambient-etc/store.key\n" in unit
    assert (root / "srv/ambient-etc/store.key").exists()
