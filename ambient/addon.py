"""The Home Assistant add-on's glue: add-on options + Supervisor services -> an ambient config.

The user writes people, sensors and rules in ``/config/ambient.yaml`` (the add-on's
``addon_config`` folder). ``prepare`` adds what the Supervisor knows: Home Assistant through
``http://supervisor/core`` (a ``homeassistant`` section without a token: the daemon then uses
``SUPERVISOR_TOKEN`` from its environment, so the token is never written to disk or backups), the
MQTT broker from the Supervisor's ``mqtt`` service, the store in ``/data``. The result goes to
``/data/ambient.yaml`` with its secrets in ``/data/secrets.yaml`` (both mode 0600), never into
the user-visible folder.

``health`` answers the Supervisor's watchdog over HTTP: 200 while the daemon's status socket
answers (so a hung event loop fails it), 503 otherwise.

Used by deploy/homeassistant-addon/run.sh; ``prepare`` needs only the stdlib and PyYAML, so it
starts fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ambient.private_files import write_private

logger = logging.getLogger("ambient.addon")

SUPERVISOR_URL = "http://supervisor"
CORE_URL = "http://supervisor/core"
MQTT_PASSWORD_SECRET = "addon_mqtt_password"
STORE_KEY_SECRET = "addon_store_key"
HEALTH_PORT = 8099

EXAMPLE_CONFIG = """\
# ambient, running as a Home Assistant add-on.
# Home Assistant and the MQTT broker are filled in by the add-on; write people, sensors and
# rules here. Secrets go in secrets.yaml in this folder (`!secret name`).
# Restart the add-on after editing; its log shows any mistake with the line it is on.

people:
  - id: alex
    name: Alex

sensors:
  # A Polar H10 or any standard heart-rate strap; find it with the add-on's log at DEBUG.
  - id: chest_strap
    type: ble
    name: Polar H10
    person: alex

rules:
  - id: evening_calm
    person: alex
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70          # the stress score runs from 0 to 100
        for: 3 min
    cooldown: 30 min
    actions:
      - action: log
        message: "{rule}: stress stayed high"
"""


class AddonError(Exception):
    """Something the user must fix; the message says what and where."""


@dataclass(frozen=True)
class Tagged:
    """A ``!secret`` / ``!env`` value from the user's file, written back unchanged."""

    tag: str
    value: str


class _TagKeepingLoader(yaml.SafeLoader):
    pass


class _TagKeepingDumper(yaml.SafeDumper):
    pass


def _construct_tagged(loader: yaml.SafeLoader, node: yaml.Node) -> Tagged:
    assert isinstance(node, yaml.ScalarNode)
    return Tagged(node.tag, str(loader.construct_scalar(node)))


def _represent_tagged(dumper: yaml.SafeDumper, data: Tagged) -> yaml.Node:
    return dumper.represent_scalar(data.tag, data.value)


for _tag in ("!secret", "!env"):
    _TagKeepingLoader.add_constructor(_tag, _construct_tagged)
_TagKeepingDumper.add_representer(Tagged, _represent_tagged)


