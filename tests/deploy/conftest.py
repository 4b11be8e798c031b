"""One first run of deploy/install.sh, shared by the deploy tests that start from it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixtures.install_script import install


@pytest.fixture(scope="session")
def first_install(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The root a first install left, and that run (its venv takes seconds to make). Tests
    change a copy of it (``fixtures.install_script.copy_install``), never the root itself."""
    root = tmp_path_factory.mktemp("first") / "root"
    first = install(root)
    assert first.returncode == 0, first.stderr
    return root, first
