"""A write that keeps failing is said once, not at every try, until a write goes in again.

A full SD card refuses every write for hours: the rule state at each change of a rule, the
insights every few minutes, a weekly page every hour. Each would fill the journal on that same
card with the same line. :class:`WarnOnce` says the first refusal at its level, the following
ones at DEBUG, and one line when a write goes in again, so the journal holds when the trouble
began and when it ended. Beside the stages (like the clock and the store): any layer may use it.
The journal's policy it keeps is written once, in docs/raspberry-pi.md (logs and the journal).
"""

from __future__ import annotations

import logging


class WarnOnce:
    """One line when writes start failing, one when they work again; DEBUG in between."""

    def __init__(
        self, logger: logging.Logger, level: int = logging.WARNING, *, failing: bool = False
    ) -> None:
        self.logger = logger
        self.level = level
        #: The last write failed (and was said; ``failing``: before this object, by a run of
        #: the process before a restart).
        self.failing = failing

    def failed(self, message: str, *args: object) -> bool:
        """A write failed: ``message`` at the level if it is the first since one worked, at
        DEBUG otherwise. True when it was the first (said at the level)."""
        first = not self.failing
        self.failing = True
        self.logger.log(self.level if first else logging.DEBUG, message, *args)
        return first

    def worked(self, message: str, *args: object) -> bool:
        """A write went in: ``message`` at INFO if writes were failing, else nothing. True when
        it ended a run of failures (and was said)."""
        if not self.failing:
            return False
        self.failing = False
        self.logger.info(message, *args)
        return True
