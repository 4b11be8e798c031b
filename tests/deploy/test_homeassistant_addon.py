"""deploy/homeassistant-addon: the files follow the add-on format, and the run script turns
add-on options plus Supervisor service data into a config ``ambient check`` accepts.

The format rules below are written from the developer docs (developers.home-assistant.io,
"Add-on configuration", "Add-on communication"). The Supervisor itself cannot run here, so the
run-script test serves its ``/services/mqtt`` answer from a small local HTTP server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.mosquitto import free_port

import ambient
from ambient.config import load_config

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "deploy" / "homeassistant-addon"

REQUIRED_KEYS = {"name": str, "version": str, "slug": str, "description": str, "arch": list}
OPTIONAL_KEYS = {
    "machine", "url", "startup", "webui", "boot", "ports", "ports_description", "host_network",
    "host_ipc", "host_dbus", "host_pid", "host_uts", "devices", "homeassistant", "hassio_role",
    "hassio_api", "homeassistant_api", "docker_api", "privileged", "full_access", "apparmor",
    "map", "environment", "audio", "video", "gpio", "usb", "uart", "udev", "devicetree",
    "kernel_modules", "stdin", "legacy", "options", "schema", "image", "codenotary", "timeout",
    "tmpfs", "discovery", "services", "auth_api", "ingress", "ingress_port", "ingress_entry",
    "ingress_stream", "panel_icon", "panel_title", "panel_admin", "backup", "backup_pre",
    "backup_post", "backup_exclude", "advanced", "stage", "init", "watchdog", "realtime",
    "journald", "breaking_versions", "ulimits",
}  # fmt: skip
ARCHES = {"armhf", "armv7", "aarch64", "amd64", "i386"}
MAP_TYPES = {
    "homeassistant_config", "addon_config", "ssl", "addons", "backup", "share", "media",
    "all_addon_configs", "data",
}  # fmt: skip
SCHEMA_TYPE = re.compile(
    r"^(str(\(\d*,\d*\))?|bool|int(\(-?\d*,-?\d*\))?|float(\([\d.-]*,[\d.-]*\))?|email|url"
    r"|password|port|match\(.+\)|list\([^|)]+(\|[^|)]+)*\)|device(\(.+\))?)\??$"
)


def addon_config() -> dict[str, Any]:
    data = yaml.safe_load((ADDON / "config.yaml").read_text())
    assert isinstance(data, dict)
    return data


# --- config.yaml --------------------------------------------------------------------------


def test_required_keys_and_types() -> None:
    config = addon_config()
    for key, kind in REQUIRED_KEYS.items():
        assert isinstance(config.get(key), kind), key
    assert re.fullmatch(r"[a-z0-9_]+", config["slug"])
    assert config["version"] == ambient.__version__


def test_only_documented_keys() -> None:
    unknown = set(addon_config()) - set(REQUIRED_KEYS) - OPTIONAL_KEYS
    assert unknown == set()


def test_what_ambient_needs_from_the_supervisor() -> None:
    config = addon_config()
    assert set(config["arch"]) == {"aarch64", "armv7", "amd64"} <= ARCHES
    assert config["host_dbus"] is True
    assert config["homeassistant_api"] is True
    assert config["services"] == ["mqtt:want"]
    assert config["init"] is False
    for service in config["services"]:
        assert re.fullmatch(r"[a-z]+:(provide|want|need)", service)
    for entry in config["map"]:
        assert entry["type"] in MAP_TYPES
        assert set(entry) <= {"type", "read_only", "path"}
    assert [entry["type"] for entry in config["map"]] == ["addon_config"]
    assert re.fullmatch(r"(https?|tcp)://\[HOST\]:\[PORT:\d+\](/\S*)?", config["watchdog"])
    assert config["startup"] in {"initialize", "system", "services", "application", "once"}
    assert config["boot"] in {"auto", "manual", "manual_only"}


def test_schema_uses_supported_types_and_options_fit_it() -> None:
    config = addon_config()
    options, schema = config["options"], config["schema"]
    for key, kind in schema.items():
        assert isinstance(kind, str) and SCHEMA_TYPE.match(kind), f"{key}: {kind!r}"
    assert set(options) <= set(schema)
    for key, kind in schema.items():
        if kind.endswith("?"):
            assert key not in options, f"{key} is optional, so it must have no default"
        else:
            assert key in options, f"{key} is required, so it needs a default"
    assert re.fullmatch(r"^[A-Za-z0-9_.-]+\.ya?ml$", options["config_file"])
    assert options["log_level"] in schema["log_level"][5:-1].split("|")
    assert isinstance(options["mqtt_discovery"], bool)


def test_translations_cover_the_schema() -> None:
    schema = addon_config()["schema"]
    translations = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text())

    assert set(translations) <= {"configuration", "network"}
    assert set(translations["configuration"]) == set(schema)
    for key, text in translations["configuration"].items():
        assert text["name"] and text["description"], key


def test_build_yaml_and_dockerfile_match_the_arches() -> None:
    arches = set(addon_config()["arch"])
    build = yaml.safe_load((ADDON / "build.yaml").read_text())
    dockerfile = (ADDON / "Dockerfile").read_text()

    assert set(build["build_from"]) == arches
    assert all("home-assistant" in image for image in build["build_from"].values())
    assert re.search(r"^ARG BUILD_FROM$", dockerfile, re.M)
    assert re.search(r"^FROM \$\{?BUILD_FROM\}?$", dockerfile, re.M)
    assert 'io.hass.type="addon"' in dockerfile
    label = re.search(r'io\.hass\.arch="([^"]+)"', dockerfile)
    assert label and set(label.group(1).split("|")) == arches
    assert 'CMD [ "/run.sh" ]' in dockerfile
    assert os.access(ADDON / "run.sh", os.X_OK)
    assert (ADDON / "DOCS.md").read_text().startswith("# ")


# --- the run script -------------------------------------------------------------------------

TOKEN = "supervisor-token-for-tests"
MQTT_SERVICE = {
    "addon": "core_mosquitto",
    "host": "core-mosquitto",
    "port": 1883,
    "ssl": False,
    "protocol": "3.1.1",
    "username": "addons",
    "password": "broker-pass",
}
USER_CONFIG = """\
people:
  - id: sam
