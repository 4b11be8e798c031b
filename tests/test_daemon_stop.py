"""What a command that must not run beside the daemon tells the user to stop: the daemon they
started by hand (its pid), or the systemd unit that runs it, never a unit that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, run_ambient

from ambient.daemon_stop import how_to_stop, systemd_unit


@pytest.fixture
def hand_started(tmp_path: Path) -> tuple[Path, AmbientProcess]:
    """A config and its daemon, started as a user starts one in a terminal."""
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {tmp_path / 'ambient.db'}\n")
    return config, AmbientProcess("run", "--config", str(config))


def test_forget_beside_a_daemon_started_by_hand_names_its_pid_not_a_unit(
    hand_started: tuple[Path, AmbientProcess],
) -> None:
    """`systemctl stop ambient` stops nothing here (or another daemon than this one)."""
    config, daemon = hand_started
    try:
        daemon.stderr.wait_for("Running:")
        result = run_ambient("forget", "--config", str(config), "--person", "alex", "--yes")
    finally:
        daemon.stop()
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ambient forget: the daemon is running and would write the person back from memory: "
        f"stop it first (Ctrl-C where it runs, or kill {daemon.process.pid}), then forget\n"
    )


def test_baseline_reset_beside_a_daemon_started_by_hand_names_its_pid_not_a_unit(
    hand_started: tuple[Path, AmbientProcess],
) -> None:
    config, daemon = hand_started
    try:
        daemon.stderr.wait_for("Running:")
        result = run_ambient("baseline", "reset", "--person", "alex", "--config", str(config))
    finally:
        daemon.stop()
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ambient baseline: the daemon is running and would save its copy again: stop it first "
        f"(Ctrl-C where it runs, or kill {daemon.process.pid}), then reset\n"
    )


def test_store_rekey_beside_a_daemon_started_by_hand_names_its_pid_not_a_unit(
    tmp_path: Path,
) -> None:
    key_file, new_key_file = tmp_path / "store.key", tmp_path / "store.key.new"
    for path, key in ((key_file, "a" * 64), (new_key_file, "b" * 64)):
        path.write_text(key + "\n")
        path.chmod(0o600)
    config = tmp_path / "ambient.yaml"
    config.write_text(
        f"people:\n  - id: alex\nstore:\n  path: {tmp_path / 'ambient.db'}\n"
        f"  encryption:\n    key_file: {key_file}\n"
    )
    daemon = AmbientProcess("run", "--config", str(config))
    try:
        daemon.stderr.wait_for("Running:")
        result = run_ambient("store", "rekey", str(config), "--new-key-file", str(new_key_file))
    finally:
        daemon.stop()
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ambient store: the daemon is running and would go on with the old key: stop it first "
        f"(Ctrl-C where it runs, or kill {daemon.process.pid}), then rekey\n"
    )


def test_a_daemon_that_is_gone_by_then_is_named_as_the_service_or_by_hand(
    tmp_path: Path,
) -> None:
    """Nothing listens any more (it stopped meanwhile): both ways are named."""
    assert how_to_stop(tmp_path / "ambient.db") == (
        "systemctl stop ambient, or Ctrl-C where `ambient run` runs"
    )


# -- systemd: a /proc written here stands in for one (no systemd runs where tests run) --------


def fake_proc(tmp_path: Path, cgroup: str, parent: str) -> Path:
    """Process 4242, in ``cgroup``, child of process 1 named ``parent``."""
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    (proc / "1").mkdir()
    (proc / "4242" / "cgroup").write_text(cgroup)
    (proc / "4242" / "stat").write_text("4242 (ambient run) S 1 4242 4242 0 -1 4194560 0\n")
    (proc / "1" / "comm").write_text(f"{parent}\n")
    return proc


@pytest.mark.parametrize(
    ("cgroup", "parent", "unit"),
    [
        ("0::/system.slice/ambient.service\n", "systemd", ("ambient", False)),
        # cgroup v1 beside v2 (a Raspberry Pi OS of before bookworm)
        (
            "12:pids:/system.slice/ambient.service\n1:name=systemd:/system.slice/ambient.service\n"
            "0::/\n",
            "systemd",
            ("ambient", False),
        ),
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/ambient.service\n",
            "systemd",
            ("ambient", True),
        ),
        # a terminal whose shells sit in its service's cgroup: started by hand all the same
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
            "gnome-terminal-server.service\n",
            "bash",
            None,
        ),
        # left behind by a shell that exited: the user's manager took it in, in no unit
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope\n",
            "systemd",
            None,
        ),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", "systemd", None),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", "sshd", None),
        ("0::/\n", "tini", None),  # a container
    ],
)
def test_only_a_service_systemd_started_is_named_as_a_unit(
    tmp_path: Path, cgroup: str, parent: str, unit: tuple[str, bool] | None
) -> None:
    assert systemd_unit(4242, fake_proc(tmp_path, cgroup, parent)) == unit


def test_a_process_gone_or_unreadable_is_not_a_unit(tmp_path: Path) -> None:
    assert systemd_unit(4242, tmp_path) is None
