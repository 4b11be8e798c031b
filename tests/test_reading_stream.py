"""The daemon's readings over its status socket: a client gets every reading processed after it
asked, in order; nobody listening costs nothing; no daemon is said plainly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from ambient.clock import VirtualClock
from ambient.reading_stream import (
    RECONNECT_EVERY_S,
    RELOAD_WAIT_S,
    NoDaemon,
    NotYours,
    ReadingFeed,
    daemon_readings,
    record_from_daemon,
)
from ambient.readings import Reading
from ambient.status import StatusServer

WAIT_S = 10.0


async def turns_until(condition: Callable[[], bool], max_turns: int = 10_000) -> None:
    """Give the loop turns (no time passes) until ``condition`` holds."""
    for _ in range(max_turns):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail("the condition never held")


async def test_a_client_gets_the_readings_published_after_it_asked(tmp_path: Path) -> None:
    feed = ReadingFeed()
    path = tmp_path / "ambient.sock"
    server = StatusServer(path, dict, readings=feed)
    await server.start()
    try:
        async with daemon_readings(path) as readings:
            await turns_until(lambda: bool(feed))  # the server registers the client
            sent = [Reading(1800000000.0 + i, "alex", "hr", 60.0 + i, "mqtt0") for i in range(3)]
            for reading in sent:
                feed.publish(reading)
            got = [await asyncio.wait_for(anext(readings), WAIT_S) for _ in sent]
        assert [(r.time, r.person, r.metric, r.value) for r in got] == [
            (r.time, r.person, r.metric, r.value) for r in sent
        ]
        await turns_until(lambda: not feed)  # the client hung up: the server stops listening
    finally:
        await server.stop()


def test_an_idle_feed_is_false_and_a_listener_can_leave() -> None:
    feed = ReadingFeed()
    assert not feed
    seen: list[Reading] = []
    stop = feed.listen(seen.append)
    assert feed
    feed.publish(Reading(1.0, "alex", "hr", 60.0, "x"))
    stop()
    feed.publish(Reading(2.0, "alex", "hr", 61.0, "x"))
    assert not feed and [r.time for r in seen] == [1.0]


async def test_no_daemon_on_the_path(tmp_path: Path) -> None:
    with pytest.raises(NoDaemon, match="no daemon answers"):
        async with daemon_readings(tmp_path / "ambient.sock"):
            pass


async def test_a_daemon_without_readings_says_so(tmp_path: Path) -> None:
    path = tmp_path / "ambient.sock"
    server = StatusServer(path, dict)  # no feed: answers the request as an unknown one
    await server.start()
    try:
        async with daemon_readings(path) as readings:
            with pytest.raises(NoDaemon, match="unknown request"):
                await asyncio.wait_for(anext(readings), WAIT_S)
    finally:
        await server.stop()


async def test_a_socket_of_another_user_says_to_switch_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stand-in: the tests run as root, whom no socket refuses, so the refusal is simulated."""

    async def refused(path: str) -> object:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(asyncio, "open_unix_connection", refused)
    with pytest.raises(NotYours, match=r"sudo -u ambient ambient record"):
        async with daemon_readings(tmp_path / "ambient.sock"):
            pass


async def test_a_client_that_stopped_reading_does_not_hold_up_the_stop(tmp_path: Path) -> None:
    """A recorder that no longer reads (stopped with Ctrl-Z, say) fills the socket's buffers;
    the daemon's stop ends its stream all the same."""
    feed = ReadingFeed()
    path = tmp_path / "ambient.sock"
    server = StatusServer(path, dict, readings=feed)
    await server.start()
    _reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(b"readings\n")
        await turns_until(lambda: bool(feed))
        for i in range(30_000):  # ~2 MB: more than the socket and the server's buffer hold
            feed.publish(Reading(1800000000.0 + i, "alex", "rr", 800.0, "ble:h10"))
            if i % 100 == 0:
                await asyncio.sleep(0)  # a turn for the server to write what it can
        await server.stop()
        assert not feed
    finally:
        writer.close()


def beat(value: float) -> Reading:
    return Reading(1800000000.0 + value, "alex", "hr", value, "mqtt0")


async def until_listened(feed: ReadingFeed, clock: VirtualClock) -> None:
    """Let the recorder's tries to connect again come due until one reaches the server."""
    for _ in range(1000):
        await clock.run_until(clock.now() + RECONNECT_EVERY_S)
        for _ in range(10):  # turns for the socket's I/O (no time passes)
            if feed:
                return
            await asyncio.sleep(0)
    pytest.fail("the recorder never connected again")


