"""sd_notify: what systemd receives on its socket, and silence when not run by systemd.

The receiving end is a real Unix datagram socket the test owns, as systemd's would be.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ambient.clock import VirtualClock
from ambient.sdnotify import SystemdNotifier, run_watchdog


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = tmp_path / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(2.0)
    yield str(path), receiver
    receiver.close()


def received(receiver: socket.socket) -> list[str]:
    """Every datagram waiting on the socket, without blocking."""
    messages = []
    receiver.setblocking(False)
    try:
        while True:
            messages.append(receiver.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        receiver.setblocking(True)
    return messages


def test_ready_sends_ready_mainpid_and_status(notify_socket: tuple[str, socket.socket]) -> None:
    path, receiver = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})

    notifier.ready("2 sensors, 3 rules armed")

    fields = dict(line.split("=", 1) for line in receiver.recv(4096).decode().splitlines())
    assert fields == {
        "READY": "1",
        "MAINPID": str(os.getpid()),
        "STATUS": "2 sensors, 3 rules armed",
    }


def test_stopping_status_and_ping(notify_socket: tuple[str, socket.socket]) -> None:
    path, receiver = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})

    notifier.status("waiting for\nthe strap")
    notifier.ping()
    notifier.stopping()

    assert received(receiver) == ["STATUS=waiting for the strap", "WATCHDOG=1", "STOPPING=1"]


def test_reloading_carries_the_monotonic_time(notify_socket: tuple[str, socket.socket]) -> None:
    path, receiver = notify_socket
    before_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000

    SystemdNotifier({"NOTIFY_SOCKET": path}).reloading()

    fields = dict(line.split("=", 1) for line in receiver.recv(4096).decode().splitlines())
    assert fields["RELOADING"] == "1"
    assert before_usec <= int(fields["MONOTONIC_USEC"])
    assert int(fields["MONOTONIC_USEC"]) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_abstract_socket_name(tmp_path: Path) -> None:
    name = f"ambient-test-{os.getpid()}-{tmp_path.name}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind("\0" + name)
    try:
        SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ping()
        assert received(receiver) == ["WATCHDOG=1"]
    finally:
        receiver.close()


def test_no_socket_means_no_op() -> None:
    notifier = SystemdNotifier({})

    assert not notifier.enabled
    notifier.ready("x")
    notifier.ping()
    notifier.stopping()
    assert notifier.watchdog_interval_s() is None


def test_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})

    notifier.ready()
    notifier.ping()


@pytest.mark.parametrize(
    ("environ", "expected_s"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(
    environ: dict[str, str], expected_s: float | None
) -> None:
    assert SystemdNotifier(environ).watchdog_interval_s() == expected_s


async def test_watchdog_pings_at_half_the_interval(
    notify_socket: tuple[str, socket.socket],
) -> None:
    path, receiver = notify_socket
    clock = VirtualClock(start=1000.0)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
    task = asyncio.create_task(run_watchdog(notifier, clock))

    await clock.run_until(1000.0)
    assert received(receiver) == ["WATCHDOG=1"]
    await clock.run_until(1009.9)
    assert received(receiver) == []
    await clock.run_until(1025.0)  # pings at 1010 and 1020
    assert received(receiver) == ["WATCHDOG=1", "WATCHDOG=1"]

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_watchdog_returns_when_not_asked_for() -> None:
    clock = VirtualClock()
    task = asyncio.create_task(run_watchdog(SystemdNotifier({}), clock))
    await clock.run_until(3600.0)  # an hour on the clock: a ping loop would still be running
    assert task.done() and task.result() is None
