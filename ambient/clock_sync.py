"""Whether the system clock is synchronised (NTP), said at start and in ``ambient status``.

A Raspberry Pi has no real-time clock: until NTP steps it, it shows its last shutdown's time
(or 1970), so time triggers follow a wrong time of day and readings that carry their own time
look ahead of it. Without a word about it, a user cannot tell why.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any

from ambient.clock import Clock

_LOGGER = logging.getLogger(__name__)

#: What ``adjtimex`` returns when the kernel's status has STA_UNSYNC (or a clock error) set.
_TIME_ERROR = 5
#: Bytes handed to ``adjtimex``: more than ``struct timex`` takes on any architecture, zeroed, so
#: ``modes`` is 0 (read only, allowed without privileges) whatever the layout.
_TIMEX_BYTES = 512


def read_kernel_clock_synchronised() -> bool | None:
    """The kernel's NTP status (``adjtimex`` with ``modes`` 0, read only): True synchronised,
    False not, None cannot tell (not Linux, the call refused). chrony, ntpd and
    systemd-timesyncd all clear the kernel's STA_UNSYNC once they have set the clock."""
    try:
        adjtimex = ctypes.CDLL(None, use_errno=True).adjtimex
    except (OSError, AttributeError):
        return None
    adjtimex.restype = ctypes.c_int
    state: int = adjtimex(ctypes.create_string_buffer(_TIMEX_BYTES))
    if state < 0:
        return None
    return state != _TIME_ERROR


class ClockSyncWatch:
    """Reads the clock's synchronisation at start and every :attr:`CHECK_S` until it is
    synchronised: one WARNING while it is not, one INFO when it becomes so; unknown says
    nothing. A service of the live daemon; a replay at ``--speed`` keeps a time of its own,
    which NTP does not set, so there it reads nothing and says nothing."""

    CHECK_S = 60.0

    def __init__(
        self, clock: Clock, read: Callable[[], bool | None] = read_kernel_clock_synchronised
    ) -> None:
        self._clock = clock
        self._read = read
        #: None until read, or when it cannot be read.
        self.synchronised: bool | None = None
        #: When it became synchronised while the daemon watched (unix s).
        self.synchronised_at: float | None = None

    async def run(self) -> None:
        if self._clock.runs_ahead_of_wall_time:
            return
        self.synchronised = self._read()
        if self.synchronised is not False:
            return
        _LOGGER.warning(
            "System clock not synchronised (NTP) yet: it may show the last shutdown's time, so "
            "time and cron triggers follow that time and readings that carry their own time "
            "may be dropped as 'timestamp is in the future' until NTP sets it"
        )
        # Real time, whatever the daemon's clock (``--speed``): this is the system's clock.
        real = self._clock.for_outside_links()
        waiting_since_s = real.monotonic()
        while not self.synchronised:
            await real.sleep(self.CHECK_S)
            self.synchronised = self._read()
            if self.synchronised is None:
                return  # can no longer tell: say nothing more
        self.synchronised_at = self._clock.now()
        waited_min = (real.monotonic() - waiting_since_s) / 60
        _LOGGER.info(
            "System clock synchronised (NTP) after %.0f min; times logged and recorded "
            "before this line are on the clock as it was",
            waited_min,
        )

    def status(self) -> dict[str, Any] | None:
        """``{"synchronised": false}`` while not; ``true`` (with ``since``, unix s, when it
        became so while the daemon ran) once it is; None when it cannot be told."""
        if self.synchronised is None:
            return None
        if self.synchronised_at is not None:
            return {"synchronised": True, "since": self.synchronised_at}
        return {"synchronised": self.synchronised}
