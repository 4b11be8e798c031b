"""ambient.addon's health endpoint: what the Supervisor watchdog sees (a real HTTP exchange
against a real status socket). The config merging is specified in tests/deploy."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

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
    """prepare refuses a repeated key; should one reach relocate, the last is the one PyYAML
    kept, so its line is the one meant."""
    generated, user = tmp_path / "generated.yaml", tmp_path / "user.yaml"
    generated.write_text("people:\n- id: a\nstore:\n  wal: yes\n")
    user.write_text("people:\n  - id: a\nstore:\n  wal: no\nstore:\n  wal: yes\n")
    lines = [f"  {generated}:4:3: store.wal: unknown key\n"]

    moved = list(relocate_lines(lines, generated, user, "ambient.yaml"))

    assert moved == ["  ambient.yaml:6:3: store.wal: unknown key\n"]


def prepare(tmp_path: Path, config_dir: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`ambient.addon prepare` as the add-on's start runs it, on the user's `ambient.yaml` in
    ``config_dir``, outside a Supervisor (no token)."""
    options = tmp_path / "options.json"
    options.write_text('{"config_file": "ambient.yaml"}')
    env = {k: v for k, v in os.environ.items() if k != "SUPERVISOR_TOKEN"}
    return subprocess.run(
        [
            *(sys.executable, "-m", "ambient.addon", "prepare", "--options", str(options)),
            *("--config-dir", str(config_dir), "--data-dir", str(data_dir)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_key_written_twice_in_the_users_file_stops_prepare_naming_it(tmp_path: Path) -> None:
    """PyYAML keeps the last of a repeated key without a word, so the first section the user
    wrote was dropped and `ambient check` (on the generated file) never saw it: now prepare
    stops with one line per repeated key, at its place, as the config loader says it."""
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir()
    user_file = config_dir / "ambient.yaml"
    user_file.write_text(
        "people:\n  - id: alex\nrules: []\nstore:\n  wal: true\nrules:\n  - id: calm\n"
    )

    result = prepare(tmp_path, config_dir, data_dir)

    assert result.returncode == 1
    assert (
        f"ambient add-on: {user_file}:6:1: rules: duplicate key `rules` (first at line 3)\n"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (data_dir / "ambient.yaml").exists()


def test_keys_the_config_loader_reads_as_one_stop_prepare_as_it_says_them(
    tmp_path: Path,
) -> None:
    """The add-on had its own walker, which compared the keys as YAML reads them: `1:` and
    `'1':` passed, though the config loader reads both as the key `1` and `check` then named a
    line of the generated file. Prepare now asks the loader, and says what it says."""
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir()
    user_file = config_dir / "ambient.yaml"
    user_file.write_text(
        "rules:\n  - id: calm\n    actions:\n      - action: ha_service\n"
        "        service: light.turn_on\n        data:\n          1: dim\n          '1': off\n"
    )

    result = prepare(tmp_path, config_dir, data_dir)

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"ambient add-on: {user_file}:8:11: rules[0].actions[0].data.1: duplicate key `1` "
        "(first at line 7)"
    )
    assert not (data_dir / "ambient.yaml").exists()


def test_a_key_written_after_a_merge_is_no_repeat_for_prepare(tmp_path: Path) -> None:
    """A YAML merge (`<<: *anchor`) gives only the keys the mapping does not write itself."""
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir()
    (config_dir / "ambient.yaml").write_text(
        "x-broker: &broker\n  host: broker.lan\n  port: 1883\n"
        "mqtt:\n  <<: *broker\n  host: other.lan\n"
    )

    result = prepare(tmp_path, config_dir, data_dir)

    assert result.returncode == 0, result.stderr
    written = yaml.safe_load((data_dir / "ambient.yaml").read_text())
    assert written["mqtt"] == {"host": "other.lan", "port": 1883}


def test_a_secret_given_twice_with_different_values_stops_prepare_naming_it(
    tmp_path: Path,
) -> None:
    """The user's secrets.yaml was read keeping the last of a repeated name without a word, and
    the generated one holds that single value: `ambient check` could not see it. Now prepare
    stops with one line at the repeat's place, as the config loader says it; never the values."""
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir()
    (config_dir / "ambient.yaml").write_text("people:\n  - id: alex\n")
    secrets = config_dir / "secrets.yaml"
    secrets.write_text("ha_token: old-Secret-1\nha_token: new-Secret-2\nsame: a\nsame: a\n")

    result = prepare(tmp_path, config_dir, data_dir)

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"ambient add-on: {secrets}:2:1: secret `ha_token` is given twice with different "
        "values (first at line 1): keep one"
    )
    assert "Secret-" not in result.stderr + result.stdout
    assert not (data_dir / "secrets.yaml").exists()
