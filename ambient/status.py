"""``ambient status``: the running daemon answers over a Unix socket that only its user can open.

The daemon runs a :class:`StatusServer` on ``<state dir>/ambient.sock`` (mode 0600) and fills the
document through a callable; the CLI asks with :func:`run_status`. The protocol is one request
line (``status``) and one JSON document back, so ``socat - UNIX:/var/lib/ambient/ambient.sock``
works for debugging too. A ``readings`` request streams the daemon's readings instead
(:mod:`ambient.reading_stream`, for ``ambient record``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ambient.private_files import user_name, with_filename
from ambient.reading_stream import ReadingFeed, end_line, serve_readings
from ambient.status_page import render_status

logger = logging.getLogger(__name__)

SOCKET_NAME = "ambient.sock"
_REQUEST_LIMIT_BYTES = 1024
_REQUEST_TIMEOUT_S = 2.0
#: How long a link to a daemon may take to connect before the system daemon is asked.
_PROBE_TIMEOUT_S = 1.0

StatusProvider = Callable[[], dict[str, Any]]


class StatusUnavailable(Exception):
    """No daemon answered; the message says why in words a user can act on."""


class NoDaemon(StatusUnavailable):
    """No socket at the path: the daemon is not running (how to start it depends on who asks)."""


class DaemonHung(StatusUnavailable):
    """Something took the connection but did not answer: a daemon that is there, hung."""


class NotAllowed(StatusUnavailable):
    """The socket refuses this user (another user's daemon, its socket 0600): a daemon that
    may well be running, that this user may not ask."""


class StatusSocketBusy(Exception):
    """The socket's path is taken: another daemon answers there, or a file that is no socket."""


#: The system daemon's socket: beside the default store, /var/lib/ambient/ambient.db.
SYSTEM_SOCKET = Path("/var/lib/ambient") / SOCKET_NAME


def socket_path_for(store_path: Path | None) -> Path:
    """The status socket lives beside the state file; without one, in the runtime dir."""
    if store_path is not None:
        return store_path.parent / SOCKET_NAME
    return Path(os.environ.get("RUNTIME_DIRECTORY", "/run/ambient")) / SOCKET_NAME


def user_link_path() -> Path:
    """Where a daemon leaves a link to its socket for ``ambient status`` without ``--config``:
    ``$XDG_RUNTIME_DIR/ambient.sock``, else ``/tmp/ambient-<uid>/ambient.sock``. The daemon
    this user started last wins."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / SOCKET_NAME
    return Path(f"/tmp/ambient-{os.getuid()}") / SOCKET_NAME


async def query_found(timeout_s: float = 2.0) -> dict[str, Any]:
    """:func:`query_status` of the daemon to ask when no config is named: the one this user
    started (by its link), else the system daemon (:data:`SYSTEM_SOCKET`). A link to no
    daemon (left by one that was killed) is passed over. The daemon is asked on the
    connection that finds it: connected to again, one that stopped in between was taken for
    none."""
    link = user_link_path()
    if link.is_symlink():
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                connection = await asyncio.open_unix_connection(str(link))
        except (OSError, TimeoutError):
            pass
        else:
            return await query_status(link, timeout_s, connection)
    return await query_status(SYSTEM_SOCKET, timeout_s)


def _private_dir(path: Path) -> bool:
    """``path`` is (or is now) a directory of ours that nobody else can enter."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


def _point_link(link: Path, target: Path) -> None:
    """``link`` to ``target``, replaced at once: `ambient status` never sees a half-made link."""
    staged = link.with_name(f".{link.name}.{os.getpid()}")
    staged.unlink(missing_ok=True)
    staged.symlink_to(target)
    staged.replace(link)


def _answers(path: Path) -> bool:
    """Whether a daemon listens on the socket at ``path`` (it takes the connection)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class StatusServer:
    """Serves ``provider()`` as JSON to whoever can open the socket (the daemon's user)."""

    def __init__(
        self,
        path: Path,
        provider: StatusProvider,
        link: Path | None = None,
        readings: ReadingFeed | None = None,
    ) -> None:
        self.path = path
        #: A symlink to ``path`` that ``ambient status`` finds without a config (best effort).
        self.link = link
        #: Streamed to a client that asks ``readings`` (``ambient record`` beside the daemon).
        self.readings = readings
        self._provider = provider
        self._server: asyncio.AbstractServer | None = None
        self._streams: set[asyncio.Task[Any]] = set()
        #: Where the link led before this daemon took it: back there at its stop, if that
        #: daemon still answers.
        self._link_before: Path | None = None
        #: Set by :meth:`stop`: the readings streams end (and their handlers with them),
        #: their last line saying why (``stop``, or ``reload``: a recorder connects again).
        self._closing = asyncio.Event()
        self._closing_for = "stop"

    async def start(self) -> None:
        self._remove_stale_socket()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket file is born 0600: no window for others
        try:
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            if exc.errno is not None and exc.filename is None:  # bind names no file
                raise with_filename(exc, self.path) from None
            raise
        finally:
            os.umask(old_umask)
        self.path.chmod(0o600)
        self._server = await asyncio.start_unix_server(self._serve, sock=sock)
        logger.debug("status socket listening at %s", self.path)
        self._place_link()

    async def stop(self, reloading: bool = False) -> None:
        """Close the socket; ``reloading``: the daemon goes on with a reloaded config, and
        answers again (on this path, unless the new config moved the store)."""
        self._closing_for = "reload" if reloading else "stop"
        # No new connection first: a recorder told to connect again must find the socket
        # gone (and wait for the next), not reach this one as it closes and hang there.
        if self._server is not None:
            self._server.close()
        self._remove_link()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._closing.set()
        if self._streams:  # they end at once; waited for so none is left to be cancelled
            await asyncio.wait(tuple(self._streams))
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _place_link(self) -> None:
        link = self.link
        if link is None or not _private_dir(link.parent):
            return
        with contextlib.suppress(OSError):
            self._link_before = link.readlink()
        try:
            _point_link(link, self.path.absolute())
        except OSError as exc:
            logger.debug("no status link at %s: %s", link, exc)

    def _remove_link(self) -> None:
        """The link goes only if it still points here (a later daemon may have taken it);
        it leads back to the daemon started before this one if that one still answers."""
        link = self.link
        if link is None:
            return
        with contextlib.suppress(OSError):
            if link.readlink() != self.path.absolute():
                return
            before = self._link_before
            if before is not None and before != self.path.absolute() and _answers(before):
                _point_link(link, before)
            else:
                link.unlink()

    def _remove_stale_socket(self) -> None:
        """A socket left by a crashed daemon is removed; a live one means a second daemon."""
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise StatusSocketBusy(f"{self.path} exists and is not a socket; not replacing it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except (ConnectionRefusedError, FileNotFoundError):
            self.path.unlink(missing_ok=True)
            return
        finally:
            probe.close()
        raise StatusSocketBusy(
            f"another ambient daemon is already running with this config "
            f"(it answers on {self.path}); stop it first, or give this one another store.path"
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(_REQUEST_TIMEOUT_S):
                    request = await reader.readline()
            except TimeoutError:
                return
            except ValueError:  # a line past the stream's limit: anyone allowed may send one
                writer.write(b'{"error": "request too long"}\n')
                await writer.drain()
                return
            command = request[:_REQUEST_LIMIT_BYTES].decode("utf-8", "replace").strip()
            if command == "readings" and self.readings is not None:
                task = asyncio.current_task()
                assert task is not None
                self._streams.add(task)  # a stop ends it: the client may never hang up
                try:
                    if await serve_readings(self.readings, reader, writer, self._closing):
                        writer.write(end_line(self._closing_for))
                finally:
                    self._streams.discard(task)
                return
            writer.write(self._answer(command))
            await writer.drain()
        except ConnectionError:
            pass  # the client went away; nothing to tell it
        finally:
            if self._closing.is_set() and writer.transport.get_write_buffer_size():
                writer.transport.abort()  # a client that stopped reading: not waited for
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, command: str) -> bytes:
        if command not in ("", "status"):
            document: dict[str, Any] = {"error": f"unknown request {command[:40]!r}"}
        else:
            try:
                document = self._provider()
            except Exception as exc:
                logger.exception("building the status document failed")
                document = {"error": f"the daemon could not build its status: {exc}"}
        return (json.dumps(document, default=str, sort_keys=False) + "\n").encode()


def socket_owner(path: Path) -> str:
    """The name of the user whose socket ``path`` is, or whose folder it is in when that
    folder cannot be entered (a uid without a name, as a number)."""
    try:
        uid = path.stat().st_uid
    except OSError:
        try:
            uid = path.parent.stat().st_uid
        except OSError:
            return "another user"
    return user_name(uid)


def _named(path: Path) -> str:
    """``path``, and where it is when it is relative (only a config made in code keeps a
    relative store path: the loader puts one written in a file in the file's folder)."""
    if path.is_absolute():
        return str(path)
    return f"{path} ({path.absolute()})"


async def query_status(
    path: Path,
    timeout_s: float = 2.0,
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None,
) -> dict[str, Any]:
    """Ask the daemon at ``path`` for its status (on ``connection`` when already made);
    :class:`StatusUnavailable` when it cannot."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = connection or await asyncio.open_unix_connection(str(path))
            try:
                writer.write(b"status\n")
                await writer.drain()
                raw = await reader.read()
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
    except FileNotFoundError:
        raise NoDaemon(f"no status socket at {_named(path)}: is the daemon running?") from None
    except ConnectionRefusedError:
        raise StatusUnavailable(
            f"nothing answers on {path}: the daemon is not running (the socket is stale)"
        ) from None
    except PermissionError:
        owner = socket_owner(path)
        raise NotAllowed(
            f"a daemon appears to run on {path} as {owner}, and this user may not ask it: "
            f"run as {owner} (sudo -u {owner} ambient status) or as root"
        ) from None
    except TimeoutError:
        raise DaemonHung(
            f"the daemon at {path} did not answer within {timeout_s:g} s: it may be hung"
        ) from None
    except OSError as exc:  # a path through something that is no directory, and the like
        raise StatusUnavailable(f"cannot reach a daemon at {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        raise StatusUnavailable(f"the answer on {path} is not a status document") from None
    if not isinstance(document, dict):
        raise StatusUnavailable(f"the answer on {path} is not a status document")
    if "error" in document and len(document) == 1:
        raise StatusUnavailable(str(document["error"]))
    return document


#: What to try when no daemon was found without a config named: the system one, or by hand.
SEARCH_HINT = (
    "(`systemctl status ambient`; for a daemon started by hand, give its config: "
    "ambient status --config FILE)"
)


def run_status(
    socket_path: Path | None,
    as_json: bool,
    out: TextIO,
    hint: str = SEARCH_HINT,
    notes: Callable[[dict[str, Any]], list[str]] | None = None,
) -> int:
    """``ambient status [--json]``: 0 with the status printed, 1 with a reason when none
    (``hint`` follows the reason when no daemon runs there). ``socket_path`` None: the daemon
    this user started, else the system's (:func:`query_found`). ``notes`` gives lines for
    stderr about the document (what differs from the config file asked with)."""
    try:
        query = query_found() if socket_path is None else query_status(socket_path)
        document = asyncio.run(query)
    except NoDaemon as exc:
        print(f"ambient status: {exc} {hint}", file=sys.stderr)
        return 1
    except StatusUnavailable as exc:
        print(f"ambient status: {exc}", file=sys.stderr)
        return 1
    for line in notes(document) if notes is not None else []:
        print(line, file=sys.stderr)
    text = (
        json.dumps(document, indent=2, default=str) + "\n" if as_json else render_status(document)
    )
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        # `ambient status | head`: the reader left; not an error, and no traceback at exit.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
