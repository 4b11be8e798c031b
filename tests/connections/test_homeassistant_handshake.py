"""A handshake HA (or a proxy in front of it) breaks off is retried, never the client's end.

A real HA cannot be made to close its WebSocket between its greeting and its answer on demand,
so a loopback aiohttp server plays that moment: it greets as HA does (``auth_required``), then
closes, answers with text that is not JSON, or with a JSON list, or lets ambient in and answers
its first command with an error that is not an object; one way per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from pydantic import SecretStr

from ambient.clock import RealClock
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.homeassistant import COUNTER_SCOPE, HomeAssistantClient
from ambient.counters import Counters

#: How each successive connection's handshake goes wrong.
BROKEN_ANSWERS = ["close", "not json", "a list", "an error that is no object"]


class BreakingHandshakes:
    def __init__(self) -> None:
        self.connections = 0
        self.arrived = asyncio.Event()

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.arrived.set()
        await ws.send_json({"type": "auth_required", "ha_version": "2025.4.4"})
        await ws.receive()  # ambient's auth message
        way = BROKEN_ANSWERS[(self.connections - 1) % len(BROKEN_ANSWERS)]
        if way == "not json":
            await ws.send_str("<html>Bad Gateway</html>")
        elif way == "a list":
            await ws.send_json([{"type": "auth_ok"}])
        elif way == "an error that is no object":  # login works, the first command fails oddly
            await ws.send_json({"type": "auth_ok", "ha_version": "2025.4.4"})
            command = await ws.receive_json()
            await ws.send_json(
                {"id": command["id"], "type": "result", "success": False, "error": "boom"}
            )
            await ws.receive()  # the client ends this connection itself
        await ws.close()
        return ws

    async def wait_connections(self, count: int) -> None:
        while self.connections < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)


@contextlib.asynccontextmanager
async def serving(handshakes: BreakingHandshakes) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/api/websocket", handshakes.websocket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_broken_off_handshake_is_retried_not_the_end_of_the_client() -> None:
    handshakes = BreakingHandshakes()
    async with serving(handshakes) as url:
        config = HomeAssistantConfig(url=url, token=SecretStr("t0ken"), backoff_max=0.05)
        client = HomeAssistantClient(config, RealClock(), Counters())
        task = asyncio.create_task(client.run())
        try:
            # each way once, and one attempt more: the client outlived them all
            await handshakes.wait_connections(len(BROKEN_ANSWERS) + 1)
            assert not task.done(), task.exception()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    assert client.counters.get(COUNTER_SCOPE, "connect") >= len(BROKEN_ANSWERS) - 1
    assert client.counters.get(COUNTER_SCOPE, "error") >= 1
    assert client.status != "connected"


async def test_an_unexpected_failure_shows_its_traceback_once_and_the_client_retries(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What the client did not expect is a bug in ambient: its traceback is logged (once, not
    at every retry), and the client keeps retrying. No real server can make ambient fail this
    way, so the login is replaced by one that raises."""

    async def failing_login(_self: HomeAssistantClient, _ws: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(HomeAssistantClient, "_authenticate", failing_login)
    handshakes = BreakingHandshakes()
    with caplog.at_level(logging.DEBUG, logger="ambient"):
        async with serving(handshakes) as url:
            config = HomeAssistantConfig(url=url, token=SecretStr("t0ken"), backoff_max=0.05)
            client = HomeAssistantClient(config, RealClock(), Counters())
            task = asyncio.create_task(client.run())
            try:
                await handshakes.wait_connections(3)
                assert not task.done(), task.exception()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    ours = [r for r in caplog.records if r.name.startswith("ambient")]
    tracebacks = [r for r in ours if r.exc_info is not None]
    assert [(r.levelno, r.getMessage()) for r in tracebacks[:1]] == [
        (logging.ERROR, "Home Assistant client failure")
    ]
    assert all(r.levelno == logging.DEBUG for r in tracebacks[1:])
    assert client.counters.get(COUNTER_SCOPE, "unexpected_error") >= 2