sensors:
  - id: strap
    type: ble
    name: Polar H10
    person: sam
  - id: replay
    type: recording
    path: recordings/evening.csv
    person: sam
rules:
  - id: calm
    person: sam
    triggers:
      - trigger: signal
        signal: stress_score
        above: 0.7
        for: 2 min
    actions:
      - action: notify
        service: notify.mobile_app_sams_phone
        message: !env AMBIENT_TEST_CALM_MESSAGE Time for a breather
"""


class FakeSupervisor:
    """Answers ``GET /services/mqtt`` like the Supervisor, for a bearer token it knows."""

    def __init__(self, service: dict[str, Any] | None) -> None:
        outer = self
        self.requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._reply(401, {"result": "error", "message": "Unauthorized"})
                elif self.path == "/services/mqtt" and service is not None:
                    self._reply(200, {"result": "ok", "data": service})
                else:
                    self._reply(400, {"result": "error", "message": "Service not available"})

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSupervisor:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def supervisor() -> Iterator[FakeSupervisor]:
    with FakeSupervisor(MQTT_SERVICE) as fake:
        yield fake


def ambient_check_command(tmp_path: Path) -> str:
    """The real ``ambient check`` when the CLI exists; else a stand-in calling load_config."""
    real = Path(sys.executable).with_name("ambient")
    try:
        import ambient.cli  # noqa: F401
    except ImportError:
        shim = tmp_path / "ambient-check"
        shim.write_text(
            f"#!{sys.executable}\n"
            "import sys\nfrom pathlib import Path\n"
            "from ambient.config import ConfigError, load_config\n"
            "assert sys.argv[1:3] == ['check', '--config'], sys.argv\n"
            "try:\n    load_config(Path(sys.argv[3]))\n"
            "except ConfigError as exc:\n    print(exc, file=sys.stderr)\n    sys.exit(1)\n"
        )
        shim.chmod(0o755)
        return str(shim)
    return str(real)


def run_addon(
    tmp_path: Path, supervisor_url: str, options: dict[str, Any], token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "options.json").write_text(json.dumps(options))
    env = {
        **os.environ,
        "AMBIENT_ADDON_OPTIONS": str(tmp_path / "options.json"),
        "AMBIENT_ADDON_CONFIG_DIR": str(tmp_path / "config"),
        "AMBIENT_ADDON_DATA_DIR": str(tmp_path / "data"),
        "AMBIENT_ADDON_PYTHON": sys.executable,
        "AMBIENT_ADDON_AMBIENT": ambient_check_command(tmp_path),
        "AMBIENT_ADDON_CHECK_ONLY": "1",
        "SUPERVISOR_URL": supervisor_url,
        "PYTHONPATH": str(REPO),
    }
    env.pop("SUPERVISOR_TOKEN", None)
    if token is not None:
        env["SUPERVISOR_TOKEN"] = token
    return subprocess.run(
        ["bash", str(ADDON / "run.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_user_config(tmp_path: Path, text: str = USER_CONFIG) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "ambient.yaml").write_text(text)
    (config_dir / "secrets.yaml").write_text("ha_token: users-own-token\n")
    (config_dir / "recordings").mkdir(exist_ok=True)  # the replay sensor's file is there
    (config_dir / "recordings" / "evening.csv").write_text("t,metric,value\n0,hr,60\n")


DEFAULT_OPTIONS = {"config_file": "ambient.yaml", "log_level": "debug", "mqtt_discovery": False}


def test_run_script_builds_a_config_ambient_check_accepts(
    tmp_path: Path, supervisor: FakeSupervisor
) -> None:
    write_user_config(tmp_path)

    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration is valid" in result.stdout
    assert supervisor.requests == ["/services/mqtt"]
    data = tmp_path / "data"
    config = load_config(data / "ambient.yaml")
    assert config.homeassistant is not None
    assert config.homeassistant.url == "http://supervisor/core"
    assert config.homeassistant.token is None  # the daemon takes SUPERVISOR_TOKEN from its env
    assert config.mqtt is not None
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "core-mosquitto",
        1883,
        "addons",
    )
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "broker-pass"
    assert config.mqtt.discovery is False
    assert config.mqtt.tls is None
    assert config.store.path == data / "ambient.db"
    assert config.logging.level == "DEBUG"
    # The add-on's log is kept (HA admins read it): the timeline leaves heart values out.
    assert config.logging.timeline_values == "hide"
    assert [rule.id for rule in config.rules] == ["calm"]
    assert getattr(config.rules[0].actions[0], "message", None) == "Time for a breather"
    recording = config.sensors[1]
    assert getattr(recording, "path", None) == tmp_path / "config" / "recordings/evening.csv"
    # Credentials stay in private files, never in the user's folder or the config text.
    for name in ("ambient.yaml", "secrets.yaml"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    for written in data.iterdir():
        assert TOKEN not in written.read_text(), written
    assert "broker-pass" not in (data / "ambient.yaml").read_text()
    assert TOKEN not in result.stdout + result.stderr
    assert not (tmp_path / "config" / "secrets.yaml").read_text().count(TOKEN)


def test_broker_from_options_wins_and_tls_from_service(tmp_path: Path) -> None:
    write_user_config(tmp_path)
    with FakeSupervisor({**MQTT_SERVICE, "ssl": True}) as fake:
        result = run_addon(
            tmp_path,
            fake.url,
            {**DEFAULT_OPTIONS, "mqtt_host": "broker.lan", "mqtt_port": 8883},
        )
        assert result.returncode == 0, result.stderr
        assert fake.requests == []  # not asked: the user named a broker
    config = load_config(tmp_path / "data" / "ambient.yaml")
    assert config.mqtt is not None
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == ("broker.lan", 8883, None)

    with FakeSupervisor({**MQTT_SERVICE, "ssl": True}) as fake:
        assert run_addon(tmp_path, fake.url, DEFAULT_OPTIONS).returncode == 0
    config = load_config(tmp_path / "data" / "ambient.yaml")
    assert config.mqtt is not None and config.mqtt.tls is not None


def test_without_mosquitto_mqtt_stays_off(tmp_path: Path) -> None:
    write_user_config(tmp_path)
    with FakeSupervisor(None) as fake:
        result = run_addon(tmp_path, fake.url, DEFAULT_OPTIONS)

    assert result.returncode == 0, result.stderr
    assert "MQTT stays off" in result.stderr
    assert load_config(tmp_path / "data" / "ambient.yaml").mqtt is None


def test_sections_the_user_wrote_are_kept(tmp_path: Path, supervisor: FakeSupervisor) -> None:
    own = USER_CONFIG + (
        "homeassistant:\n  url: http://192.168.1.5:8123\n  token: !secret ha_token\n"
        "mqtt:\n  host: mqtt.lan\n"
    )
    write_user_config(tmp_path, own)

    assert run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS).returncode == 0

    config = load_config(tmp_path / "data" / "ambient.yaml")
    assert config.homeassistant is not None
    assert config.homeassistant.url == "http://192.168.1.5:8123"
    assert config.homeassistant.token is not None
    assert config.homeassistant.token.get_secret_value() == "users-own-token"
    assert config.mqtt is not None and config.mqtt.host == "mqtt.lan"
    assert supervisor.requests == []


def test_options_a_section_of_the_user_wins_over_are_said_not_to_be_used(
    tmp_path: Path, supervisor: FakeSupervisor
) -> None:
    """A broker, an instance or a store key set on the add-on's page was silently not used
    when ambient.yaml had its own section: the option looked as if it were in force. The log
    now says which are not used (their names only, never a value)."""
    own = USER_CONFIG + (
        "instance: kitchen\nmqtt:\n  host: mqtt.lan\n"
        "store:\n  encryption:\n    key: !secret ha_token\n"
    )
    write_user_config(tmp_path, own)
    options = {
        **DEFAULT_OPTIONS,
        "instance": "pi",
        "mqtt_host": "broker.lan",
        "mqtt_password": "Broker-Pass-1",
        "store_encryption_key": "Store-Key-1",
    }

    result = run_addon(tmp_path, supervisor.url, options)

    user_file = tmp_path / "config" / "ambient.yaml"
    said = [line for line in result.stderr.splitlines() if "not used" in line]
    assert said == [
        f"WARNING ambient.addon: the instance option is not used, as {user_file} sets it itself",
        "WARNING ambient.addon: the broker options (mqtt_host, mqtt_password) are not used, "
        f"as {user_file} sets it itself",
        # Turned off on the page (DEFAULT_OPTIONS), left on by the user's `mqtt:`.
        "WARNING ambient.addon: the mqtt_discovery option is not used, as "
        f"{user_file} sets it itself",
        "WARNING ambient.addon: the store_encryption_key option is not used, as "
        f"{user_file} sets it itself",
    ]
    assert "Broker-Pass-1" not in result.stderr + result.stdout
    assert "Store-Key-1" not in result.stderr + result.stdout


def test_discovery_off_on_the_page_and_in_the_users_mqtt_section_is_not_said(
    tmp_path: Path, supervisor: FakeSupervisor
) -> None:
    write_user_config(tmp_path, USER_CONFIG + "mqtt:\n  host: mqtt.lan\n  discovery: false\n")

    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "not used" not in result.stderr


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            {"mqtt_port": 8883, "mqtt_username": "me"},
            "the broker options (mqtt_port, mqtt_username) are not used without mqtt_host",
        ),
        (
            {"mqtt_host": "broker.lan", "mqtt_password": "Broker-Pass-1"},
            "the mqtt_password option is not used without mqtt_username",
        ),
    ],
)
def test_broker_options_that_mean_nothing_alone_are_said_not_to_be_used(
    tmp_path: Path, supervisor: FakeSupervisor, options: dict[str, Any], said: str
) -> None:
    """A port or login without a broker (the Supervisor's was used), or a password without a
    username (an anonymous login), was dropped without a word."""
    write_user_config(tmp_path)

    result = run_addon(tmp_path, supervisor.url, {**DEFAULT_OPTIONS, **options})

    assert f"WARNING ambient.addon: {said}\n" in result.stderr
    assert "Broker-Pass-1" not in result.stderr + result.stdout


def test_timeline_values_the_user_wrote_are_kept(
    tmp_path: Path, supervisor: FakeSupervisor
) -> None:
    write_user_config(tmp_path, USER_CONFIG + "logging:\n  timeline_values: show\n")

    assert run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS).returncode == 0

    config = load_config(tmp_path / "data" / "ambient.yaml")
    assert (config.logging.level, config.logging.timeline_values) == ("DEBUG", "show")


def test_first_start_writes_an_example_that_passes_check(
    tmp_path: Path, supervisor: FakeSupervisor
) -> None:
    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "wrote an example config" in result.stderr
    # Its rule triggers as DOCS.md's first configuration does, on the 0-100 stress score.
    example = yaml.safe_load((tmp_path / "config" / "ambient.yaml").read_text())
    documented = (ADDON / "DOCS.md").read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    trigger = yaml.safe_load(documented)["rules"][0]["triggers"][0]
    assert example["rules"][0]["triggers"][0] == trigger


def test_config_mistake_stops_the_addon_with_file_and_line(
    tmp_path: Path, supervisor: FakeSupervisor
) -> None:
    """check reads the generated /data/ambient.yaml; each mistake is said at the place in
    the user's file (comments and blank lines there, re-written sections in the other)."""
    text = "# Sam's home\n\n" + USER_CONFIG.replace("above: 0.7", "abov: 0.7").replace(
        "      - action: notify", "    cooldown: soon\n\n    actions:\n      - action: notify"
    ).replace("    actions:\n    cooldown", "    cooldown")
    write_user_config(tmp_path, text)
    lines = text.splitlines()
    key_at = next(n for n, line in enumerate(lines, 1) if "abov:" in line)
    value_at = next(n for n, line in enumerate(lines, 1) if "cooldown:" in line)

    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS)

    assert result.returncode == 1
    user_file = tmp_path / "config" / "ambient.yaml"
    assert f"{user_file}:{key_at}:9: rules[0].triggers[0].abov: unknown key" in result.stdout
    assert f"{user_file}:{value_at}:5: rules[0].cooldown: `soon` is not" in result.stdout
    assert f"{tmp_path / 'data' / 'ambient.yaml'}:" not in result.stdout
    assert "fix" in result.stdout


