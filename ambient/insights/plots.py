"""The weekly report's two pictures, as inline SVG text (matplotlib, the `report` extra; only
the report imports this module). Text stays text in the SVG (small, readable when zoomed), and
ids are salted with a fixed string so the same data give the same page.

Each picture keeps one figure, its axes, labels and legend, and only swaps the data artists
from one report to the next: building a figure and its axes costs about as much as drawing
it, and a week of reports draws the same two frames dozens of times.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import date
from functools import cache

import matplotlib
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.container import Container
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ambient.insights.days import day_and_month
from ambient.insights.page_palette import (
    BAND,
    BAND_EDGE,
    DOT,
    HIGH,
    LINE,
    LOW,
    MEDIUM,
    OUTLINE,
    RECOVERY,
    WEEK_EDGE,
)

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "ambient-report",
        "font.size": 13,
        "font.family": "sans-serif",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

OUTLINE_WIDTH = 0.6
#: The report's week in the 60-day HRV plot: a faint grey (anything darker hides the dots
#: and the band under it) inside a grey edge of at least 3:1, so it stands out too.
WEEK_SHADE = (0.0, 0.0, 0.0, 0.05)


class _Frame:
    """A figure with its axes, y label and legend, kept between reports; ``clear`` removes the
    previous report's data artists before the caller adds new ones. One report at a time (the
    lock): matplotlib figures are not thread-safe, and a caller may draw from worker threads."""

    def __init__(
        self,
        height_in: float,
        margins: dict[str, float],
        ylabel: str,
        legend: list[Artist],
        columns: int,
        spacing: float = 2.0,
        handle: float = 2.0,
    ) -> None:
        self.lock = threading.Lock()
        self.figure = Figure(figsize=(5.2, height_in))
        self.figure.subplots_adjust(**margins)
        self.axes: Axes = self.figure.subplots()
        self.axes.set_ylabel(ylabel)
        self.figure.legend(
            handles=legend,
            ncols=columns,
            loc="upper center",
            bbox_to_anchor=(0.5, 1.0),
            frameon=False,
            columnspacing=spacing,
            handlelength=handle,
        )
        self.data: list[Artist | Container] = []

    def clear(self) -> Axes:
        for artist in self.data:
            artist.remove()
        self.data = []
        # As on a new axes: the next artist added sets the data limits afresh.
        self.axes.ignore_existing_data_limits = True
        return self.axes


@cache
def _bars_frame() -> _Frame:
    legend: list[Artist] = [
        Patch(facecolor=LOW, edgecolor=OUTLINE, linewidth=OUTLINE_WIDTH, label="low stress"),
        Patch(facecolor=MEDIUM, edgecolor=OUTLINE, linewidth=OUTLINE_WIDTH, label="medium"),
        Patch(facecolor=HIGH, edgecolor=OUTLINE, linewidth=OUTLINE_WIDTH, label="high"),
        Patch(facecolor=RECOVERY, edgecolor=OUTLINE, linewidth=OUTLINE_WIDTH, label="recovery"),
    ]
    margins = {"left": 0.16, "right": 0.98, "bottom": 0.1, "top": 0.8}
    return _Frame(3.6, margins, "minutes", legend, 2)


@cache
def _band_frame() -> _Frame:
    legend: list[Artist] = [
        Patch(facecolor=BAND, edgecolor=BAND_EDGE, label="normal band", linewidth=0.8),
        Line2D([], [], linestyle="", marker="o", color=DOT, markersize=3, label="daily"),
        Line2D([], [], color=LINE, linewidth=2, label="7-day average"),
        Patch(facecolor=WEEK_SHADE, edgecolor=WEEK_EDGE, linewidth=0.8, label="this week"),
    ]
    margins = {"left": 0.17, "right": 0.97, "bottom": 0.1, "top": 0.8}
    return _Frame(3.6, margins, "ln RMSSD", legend, 2)


def week_bars(
    days: Sequence[date],
    low: Sequence[float],
    medium: Sequence[float],
    high: Sequence[float],
    recovery: Sequence[float],
) -> str:
    """Stress minutes by level (stacked) beside recovery minutes, per day of the week."""
    frame = _bars_frame()
    with frame.lock:
        ax = frame.clear()
        xs = list(range(len(days)))
        left = [x - 0.2 for x in xs]
        right = [x + 0.2 for x in xs]
        stacked = [a + b for a, b in zip(low, medium, strict=True)]
        zeros = [0.0] * len(xs)
        frame.data += [
            _bar_series(ax, left, zeros, low, LOW),
            _bar_series(ax, left, low, medium, MEDIUM),
            _bar_series(ax, left, stacked, high, HIGH),
            _bar_series(ax, right, zeros, recovery, RECOVERY),
        ]
        ax.set_autoscaley_on(True)  # a week of zeros before set the limits by hand
        if not any(minutes > 0 for minutes in (*low, *medium, *high, *recovery)):
            ax.set_ylim(0, 60)  # no minutes: an axis from 0, not -0.04 to 0.04
        ax.set_xticks(xs, [d.strftime("%a") for d in days])
        return _svg(frame.figure)


def _bar_series(
    ax: Axes,
    centres: Sequence[float],
    bottoms: Sequence[float],
    heights: Sequence[float],
    colour: str,
) -> PolyCollection:
    """One series of bars 0.38 wide as a single artist: what ``Axes.bar`` draws, without an
    artist (and its limits update) per bar. A bar of no minutes is not drawn (its outline
    would be a stub on the axis, as if measured at 0)."""
    half = 0.19
    corners = [
        [(x - half, b), (x - half, b + h), (x + half, b + h), (x + half, b)]
        for x, b, h in zip(centres, bottoms, heights, strict=True)
        if h > 0
    ]
    bars = PolyCollection(corners, facecolors=colour, edgecolors=OUTLINE, linewidths=OUTLINE_WIDTH)
    bars.sticky_edges.y.append(0.0)
    ax.add_collection(bars)
    return bars


def hrv_band(
    days: Sequence[date],
    daily: Sequence[float | None],
    mean_7d: Sequence[float | None],
    band_low: Sequence[float | None],
    band_high: Sequence[float | None],
    week_start: date,
) -> str:
    """Daily ln RMSSD (dots), its 7-day average (line), the normal band (shaded) and the
    report's week (grey)."""
    frame = _band_frame()
    with frame.lock:
        ax = frame.clear()
        xs = list(range(len(days)))
        lows = [float("nan") if v is None else v for v in band_low]
        highs = [float("nan") if v is None else v for v in band_high]
        band = ax.fill_between(xs, lows, highs, facecolor=BAND, edgecolor=BAND_EDGE, linewidth=0.8)
        frame.data.append(band)
        points = [(x, v) for x, v in zip(xs, daily, strict=True) if v is not None]
        if points:
            xs_points, values = [p[0] for p in points], [p[1] for p in points]
            frame.data += ax.plot(xs_points, values, "o", color=DOT, markersize=3)
        means = [float("nan") if v is None else v for v in mean_7d]
        frame.data += ax.plot(xs, means, color=LINE, linewidth=2)
        week_x = days.index(week_start) if week_start in days else len(days) - 7
        shade = ax.axvspan(
            week_x - 0.5, len(days) - 0.5, facecolor=WEEK_SHADE, edgecolor=WEEK_EDGE, linewidth=0.8
        )
        frame.data.append(shade)
        ticks = list(range(len(days) - 1, -1, -14))[::-1]
        ax.set_xticks(ticks, [day_and_month(days[t]) for t in ticks])
        return _svg(frame.figure)


def _svg(fig: Figure) -> str:
    """The figure as SVG text, drawn once (fixed margins instead of a second, measuring draw)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text