async def test_a_recording_goes_on_across_the_daemons_reload(tmp_path: Path) -> None:
    """The daemon closes its socket to reload its config and opens it again: the recorder
    connects again and records on, until the daemon stops."""
    feed = ReadingFeed()
    path = tmp_path / "ambient.sock"
    clock = VirtualClock(1800000000.0)
    written: list[Reading] = []
    server = StatusServer(path, dict, readings=feed)
    await server.start()
    recording = asyncio.ensure_future(record_from_daemon(path, written.append, None, clock))
    try:
        await turns_until(lambda: bool(feed))
        feed.publish(beat(60.0))
        await turns_until(lambda: len(written) == 1)
        await server.stop(reloading=True)
        server = StatusServer(path, dict, readings=feed)  # the daemon, its config reloaded
        await server.start()
        await until_listened(feed, clock)
        feed.publish(beat(61.0))
        await turns_until(lambda: len(written) == 2)
    finally:
        await server.stop()
    assert await asyncio.wait_for(recording, WAIT_S) is True
    assert [r.value for r in written] == [60.0, 61.0]


async def test_a_daemon_that_does_not_come_back_after_a_reload_ends_the_recording(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its new config keeps the store (and the socket) elsewhere, or it failed to start."""
    caplog.set_level(logging.INFO, "ambient.reading_stream")
    feed = ReadingFeed()
    path = tmp_path / "ambient.sock"
    clock = VirtualClock(1800000000.0)
    server = StatusServer(path, dict, readings=feed)
    await server.start()
    recording = asyncio.ensure_future(record_from_daemon(path, lambda _: None, None, clock))
    await turns_until(lambda: bool(feed))
    await server.stop(reloading=True)
    await turns_until(lambda: "goes on once it answers again" in caplog.text)
    await clock.run_until(clock.now() + RELOAD_WAIT_S - 1)
    assert not recording.done()
    await clock.run_until(clock.now() + 2)
    assert await asyncio.wait_for(recording, WAIT_S) is True
    assert f"did not answer on {path} within 60 s of its reload" in caplog.text


async def test_a_stream_cut_in_the_middle_of_a_line_ends_the_recording_quietly(
    tmp_path: Path,
) -> None:
    """The daemon killed (kill -9) or giving up on a recorder that stopped reading can cut the
    stream inside a line: the recorder ended on a JSONDecodeError and its traceback. It ends
    as at the daemon's stop, with every whole reading written."""
    path = tmp_path / "ambient.sock"

    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b'{"t": 1800000000.0, "metric": "hr", "value": 61, "person": "alex"}\n')
        writer.write(b'{"t": 1800000001.0, "metric": "hr", "va')
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(cut_short, path=str(path))
    written: list[Reading] = []
    try:
        recorded = await record_from_daemon(path, written.append, None, VirtualClock(0.0))
    finally:
        server.close()
        await server.wait_closed()
    assert recorded is True
    assert [(r.metric, r.value) for r in written] == [("hr", 61.0)]


@pytest.mark.parametrize(
    ("duration_s", "said"),
    [
        (20.0, "Recording what the running daemon reads ({path}) for 20s; Ctrl-C stops it sooner"),
        (None, "Recording what the running daemon reads ({path}); Ctrl-C stops"),
    ],
)
async def test_a_recording_with_a_duration_says_how_long_it_lasts_and_ends_then(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, duration_s: float | None, said: str
) -> None:
    """`ambient record --duration 20s` beside a daemon said only '…; Ctrl-C stops', as if
    it went on until stopped."""
    caplog.set_level(logging.INFO, "ambient.reading_stream")
    feed = ReadingFeed()
    path = tmp_path / "ambient.sock"
    clock = VirtualClock(1800000000.0)
    server = StatusServer(path, dict, readings=feed)
    await server.start()
    recording = asyncio.ensure_future(record_from_daemon(path, lambda _: None, duration_s, clock))
    try:
        await turns_until(lambda: bool(feed))
        assert [r.getMessage() for r in caplog.records] == [said.format(path=path)]
        await clock.run_until(clock.now() + 19.0)
        assert not recording.done()
        if duration_s is not None:
            await clock.run_until(clock.now() + 1.0)
            assert await asyncio.wait_for(recording, WAIT_S) is True
    finally:
        recording.cancel()
        await server.stop()
