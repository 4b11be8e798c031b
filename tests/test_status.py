"""``ambient status``: a real Unix socket between a StatusServer and the client the CLI uses."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from fixtures.status_sample import STATUS_SAMPLE
from test_cli_failures import run_as_any_user
from test_daemon_stop import answering_once, refuse_this_user

from ambient.commands.live import status as status_command
from ambient.daemon_stop import ListeningDaemon, refusal, running_daemon
from ambient.status import (
    DaemonHung,
    StatusServer,
    StatusSocketBusy,
    StatusUnavailable,
    query_found,
    query_status,
    run_status,
    socket_owner,
    socket_path_for,
)


def file_mode(path: Path) -> int | None:
    """The mode of ``path``, or ``None`` when it is gone (sync: called from async tests)."""
    try:
        return path.stat().st_mode
    except FileNotFoundError:
        return None


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ambient.sock"


async def started(path: Path, provider: Any) -> StatusServer:
    path.parent.mkdir(exist_ok=True)
    server = StatusServer(path, provider)
    await server.start()
    return server


async def test_client_gets_the_providers_document(sock_path: Path) -> None:
    server = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        assert await query_status(sock_path) == STATUS_SAMPLE
    finally:
        await server.stop()


async def test_provider_is_asked_on_every_query(sock_path: Path) -> None:
    calls = []

    def provider() -> dict[str, Any]:
        calls.append(1)
        return {"version": "x", "uptime_s": float(len(calls))}

    server = await started(sock_path, provider)
    try:
        assert (await query_status(sock_path))["uptime_s"] == 1.0
        assert (await query_status(sock_path))["uptime_s"] == 2.0
    finally:
        await server.stop()


async def test_socket_is_private_to_the_daemon_user(sock_path: Path) -> None:
    server = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        mode = file_mode(sock_path)
        assert mode is not None
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
    finally:
        await server.stop()
    assert file_mode(sock_path) is None


async def test_stale_socket_from_a_crash_is_replaced(sock_path: Path) -> None:
    sock_path.parent.mkdir()
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(sock_path))
    leftover.close()  # bound but nobody listening: what a killed daemon leaves behind

    server = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        assert await query_status(sock_path) == STATUS_SAMPLE
    finally:
        await server.stop()


async def test_second_daemon_on_the_same_socket_is_refused(sock_path: Path) -> None:
    first = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        with pytest.raises(StatusSocketBusy, match="another ambient daemon"):
            await StatusServer(sock_path, lambda: {}).start()
        assert await query_status(sock_path) == STATUS_SAMPLE
    finally:
        await first.stop()


def test_a_regular_file_in_the_way_is_not_deleted(sock_path: Path) -> None:
    sock_path.parent.mkdir()
    sock_path.write_text("precious")

    with pytest.raises(StatusSocketBusy, match="not a socket"):
        asyncio.run(StatusServer(sock_path, lambda: {}).start())
    assert sock_path.read_text() == "precious"


async def test_failing_provider_is_reported_and_server_keeps_serving(sock_path: Path) -> None:
    healthy = False

    def provider() -> dict[str, Any]:
        if not healthy:
            raise KeyError("rules")
        return STATUS_SAMPLE

    server = await started(sock_path, provider)
    try:
        with pytest.raises(StatusUnavailable, match="could not build its status"):
            await query_status(sock_path)
        healthy = True
        assert await query_status(sock_path) == STATUS_SAMPLE
    finally:
        await server.stop()


async def test_unknown_request_gets_an_error(sock_path: Path) -> None:
    server = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        reader, writer = await asyncio.open_unix_connection(str(sock_path))
        writer.write(b"reboot\n")
        answer = json.loads(await reader.read())
        writer.close()
        assert answer == {"error": "unknown request 'reboot'"}
    finally:
        await server.stop()


async def test_a_request_longer_than_the_stream_limit_is_answered_not_logged_as_a_crash(
    sock_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone who may connect can send a line of any length: past the stream's 64 KiB limit the
    daemon answers an error and logs no traceback (it logged "Unhandled exception" before)."""
    server = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        reader, writer = await asyncio.open_unix_connection(str(sock_path))
        writer.write(b"x" * (70 * 1024))
        await writer.drain()
        answer = json.loads(await reader.read())
        writer.close()
        assert answer == {"error": "request too long"}
        assert await query_status(sock_path) == STATUS_SAMPLE
    finally:
        await server.stop()
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


