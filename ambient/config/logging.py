"""Log level and format (readable on a TTY, JSON for log shippers)."""

from __future__ import annotations

from typing import Literal

from ambient.config.base import ConfigModel


class LoggingConfig(ConfigModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"
