"""What a command that must not run beside the daemon tells the user to stop: the daemon they
started by hand (its pid), or the systemd unit that runs it, never a unit that is not there."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, run_ambient
from test_cli_failures import run_as_any_user

from ambient.daemon_stop import UNKNOWN, how_to_stop, refusal, stop_advice
from ambient.status import StatusServer, socket_owner

#: What `forget` says beside a running daemon, ``how`` it is stopped.
FORGET_REFUSED = (
    "ambient forget: the daemon is running and would write the person back from memory: "
    "stop it first ({how}), then forget\n"
)


def store_config(tmp_path: Path) -> Path:
    """A config of one person whose store (and status socket) is in ``tmp_path``."""
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {tmp_path / 'ambient.db'}\n")
    return config


@pytest.fixture
def hand_started(tmp_path: Path) -> tuple[Path, AmbientProcess]:
    """A config and its daemon, started as a user starts one in a terminal."""
    config = store_config(tmp_path)
    return config, AmbientProcess("run", "--config", str(config))


def encrypted_store_config(tmp_path: Path) -> tuple[Path, Path]:
    """A config whose store is encrypted, and a new key file for `store rekey`."""
    key_file, new_key_file = tmp_path / "store.key", tmp_path / "store.key.new"
    for path, key in ((key_file, "a" * 64), (new_key_file, "b" * 64)):
        path.write_text(key + "\n")
        path.chmod(0o600)
    config = tmp_path / "ambient.yaml"
    config.write_text(
        f"people:\n  - id: alex\nstore:\n  path: {tmp_path / 'ambient.db'}\n"
        f"  encryption:\n    key_file: {key_file}\n"
    )
    return config, new_key_file


def refuse_this_user(sock_path: Path) -> None:
    """The daemon's socket as another user's: given to nobody when the tests run as root
    (the command runs without root's override of file modes), else made 0000 (its owner is
    refused too)."""
    if os.geteuid() == 0:
        os.chown(sock_path, 65534, 65534)
    else:
        sock_path.chmod(0)


@contextlib.contextmanager
def running(daemon: AmbientProcess) -> Iterator[None]:
    """The daemon once it says it runs; stopped afterwards, whatever the command beside it did."""
    try:
        daemon.stderr.wait_for("Running:")
        yield
    finally:
        daemon.stop()


def test_forget_beside_a_daemon_started_by_hand_names_its_pid_not_a_unit(
    hand_started: tuple[Path, AmbientProcess],
) -> None:
    """`systemctl stop ambient` stops nothing here (or another daemon than this one)."""
    config, daemon = hand_started
    with running(daemon):
        result = run_ambient("forget", "--config", str(config), "--person", "alex", "--yes")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == FORGET_REFUSED.format(
        how=f"Ctrl-C where it runs, or kill {daemon.process.pid}"
    )


def test_baseline_reset_beside_a_daemon_started_by_hand_names_its_pid_not_a_unit(
    hand_started: tuple[Path, AmbientProcess],
) -> None:
    config, daemon = hand_started
    with running(daemon):
        result = run_ambient("baseline", "reset", "--person", "alex", "--config", str(config))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ambient baseline: the daemon is running and would save its copy again: stop it first "
        f"(Ctrl-C where it runs, or kill {daemon.process.pid}), then reset\n"
    )


def test_store_rekey_beside_a_daemon_started_by_hand_names_its_pid_not_a_unit(
    tmp_path: Path,
) -> None:
    config, new_key_file = encrypted_store_config(tmp_path)
    daemon = AmbientProcess("run", "--config", str(config))
    with running(daemon):
        result = run_ambient("store", "rekey", str(config), "--new-key-file", str(new_key_file))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ambient store: the daemon is running and would go on with the old key: stop it first "
        f"(Ctrl-C where it runs, or kill {daemon.process.pid}), then rekey\n"
    )


@pytest.mark.parametrize(
    ("command", "undoing"),
    [
        (("forget", "--person", "alex", "--yes"), "write the person back from memory"),
        (("baseline", "reset", "--person", "alex"), "save its copy again"),
    ],
)
def test_a_daemon_whose_socket_refuses_this_user_is_refused_beside_not_taken_for_none(
    hand_started: tuple[Path, AmbientProcess], command: tuple[str, ...], undoing: str
) -> None:
    """Another user's daemon (its socket 0600) could not be asked, and was taken for no
    daemon: forget erased the store beside it."""
    config, daemon = hand_started
    sock_path = config.parent / "ambient.sock"
    with running(daemon):
        refuse_this_user(sock_path)
        owner = socket_owner(sock_path)
        result = run_as_any_user(*command, "--config", str(config))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"ambient {command[0]}: a daemon appears to run beside this store as {owner} (its "
        f"status socket refuses this user) and would {undoing}: stop it (systemctl stop "
        f"ambient, or Ctrl-C where `ambient run` runs), or run this command as {owner} to be "
        "told what runs it\n"
    )


def test_store_rekey_beside_a_daemon_whose_socket_refuses_this_user_is_refused(
    tmp_path: Path,
) -> None:
    """As forget and baseline reset: the daemon would go on with the old key."""
    config, new_key_file = encrypted_store_config(tmp_path)
    sock_path = tmp_path / "ambient.sock"
    daemon = AmbientProcess("run", "--config", str(config))
    with running(daemon):
        refuse_this_user(sock_path)
        owner = socket_owner(sock_path)
        result = run_as_any_user("store", "rekey", str(config), "--new-key-file", str(new_key_file))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(
        f"ambient store: a daemon appears to run beside this store as {owner} (its status "
        "socket refuses this user) and would go on with the old key: stop it ("
    )


def test_no_daemon_beside_a_store_is_none_to_stop(tmp_path: Path) -> None:
    """Nothing listens there: the command goes ahead, nothing is named."""
    assert how_to_stop(tmp_path / "ambient.db") is None
    assert refusal(tmp_path / "ambient.db", "write it back", "try again") is None


def test_a_daemon_that_stops_right_after_answering_is_named_by_its_pid_not_every_way(
    tmp_path: Path,
) -> None:
    """The command asked twice, whether a daemon runs and then which process it is: one that
    stopped in between was said to run and to be stopped by `systemctl stop ambient` (a unit
    that may run another daemon, the system's). One connection tells both. The socket here is
    this process's, gone as it answers: no real daemon can be made to stop at that moment."""
    config = store_config(tmp_path)
    with answering_once(tmp_path / "ambient.sock", gone_as_it_answers=True):
        result = run_ambient("forget", "--config", str(config), "--person", "alex", "--yes")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == FORGET_REFUSED.format(how=stop_advice(os.getpid()))


def test_forget_beside_a_hung_daemon_whose_queue_of_connections_is_full_is_refused(
    tmp_path: Path,
) -> None:
    """A daemon stuck while clients kept asking it (a status sensor polling): its queue of
    connections full, the kernel refuses one more at once (EAGAIN), and the daemon was taken
    for none: forget went ahead beside it, which writes the person back once it goes on. It
    runs, whichever process it is. The socket here is this process's, never accepting."""
    config = store_config(tmp_path)
    with contextlib.ExitStack() as held:
        hung = held.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        hung.bind(str(tmp_path / "ambient.sock"))
        hung.listen(0)
        with contextlib.suppress(BlockingIOError):
            while True:  # the clients that filled its queue
                client = held.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
                client.setblocking(False)
                client.connect(str(tmp_path / "ambient.sock"))
        result = run_ambient("forget", "--config", str(config), "--person", "alex", "--yes")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == FORGET_REFUSED.format(how=UNKNOWN)


async def test_forget_beside_a_daemon_that_cannot_build_its_status_is_refused(
    tmp_path: Path,
) -> None:
    """It answers with an error instead of its status, and was taken for no daemon: forget
    went ahead beside it, which would write the person back from memory. A daemon that takes
    the connection runs, whatever it answers."""
    config = store_config(tmp_path)

    def broken() -> dict[str, object]:
        raise RuntimeError("a part of the status that fails")

    server = StatusServer(tmp_path / "ambient.sock", broken)
    await server.start()
    try:
        result = await asyncio.to_thread(
            run_ambient, "forget", "--config", str(config), "--person", "alex", "--yes"
        )
    finally:
        await server.stop()
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == FORGET_REFUSED.format(how=stop_advice(os.getpid()))


# -- systemd and containers: a /proc written here stands in for one (no systemd, no container
# engine runs where tests run); the socket's peer is this test's process --------------------


@contextlib.contextmanager
def answering_once(
    sock_path: Path, answer: bytes = b"{}\n", gone_as_it_answers: bool = False
) -> Iterator[None]:
    """This process answers one client on ``sock_path`` as the daemon does (``answer``);
    ``gone_as_it_answers``: as a daemon that stops right then, its socket gone before the
    answer is sent (no real daemon can be made to stop at that moment)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock_path))
    server.listen()

    def answer_once() -> None:
        connection, _ = server.accept()
        with connection, contextlib.suppress(OSError):  # a client that did not wait for it
            connection.recv(64)
            if gone_as_it_answers:
                sock_path.unlink()
                server.close()
            connection.sendall(answer)

    answerer = threading.Thread(target=answer_once)
    answerer.start()
    try:
        yield
    finally:
        if answerer.is_alive():  # no client came (the test fails): its accept is let go
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as release:
                release.connect(str(sock_path))
        answerer.join()
        server.close()


@pytest.fixture
def answering(tmp_path: Path) -> Iterator[Path]:
    """A store path whose status socket this process answers on, as the daemon does."""
    with answering_once(tmp_path / "ambient.sock"):
        yield tmp_path / "ambient.db"


def write_process(
    proc: Path, pid: int, name: str, cgroup: str, parent_pid: int, started: int
) -> None:
    """Process ``pid`` in a stand-in ``proc``, ``started`` clock ticks after boot."""
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "cgroup").write_text(cgroup)
    (proc / str(pid) / "comm").write_text(f"{name}\n")
    # pid (comm) state ppid pgrp session tty_nr tpgid flags, 10 counters, then starttime
    fields = [parent_pid, pid, pid, 0, -1, 4194560, *[0] * 12, started]
    (proc / str(pid) / "stat").write_text(f"{pid} ({name}) S {' '.join(map(str, fields))}\n")


def fake_proc(
    tmp_path: Path, cgroup: str, parent: str, parent_pid: int = 4000, started: int = 9000
) -> Path:
    """This process, in ``cgroup``, child of process ``parent_pid`` named ``parent`` (0: of
    none, the first of its pid namespace), ``started`` clock ticks after boot."""
    proc, pid = tmp_path / "proc", os.getpid()
    write_process(proc, pid, "ambient run", cgroup, parent_pid, started)
    if parent_pid:
        (proc / str(parent_pid)).mkdir()
        (proc / str(parent_pid) / "comm").write_text(f"{parent}\n")
    return proc


BY_HAND = "Ctrl-C where it runs, or kill {pid}"
CONTAINER = "docker compose stop ambient, or docker stop on its container"


@pytest.mark.parametrize(
    ("cgroup", "parent", "advice"),
    [
        ("0::/system.slice/ambient.service\n", "systemd", "systemctl stop ambient"),
        # cgroup v1 beside v2 (a Raspberry Pi OS of before bookworm)
        (
            "12:pids:/system.slice/ambient.service\n1:name=systemd:/system.slice/ambient.service\n"
            "0::/\n",
            "systemd",
            "systemctl stop ambient",
        ),
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/ambient.service\n",
            "systemd",
            "systemctl --user stop ambient",
        ),
        # a terminal whose shells sit in its service's cgroup: started by hand all the same
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
            "gnome-terminal-server.service\n",
            "bash",
            BY_HAND,
        ),
        # left behind by a shell that exited: the user's manager took it in, in no unit
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope\n",
            "systemd",
            BY_HAND,
        ),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", "systemd", BY_HAND),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", "sshd", BY_HAND),
        # an instance of a unit made from the shipped one
        (
            "0::/system.slice/system-ambient.slice/ambient@alex.service\n",
            "systemd",
            "systemctl stop ambient@alex",
        ),
        # a unit of the user's own naming, the daemon its only process
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/stress.service\n",
            "systemd",
            "systemctl --user stop stress",
        ),
    ],
)
def test_only_a_service_systemd_started_is_named_as_a_unit(
    answering: Path, tmp_path: Path, cgroup: str, parent: str, advice: str
) -> None:
    proc = fake_proc(tmp_path, cgroup, parent)
    assert how_to_stop(answering, proc) == advice.format(pid=os.getpid())


TERMINAL = (
    "0::/user.slice/user-1000.slice/user@1000.service/app.slice/gnome-terminal-server.service\n"
)


def test_a_daemon_left_in_a_terminal_s_unit_is_named_by_pid_not_by_that_unit(
    answering: Path, tmp_path: Path
) -> None:
    """Started with nohup in a terminal that then closed: the user's manager takes it in, in
    the terminal's unit. `systemctl --user stop gnome-terminal-server` would close every
    terminal of the user; the daemon is not that unit's main process (the terminal's own
    started before it)."""
    proc = fake_proc(tmp_path, TERMINAL, "systemd", started=9000)
    write_process(proc, 4100, "gnome-terminal-", TERMINAL, 4000, started=5000)
    assert how_to_stop(answering, proc) == BY_HAND.format(pid=os.getpid())


def test_a_unit_of_the_user_s_naming_whose_main_process_the_daemon_is_is_named(
    answering: Path, tmp_path: Path
) -> None:
    """A process the daemon started in its unit (later than it) does not make it any less
    the unit's main process."""
    unit = "0::/system.slice/stress.service\n"
    proc = fake_proc(tmp_path, unit, "systemd", started=5000)
    write_process(proc, 4100, "notify-send", unit, os.getpid(), started=9000)
    assert how_to_stop(answering, proc) == "systemctl stop stress"