async def test_no_daemon_gives_a_clear_message(sock_path: Path) -> None:
    with pytest.raises(StatusUnavailable, match="is the daemon running"):
        await query_status(sock_path)


async def test_no_daemon_at_a_relative_socket_names_where_it_looked_and_no_store_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative socket path (the add-on's ``health --socket``) is in the folder ambient runs
    in: the line says which file that is. A config's store.path never reaches here relative
    (it is in the config file's folder), so the line does not speak of it."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StatusUnavailable) as raised:
        await query_status(Path("state/ambient.sock"))
    assert str(raised.value) == (
        f"no status socket at state/ambient.sock ({tmp_path / 'state' / 'ambient.sock'}): "
        "is the daemon running?"
    )


async def test_a_path_through_a_file_is_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file, not a directory")
    with pytest.raises(StatusUnavailable, match=r"cannot reach a daemon at .*: Not a directory"):
        await query_status(tmp_path / "state" / "ambient.sock")


async def test_silent_daemon_times_out(sock_path: Path) -> None:
    sock_path.parent.mkdir()
    accepted = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # never answers; returns when the client gives up
        writer.close()

    server = await asyncio.start_unix_server(hang, path=str(sock_path))
    try:
        with pytest.raises(StatusUnavailable, match=r"did not answer within 0\.2 s"):
            await query_status(sock_path, timeout_s=0.2)
        # The daemon took the connection (the server's handler may start after the client's
        # timeout on a loaded machine: it is waited for, not assumed to have run by then).
        await accepted.wait()
    finally:
        server.close()
        await server.wait_closed()


async def test_run_status_json_and_exit_codes(
    sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        out = io.StringIO()
        code = await asyncio.to_thread(run_status, sock_path, True, out)
        assert code == 0
        assert json.loads(out.getvalue()) == STATUS_SAMPLE

        out = io.StringIO()
        assert await asyncio.to_thread(run_status, sock_path, False, out) == 0
        assert "polar_h10" in out.getvalue()
    finally:
        await server.stop()

    out = io.StringIO()
    assert await asyncio.to_thread(run_status, sock_path, True, out) == 1
    assert out.getvalue() == ""
    assert "is the daemon running" in capsys.readouterr().err


def test_socket_lives_beside_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert socket_path_for(Path("/var/lib/ambient/ambient.db")) == Path(
        "/var/lib/ambient/ambient.sock"
    )
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path))
    assert socket_path_for(None) == tmp_path / "ambient.sock"


async def test_a_store_has_a_running_daemon_only_while_one_answers_beside_it(
    sock_path: Path,
) -> None:
    assert refusal(None, "write it back", "try again") is None  # no store: no daemon beside it
    assert not await asyncio.to_thread(running_daemon, sock_path)  # no socket
    server = await started(sock_path, lambda: STATUS_SAMPLE)
    try:
        assert await asyncio.to_thread(running_daemon, sock_path) == ListeningDaemon(os.getpid())
    finally:
        await server.stop()
    stale = socket.socket(socket.AF_UNIX)  # a socket file that nothing listens on
    stale.bind(str(sock_path))
    stale.close()
    assert not await asyncio.to_thread(running_daemon, sock_path)


def test_a_daemon_that_takes_the_connection_and_hangs_is_running(sock_path: Path) -> None:
    """Stopped (SIGSTOP, a debugger) or stuck: once it goes on, it writes its copy back, so
    the commands that change the store must still refuse."""
    sock_path.parent.mkdir()
    with socket.socket(socket.AF_UNIX) as hung:
        hung.bind(str(sock_path))
        hung.listen()  # the kernel takes connections; nothing ever answers
        with pytest.raises(DaemonHung, match="did not answer within 2 s: it may be hung"):
            asyncio.run(query_status(sock_path))
        assert running_daemon(sock_path) == ListeningDaemon(os.getpid())


async def test_when_the_daemon_started_last_stops_the_link_leads_to_the_one_still_running(
    tmp_path: Path,
) -> None:
    """`ambient status` without a config asks the daemon this user started last, by a link
    each daemon leaves. When that one stopped, its link went with it, and status said no
    daemon was running though the one started before it still was."""
    link = tmp_path / "run" / "ambient.sock"
    servers = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        document = {"at": name}
        servers.append(StatusServer(tmp_path / name / "ambient.sock", document.copy, link=link))
    first, second = servers
    await first.start()
    await second.start()
    try:
        assert await query_status(link) == {"at": "second"}
        await second.stop()
        assert await query_status(link) == {"at": "first"}
    finally:
        await first.stop()
    assert not link.is_symlink()  # no daemon left: nothing to lead to


async def test_a_link_left_by_a_daemon_that_was_killed_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon killed (kill -9, out of memory) leaves its link behind: `ambient status`
    without a config then said `nothing answers on …: the daemon is not running` though the
    system service ran. A link that leads to no daemon is passed over for the system's."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    # In process: the system's socket (/var/lib/ambient) cannot be the test's.
    monkeypatch.setattr("ambient.status.SYSTEM_SOCKET", tmp_path / "system" / "ambient.sock")
    system = await started(tmp_path / "system" / "ambient.sock", lambda: {"at": "system"})
    socket_path = tmp_path / "state" / "ambient.sock"
    socket_path.parent.mkdir()
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(socket_path))
    leftover.close()  # bound but nobody listening: what a killed daemon leaves behind
    (tmp_path / "ambient.sock").symlink_to(socket_path)
    try:
        assert await query_found() == {"at": "system"}
        server = StatusServer(socket_path, lambda: {"at": "this user's"})
        await server.start()
        try:
            assert await query_found() == {"at": "this user's"}  # a daemon again: its link
        finally:
            await server.stop()
    finally:
        await system.stop()