def build_config(
    user_config: Mapping[str, Any],
    options: Mapping[str, Any],
    mqtt_service: Mapping[str, Any] | None,
    supervisor_token: str | None,
    config_dir: Path,
    data_dir: Path,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The config to run and the add-on's own secrets. Sections the user wrote win."""
    config: dict[str, Any] = dict(user_config)
    secrets: dict[str, str] = {}

    if options.get("instance") and "instance" not in config:
        config["instance"] = options["instance"]

    if "homeassistant" not in config and supervisor_token:
        # No token here: the daemon reads SUPERVISOR_TOKEN from its environment.
        config["homeassistant"] = {"url": CORE_URL}

    if "mqtt" not in config:
        mqtt = _mqtt_section(options, mqtt_service, secrets)
        if mqtt is not None:
            config["mqtt"] = mqtt

    # A section that is no mapping (`store: /data/ambient.db`) is left as written, for
    # `ambient check` to name at its line; filling it in raised a traceback here.
    store = config.get("store") or {}
    if isinstance(store, dict):
        store = dict(store)
        store.setdefault("path", str(data_dir / "ambient.db"))
        if options.get("store_encryption_key") and "encryption" not in store:
            # The key goes to the private secrets file, never into the config text.
            secrets[STORE_KEY_SECRET] = str(options["store_encryption_key"])
            store["encryption"] = {"key": Tagged("!secret", STORE_KEY_SECRET)}
        config["store"] = store

    logging_section = config.get("logging") or {}
    if isinstance(logging_section, dict):
        logging_section = dict(logging_section)
        if options.get("log_level"):
            logging_section["level"] = str(options["log_level"]).upper()
        # The add-on's log keeps `ambient run`'s stdout: the timeline shows no heart values.
        logging_section.setdefault("timeline_values", "hide")
        config["logging"] = logging_section

    sensors = config.get("sensors") or []
    if isinstance(sensors, list):
        config["sensors"] = [_absolute_recording(s, config_dir) for s in sensors]
    return config, secrets


#: The add-on's broker options, set aside by an ``mqtt:`` section of the user's.
_MQTT_OPTIONS = ("mqtt_host", "mqtt_port", "mqtt_username", "mqtt_password")


def options_not_used(user_config: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    """What the add-on's page sets that a section of the user's file wins over: set there and
    silently not used, an option (a broker, a store key) looked as if it were in force. Names
    only, never a value."""
    unused = []
    if options.get("instance") and "instance" in user_config:
        unused.append("the instance option is not used")
    if "mqtt" in user_config:
        names = [name for name in _MQTT_OPTIONS if options.get(name)]
        if names:
            unused.append(f"the broker options ({', '.join(names)}) are not used")
        # On by default: only turned off on the page can it be told apart from not set.
        mqtt = user_config["mqtt"]
        own = mqtt.get("discovery", True) if isinstance(mqtt, dict) else True
        if options.get("mqtt_discovery") is False and own is not False:
            unused.append("the mqtt_discovery option is not used")
    store = user_config.get("store")
    if options.get("store_encryption_key") and isinstance(store, dict) and "encryption" in store:
        unused.append("the store_encryption_key option is not used")
    return unused


def broker_options_not_used(options: Mapping[str, Any]) -> str | None:
    """Broker options that mean nothing without another, silently not used: a port or a login
    without a broker (the Supervisor's is used), a password without a username."""
    if not options.get("mqtt_host"):
        names = [name for name in _MQTT_OPTIONS[1:] if options.get(name)]
        if names:
            return f"the broker options ({', '.join(names)}) are not used without mqtt_host"
    elif options.get("mqtt_password") and not options.get("mqtt_username"):
        return "the mqtt_password option is not used without mqtt_username"
    return None


def _mqtt_section(
    options: Mapping[str, Any], service: Mapping[str, Any] | None, secrets: dict[str, str]
) -> dict[str, Any] | None:
    """An explicit broker in the options wins over the Supervisor's (Mosquitto add-on)."""
    if options.get("mqtt_host"):
        source: Mapping[str, Any] = {
            "host": options["mqtt_host"],
            "port": options.get("mqtt_port") or 1883,
            "username": options.get("mqtt_username"),
            "password": options.get("mqtt_password"),
            "ssl": False,
        }
    elif service:
        source = service
    else:
        return None
    mqtt: dict[str, Any] = {"host": str(source["host"]), "port": int(source.get("port") or 1883)}
    if source.get("username"):
        mqtt["username"] = str(source["username"])
        if source.get("password"):
            secrets[MQTT_PASSWORD_SECRET] = str(source["password"])
            mqtt["password"] = Tagged("!secret", MQTT_PASSWORD_SECRET)
    if source.get("ssl"):
        mqtt["tls"] = {}
    if "mqtt_discovery" in options:
        mqtt["discovery"] = bool(options["mqtt_discovery"])
    return mqtt


def _absolute_recording(sensor: Any, config_dir: Path) -> Any:
    """Recording paths are relative to the user's file, which is not where the result lives."""
    if isinstance(sensor, dict) and sensor.get("type") == "recording":
        raw = sensor.get("path")
        if isinstance(raw, str) and not Path(raw).is_absolute():
            return {**sensor, "path": str(config_dir / raw)}
    return sensor


def read_user_config(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user's config (tags kept) and their secrets; an example is written on first start."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
        logger.warning("wrote an example config to %s: edit it and restart the add-on", path)
    config = _load_mapping(path, _TagKeepingLoader, _refuse_repeated_keys)
    secrets_path = path.with_name("secrets.yaml")
    secrets = (
        _load_mapping(secrets_path, yaml.SafeLoader, _refuse_secrets_given_twice)
        if secrets_path.exists()
        else {}
    )
    return config, secrets


def _load_mapping(
    path: Path,
    loader_type: type[yaml.SafeLoader],
    refuse: Callable[[Path, yaml.Node], None],
) -> dict[str, Any]:
    """The mapping in ``path``; ``refuse`` raises at what PyYAML would keep without a word."""
    try:
        loader = loader_type(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            if node is not None:
                refuse(path, node)
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise AddonError(f"{where}: YAML syntax: {exc.problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AddonError(f"{path}: cannot read: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AddonError(f"{path}: must be a mapping of sections")
    return data


def _refuse_secrets_given_twice(path: Path, root: yaml.Node) -> None:
    """A secret the user's secrets.yaml gives twice with different values was kept as the last
    without a word, and the generated file holds only that one: refused at its place, as the
    config loader refuses it (never showing a value)."""
    from ambient.config.yaml_source import secrets_given_twice

    twice = secrets_given_twice(root)
    if twice:
        raise AddonError(
            "\n".join(f"{path}:{repeat.line}:{repeat.column}: {repeat}" for repeat in twice)
        )


def _refuse_repeated_keys(path: Path, root: yaml.Node) -> None:
    """PyYAML keeps the last of a key written twice without a word, which dropped the first
    section the user wrote; ``ambient check`` only ever saw the generated file, which has one.
    Each repeated key is a mistake at its place, found and said by the config loader itself."""
    from ambient.config.yaml_source import repeated_keys

    repeated = repeated_keys(path, root)
    if repeated:
        raise AddonError("\n".join(str(issue) for issue in repeated))


def fetch_mqtt_service(supervisor_url: str, token: str | None) -> dict[str, Any] | None:
    """The Supervisor's MQTT service (host, port, ssl, username, password), or ``None``."""
    if not token:
        return None
    request = urllib.request.Request(
        f"{supervisor_url.rstrip('/')}/services/mqtt",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        # 400: no add-on provides MQTT (no Mosquitto installed); not an error for us.
        logger.info("no MQTT service from the Supervisor (HTTP %s); MQTT stays off", exc.code)
        return None
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
        raise AddonError(f"cannot ask the Supervisor for the MQTT service: {exc}") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not data.get("host"):
        logger.info("the Supervisor offers no MQTT broker; MQTT stays off")
        return None
    return data


def user_config_name(options: Mapping[str, Any]) -> str:
    """The user's file in the add-on's config folder (the ``config_file`` option)."""
    return str(options.get("config_file") or "ambient.yaml")


def relocate(options_path: Path, config_dir: Path, config: Path) -> int:
    """``ambient check``'s output (stdin) with each mistake at the user's own line."""
    from ambient.addon_lines import relocate_lines

    try:
        options = json.loads(options_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        options = {}
    user = config_dir / user_config_name(options if isinstance(options, dict) else {})
    for line in relocate_lines(sys.stdin, config, user, str(user)):
        sys.stdout.write(line)
        sys.stdout.flush()
    return 0


def prepare(
    options_path: Path, config_dir: Path, data_dir: Path, supervisor_url: str, token: str | None
) -> Path:
    """Write ``data_dir/ambient.yaml`` and its secrets; return the config's path."""
    try:
        options = json.loads(options_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AddonError(f"{options_path}: cannot read the add-on options: {exc}") from None
    config_name = user_config_name(options)
    user_config, user_secrets = read_user_config(config_dir / config_name)
    if not token:
        logger.warning("SUPERVISOR_TOKEN is not set: Home Assistant and MQTT are not filled in")
    mqtt_service = None
    if "mqtt" not in user_config and not options.get("mqtt_host"):
        mqtt_service = fetch_mqtt_service(supervisor_url, token)
    for unused in options_not_used(user_config, options):
        logger.warning("%s, as %s sets it itself", unused, config_dir / config_name)
    if "mqtt" not in user_config and (lone := broker_options_not_used(options)) is not None:
        logger.warning("%s", lone)
    config, addon_secrets = build_config(
        user_config, options, mqtt_service, token, config_dir, data_dir
    )
    clash = sorted(set(user_secrets) & set(addon_secrets))
    if clash:
        raise AddonError(f"secrets.yaml uses names reserved by the add-on: {', '.join(clash)}")
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "ambient.yaml"
    header = f"# Generated by the ambient add-on from {config_dir / config_name}; edit that.\n"
    write_private(out, header + yaml.dump(config, Dumper=_TagKeepingDumper, sort_keys=False))
    write_private(
        data_dir / "secrets.yaml",
        yaml.safe_dump({**user_secrets, **addon_secrets}, sort_keys=False),
    )
    return out


def status_socket_of(config_path: Path) -> Path:
    """Where ``ambient run`` on this config answers: beside its store, which the user may have
    moved out of /data (a fixed /data/ambient.sock then never answered, and the watchdog
    restarted a healthy add-on over and over)."""
    from ambient.config import load_config
    from ambient.status import socket_path_for

    return socket_path_for(load_config(config_path).store.path)


async def serve_health(socket_path: Path, port: int, host: str = "0.0.0.0") -> None:
    """HTTP health for the Supervisor watchdog: 200 when the daemon answers, else 503."""
    from ambient.status import StatusUnavailable, query_status

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                await reader.readuntil(b"\r\n\r\n")
            try:
                status = await query_status(socket_path, timeout_s=3.0)
            except StatusUnavailable as exc:
                code, body = "503 Service Unavailable", f"unhealthy: {exc}\n"
            else:
                code, body = "200 OK", f"ok, up {status.get('uptime_s', '?')} s\n"
            writer.write(
                f"HTTP/1.1 {code}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n{body}".encode()
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ambient.addon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="write the config the add-on runs")
    prep.add_argument("--options", type=Path, default=Path("/data/options.json"))
    prep.add_argument("--config-dir", type=Path, default=Path("/config"))
    prep.add_argument("--data-dir", type=Path, default=Path("/data"))
    moved = commands.add_parser("relocate", help="say check's mistakes at the user's lines")
    moved.add_argument("--options", type=Path, default=Path("/data/options.json"))
    moved.add_argument("--config-dir", type=Path, default=Path("/config"))
    moved.add_argument("--config", type=Path, default=Path("/data/ambient.yaml"))
    health = commands.add_parser("health", help="serve the watchdog's health check")
    where = health.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="the config ambient runs (its store's socket)")
    where.add_argument("--socket", type=Path, default=Path("/data/ambient.sock"))
    health.add_argument("--port", type=int, default=HEALTH_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "relocate":
        return relocate(args.options, args.config_dir, args.config)
    if args.command == "health":
        from ambient.config import ConfigError

        try:
            socket_path = args.socket if args.config is None else status_socket_of(args.config)
        except ConfigError as exc:
            print(f"ambient add-on: {exc}", file=sys.stderr)
            return 1
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_health(socket_path, args.port))
        return 0
    try:
        out = prepare(
            args.options,
            args.config_dir,
            args.data_dir,
            os.environ.get("SUPERVISOR_URL", SUPERVISOR_URL),
            os.environ.get("SUPERVISOR_TOKEN") or None,
        )
    except AddonError as exc:
        for line in str(exc).splitlines():
            print(f"ambient add-on: {line}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
