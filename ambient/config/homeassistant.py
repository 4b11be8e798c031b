"""How to reach Home Assistant (WebSocket API, REST where simpler)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration


class HomeAssistantConfig(ConfigModel):
    url: str = Field(default="http://homeassistant.local:8123", title="Base URL of HA")
    token: SecretStr = Field(title="Long-lived access token (use !secret)")
    ca_file: Path | None = Field(default=None, title="CA bundle for a self-signed HA")
    verify_ssl: bool = True
    ping_interval: Duration = Field(default=30.0, gt=0)
    backoff_max: Duration = Field(default=60.0, gt=0)
