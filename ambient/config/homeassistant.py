"""How to reach Home Assistant (WebSocket API, REST where simpler)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.types import UserPath

#: Where HA's API is reached from inside an HA add-on (the Supervisor's proxy to Core).
SUPERVISOR_URL = "http://supervisor/core"
#: Set by the Supervisor inside the HA add-on, where it is HA's token.
SUPERVISOR_TOKEN_ENV = "SUPERVISOR_TOKEN"


class HomeAssistantConfig(ConfigModel):
    """Omit ``token`` inside the HA add-on: the Supervisor's ``SUPERVISOR_TOKEN`` and its proxy
    URL are used then."""

    url: str = Field(default="http://homeassistant.local:8123", title="Base URL of HA")
    token: SecretStr | None = Field(
        default=None, title="Long-lived access token (use !secret); omit in the HA add-on"
    )
    ca_file: UserPath | None = Field(default=None, title="CA bundle for a self-signed HA")
    verify_ssl: bool = True
    ping_interval: Duration = Field(default=30.0, gt=0, title="Heartbeat: ping this often")
    ping_timeout: Duration = Field(default=10.0, gt=0, title="Reconnect if no pong by then")
    backoff_max: Duration = Field(default=60.0, gt=0, title="Longest wait between attempts")

    @field_validator("token")
    @classmethod
    def _token_given(cls, token: SecretStr | None) -> SecretStr | None:
        """An empty token is no token: HA would refuse every login. A ``!secret`` whose name
        has nothing after it in secrets.yaml reads as the text None (as a store key made with
        it needs), which no HA token is."""
        if token is not None and token.get_secret_value().strip() in ("", "None"):
            raise ValueError(
                "the token is empty: paste a long-lived access token (HA: Profile → Security)"
            )
        return token

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://192.168.1.5:8123)")
        problem = url_problem(url.rstrip("/"))
        if problem is not None:
            raise ValueError(problem)
        return url.rstrip("/")


def url_problem(url: str) -> str | None:
    """Why ``url`` can never reach HA (no host, a space, a port out of range, the API's own
    path that ambient adds itself); None when it may. Any other path is kept: the add-on
    reaches HA at ``http://supervisor/core``."""
    scheme, _, rest = url.partition("://")
    if "@" in rest:  # never quoted: the password would go wherever this line goes
        # Any @ at all: a password's / ? or # ends the host part where urlsplit reads it.
        base = f"{scheme}://{rest.rpartition('@')[2]}"
        return (
            f"a user and password do not go in the URL: write `{base}`; "
            "ambient logs in with `token:`"
        )
    if any(char.isspace() for char in url):
        return f"`{url}`: a URL has no spaces"
    parts = urlsplit(url)
    if not parts.hostname:
        return f"`{url}` names no host (e.g. http://192.168.1.5:8123)"
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port == 0:
        return f"`{url}`: the port must be a number from 1 to 65535"
    api = parts.path.find("/api")
    if api >= 0 and parts.path[api:] in ("/api", "/api/websocket"):
        base = url[: url.rfind(parts.path[api:])]
        return f"write the base URL, without `/api`: `{base}` (ambient adds it)"
    return None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to reach HA's API (from the config, or the Supervisor inside the add-on)."""

    rest_url: str  # base of /api/... paths
    websocket_url: str
    token: str = field(repr=False)  # a secret: never in a traceback or a log
    via_supervisor: bool


def resolve_endpoint(config: HomeAssistantConfig, environ: Mapping[str, str]) -> Endpoint | None:
    """The configured URL and token; inside the HA add-on (no token configured but
    ``SUPERVISOR_TOKEN`` set) the Supervisor's proxy. ``None`` when there is no token at all:
    the connection then stays unavailable, and ``check`` says so first."""
    if config.token is not None:
        base = config.url
        ws_base = "ws" + base[len("http") :]
        return Endpoint(
            f"{base}/api", f"{ws_base}/api/websocket", config.token.get_secret_value(), False
        )
    supervisor_token = environ.get(SUPERVISOR_TOKEN_ENV)
    if supervisor_token:
        return Endpoint(
            f"{SUPERVISOR_URL}/api", "ws://supervisor/core/websocket", supervisor_token, True
        )
    return None
