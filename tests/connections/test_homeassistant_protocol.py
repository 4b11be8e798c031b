"""The client's pure parts: where it connects (token or the add-on's Supervisor) and how it
rebuilds states from HA's compressed entity messages."""

from __future__ import annotations

from pydantic import SecretStr

from ambient.config.homeassistant import HomeAssistantConfig, resolve_endpoint
from ambient.connections.homeassistant import apply_state_diff, expand_compressed_state


def test_configured_token_and_url() -> None:
    config = HomeAssistantConfig(url="https://ha.local:8123/", token=SecretStr("abc"))
    endpoint = resolve_endpoint(config, {"SUPERVISOR_TOKEN": "ignored"})
    assert endpoint is not None
    assert endpoint.websocket_url == "wss://ha.local:8123/api/websocket"
    assert endpoint.rest_url == "https://ha.local:8123/api"
    assert endpoint.token == "abc"


def test_addon_uses_the_supervisor_token_and_proxy() -> None:
    endpoint = resolve_endpoint(HomeAssistantConfig(), {"SUPERVISOR_TOKEN": "sup"})
    assert endpoint is not None
    assert endpoint.via_supervisor
    assert endpoint.websocket_url == "ws://supervisor/core/websocket"
    assert endpoint.rest_url == "http://supervisor/core/api"
    assert resolve_endpoint(HomeAssistantConfig(), {}) is None


def test_token_never_appears_in_the_config_repr() -> None:
    config = HomeAssistantConfig(token=SecretStr("very-secret"))
    assert "very-secret" not in repr(config)


def test_token_never_appears_in_the_endpoints_repr() -> None:
    """The endpoint held the token in the clear: any traceback, log or test report showing
    the connection's endpoint showed the long-lived token with it."""
    config = HomeAssistantConfig(token=SecretStr("very-secret"))
    for endpoint in (
        resolve_endpoint(config, {}),
        resolve_endpoint(HomeAssistantConfig(), {"SUPERVISOR_TOKEN": "supervisor-secret"}),
    ):
        assert "secret" not in repr(endpoint)


def test_compressed_state_and_diffs_keep_the_context_user() -> None:
    state = expand_compressed_state(
        "light.bed_light",
        {"s": "on", "a": {"brightness": 10, "effect": "x"}, "c": "ctx1", "lc": 5.0},
    )
    assert state["context"] == {"id": "ctx1", "parent_id": None, "user_id": None}
    assert state["last_updated"] == 5.0
    by_user = apply_state_diff(
        state,
        {
            "+": {"a": {"brightness": 200}, "c": {"user_id": "u2", "id": "ctx2"}, "lu": 6.0},
            "-": {"a": ["effect"]},
        },
    )
    assert by_user["attributes"] == {"brightness": 200}
    assert by_user["context"] == {"id": "ctx2", "parent_id": None, "user_id": "u2"}
    assert by_user["last_updated"] == 6.0 and by_user["last_changed"] == 5.0
    # Only the context id changed: the user stays the same.
    again = apply_state_diff(by_user, {"+": {"s": "off", "c": "ctx3", "lc": 7.0}})
    assert again["context"] == {"id": "ctx3", "parent_id": None, "user_id": "u2"}
    assert again["state"] == "off"
    assert state["attributes"] == {"brightness": 10, "effect": "x"}  # not mutated
