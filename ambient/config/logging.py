"""Log level and format (readable on a TTY, JSON for log shippers), and whether the live
timeline of ``ambient run`` shows the signals' values (heart data) in its reasons."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ambient.config.base import ConfigModel

#: ``auto``: left out where stdout is the journal, or where the environment says so
#: (``AMBIENT_TIMELINE_VALUES=hide``, as the Docker image sets); ``show``; ``hide``.
TimelineValues = Literal["auto", "show", "hide"]


class LoggingConfig(ConfigModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"
    timeline_values: TimelineValues = Field(
        default="auto", title="Signal values in the run timeline's reasons"
    )
