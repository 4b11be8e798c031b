"""Timeline pictures for ``simulate --plot`` and ``evaluate --plot``: heart rate, HRV and the
stress score, with the rules' thresholds and hysteresis bands, the stretches the score was
unknown (shaded by reason), labelled episodes, firings and recoveries.

The only module that imports matplotlib (the optional extra ``plot``).
"""

from __future__ import annotations

import errno
import io
import math
import os
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from ambient.config.durations import written_duration_text
from ambient.evaluate.changes import SignalColumn, number
from ambient.evaluate.scoring import NOT_YET, UNKNOWN
from ambient.evaluate.timeline import Change, Threshold, Timeline
from ambient.private_files import with_filename, write_private

#: The panels, top to bottom: (signal, axis label).
PANELS = (
    ("hr", "heart rate (bpm)"),
    ("rmssd", "HRV: RMSSD (ms)"),
    ("stress_score", "stress score"),
)
UNKNOWN_SIGNAL = "stress_score"
#: The unknown stretches' shading, from the foot of the panel (a fraction of its height).
UNKNOWN_HEIGHT = 0.12
#: Colours for the reasons a signal is unknown (others cycle through the rest).
REASON_COLOURS = {
    "poor signal quality": "#9e9e9e",
    "exercise": "#64b5f6",
    "no RR intervals (HR-only source)": "#ce93d8",
    "too few beats": "#bcaaa4",
    "stale": "#ffcc80",
    "no data": "#e0e0e0",
    "no skin contact": "#ef9a9a",
}
SPARE_COLOURS = ("#a5d6a7", "#fff59d", "#80cbc4", "#b39ddb", "#f48fb1")
EPISODE_COLOUR = "#ff7043"
#: One colour per rule, in the order the rules appear: its threshold, firings and recoveries.
RULE_COLOURS = ("#c62828", "#1565c0", "#6a1b9a", "#00838f", "#2e7d32", "#5d4037")
LINE_COLOUR = "#263238"
LEGEND_COLUMNS = 3
INSTALL_HINT = "matplotlib is not installed; install the plot extra: pip install 'ambient[plot]'"


class PlotUnavailable(Exception):
    """matplotlib is missing: the message says how to install it."""


def require_matplotlib() -> None:
    """Fail early, before a long replay, when pictures cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable(INSTALL_HINT) from None


#: The picture formats ``--plot`` writes, by the file name's ending (none: PNG).
PICTURE_FORMATS = {"": "png", ".png": "png", ".svg": "svg", ".pdf": "pdf"}


def picture_format(path: Path) -> str:
    """The format ``path``'s ending asks for; ValueError naming the ones there are."""
    try:
        return PICTURE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"cannot draw a {path.suffix} file: name it .png, .svg or .pdf, got `{path}`"
        ) from None


def check_writable_file(path: Path) -> None:
    """Fail before a long replay when the picture could not be written to ``path``."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    check_writable_folder(path.parent)


def check_writable_folder(folder: Path) -> None:
    """Fail before a long replay when pictures could not be written into ``folder`` (made
    if missing): an OSError naming it."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))


def draw_timeline(timeline: Timeline, path: Path) -> None:
    """Write the timeline to ``path`` (a PNG, or SVG or PDF by its ending), owner-only like
    all heart data, and whole or not at all."""
    require_matplotlib()
    picture = picture_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        len(PANELS), 1, sharex=True, figsize=(13, 8.5), height_ratios=(1, 1, 1.4)
    )
    unit_s, unit_name = time_axis(timeline.duration_s)
    handles: dict[str, Any] = {}
    rules = [t.rule for t in timeline.thresholds] + [e.rule for e in timeline.events]
    colours = {
        rule: RULE_COLOURS[i % len(RULE_COLOURS)] for i, rule in enumerate(dict.fromkeys(rules))
    }
    for ax, (signal, label) in zip(axes, PANELS, strict=True):
        shade_episodes(ax, timeline, unit_s, handles)
        xs, ys = line_points(timeline.column(signal), timeline.duration_s, unit_s)
        ax.plot(xs, ys, drawstyle="steps-post", color=LINE_COLOUR, linewidth=1.1)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        for threshold in timeline.thresholds:
            if threshold.signal == signal:
                _draw_threshold(ax, threshold, colours[threshold.rule], handles)
        mark_events(ax, timeline, colours, unit_s, handles)
        if not any(not math.isnan(y) for y in ys):
            ax.text(
                0.5, 0.5, _no_values_text(signal, timeline), transform=ax.transAxes, ha="center"
            )
    score_ax = axes[-1]
    score_ax.set_ylim(0, 100)
    shade_unknown(score_ax, timeline.column(UNKNOWN_SIGNAL), timeline.duration_s, unit_s, handles)
    score_ax.set_xlim(0, max(timeline.duration_s, 1.0) / unit_s)
    score_ax.set_xlabel(f"{unit_name} from the start of the recording")
    figure.suptitle(_title(timeline), fontsize=12)
    labels = sorted(handles, key=lambda text: _legend_order(text, list(colours)))
    columns = min(LEGEND_COLUMNS, max(1, len(labels)))
    figure.legend(
        [handles[text] for text in labels],
        labels,
        loc="lower center",
        ncol=columns,
        fontsize=9,
        frameon=False,
    )
    legend_rows = math.ceil(len(labels) / columns)
    figure.tight_layout(rect=(0, 0.015 + 0.027 * legend_rows, 1, 0.97))
    drawn = io.BytesIO()
    figure.savefig(drawn, format=picture, dpi=100)
    plt.close(figure)
    try:
        write_private(path, drawn.getvalue())
    except OSError as exc:  # a device's write (``/dev/full``) fails without naming it
        raise exc if exc.filename else with_filename(exc, path) from None


