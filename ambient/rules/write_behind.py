"""Rule state and traces reach the store just after the action they belong to has been sent:
a firing's writes (trigger phase, cooldown, run record, its position, the trace) are gathered
and committed together, once, ``WRITE_BEHIND_S`` later on the clock, never between a reading
and the Home Assistant call it causes.

The price is a window of ``WRITE_BEHIND_S`` in which a kill -9 loses the newest state; a clean
stop writes everything first (:meth:`WriteBehind.flush`). What the store refuses (a full disk)
is written with the next write; the refusal is one error line until a write goes in again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ambient.clock import Clock, TimerHandle
from ambient.store import Store, StoreError
from ambient.warn_once import WarnOnce

_LOGGER = logging.getLogger(__name__)

#: How long after a change its write waits (clock seconds): long enough for the action's
#: request to leave, short enough that a crash loses next to nothing.
WRITE_BEHIND_S = 0.02
#: Traces held for the next write while the store refuses them (a full disk), newest kept.
HELD_TRACES = 1000


class WriteBehind:
    """Pending ``put``s (the newest value per key, made when written) and ``append``s."""

    def __init__(self, clock: Clock, store: Store) -> None:
        self.clock = clock
        self._store = store
        self._puts: dict[tuple[str, str], Callable[[], Any]] = {}
        self._appends: list[tuple[str, str, Any, int]] = []
        self._timer: TimerHandle | None = None
        #: Commits made (one per flush with something to write).
        self.commits = 0
        #: A refused write is said once, until one goes in again: each change of a rule is
        #: a write, and a card full all night would get a line for each.
        self._refusals = WarnOnce(_LOGGER, logging.ERROR)

    def put(self, namespace: str, key: str, value: Callable[[], Any]) -> None:
        """Write ``value()`` under the key at the next flush (later calls replace it)."""
        self._puts[(namespace, key)] = value
        self._schedule()

    def append(self, namespace: str, key: str, value: Any, keep: int) -> None:
        self._appends.append((namespace, key, value, keep))
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is None:
            try:
                self._timer = self.clock.call_later(WRITE_BEHIND_S, self.flush)
            except RuntimeError:  # no running loop (a synchronous caller): write now
                self.flush()

    def flush(self) -> None:
        """Write everything pending, in one transaction."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._puts and not self._appends:
            return
        puts, self._puts = self._puts, {}
        appends, self._appends = self._appends, []
        try:
            with self._store.batch():
                for (namespace, key), value in puts.items():
                    self._store.put(namespace, key, value())
                for namespace, key, record, keep in appends:
                    self._store.append(namespace, key, record, keep)
        except StoreError as exc:  # the file's fault (a full disk): one line, the rules go on
            self._refusals.failed("Rule state not written: %s", exc)
            # Kept for the next write (the next change, or the stop): newer values win, and
            # only the newest traces are held while the disk stays full.
            self._puts = puts | self._puts
            self._appends = (appends + self._appends)[-HELD_TRACES:]
            return
        self.commits += 1
        self._refusals.worked("Rule state written again")
        _LOGGER.debug("Rule state written: %d states, %d traces", len(puts), len(appends))
