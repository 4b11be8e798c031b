"""The weekly report's page drawn in a short-lived child process, for the daemon.

Drawing imports matplotlib, numpy, PIL and fontTools and builds figures: about 46 MiB and
56,000 objects that a long-running process would keep for the rest of its life (a lot on a
Pi with 512 MB). The daemon hands the page's inputs to ``python -m
ambient.insights.draw_page`` as JSON on stdin and reads the page back from its stdout
(pipes only: nothing is written elsewhere, nothing leaves the machine); the memory goes with
the child. ``ambient report`` is short-lived and draws in its own process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ambient.asyncutil import ClockTimeout, result_or_clock_timeout
from ambient.clock import Clock
from ambient.config.root import AmbientConfig
from ambient.insights.report_cli import display_name
from ambient.insights.summaries import DaySummary

#: The child: this module run by the daemon's own Python (``-P``: a folder named ``ambient`` in
#: the working directory is not put before the installed package).
COMMAND = [sys.executable, "-P", "-m", "ambient.insights.draw_page"]
#: A child that has not answered by then (on the daemon's clock) is killed: a Pi Zero draws a
#: page in tens of seconds.
TIMEOUT_S = 300.0


class PageProcessError(Exception):
    """The child drew no page (failed, killed, or too slow); one line saying why."""


def page_request(
    config: AmbientConfig,
    summaries: Mapping[date, DaySummary],
    person: str,
    monday: date,
    learned: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """What the child reads on stdin (as JSON): the page's inputs, the config's settings
    dumped (the child loads no config models)."""
    return {
        "name": display_name(config, person),
        "summaries": [s.to_json() for s in summaries.values()],
        "monday": monday.isoformat(),
        "trend": config.insights.trend.model_dump(mode="json"),
        "timezone": config.timezone,
        "learned": list(learned),
    }


async def render_in_child(
    config: AmbientConfig,
    summaries: Mapping[date, DaySummary],
    person: str,
    monday: date,
    learned: Sequence[Mapping[str, Any]] = (),
    *,
    clock: Clock,
) -> str:
    """The page of :func:`ambient.insights.report_cli.render`, drawn in a child process. The
    child is killed when this is cancelled (the daemon stopping while it draws) or after
    :data:`TIMEOUT_S` on ``clock``."""
    request = page_request(config, summaries, person, monday, learned)
    try:
        child = await asyncio.create_subprocess_exec(
            *COMMAND,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise PageProcessError(f"cannot start the drawing process: {exc.strerror}") from None
    try:
        page, errors = await result_or_clock_timeout(
            clock, child.communicate(json.dumps(request).encode()), TIMEOUT_S
        )
    except ClockTimeout:
        raise PageProcessError(f"drawing the page took over {TIMEOUT_S:.0f} s") from None
    finally:
        if child.returncode is None:  # timed out or cancelled
            child.kill()
            await asyncio.shield(child.wait())
    code = await child.wait()  # ended: communicate() waits for it
    if code < 0:
        raise PageProcessError(f"the drawing process was killed by signal {-code}")
    if code != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else f"exit code {code}"
        raise PageProcessError(f"the drawing process failed: {why}")
    return page.decode()