@pytest.mark.parametrize(
    ("cgroup", "parent", "parent_pid"),
    [
        # `docker compose exec ambient ambient forget`: the daemon is the container's command
        ("0::/\n", "", 0),
        # compose's `init: true`, seen from inside
        ("0::/\n", "docker-init", 1),
        ("0::/\n", "tini", 1),
        # seen from the host (its socket in a volume the host reaches)
        ("0::/system.slice/docker-0123abcd.scope\n", "containerd-shim", 4000),
        ("0::/machine.slice/libpod-0123abcd.scope/container\n", "conmon", 4000),
    ],
)
def test_a_container_s_daemon_is_stopped_with_its_container_not_killed(
    answering: Path, tmp_path: Path, cgroup: str, parent: str, parent_pid: int
) -> None:
    """Killed, the container's restart policy (the compose file's `unless-stopped`) starts it
    again at once; `kill 1` typed on the host is aimed at its init."""
    proc = fake_proc(tmp_path, cgroup, parent, parent_pid)
    assert how_to_stop(answering, proc) == CONTAINER


def test_a_daemon_proc_does_not_show_is_named_every_way_with_its_pid(
    answering: Path, tmp_path: Path
) -> None:
    """/proc mounted hidepid hides another user's processes (the system service's, run as
    `ambient`): what runs it cannot be told, so it is not said to be started by hand."""
    assert how_to_stop(answering, tmp_path / "proc") == (
        f"systemctl stop ambient, or Ctrl-C where `ambient run` runs, or kill {os.getpid()}"
    )
