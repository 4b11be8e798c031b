"""When a message reached each stage of the fast path (broker message → reading → signals →
rule → Home Assistant call), for ``bench/bench_fast_path.py`` to say where ambient's share of a
reaction's latency goes.

Off unless the environment variable ``AMBIENT_STAGE_TIMES`` names a file when the process
starts: then :data:`STAGE` is a recorder and every call site does ``if STAGE is not None:
STAGE("name")`` (one global lookup and a test when off). Each stamp keeps
``time.monotonic_ns()`` (the system-wide monotonic clock, so a bench in another process can
compare it with its own ``time.monotonic()``) and the asyncio task it ran in (0 for a plain
callback), so the bench can count the task switches between receipt and send. The stamps are
written when the process exits, one ``stage<TAB>ns<TAB>task`` line each, mode 0600.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import time
from collections.abc import Callable
from pathlib import Path

from ambient.private_files import write_private

ENVIRONMENT_VARIABLE = "AMBIENT_STAGE_TIMES"
#: Stamps kept at most (a long run with the flag on must not grow without bound).
STAMP_LIMIT = 1_000_000

StageRecorder = Callable[[str], None]


class StageLog:
    """Stamps in memory, written to ``path`` at exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamps: list[tuple[str, int, int]] = []

    def __call__(self, stage: str) -> None:
        if len(self.stamps) < STAMP_LIMIT:
            try:
                task = asyncio.current_task()
            except RuntimeError:  # no event loop in this thread
                task = None
            self.stamps.append((stage, time.monotonic_ns(), 0 if task is None else id(task)))

    def write(self) -> None:
        lines = "".join(f"{stage}\t{ns}\t{task}\n" for stage, ns, task in self.stamps)
        write_private(self.path, lines)


def _from_environment() -> StageRecorder | None:
    target = os.environ.get(ENVIRONMENT_VARIABLE)
    if not target:
        return None
    log = StageLog(Path(target))
    atexit.register(log.write)
    return log


#: The recorder, or None (the usual case): see the module docstring.
STAGE: StageRecorder | None = _from_environment()
