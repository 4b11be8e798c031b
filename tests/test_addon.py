"""ambient.addon's health endpoint: what the Supervisor watchdog sees (a real HTTP exchange
against a real status socket). The config merging is specified in tests/deploy."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from ambient.addon import serve_health
from ambient.addon_lines import relocate_lines
from ambient.status import StatusServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def get(port: int) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = (await reader.read()).decode()
    writer.close()
    head, _, body = raw.partition("\r\n\r\n")
    return head.splitlines()[0], body


async def wait_for_listener(port: int) -> None:
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            await asyncio.sleep(0)
            continue
        writer.close()
        return


async def test_health_follows_the_daemons_status_socket(tmp_path: Path) -> None:
    sock = tmp_path / "ambient.sock"
    port = free_port()
    health = asyncio.create_task(serve_health(sock, port, host="127.0.0.1"))
    try:
        await asyncio.wait_for(wait_for_listener(port), 5)

        status_line, body = await get(port)
        assert status_line == "HTTP/1.1 503 Service Unavailable"
        assert "no status socket" in body

        server = StatusServer(sock, lambda: {"version": "0.1.0", "uptime_s": 12.5})
        await server.start()
        status_line, body = await get(port)
        assert status_line == "HTTP/1.1 200 OK"
        assert body == "ok, up 12.5 s\n"

        await server.stop()
        status_line, _ = await get(port)
        assert status_line == "HTTP/1.1 503 Service Unavailable"
    finally:
        health.cancel()
        await asyncio.gather(health, return_exceptions=True)


def test_a_mistake_in_what_the_addon_added_keeps_the_generated_place(tmp_path: Path) -> None:
    """Only nodes the user wrote move to the user's file: store.path is the add-on's."""
    generated, user = tmp_path / "generated.yaml", tmp_path / "user.yaml"
    generated.write_text("people:\n- id: a\nstore:\n  path: [1]\n  wal: yes\n")
    user.write_text("# mine\npeople:\n  - id: a\nstore:\n  wal: yes\n")
    lines = [
        f"{generated}: 2 problems:\n",
        f"  {generated}:4:3: store.path: not a path\n",
        f"  {generated}:5:3: store.wal: unknown key\n",
    ]

    moved = list(relocate_lines(lines, generated, user, "ambient.yaml"))

    assert moved == [
        "ambient.yaml: 2 problems:\n",
        f"  {generated}:4:3: store.path: not a path\n",
        "  ambient.yaml:5:3: store.wal: unknown key\n",
    ]


def test_a_key_the_user_wrote_twice_is_named_where_the_addon_read_it(tmp_path: Path) -> None:
    """The add-on's YAML reader keeps the last of a repeated key, so its line is the one meant."""
    generated, user = tmp_path / "generated.yaml", tmp_path / "user.yaml"
    generated.write_text("people:\n- id: a\nstore:\n  wal: yes\n")
    user.write_text("people:\n  - id: a\nstore:\n  wal: no\nstore:\n  wal: yes\n")
    lines = [f"  {generated}:4:3: store.wal: unknown key\n"]

    moved = list(relocate_lines(lines, generated, user, "ambient.yaml"))

    assert moved == ["  ambient.yaml:6:3: store.wal: unknown key\n"]
