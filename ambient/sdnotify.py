"""Tell systemd how the daemon is doing (``Type=notify``): ready, stopping, status, watchdog.

The protocol is one datagram of ``KEY=VALUE`` lines to the Unix socket named by
``$NOTIFY_SOCKET`` (see sd_notify(3)); pure stdlib, and a silent no-op when not run by systemd,
so ``ambient run`` behaves the same in a terminal, a container or a test.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

from ambient.clock import Clock

logger = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends sd_notify messages; every method does nothing when ``NOTIFY_SOCKET`` is unset."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_interval_s = _watchdog_interval_s(env)
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self, status: str = "") -> None:
        """Start-up is complete: sensors started, rules armed."""
        lines = ["READY=1", f"MAINPID={os.getpid()}"]
        if status:
            lines.append(f"STATUS={_one_line(status)}")
        self._send("\n".join(lines))

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def reloading(self) -> None:
        """A config reload has begun; send :meth:`ready` when the new config runs."""
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send(f"RELOADING=1\nMONOTONIC_USEC={monotonic_usec}")

    def status(self, text: str) -> None:
        """Free text shown by ``systemctl status ambient``."""
        self._send(f"STATUS={_one_line(text)}")

    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half of ``WATCHDOG_USEC``; ``None`` when no watchdog is asked for."""
        return self._watchdog_interval_s

    def ping(self) -> None:
        self._send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            self._socket.sendto(message.encode(), self._address)
        except OSError as exc:
            # systemd going away must never take the daemon down; it will notice by itself.
            logger.debug("sd_notify to %r failed: %s", self._address, exc)


async def run_watchdog(notifier: SystemdNotifier, clock: Clock) -> None:
    """Ping the systemd watchdog from the event loop until cancelled.

    Because the pings come from the loop itself, a loop that hangs stops pinging and systemd
    restarts the service. Returns at once when no watchdog is configured.
    """
    interval_s = notifier.watchdog_interval_s()
    if interval_s is None:
        return
    while True:
        notifier.ping()
        await clock.sleep(interval_s)


def _socket_address(raw: str) -> str | None:
    if not raw:
        return None
    if raw.startswith("@"):
        # Linux abstract namespace: a leading NUL instead of the '@'.
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    logger.warning("NOTIFY_SOCKET=%r is neither a path nor an abstract name; ignored", raw)
    return None


def _watchdog_interval_s(env: Mapping[str, str]) -> float | None:
    raw = env.get("WATCHDOG_USEC", "")
    if not raw:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None  # the watchdog is meant for another process (e.g. our parent shell)
    try:
        usec = int(raw)
    except ValueError:
        logger.warning("WATCHDOG_USEC=%r is not a whole number of microseconds; ignored", raw)
        return None
    if usec <= 0:
        return None
    return usec / 2 / 1_000_000


def _one_line(text: str) -> str:
    return " ".join(text.split())
