"""Logging set-up (readable on a TTY, JSON for shippers) and throttling of repeated errors.

Health data stays at DEBUG: callers log values only with ``logger.debug``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal

_RESERVED = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: str = "INFO", fmt: Literal["text", "json"] = "text") -> None:
    """Configure the root logger once; under systemd (no TTY) omit the timestamp journald adds."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif sys.stderr.isatty():
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Throttle:
    """Lets a message through at most once per ``interval_s`` per key (e.g. per topic).

    Uses the monotonic clock on purpose: it limits log volume in real time, and is not
    behaviour that a simulation replays.
    """

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        return True

    def suppressed_since_last(self, key: str) -> int:
        """How many messages for ``key`` were held back since the last one let through."""
        return self._suppressed.pop(key, 0)

    def log(self, logger: logging.Logger, level: int, key: str, msg: str, *args: object) -> None:
        if self.allow(key):
            held = self.suppressed_since_last(key)
            suffix = f" ({held} similar suppressed)" if held else ""
            logger.log(level, msg + suffix, *args)