def test_yaml_syntax_error_names_the_users_file(tmp_path: Path, supervisor: FakeSupervisor) -> None:
    write_user_config(tmp_path, "people:\n  - id: sam\n   name: x\n")

    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS)

    assert result.returncode == 1
    assert f"{tmp_path / 'config' / 'ambient.yaml'}:3" in result.stderr
    # What to do, as after check's mistakes: the add-on's log ended on the mistake alone.
    assert result.stdout.splitlines()[-1] == (
        f"[ambient add-on] the configuration has errors (above); fix {tmp_path / 'config'} "
        "and restart the add-on"
    )


def test_reserved_secret_names_are_refused(tmp_path: Path, supervisor: FakeSupervisor) -> None:
    write_user_config(tmp_path)
    (tmp_path / "config" / "secrets.yaml").write_text("ha_token: x\naddon_mqtt_password: mine\n")

    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS)

    assert result.returncode == 1
    assert "reserved by the add-on: addon_mqtt_password" in result.stderr


def test_without_supervisor_token_ha_is_left_out_and_check_says_so(
    tmp_path: Path, supervisor: FakeSupervisor
) -> None:
    """``homeassistant_api: true`` gives the token; without it, HA actions cannot run."""
    write_user_config(tmp_path)

    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS, token=None)

    assert result.returncode == 1
    assert "SUPERVISOR_TOKEN is not set" in result.stderr
    assert "action `notify` needs a `homeassistant:` section" in result.stdout + result.stderr
    written = yaml.safe_load((tmp_path / "data" / "ambient.yaml").read_text().replace("!env", ""))
    assert "homeassistant" not in written and "mqtt" not in written
    assert supervisor.requests == []


