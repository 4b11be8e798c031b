"""What stops the daemon that keeps a store: its systemd unit, or its process.

Commands that must not run beside the daemon (``forget``, ``baseline reset``, ``store rekey``)
say what to stop. ``systemctl stop ambient`` stops nothing when ``ambient run`` was started by
hand (or stops another daemon than the one in the way), so they name the daemon as it runs:
the status socket's peer is the daemon's process (``SO_PEERCRED``), and its cgroup and parent
say whether systemd runs it as a unit.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from pathlib import Path

from ambient.status import socket_path_for

#: Where the kernel shows each process (a test gives another folder).
PROC = Path("/proc")
#: What stops a daemon whose process cannot be named (no peer credentials on this system).
UNKNOWN = "systemctl stop ambient, or Ctrl-C where `ambient run` runs"


def how_to_stop(store_path: Path, proc: Path = PROC) -> str:
    """The command (or key) that stops the daemon answering beside ``store_path``."""
    pid = peer_pid(socket_path_for(store_path))
    if pid is None:
        return UNKNOWN
    unit = systemd_unit(pid, proc)
    if unit is None:
        return f"Ctrl-C where it runs, or kill {pid}"
    name, user = unit
    return f"systemctl {'--user ' if user else ''}stop {name}"


def peer_pid(socket_path: Path, timeout_s: float = 2.0) -> int | None:
    """The pid of the process listening on ``socket_path``; None when it cannot be told (no
    ``SO_PEERCRED`` here, a process of another pid namespace, nothing listening)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout_s)
    try:
        client.connect(str(socket_path))
        pid, _uid, _gid = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, option, 12))
        # Asked as any client asks (a bare hang-up would leave the daemon a broken pipe).
        client.sendall(b"status\n")
        client.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass
    except OSError:
        return None
    finally:
        client.close()
    return pid if pid > 0 else None


def systemd_unit(pid: int, proc: Path = PROC) -> tuple[str, bool] | None:
    """(unit, whether of the user's manager) when ``pid`` is the main process of a systemd
    service; None for one started by hand. Its cgroup's last part names a service and its
    parent is systemd: a terminal's shell may sit in a service's cgroup too, and a process
    left behind by a shell that exited is systemd's child in a session's scope."""
    try:
        cgroups = (proc / str(pid) / "cgroup").read_text()
        stat = (proc / str(pid) / "stat").read_text()
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parent_name = (proc / str(parent) / "comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    if parent_name != "systemd":
        return None
    for line in cgroups.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3 or fields[1] not in ("", "name=systemd"):
            continue
        path = fields[2]
        parts = path.strip("/").split("/")
        last = parts[-1]
        if last.endswith(".service") and not last.startswith("user@"):
            user = any(part.startswith("user@") for part in parts[:-1])
            return last.removesuffix(".service"), user
    return None