def test_a_daemon_that_stops_right_after_answering_is_not_said_to_be_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ambient status` without a config connected to the daemon this user started (by its
    link) to see that it runs, then again to ask it: one that stopped in between was said
    not to run (`no status socket at …`), and the system's daemon, asked when the link leads
    to none, was not asked. One connection asks it. In process, as the system's socket
    (/var/lib/ambient) cannot be the test's; the socket here is this process's, gone as it
    answers: no real daemon can be made to stop at that moment."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr("ambient.status.SYSTEM_SOCKET", tmp_path / "system" / "ambient.sock")
    socket_path = tmp_path / "state" / "ambient.sock"
    socket_path.parent.mkdir()
    (tmp_path / "ambient.sock").symlink_to(socket_path)
    answer = b'{"at": "this user\'s daemon"}\n'
    with answering_once(socket_path, answer, gone_as_it_answers=True):
        code = status_command(argparse.Namespace(config_given=False, json=True))
    said = capsys.readouterr()
    assert (code, said.err) == (0, "")
    assert json.loads(said.out) == {"at": "this user's daemon"}


def test_a_daemon_whose_socket_refuses_this_user_is_said_to_run(tmp_path: Path) -> None:
    """Another user's daemon (its socket 0600): status says one appears to run there, as whom,
    and how to ask it."""
    sock_path = tmp_path / "ambient.sock"
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {tmp_path / 'ambient.db'}\n")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(sock_path))
        listening.listen()
        refuse_this_user(sock_path)
        owner = socket_owner(sock_path)
        result = run_as_any_user("status", "--config", str(config))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"ambient status: a daemon appears to run on {sock_path} as {owner}, and this user may "
        f"not ask it: run as {owner} (sudo -u {owner} ambient status) or as root\n"
    )