def test_health_asks_the_socket_beside_a_store_the_user_moved(tmp_path: Path) -> None:
    """The whole run.sh with the real ``ambient run``: the user's store outside /data moves
    the daemon's status socket with it, and the watchdog's health check follows. The daemon's
    READY=1 arrives on a notify socket this test owns, as the s6/systemd one would."""
    moved_store = tmp_path / "elsewhere" / "ambient.db"
    write_user_config(
        tmp_path,
        "people:\n  - id: alex\n"  # the recording's person: its readings keep it running
        "sensors:\n  - id: replay\n    type: recording\n"
        f"    path: {REPO / 'ambient' / 'data' / 'resting-hour.csv'}\n    person: alex\n"
        "    loop: true\n"
        "rules:\n  - id: calm\n    triggers:\n      - trigger: signal\n"
        "        signal: stress_score\n        above: 70\n    actions:\n      - action: log\n"
        f"store:\n  path: {moved_store}\n",
    )
    (tmp_path / "options.json").write_text(json.dumps(DEFAULT_OPTIONS))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(60)
    port = free_port()
    env = {
        **os.environ,
        "AMBIENT_ADDON_OPTIONS": str(tmp_path / "options.json"),
        "AMBIENT_ADDON_CONFIG_DIR": str(tmp_path / "config"),
        "AMBIENT_ADDON_DATA_DIR": str(tmp_path / "data"),
        "AMBIENT_ADDON_PYTHON": sys.executable,
        "AMBIENT_ADDON_AMBIENT": str(Path(sys.executable).with_name("ambient")),
        "AMBIENT_ADDON_HEALTH_PORT": str(port),
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "PYTHONPATH": str(REPO),
    }
    env.pop("SUPERVISOR_TOKEN", None)
    addon = subprocess.Popen(
        ["bash", str(ADDON / "run.sh")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # run.sh's daemon and health check end with the test
    )
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        status_line = health_status_line(port)
        sockets = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("ambient.sock"))
    finally:
        os.killpg(addon.pid, signal.SIGTERM)
        addon.wait(timeout=30)
        notify.close()

    assert sockets == [Path("elsewhere/ambient.sock")]
    assert status_line == "HTTP/1.1 200 OK"


def health_status_line(port: int) -> str:
    """The first line of the health check's answer, once it listens (it starts before the
    daemon is ready, so a refused connection is retried)."""
    for _ in range(100_000):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                return connection.makefile("rb").readline().decode().strip()
        except ConnectionRefusedError:
            continue
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.parametrize(
    ("section", "line"),
    [("store: /data/ambient.db", 3), ("logging: debug", 3), ("sensors:\n  strap: ble", 3)],
)
def test_a_section_that_is_no_mapping_is_named_at_its_line(
    tmp_path: Path, supervisor: FakeSupervisor, section: str, line: int
) -> None:
    write_user_config(tmp_path, f"people:\n  - id: sam\n{section}\n")

    result = run_addon(tmp_path, supervisor.url, DEFAULT_OPTIONS)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'config' / 'ambient.yaml'}:{line}:" in result.stdout
