"""The weekly report's two pictures, as inline SVG text (matplotlib, the `report` extra; only
the report imports this module). Text stays text in the SVG (small, readable when zoomed), and
ids are salted with a fixed string so the same data give the same page."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import matplotlib
from matplotlib.figure import Figure

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "ambient-report",
        "font.size": 10,
        "font.family": "sans-serif",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

LOW, MEDIUM, HIGH = "#f2c36b", "#e8894a", "#c8553d"
RECOVERY = "#5a9e7c"
LINE, BAND, DOT = "#3b6ea8", "#d7e6f4", "#7a8a99"


def week_bars(
    days: Sequence[date],
    low: Sequence[float],
    medium: Sequence[float],
    high: Sequence[float],
    recovery: Sequence[float],
) -> str:
    """Stress minutes by level (stacked) beside recovery minutes, per day of the week."""
    fig = Figure(figsize=(5.2, 3.0))
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.1, top=0.84)
    ax = fig.subplots()
    xs = list(range(len(days)))
    left = [x - 0.2 for x in xs]
    right = [x + 0.2 for x in xs]
    ax.bar(left, low, 0.38, color=LOW, label="low stress")
    ax.bar(left, medium, 0.38, bottom=low, color=MEDIUM, label="medium")
    stacked = [a + b for a, b in zip(low, medium, strict=True)]
    ax.bar(left, high, 0.38, bottom=stacked, color=HIGH, label="high")
    ax.bar(right, recovery, 0.38, color=RECOVERY, label="recovery")
    ax.set_xticks(xs, [d.strftime("%a") for d in days])
    ax.set_ylabel("minutes")
    ax.legend(ncols=4, loc="upper center", bbox_to_anchor=(0.5, 1.2), frameon=False)
    return _svg(fig)


def hrv_band(
    days: Sequence[date],
    daily: Sequence[float | None],
    mean_7d: Sequence[float | None],
    band_low: Sequence[float | None],
    band_high: Sequence[float | None],
    week_start: date,
) -> str:
    """Daily ln RMSSD (dots), its 7-day mean (line) and the normal band (shaded)."""
    fig = Figure(figsize=(5.2, 2.8))
    fig.subplots_adjust(left=0.13, right=0.98, bottom=0.11, top=0.84)
    ax = fig.subplots()
    xs = list(range(len(days)))
    lows = [float("nan") if v is None else v for v in band_low]
    highs = [float("nan") if v is None else v for v in band_high]
    ax.fill_between(xs, lows, highs, color=BAND, label="normal band", linewidth=0)
    points = [(x, v) for x, v in zip(xs, daily, strict=True) if v is not None]
    if points:
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            "o",
            color=DOT,
            markersize=3,
            label="daily",
        )
    means = [float("nan") if v is None else v for v in mean_7d]
    ax.plot(xs, means, color=LINE, linewidth=2, label="7-day mean")
    week_x = days.index(week_start) if week_start in days else len(days) - 7
    ax.axvspan(week_x - 0.5, len(days) - 0.5, color="#000000", alpha=0.05, linewidth=0)
    ticks = list(range(len(days) - 1, -1, -14))[::-1]
    ax.set_xticks(ticks, [days[t].strftime("%d %b") for t in ticks])
    ax.set_ylabel("ln RMSSD")
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, 1.2), frameon=False)
    return _svg(fig)


def _svg(fig: Figure) -> str:
    """The figure as SVG text, drawn once (fixed margins instead of a second, measuring draw)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text
