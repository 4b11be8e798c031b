"""The running daemon's readings, streamed over its status socket to ``ambient record``.

A second process that opened the sensors itself would compete with the daemon for them (a BLE
strap takes one connection; a broker session is per client id). Asking the daemon instead
records exactly what it reads. The request is one line, ``readings``; the answer is one JSON
object per reading (``t``, ``metric``, ``value``, ``person``, as in a ``.jsonl`` recording)
until the client hangs up. When the daemon closes the stream, its last line says why:
``{"end": "stop"}``, or ``{"end": "reload"}`` when it goes on with a reloaded config (the
recorder connects again). The socket is the daemon user's only (mode 0600): heart data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ambient.clock import Clock
from ambient.config.durations import written_duration_text
from ambient.readings import Reading

logger = logging.getLogger(__name__)

REQUEST = b"readings\n"
#: Readings held for a slow client before newer ones are dropped (and counted).
QUEUE_LIMIT = 10_000
#: How long a recorder waits for the daemon to answer again after a reload (its new config is
#: wired meanwhile: a few seconds on a Raspberry Pi), and how often it tries.
RELOAD_WAIT_S = 60.0
RECONNECT_EVERY_S = 0.1

ReadingListener = Callable[[Reading], None]


class ReadingFeed:
    """What the daemon's pipeline hands every processed reading to; costs one truth test per
    reading while nobody listens."""

    def __init__(self) -> None:
        self._listeners: list[ReadingListener] = []

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def publish(self, reading: Reading) -> None:
        for listener in tuple(self._listeners):
            listener(reading)

    def listen(self, listener: ReadingListener) -> Callable[[], None]:
        """Start calling ``listener``; returns what stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


async def serve_readings(
    feed: ReadingFeed,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    closing: asyncio.Event,
) -> bool:
    """Stream the feed to one client until it hangs up or ``closing`` is set (the daemon
    stops or reloads): the server's side of ``readings``. True when ``closing`` ended it (the
    client is still there: :func:`end_line` tells it why). It ends by returning, never by
    being cancelled, which Python 3.11's streams log as an error with a traceback."""
    queue: asyncio.Queue[Reading] = asyncio.Queue(QUEUE_LIMIT)
    dropped = 0

    def on_reading(reading: Reading) -> None:
        nonlocal dropped
        try:
            queue.put_nowait(reading)
        except asyncio.QueueFull:
            dropped += 1

    async def send() -> None:
        """Writes each reading as it comes; ends only by failing (the client went away)."""
        while True:
            writer.write(_encode(await queue.get()))
            # A client that stopped reading holds this up, not the daemon's stop.
            await writer.drain()

    stop = feed.listen(on_reading)
    hangup = asyncio.ensure_future(reader.read())  # the client sends nothing more: EOF
    closed = asyncio.ensure_future(closing.wait())
    # One task sends the whole stream (not one for each reading and one for each drain).
    sending = asyncio.ensure_future(send())
    try:
        await asyncio.wait([sending, hangup, closed], return_when=asyncio.FIRST_COMPLETED)
        if sending.done():
            sending.result()  # a failed write: the client went away (ConnectionError)
        return not hangup.done()
    finally:
        stop()
        sending.cancel()
        hangup.cancel()
        closed.cancel()
        if dropped:
            logger.warning("A recording client was too slow: %d readings not sent", dropped)


def end_line(why: str) -> bytes:
    """The stream's last line when the daemon closes it: ``stop`` or ``reload``."""
    return (json.dumps({"end": why}) + "\n").encode()


def _encode(reading: Reading) -> bytes:
    row = {"t": round(reading.time, 3), "metric": reading.metric, "value": reading.value}
    row["person"] = reading.person
    return (json.dumps(row) + "\n").encode()


class NoDaemon(Exception):
    """No daemon streams readings on this socket (none runs, or an older one)."""


class DaemonReloads(Exception):
    """The daemon closed the stream to reload its config: it answers again once it is wired."""


class NotYours(Exception):
    """A daemon's socket is there but belongs to another user: recording with the sensors
    instead would compete with that daemon for them, so the user is told to switch user."""


