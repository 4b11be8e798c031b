"""What stops the daemon that keeps a store: its systemd unit, its container, or its process.

Commands that must not run beside the daemon (``forget``, ``baseline reset``, ``store rekey``)
say what to stop. ``systemctl stop ambient`` stops nothing when ``ambient run`` was started by
hand (or stops another daemon than the one in the way), so they name the daemon as it runs:
the status socket's peer is the daemon's process (``SO_PEERCRED``), and its cgroup and parent
say whether systemd runs it as a unit or it is a container's main process.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from pathlib import Path
from typing import NamedTuple

from ambient.status import socket_owner, socket_path_for

#: Where the kernel shows each process (a test gives another folder).
PROC = Path("/proc")
#: What stops a daemon whose process cannot be named (no peer credentials on this system).
UNKNOWN = "systemctl stop ambient, or Ctrl-C where `ambient run` runs"
#: What stops a daemon that is its container's main process: killing it, the container's
#: restart policy starts it again.
CONTAINER = "docker compose stop ambient, or docker stop on its container"
#: Words in a cgroup path that a container's engine puts there (seen from outside it).
_CONTAINER_CGROUPS = ("docker", "containerd", "libpod", "podman", "kubepods")
#: The small inits a container runs its command under (``docker run --init``, compose's
#: ``init: true``).
_CONTAINER_INITS = ("docker-init", "tini", "dumb-init")


def refusal(store_path: Path | None, undoing: str, then: str, proc: Path = PROC) -> str | None:
    """The line a command refuses with beside the daemon that keeps ``store_path``, which
    would undo it (``undoing``: what it would do from memory): what stops it, and ``then``
    (the command again); None when no daemon runs there. A daemon whose socket refuses this
    user cannot be named: whose it appears to be is said, and that the command run as that
    user names it."""
    if store_path is None:
        return None
    try:
        how = how_to_stop(store_path, proc)
    except PermissionError:
        owner = socket_owner(socket_path_for(store_path))
        return (
            f"a daemon appears to run beside this store as {owner} (its status socket refuses "
            f"this user) and would {undoing}: stop it ({UNKNOWN}), or run this command as "
            f"{owner} to be told what runs it"
        )
    if how is None:
        return None
    return f"the daemon is running and would {undoing}: stop it first ({how}), then {then}"


def how_to_stop(store_path: Path, proc: Path = PROC) -> str | None:
    """The command (or key) that stops the daemon answering beside ``store_path``; None when
    none runs there; ``PermissionError`` when its socket refuses this user (another user's
    daemon)."""
    daemon = running_daemon(socket_path_for(store_path))
    if daemon is None:
        return None
    return UNKNOWN if daemon.pid is None else stop_advice(daemon.pid, proc)


class ListeningDaemon(NamedTuple):
    """A daemon that took the connection on its status socket."""

    #: Its process; None when it cannot be told (no ``SO_PEERCRED`` here, a process of
    #: another pid namespace).
    pid: int | None


def running_daemon(socket_path: Path, timeout_s: float = 2.0) -> ListeningDaemon | None:
    """The daemon listening on ``socket_path``: one that takes the connection runs, though
    it answers late or not at all (stopped, hung: once it goes on, it writes its copy back);
    None when nothing takes it. ``PermissionError`` when the socket refuses this user
    (another user's daemon). One connection says whether it runs and which process it is:
    asked twice, a daemon that stopped in between was said to run, and not which."""
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return None
    client.settimeout(timeout_s)
    try:
        try:
            client.connect(str(socket_path))
        except (TimeoutError, BlockingIOError):  # its queue of connections full (EAGAIN)
            return ListeningDaemon(None)
        except PermissionError:
            raise
        except OSError:
            return None
        return ListeningDaemon(_peer_pid(client))
    finally:
        client.close()


def _peer_pid(client: socket.socket) -> int | None:
    """The pid of the process at the other end of ``client`` (None when it cannot be told),
    asked as any client asks (a bare hang-up would leave the daemon a broken pipe)."""
    option = getattr(socket, "SO_PEERCRED", None)
    pid = 0
    with contextlib.suppress(OSError):
        if option is not None:
            pid, _uid, _gid = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, option, 12))
        client.sendall(b"status\n")
        client.shutdown(socket.SHUT_WR)
        while client.recv(65536):
            pass
    return pid if pid > 0 else None


def stop_advice(pid: int, proc: Path = PROC) -> str:
    """What stops process ``pid``: its systemd unit, its container, or the process itself.
    When ``proc`` does not show it (mounted ``hidepid`` and run by another user, or gone
    meanwhile) every way is named, with its pid."""
    try:
        cgroups = (proc / str(pid) / "cgroup").read_text()
        stat = _stat_fields((proc / str(pid) / "stat").read_text())
        parent = int(stat[1])
        # The first process of its pid namespace (a container's command, seen from inside).
        parent_name = "" if parent == 0 else (proc / str(parent) / "comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return f"{UNKNOWN}, or kill {pid}"
    paths = _systemd_cgroup_paths(cgroups)
    if (
        parent == 0
        or parent_name in _CONTAINER_INITS
        or any(word in path for path in paths for word in _CONTAINER_CGROUPS)
    ):
        return CONTAINER
    unit = _service(paths) if parent_name == "systemd" else None
    if unit is None or not _runs_it(unit, pid, _start_of(stat), proc):
        return f"Ctrl-C where it runs, or kill {pid}"
    return f"systemctl {'--user ' if unit.user else ''}stop {unit.name}"


def _systemd_cgroup_paths(cgroups: str) -> list[str]:
    """The paths of ``/proc/<pid>/cgroup`` that systemd arranges: the unified hierarchy's
    (``0::``) and cgroup v1's ``name=systemd``."""
    paths = []
    for line in cgroups.splitlines():
        fields = line.split(":", 2)
        if len(fields) == 3 and fields[1] in ("", "name=systemd"):
            paths.append(fields[2])
    return paths


class _Unit(NamedTuple):
    name: str
    #: Of the user's manager (``systemctl --user``).
    user: bool
    #: Its cgroup: the processes it runs.
    path: str


def _service(paths: list[str]) -> _Unit | None:
    """The service a cgroup path ends in. Asked only of a process whose parent is systemd: a
    terminal's shell may sit in a service's cgroup too, and a process left behind by a shell
    that exited is systemd's child in a session's scope."""
    for path in paths:
        parts = path.strip("/").split("/")
        last = parts[-1]
        if last.endswith(".service") and not last.startswith("user@"):
            user = any(part.startswith("user@") for part in parts[:-1])
            return _Unit(last.removesuffix(".service"), user, path)
    return None


def _runs_it(unit: _Unit, pid: int, start: int | None, proc: Path) -> bool:
    """Whether stopping ``unit`` stops the daemon, and only what runs for it: the shipped
    unit (``ambient``, or an instance ``ambient@…``), or one whose main process the daemon
    is (no process of the unit started before it). A daemon started with nohup in a terminal
    that then closed is taken in by the user's manager in the terminal's unit
    (``gnome-terminal-server``): stopping that would close every terminal of the user.
    ``start``: when the daemon started (None: not known)."""
    if unit.name == "ambient" or unit.name.startswith("ambient@"):
        return True
    if start is None:
        return False
    for entry in proc.iterdir():
        if not entry.name.isdigit() or entry.name == str(pid):
            continue
        try:
            paths = _systemd_cgroup_paths((entry / "cgroup").read_text())
        except OSError:
            continue
        if any(path == unit.path or path.startswith(f"{unit.path}/") for path in paths):
            other = _start_time(int(entry.name), proc)
            if other is None or other <= start:
                return False
    return True


def _start_time(pid: int, proc: Path) -> int | None:
    """When process ``pid`` started (see :func:`_start_of`)."""
    try:
        return _start_of(_stat_fields((proc / str(pid) / "stat").read_text()))
    except (OSError, IndexError):
        return None


def _stat_fields(stat: str) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command's name (which may hold spaces
    and parentheses): the state first, then the parent's pid."""
    return stat.rsplit(")", 1)[1].split()


def _start_of(fields: list[str]) -> int | None:
    """When the process started (clock ticks since boot; ``stat``'s 22nd field)."""
    try:
        return int(fields[19])
    except (ValueError, IndexError):
        return None