def _no_values_text(signal: str, timeline: Timeline) -> str:
    """``no rmssd values: no RR intervals (HR-only source)``: why the panel is empty."""
    last = next((reason for _, _, reason in reversed(timeline.changes(signal)) if reason), None)
    return f"no {signal} values" + (f": {last}" if last else "")


#: The x axis's unit by the recording's length: (up to seconds, unit in seconds, its name).
TIME_UNITS = ((3 * 3600.0, 60.0, "minutes"), (3 * 86400.0, 3600.0, "hours"))


def time_axis(duration_s: float) -> tuple[float, str]:
    """The x axis's unit (seconds) and name: minutes up to 3 hours, hours up to 3 days,
    then days (a week in minutes reads 0 to 10,000)."""
    for up_to_s, unit_s, name in TIME_UNITS:
        if duration_s <= up_to_s:
            return unit_s, name
    return 86400.0, "days"


def _legend_order(text: str, rules: list[str]) -> tuple[int, int, str]:
    """Episodes first, then each rule's entries together, then the unknown reasons."""
    if text.startswith("labelled"):
        return (0, 0, text)
    for index, rule in enumerate(rules):
        if text.startswith(rule + ":") or text.startswith(rule + " "):
            return (1, index, text)
    return (2, 0, text)


def _title(timeline: Timeline) -> str:
    rules = sorted({t.rule for t in timeline.thresholds} | {e.rule for e in timeline.events})
    fired = sum(1 for e in timeline.events if e.event == "fired")
    who = f" ({timeline.person})" if timeline.person else ""
    return f"{timeline.name}{who} — rules: {', '.join(rules) or 'none'} — {fired} firing(s)"


def line_points(
    changes: SignalColumn | Iterable[Change], end_s: float, unit_s: float
) -> tuple[list[float], list[float]]:
    """Times (in ``unit_s``) and values of a step line, its envelope when it has more points
    than the picture has pixels (or its column kept only the envelope of a long replay);
    unknown and non-numeric values break the line. A line of more than
    :data:`~ambient.evaluate.envelope.EXACT_UP_TO_POINTS` points (about 6 hours of beats) is
    drawn as its envelope; up to it, point for point."""
    from ambient.evaluate.envelope import EXACT_UP_TO_POINTS, column_width_s, envelope_indices

    reduced_s = changes.width_s if isinstance(changes, SignalColumn) else 0.0
    times_s = array("d")  # 8 bytes a point while they are read, not 32
    ys = array("d")
    for t, value, _ in changes:
        times_s.append(t)
        ys.append(number(value))
    if times_s:
        times_s.append(max(end_s, times_s[-1]))
        ys.append(ys[-1])
    if not reduced_s and len(times_s) <= EXACT_UP_TO_POINTS:
        return [t / unit_s for t in times_s], ys.tolist()
    kept = envelope_indices(times_s, ys, max(reduced_s, column_width_s(end_s)))
    return [times_s[i] / unit_s for i in kept], [ys[i] for i in kept]


def unknown_spans(changes: Iterable[Change], end_s: float) -> list[tuple[float, float, str]]:
    """The stretches (seconds, reason) a signal was unknown, as the evaluation counts them:
    before its first value too (``no data``). Reads the changes once, one at a time."""
    spans: list[tuple[float, float, str]] = []
    previous: Change | None = None
    for change in changes:
        if previous is None:
            first_s = min(change[0], end_s)
            if first_s > 0:
                spans.append((0.0, first_s, NOT_YET))
        else:
            _add_unknown(spans, previous, change[0])
        previous = change
    if previous is None:
        return [(0.0, end_s, NOT_YET)] if end_s > 0 else []
    _add_unknown(spans, previous, end_s)
    return spans


