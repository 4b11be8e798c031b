"""Where the broker and Home Assistant are: a host or URL no connect can ever reach is refused at
its line, not retried for ever by `run` (or, for an empty host, a traceback at its start)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(text + "store: {path: null}\n", encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("mqtt://192.168.1.10", "the host alone, without `mqtt://`: `192.168.1.10`"),
        ("mqtts://broker.lan:8883", "the host alone, without `mqtts://`: `broker.lan`"),
        ("broker.lan:1883", "the host alone, `broker.lan`, and the port as `port: 1883`"),
        ("", "the broker's host name or IP address is empty"),
        ("my broker", "a host name has no spaces"),
        ("broker.lan/mqtt", "the host alone, `broker.lan`, without a path"),
    ],
)
def test_a_broker_host_no_connect_can_reach_is_refused(
    tmp_path: Path, host: str, said: str
) -> None:
    with pytest.raises(ConfigError, match=r"mqtt\.host: ") as error:
        _load(tmp_path, f"mqtt: {{host: '{host}'}}\n")
    assert said in str(error.value)


@pytest.mark.parametrize("host", ["localhost", "192.168.1.10", "core-mosquitto", "::1", "fe80::1"])
def test_a_host_name_or_an_ip_address_is_taken(tmp_path: Path, host: str) -> None:
    _load(tmp_path, f"mqtt: {{host: '{host}'}}\n")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://", "names no host"),
        ("http://my ha:8123", "a URL has no spaces"),
        ("http://192.168.1.5:99999", "the port must be a number from 1 to 65535"),
        ("http://192.168.1.5:8123/api", "without `/api`: `http://192.168.1.5:8123`"),
        ("http://192.168.1.5:8123/api/websocket", "without `/api`: `http://192.168.1.5:8123`"),
    ],
)
def test_a_home_assistant_url_no_connect_can_reach_is_refused(
    tmp_path: Path, url: str, said: str
) -> None:
    """ambient adds `/api/websocket` itself: a URL copied with `/api` was retried for ever."""
    with pytest.raises(ConfigError, match=r"homeassistant\.url: ") as error:
        _load(tmp_path, f"homeassistant: {{url: '{url}', token: t}}\n")
    assert said in str(error.value)


@pytest.mark.parametrize(
    "url", ["http://192.168.1.5:8123/", "https://ha.example.org", "http://supervisor/core"]
)
def test_a_home_assistant_base_url_is_taken(tmp_path: Path, url: str) -> None:
    _load(tmp_path, f"homeassistant: {{url: '{url}', token: t}}\n")


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ("mqtt: {host: 'ambient:s3cr3t@broker.lan'}", "mqtt.host: a user and password do not go"),
        ("mqtt: {host: 'mqtt://ambient:s3cr3t@broker.lan:1883'}", "mqtt.host: a user and"),
        (
            "homeassistant: {url: 'http://me:s3cr3t@ha.lan:8123', token: t}",
            "homeassistant.url: a user and password do not go in the URL: write "
            "`http://ha.lan:8123`; ambient logs in with `token:`",
        ),
        ("homeassistant: {url: 'http://me:s3 cr3t@ha.lan:99999', token: t}", "`http://ha.lan"),
        # A password with /, ? or # ends the host part where urlsplit reads it.
        ("homeassistant: {url: 'http://me:s3/cr3t@ha.lan:8123', token: t}", "`http://ha.lan:8123`"),
        ("homeassistant: {url: 'http://me:s3?cr3t@ha.lan:8123', token: t}", "`http://ha.lan:8123`"),
        ("homeassistant: {url: 'http://me:s3#cr3t@ha.lan:8123', token: t}", "`http://ha.lan:8123`"),
    ],
)
def test_a_user_and_password_in_the_host_or_url_are_refused_and_never_shown(
    tmp_path: Path, section: str, said: str
) -> None:
    """They were taken: every connect's failure then put them in the journal (`MQTT broker
    ambient:s3cr3t@broker.lan:1883: Name or service not known`, `Home Assistant at
    http://me:s3cr3t@ha.lan:8123 is not reachable`), and a URL's other mistakes quoted them."""
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, section + "\n")
    assert said in str(error.value)
    if section.startswith("mqtt"):
        assert "write `broker.lan`, and them in `username:` and `password:`" in str(error.value)
    assert "s3" not in str(error.value)


def test_a_token_left_empty_in_secrets_yaml_is_refused_as_empty(tmp_path: Path) -> None:
    """`ha_token:` with nothing after it in secrets.yaml reads as the text None (kept so for a
    store key made with it), which passed `check` as a token and was refused at every login."""
    (tmp_path / "secrets.yaml").write_text("ha_token:\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"homeassistant\.token: the token is empty"):
        _load(tmp_path, "homeassistant: {url: 'http://ha.lan:8123', token: !secret ha_token}\n")