@contextlib.asynccontextmanager
async def daemon_readings(path: Path) -> AsyncIterator[AsyncIterator[Reading]]:
    """The readings of the daemon at ``path`` as they come; :class:`NoDaemon` when no daemon
    answers there with readings."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except PermissionError:
        raise NotYours(
            f"the daemon's socket {path} belongs to another user: record as that user "
            "(sudo -u ambient ambient record ...), so the sensors stay the daemon's"
        ) from None
    except OSError:
        raise NoDaemon(f"no daemon answers on {path}") from None
    try:
        writer.write(REQUEST)
        await writer.drain()
        yield _readings(reader, path)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _readings(reader: asyncio.StreamReader, path: Path) -> AsyncIterator[Reading]:
    source = f"daemon:{path}"
    while line := await reader.readline():
        if not line.endswith(b"\n"):  # cut inside a line: the daemon went away (kill -9)
            return
        row = json.loads(line)
        if "error" in row:  # an older daemon that does not know the request
            raise NoDaemon(str(row["error"]))
        if "end" in row:  # the daemon closes the stream
            if row["end"] == "reload":
                raise DaemonReloads
            return
        yield Reading(row["t"], row["person"], row["metric"], float(row["value"]), source)


async def record_from_daemon(
    path: Path, write: Callable[[Reading], None], duration_s: float | None, clock: Clock
) -> bool:
    """Write what the daemon at ``path`` reads until Ctrl-C, SIGTERM, ``duration_s`` or the
    daemon's stop (a reload of its config does not end it); False (nothing written) when no
    daemon streams readings there."""
    try:
        async with daemon_readings(path) as readings:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            if duration_s:
                clock.call_later(duration_s, stop.set)
                logger.info(
                    "Recording what the running daemon reads (%s) for %s; Ctrl-C stops it sooner",
                    path,
                    written_duration_text(duration_s),
                )
            else:
                logger.info("Recording what the running daemon reads (%s); Ctrl-C stops", path)
            copying = asyncio.ensure_future(_copy_across_reloads(readings, path, write, clock))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait([copying, stopping], return_when=asyncio.FIRST_COMPLETED)
            for task in (copying, stopping):
                task.cancel()
            await asyncio.gather(copying, stopping, return_exceptions=True)
            failure = None if copying.cancelled() else copying.exception()
            if failure is not None:
                raise failure
            return True
    except NoDaemon:
        return False


async def _copy(readings: AsyncIterator[Reading], write: Callable[[Reading], None]) -> None:
    """Write each reading until the stream ends: the daemon stopped (a reload raises
    :class:`DaemonReloads` instead), which is said, as it ends a recording unasked."""
    async for reading in readings:
        write(reading)
    logger.info("The daemon stopped: the recording ends here")


async def _copy_across_reloads(
    readings: AsyncIterator[Reading], path: Path, write: Callable[[Reading], None], clock: Clock
) -> None:
    """Copy until the daemon stops; after each reload, from its new stream."""
    try:
        await _copy(readings, write)
        return
    except DaemonReloads:
        pass
    while await _copy_after_reload(path, write, clock):
        pass


async def _copy_after_reload(path: Path, write: Callable[[Reading], None], clock: Clock) -> bool:
    """Connect again once the reloaded daemon answers, and copy; True when it reloads again,
    False when it stopped or did not come back within :data:`RELOAD_WAIT_S` (its new config
    keeps its store elsewhere, or it failed to start)."""
    logger.info("The daemon reloads its config; the recording goes on once it answers again")
    deadline = clock.monotonic() + RELOAD_WAIT_S
    while True:
        try:
            async with daemon_readings(path) as readings:
                await _copy(readings, write)
            return False
        except DaemonReloads:
            return True
        except NoDaemon:
            if clock.monotonic() >= deadline:
                logger.warning(
                    "The daemon did not answer on %s within %g s of its reload: the recording "
                    "ends here",
                    path,
                    RELOAD_WAIT_S,
                )
                return False
        await clock.sleep(RECONNECT_EVERY_S)