def _add_unknown(spans: list[tuple[float, float, str]], change: Change, until: float) -> None:
    """Add ``change``'s stretch up to ``until`` when its value is unknown (joined to the
    stretch before when it goes on with the same reason)."""
    t, value, reason = change
    if value is not None or until <= t:
        return
    why = reason or UNKNOWN
    if spans and spans[-1][2] == why and abs(spans[-1][1] - t) < 1e-6:
        spans[-1] = (spans[-1][0], until, why)
    else:
        spans.append((t, until, why))


def shade_unknown(
    ax: Any, changes: Iterable[Change], end_s: float, unit_s: float, handles: dict[str, Any]
) -> None:
    """Shade the stretches the signal was unknown along the panel's foot, a colour per reason:
    each reason's stretches one collection (thousands of artists took seconds), edges at their
    own times, and a legend entry for each reason."""
    spare = iter(SPARE_COLOURS * 4)
    colours = dict(REASON_COLOURS)
    blocks: dict[str, list[tuple[float, float]]] = {}
    for start, end, reason in unknown_spans(changes, end_s):
        blocks.setdefault(reason, []).append((start / unit_s, end / unit_s))
    for reason, spans in blocks.items():
        colour = colours.setdefault(reason, next(spare, "#dddddd"))
        entry = _bands(ax, spans, UNKNOWN_HEIGHT, colour, alpha=0.9)
        handles.setdefault(f"score unknown: {reason}", entry)


def shade_episodes(ax: Any, timeline: Timeline, unit_s: float, handles: dict[str, Any]) -> None:
    """The labelled episodes as bands across the panel: one collection (a month has a hundred
    or more), a legend entry made apart."""
    if timeline.labels is None or not timeline.labels.episodes:
        return
    spans = [(start / unit_s, end / unit_s) for start, end in timeline.labels.episodes]
    entry = _bands(ax, spans, 1.0, EPISODE_COLOUR, alpha=0.13)
    handles.setdefault("labelled episode", entry)


def _bands(ax: Any, spans: list[tuple[float, float]], top: float, colour: str, alpha: float) -> Any:
    """Bands from x0 to x1 (in the axis's units), from the panel's foot up to ``top`` (a
    fraction of its height), as one collection; returns a legend entry for them (made apart:
    the collection's own would be a patch per band)."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Rectangle

    shapes = [[(x0, 0.0), (x1, 0.0), (x1, top), (x0, top)] for x0, x1 in spans]
    shaded = PolyCollection(
        shapes, transform=ax.get_xaxis_transform(), color=colour, alpha=alpha, linewidth=0
    )
    ax.add_collection(shaded, autolim=False)
    return Rectangle((0, 0), 1, 1, color=colour, alpha=alpha, linewidth=0)


def _draw_threshold(ax: Any, threshold: Threshold, colour: str, handles: dict[str, Any]) -> None:
    line = ax.axhline(threshold.value, color=colour, linewidth=1.2)
    held = f" for {written_duration_text(threshold.for_s)}" if threshold.for_s else ""
    handles.setdefault(
        f"{threshold.rule}: fires {threshold.direction} {threshold.value:g}{held}", line
    )
    if threshold.hysteresis:
        low, high = sorted((threshold.value, threshold.clear_at))
        band = ax.axhspan(low, high, color=colour, alpha=0.08, lw=0)
        handles.setdefault(f"{threshold.rule}: clears past {threshold.clear_at:g}", band)


#: How each rule event is drawn: (line style, legend text after the rule id).
EVENT_STYLES: dict[str, tuple[Literal["-", "--", ":"], str]] = {
    "fired": ("-", "fired"),
    "recovered": ("--", "recovered"),
    "suppressed": (":", "held, not fired: {reason}"),
}


def mark_events(
    ax: Any, timeline: Timeline, colours: dict[str, str], unit_s: float, handles: dict[str, Any]
) -> None:
    """Each rule's firings, recoveries and held firings as vertical lines: one collection per
    rule and kind (a month has hundreds), a legend entry for each text, made apart."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    lines: dict[tuple[str, Literal["-", "--", ":"]], list[list[tuple[float, float]]]] = {}
    for event in timeline.events:
        style, legend = EVENT_STYLES[event.event]
        x = event.t / unit_s
        lines.setdefault((event.rule, style), []).append([(x, 0.0), (x, 1.0)])
        text = f"{event.rule} " + legend.format(reason=_short(event.reason))
        if text not in handles:
            handles[text] = Line2D(
                [], [], color=colours[event.rule], linestyle=style, linewidth=1.4
            )
    for (rule, style), segments in lines.items():
        marks = LineCollection(
            segments,
            transform=ax.get_xaxis_transform(),
            colors=colours[rule],
            linestyles=style,
            linewidths=1.4,
            capstyle="projecting" if style == "-" else "butt",
            zorder=2,
        )
        ax.add_collection(marks, autolim=False)


def _short(reason: str, limit: int = 40) -> str:
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
