"""Where state that survives a restart lives."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ambient.config.base import ConfigModel


class StoreConfig(ConfigModel):
    path: Path | None = Field(
        default=Path("/var/lib/ambient/ambient.db"),
        title="SQLite file (mode 0600); null keeps state in memory only",
    )
    traces_per_rule: int = Field(default=20, ge=1, le=10_000)
