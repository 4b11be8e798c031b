"""A handshake HA (or a proxy in front of it) breaks off is retried, never the client's end.

A real HA cannot be made to close its WebSocket between its greeting and its answer on demand,
so a loopback aiohttp server plays that moment: it greets as HA does (``auth_required``), then
closes, answers with text that is not JSON, or with a JSON list, or lets ambient in and answers
its first command with an error that is not an object; one way per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

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
