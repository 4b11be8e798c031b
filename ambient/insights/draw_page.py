"""The daemon's drawing process: ``python -m ambient.insights.draw_page`` reads one page's
inputs as JSON on stdin and writes the page on stdout (see :mod:`ambient.insights.page_process`).

It imports only what drawing needs: matplotlib and the report, not the daemon's event loop,
clock, store or config models (pydantic). On a Raspberry Pi Zero the imports are most of a
page's time.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from ambient.insights.summaries import DaySummary


@dataclass(frozen=True)
class TrendNumbers:
    """``insights.trend`` as the daemon sends it (its validated ``TrendConfig``, dumped): the
    trend's settings without pydantic and the config models, a fifth of this process's work.
    The same fields as ``TrendConfig`` (a test holds them together)."""

    mean_days: int
    range_days: int
    min_days_per_week: int
    min_range_days: int
    band_sd: float
    cusum_k: float
    cusum_h: float
    cusum_release: float
    max_gap_days: int


def render_request(request: Mapping[str, Any]) -> str:
    """The page of one request, as :func:`ambient.insights.page_process.render_in_child`
    sends it."""
    from ambient.insights.page import render_page  # matplotlib

    kept = [DaySummary.from_json(s) for s in request["summaries"]]
    return render_page(
        request["name"],
        {s.day: s for s in kept if s is not None},
        date.fromisoformat(request["monday"]),
        TrendNumbers(**request["trend"]),
        request["learned"],
        _zone(request["timezone"]),
    )


def _zone(name: str | None) -> tzinfo:
    """The config's zone; without one the system's (``resolve_zone`` brings in asyncio with
    the clock: imported only then)."""
    if name:
        return ZoneInfo(name)
    from ambient.clock import resolve_zone

    return resolve_zone(None)


def without_artist_docstrings() -> None:
    """Have matplotlib skip writing the help text of its artists' ``set`` methods, which it
    does for each artist class as the class is made (``matplotlib.artist.kwdoc``): about a
    third of importing it, for docstrings this process never shows. Before the rest of
    matplotlib is imported; the drawing is the same."""
    import matplotlib.artist

    setattr(matplotlib.artist, "kwdoc", lambda artist: "")  # noqa: B010 (a module's function)


def main() -> int:
    """Read one request on stdin, write its page on stdout; 1 with one line on stderr."""
    try:
        without_artist_docstrings()
        page = render_request(json.load(sys.stdin.buffer))
    except Exception as exc:  # the daemon logs this line and tries again next week
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        return 1
    sys.stdout.buffer.write(page.encode())  # UTF-8 whatever the locale
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Nothing to clean up: skip tearing down matplotlib's modules and objects (about 5 % of
    # the process's instructions).
    os._exit(code)
