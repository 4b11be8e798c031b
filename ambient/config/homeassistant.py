"""How to reach Home Assistant (WebSocket API, REST where simpler)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.types import UserPath

#: Where HA's API is reached from inside an HA add-on (the Supervisor's proxy to Core).
SUPERVISOR_URL = "http://supervisor/core"


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

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://192.168.1.5:8123)")
        return url.rstrip("/")
