"""The weekly report's page from its inputs alone: what ``ambient report`` and the daemon's
drawing process both draw (imports matplotlib: the `report` extra)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, tzinfo
from typing import Any

from ambient.insights import plots
from ambient.insights.report import render_week
from ambient.insights.summaries import DaySummary
from ambient.insights.trends import TrendSettings


def render_page(
    name: str,
    summaries: Mapping[date, DaySummary],
    monday: date,
    trend: TrendSettings,
    learned: Sequence[Mapping[str, Any]],
    zone: tzinfo,
) -> str:
    """The page of ``name``'s week starting ``monday``, its plots drawn as inline SVG."""
    return render_week(
        name, summaries, monday, trend, plots.week_bars, plots.hrv_band, learned, zone
    )
