"""The weekly report: one self-contained HTML page per person and ISO week (inline SVG plots,
inline CSS, no scripts, nothing loaded from anywhere), readable offline and on a phone.

It shows the week's stress and recovery minutes per day beside sleep and activity, the HRV
trend inside its normal band, the calming episodes and how the body responded, up to three
observations the data support, and what changed since last week.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from ambient.insights.days import day_and_month, week_label
from ambient.insights.observations import PATTERN_DAYS, observations, scored_days, signed
from ambient.insights.page_palette import (
    DARK_MUTED,
    DARK_PAGE,
    DARK_RULE,
    DARK_TEXT,
    dark_plot_css,
)
from ambient.insights.summaries import DaySummary
from ambient.insights.trends import HrvTrend, TrendSettings, comparable_days, hrv_trend

HISTORY_DAYS = 28
TREND_DAYS = 60
#: Days with data in each of the two weeks "Since last week" compares.
MIN_WEEK_DAYS = 3

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:16px;
color:#23303b;background:#fbfaf7;line-height:1.45}
main{max-width:760px;margin:0 auto}
h1{font-size:1.4rem;margin:.2em 0}h2{font-size:1.1rem;margin:1.6em 0 .4em}
p.lead{color:#52606d;margin-top:0}
figure{margin:0}figure svg{width:100%;max-width:36rem;height:auto;display:block;margin:0 auto}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:4px 6px;text-align:right;border-bottom:1px solid #e4e1da;white-space:nowrap}
th:first-child,td:first-child{text-align:left}tbody th{font-weight:normal}
thead th{white-space:normal;vertical-align:bottom}#changes tbody th{white-space:normal}
#episodes td{white-space:normal}#episodes td:nth-child(-n+3){overflow-wrap:break-word}
@media (max-width:520px){body{padding:10px}table{font-size:.8rem}th,td{padding:4px 2px}}
@media (max-width:380px){body{padding:6px}thead th{font-size:.75rem}
th:first-child{padding-left:0}td:last-child{padding-right:0}}
ul{padding-left:1.2em}li{margin:.4em 0}
.note{color:#52606d;font-size:.85rem}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media print{body{background:#fff;color:#000;padding:0}main{max-width:none}
.table{overflow:visible}figure,tr{break-inside:avoid}h2{break-after:avoid}}
"""
#: Dark mode, on screens only (a printed page stays black on white): the page's colours, and
#: the plots repainted in their dark palette.
_DARK_CSS = f"""
@media screen and (prefers-color-scheme:dark){{
:root{{color-scheme:dark}}
body{{background:{DARK_PAGE};color:{DARK_TEXT}}}p.lead,.note{{color:{DARK_MUTED}}}
th,td{{border-bottom-color:{DARK_RULE}}}
{dark_plot_css()}
}}
"""


def render_week(
    name: str,
    summaries: Mapping[date, DaySummary],
    monday: date,
    trend_config: TrendSettings,
    week_bars: Callable[..., str],
    hrv_band: Callable[..., str],
    learned: Sequence[Mapping[str, Any]] = (),
    zone: tzinfo = UTC,
) -> str:
    """The page for the week starting ``monday`` (the plot functions are passed in, so only
    the caller imports matplotlib). ``learned``: the episodes the intervention learning
    measured over the last four weeks (see :mod:`ambient.insights.learned`)."""
    week_days = [monday + timedelta(days=k) for k in range(7)]
    week = _with_data(summaries, week_days)
    last_week = _with_data(summaries, [d - timedelta(days=7) for d in week_days])
    history = [
        summaries[monday + timedelta(days=k)]
        for k in range(7 - HISTORY_DAYS, 7)
        if monday + timedelta(days=k) in summaries
    ]
    label = week_label(monday)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(name)} · week {label}</title>",
        f"<style>{_CSS}{_DARK_CSS}</style></head><body><main>",
        f"<h1>{_e(name)}'s week</h1>",
        f'<p class="lead">{label}: {day_and_month(monday)} – {day_and_month(week_days[-1])} '
        f"{week_days[-1]:%Y}. {len(week)} of 7 days with data. "
        f"Days and times in {_e(_zone_name(zone, week_days))}.</p>",
    ]
    # The daily HRV values of the one source the trend reads: the plot's and the changes'.
    hrv = comparable_days(summaries, week_days[-1], trend_config)
    parts += _days_section(week_days, summaries, week_bars)
    parts += _trend_section(summaries, hrv, week_days[-1], monday, trend_config, hrv_band)
    week_begin = datetime.combine(monday, time(0), zone).timestamp()
    this_week = [e for e in learned if float(e["start"]) >= week_begin]
    parts += _episodes_section(week, this_week, zone)
    parts += _observations_section(history, week, learned)
    parts += _changes_section(week, last_week, hrv)
    parts.append(
        '<p class="note">ambient is a wellness tool, not a medical device. These are patterns '
        "in your own data, offered as options to try, never as a verdict.</p>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _with_data(summaries: Mapping[date, DaySummary], days: Sequence[date]) -> list[DaySummary]:
    """The days that have heart or sleep data (a day closed with nothing worn has neither)."""
    return [s for d in days if (s := summaries.get(d)) is not None and _has_data(s)]


def _has_data(summary: DaySummary) -> bool:
    return summary.worn or summary.sleep_hours is not None


def _e(text: object) -> str:
    return html.escape(str(text))


def _weekday(day: date) -> str:
    """``Tue 1``: a day of the week in the tables (no zero for a screen reader to read)."""
    return f"{day:%a} {day.day}"


def _zone_name(zone: tzinfo, days: Sequence[date]) -> str:
    """The config's zone by its name (Europe/Berlin); the system's when it has none (tzlocal
    calls it "local") by its abbreviations over the days (CEST and CET)."""
    if getattr(zone, "key", "") not in (None, "local"):
        return str(zone)
    names = dict.fromkeys(datetime.combine(d, time(12), zone).tzname() for d in days)
    return f"{' and '.join(str(n) for n in names)} (the time zone of the computer ambient runs on)"


def _row(header: str) -> str:
    """A row's first cell, its header: what a screen reader names each of the row's cells by
    (the day, the moment, the measure), as the column headers name the columns."""
    return f'<th scope="row">{_e(header)}</th>'


def _name(text: object) -> str:
    """A rule's or action's id, which may break after its underscores on a phone
    (``calm_when_stressed`` is one long word to a browser)."""
    return _e(text).replace("_", "_<wbr>")


def _n(value: float | None, digits: int = 0, unit: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def _days_section(
    days: Sequence[date], summaries: Mapping[date, DaySummary], week_bars: Callable[..., str]
) -> list[str]:
    rows = [summaries.get(d) for d in days]

    def col(attribute: str) -> list[float]:
        return [float(getattr(s, attribute)) if s is not None else 0.0 for s in rows]

    out = ['<section id="days"><h2>Stress and recovery, day by day</h2>']
    if not _with_data(summaries, days):
        return [*out, "<p>No days with data this week.</p></section>"]
    if any(s is not None and s.scored for s in rows):
        svg = week_bars(
            days,
            col("low_minutes"),
            col("medium_minutes"),
            col("high_minutes"),
            col("recovery_minutes"),
        )
        out.append(_figure("stress and recovery minutes per day", svg, _bars_text(days, rows)))
    elif any(s is not None and s.worn for s in rows):  # no chart of nothing but zeros
        out.append(
            "<p>No stress score this week, so no stress or recovery minutes: it needs the "
            "intervals between beats (heart rate alone has none).</p>"
        )
    else:
        out.append("<p>Nothing was worn this week: no stress or recovery minutes.</p>")
    out.append('<div class="table"><table><thead><tr><th>day</th><th>worn h</th>')
    out.append("<th>stress min</th>")
    out.append("<th>recovery min</th><th>sleep h</th><th>active min</th><th>resting HR bpm</th>")
    out.append("</tr></thead><tbody>")
    for day, s in zip(days, rows, strict=True):
        if s is None:
            out.append(f"<tr>{_row(_weekday(day))}" + "<td>–</td>" * 6 + "</tr>")
            continue
        out.append(
            f"<tr>{_row(_weekday(day))}<td>{_n(_hours_worn(s), 1)}</td>"
            f"<td>{_n(_scored(s, s.stress_minutes))}</td>"
            f"<td>{_n(_scored(s, s.recovery_minutes))}</td><td>{_n(s.sleep_hours, 1)}</td>"
            f"<td>{_n(_worn(s, s.active_minutes))}</td><td>{_n(s.resting_hr)}</td></tr>"
        )
    out.append("</tbody></table></div></section>")
    return out


def _figure(label: str, svg: str, text: str) -> str:
    """A plot with its text alternative: the numbers it shows, in words, for a screen reader
    (a caption hidden from sight), which reads that instead of the SVG's loose tick labels."""
    hidden = svg.replace("<svg", '<svg aria-hidden="true"', 1)
    caption = f'<figcaption class="sr">{_e(text)}</figcaption>'
    return f'<figure aria-label="{label}">{hidden}{caption}</figure>'


def _bars_text(days: Sequence[date], rows: Sequence[DaySummary | None]) -> str:
    """What the bar plot shows, day by day. A day without a stress score has no bars: "no
    data" if its row has none either, else (heart rate or sleep only) "no stress score", as
    its row shows its other numbers."""
    parts = ["Bars for each day: stress minutes by level, stacked, beside recovery minutes."]
    for day, s in zip(days, rows, strict=True):
        when = f"{day:%a} {day_and_month(day)}"
        if s is None or not _has_data(s):
            parts.append(f"{when}: no data.")
            continue
        if not s.scored:
            parts.append(f"{when}: no stress score, so no bars.")
            continue
        parts.append(
            f"{when}: {s.stress_minutes:.0f} minutes of stress ({s.low_minutes:.0f} "
            f"low, {s.medium_minutes:.0f} medium, {s.high_minutes:.0f} high) and "
            f"{s.recovery_minutes:.0f} of recovery."
        )
    return " ".join(parts)


def _band_text(
    days: Sequence[date],
    daily: Mapping[date, float],
    trends: Sequence[HrvTrend],
    monday: date,
) -> str:
    """What the HRV plot shows: the range of the daily values, where the line and the band
    ended, and this week's values one by one. "to" between numbers, never a dash: a screen
    reader at its usual punctuation level reads "3.85–4.04" as "3.85 4.04"."""
    values = [daily[d] for d in days if d in daily]
    means = [t.mean_7d for t in trends if t.mean_7d is not None]
    latest = trends[-1]
    parts = [
        f"Daily HRV (ln RMSSD, dots) over the {len(days)} days from {day_and_month(days[0])} to "
        f"{day_and_month(days[-1])} {days[-1]:%Y}: {len(values)} days with a value"
        + (f", from {min(values):.2f} to {max(values):.2f}" if values else "")
        + "."
    ]
    if means:
        unknown = latest.mean_7d is None
        ended = "is not known at the end" if unknown else f"ends at {latest.mean_7d:.2f}"
        parts.append(
            f"The 7-day average (line) is between {min(means):.2f} and {max(means):.2f} "
            f"over the days it is known, and {ended}."
        )
    if latest.band_low is None or latest.band_high is None:
        parts.append("The normal band (shaded) is not known at the end.")
    else:
        band = f"{latest.band_low:.2f} to {latest.band_high:.2f}"
        parts.append(f"The normal band (shaded) ends at {band}.")
    week = [d for d in days if d >= monday]
    each = ", ".join(f"{d:%a} {daily[d]:.2f}" if d in daily else f"{d:%a} no value" for d in week)
    parts.append(f"This week, shaded grey: {each}.")
    return " ".join(parts)


def _trend_section(
    summaries: Mapping[date, DaySummary],
    daily: Mapping[date, float],
    last_day: date,
    monday: date,
    config: TrendSettings,
    hrv_band: Callable[..., str],
) -> list[str]:
    days = [last_day - timedelta(days=k) for k in range(TREND_DAYS - 1, -1, -1)]
    out = ['<section id="trend"><h2>Heart rate variability and its normal band</h2>']
    kept = [s for d in days if (s := summaries.get(d)) is not None]
    if any(s.worn for s in kept) and all(s.ln_rmssd is None for s in kept):
        out.append(
            f"<p>No HRV in the last {TREND_DAYS} days: it needs the intervals between beats "
            "(a chest strap, or a watch that shares them); heart rate alone has none.</p>"
        )
        return [*out, "</section>"]
    trends = [hrv_trend(daily, d, config) for d in days]
    latest = trends[-1]
    if not any(t.band_low is not None for t in trends):
        out.append(f"<p>Not enough nights yet for a trend: {_missing(latest, config)}.</p>")
        out.append("</section>")
        return out
    svg = hrv_band(
        days,
        [daily.get(d) for d in days],
        [t.mean_7d for t in trends],
        [t.band_low for t in trends],
        [t.band_high for t in trends],
        monday,
    )
    text = _band_text(days, daily, trends, monday)
    out.append(_figure("HRV over 60 days and its normal band", svg, text))
    out.append(f"<p>{_e(_hrv_sentence(latest, config))}</p>")
    out.append(f'<p class="note">{_ln_rmssd_note(latest.mean_7d)}</p>')
    return [*out, "</section>"]


def _ln_rmssd_note(mean_7d: float | None) -> str:
    """What the HRV numbers are: a log scale no watch app shows, so the shown 7-day average
    in milliseconds too."""
    note = (
        "HRV here is ln RMSSD: the natural logarithm of RMSSD, the variation from one "
        "heartbeat to the next in milliseconds"
    )
    if mean_7d is None:
        return note + "."
    shown = round(mean_7d, 2)
    return f"{note} (a 7-day average of {shown:.2f} is about {math.exp(shown):.0f} ms)."


def _hrv_sentence(trend: HrvTrend, config: TrendSettings) -> str:
    """Where the week ended, in words and the numbers of the plot (the trend's own reason,
    for HA and the log, speaks of CUSUMs and ln RMSSD means)."""
    if trend.state is None or trend.mean_7d is None:
        return f"Your HRV trend is not known at the end of this week: {_missing(trend, config)}."
    words = {
        # The early warning: several low days, whether or not the 7-day mean left the band.
        "low": "lower than usual for several days: your body may be asking for a lighter few days",
        "normal": "inside your normal band",
        "high": "above your normal band",
    }
    wording = words[trend.state]
    if trend.state == "normal" and _under(trend.mean_7d, trend.band_low):
        wording = "a little under your normal band, not a sustained drop"
    numbers = (
        f"{config.mean_days}-day average {trend.mean_7d:.2f}; "
        f"your normal band {_n(trend.band_low, 2)}–{_n(trend.band_high, 2)}"
    )
    return f"At the end of the week your HRV was {wording} ({numbers})."


def _missing(trend: HrvTrend, config: TrendSettings) -> str:
    """What an unknown trend still needs, in words (its reason, for HA, says "normal range"
    for the days the band is learnt from, which here would read as days of normal HRV)."""
    if trend.valid_days_range < config.min_range_days:
        return (
            f"your normal band is learnt from at least {config.min_range_days} days with HRV "
            f"before the latest {config.mean_days}, and there are {trend.valid_days_range} so far"
        )
    have, days, need = trend.valid_days_7d, config.mean_days, config.min_days_per_week
    return f"{have} of the last {days} days had HRV, and it needs {need}"


def _under(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value < limit


def _episodes_section(
    week: Sequence[DaySummary], learned: Sequence[Mapping[str, Any]], zone: tzinfo
) -> list[str]:
    """The episodes the intervention learning measured (``learned``, this week's), then every
    other rule's episode of the week with its stress before and after: one does not hide the
    other."""
    episodes = [(s.day, e) for s in week for e in s.episodes if not _measured(e, learned)]
    out = ['<section id="episodes"><h2>Calming moments and how your body responded</h2>']
    if not episodes and not learned:
        return [*out, "<p>No calming moments this week.</p></section>"]
    if learned:
        out += _measured_table(learned, zone)
    if not episodes:
        return [*out, "</section>"]
    if learned:
        out.append("<p>Other moments, with the stress score before and after:</p>")
    out.append('<div class="table"><table><thead><tr><th>day</th><th>rule</th><th>what</th>')
    out.append("<th>stress before</th><th>after</th></tr></thead><tbody>")
    for day, e in episodes:
        actions = ", ".join(str(a) for a in e.get("actions", [])) or "–"
        out.append(
            f"<tr>{_row(_weekday(day))}<td>{_name(e.get('rule', ''))}</td>"
            f"<td>{_name(actions)}</td>"
            f"<td>{_n(e.get('stress_before'))}</td><td>{_n(e.get('stress_after'))}</td></tr>"
        )
    out.append("</tbody></table></div>")
    out.append(
        '<p class="note">Stress before and after: the mean stress score (0 to 100) over the '
        "10 minutes before the moment began and from 10 to 20 minutes after.</p>"
    )
    return [*out, "</section>"]


def _measured(episode: Mapping[str, Any], learned: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the learning measured ``episode`` (a rule's firing until it recovered): its
    option was chosen by the same rule while the episode lasted."""
    start, end = episode.get("start"), episode.get("end")
    if not isinstance(start, int | float):
        return False
    return any(
        e.get("rule") == episode.get("rule")
        and start <= float(e["start"])
        and (not isinstance(end, int | float) or float(e["start"]) <= end)
        for e in learned
    )


def _measured_table(learned: Sequence[Mapping[str, Any]], zone: tzinfo) -> list[str]:
    out = ['<div class="table"><table><thead><tr><th>when</th><th>rule</th><th>what</th>']
    out.append("<th>HRV after</th><th>how it felt</th></tr></thead><tbody>")
    for e in learned:
        when = datetime.fromtimestamp(float(e["start"]), zone)
        if e.get("usable") and e.get("response_sd") is not None:
            response = f"{signed(float(e['response_sd']))} SD"
        else:
            response = "not measured" + (f" ({e['reason']})" if e.get("reason") else "")
        out.append(
            f"<tr>{_row(f'{when:%a %H:%M}')}<td>{_name(e.get('rule', ''))}</td>"
            f"<td>{_name(e.get('option', ''))}</td><td>{_e(response)}</td>"
            f"<td>{_e(e.get('check_in') or '–')}</td></tr>"
        )
    out.append("</tbody></table></div>")
    out.append(
        '<p class="note">HRV after: the change in your heart rate variability 5–20 minutes '
        "after, against the 5 minutes before, in units of your own day-to-day spread.</p>"
    )
    return out


def _observations_section(
    history: Sequence[DaySummary],
    week: Sequence[DaySummary],
    learned: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    found = observations(history, week, learned)
    out = ['<section id="observations"><h2>What the data show</h2>']
    worn = [d for d in history if d.worn]
    if not found and worn and not any(d.scored for d in worn):
        return [  # heart rate only: no wait makes a pattern appear
            *out,
            "<p>No patterns to tell: they compare stress and recovery minutes, which need a "
            "stress score, and heart rate alone gives none.</p></section>",
        ]
    if not found and len(scored_days(history)) >= PATTERN_DAYS:
        return [  # weeks worn: what differs is within the ups and downs chance often makes
            *out,
            "<p>No pattern stands out: over the last four weeks, no group of days differed "
            "from the others by more than day-to-day ups and downs often do.</p></section>",
        ]
    if not found:
        return [
            *out,
            "<p>Not enough data yet to say anything with confidence; patterns appear after a "
            "few weeks of wear.</p></section>",
        ]
    out.append("<ul>")
    out += [f"<li>{_e(o.text)}</li>" for o in found]
    return [*out, "</ul></section>"]


def _changes_section(
    week: Sequence[DaySummary], last_week: Sequence[DaySummary], hrv: Mapping[date, float]
) -> list[str]:
    """Means over the days with data of each week, each of at least ``MIN_WEEK_DAYS`` values
    (a day of heart rate only has no stress minutes: one strap day is not a week's mean);
    ``hrv``: the daily values of the one HRV source the trend reads (a night value and a
    daytime quiet moment are not comparable)."""
    out = ['<section id="changes"><h2>Since last week</h2>']
    if len(week) < MIN_WEEK_DAYS or len(last_week) < MIN_WEEK_DAYS:
        return [
            *out,
            f"<p>Too few days with data to compare the two weeks: {len(week)} this week and "
            f"{len(last_week)} last week, and it needs {MIN_WEEK_DAYS} in each.</p></section>",
        ]
    measures: list[tuple[str, Callable[[DaySummary], float | None], str, int]] = [
        ("stress minutes a day", lambda s: _scored(s, s.stress_minutes), "", 0),
        ("recovery minutes a day", lambda s: _scored(s, s.recovery_minutes), "", 0),
        ("sleep", lambda s: s.sleep_hours, " h", 1),
        ("active minutes a day", lambda s: _worn(s, s.active_minutes), "", 0),
        ("resting heart rate", lambda s: s.resting_hr, " bpm", 0),
        ("HRV (ln RMSSD)", lambda s: hrv.get(s.day), "", 2),
    ]
    out.append('<div class="table"><table><thead><tr><th>measure</th><th>last week</th>')
    out.append("<th>this week</th><th>change</th></tr></thead><tbody>")
    uncompared = False
    for title, read, unit, digits in measures:
        before, now = _mean(last_week, read), _mean(week, read)
        uncompared = uncompared or before is None or now is None
        change = "–" if before is None or now is None else _change(before, now, digits, unit)
        out.append(
            f"<tr>{_row(title)}<td>{_n(before, digits, unit)}</td>"
            f"<td>{_n(now, digits, unit)}</td><td>{change}</td></tr>"
        )
    out.append("</tbody></table></div>")
    if uncompared:
        out.append(
            f'<p class="note">A measure with a value on fewer than {MIN_WEEK_DAYS} days of a '
            "week shows –.</p>"
        )
    return [*out, "</section>"]


def _worn(summary: DaySummary, minutes: float) -> float | None:
    """Minutes of a day something was worn; None (no data) on a day nothing was."""
    return minutes if summary.worn else None


def _scored(summary: DaySummary, minutes: float) -> float | None:
    """Stress or recovery minutes of a day with a stress score; None (no data) on a day
    without one: nothing worn, or heart rate only, which gives no score (not a calm day)."""
    return minutes if summary.scored else None


def _hours_worn(summary: DaySummary) -> float | None:
    """Hours with a stress score (a sensor worn and read): what a day's stress and recovery
    minutes are a share of; None when there was none (nothing worn, or heart rate only)."""
    return summary.measured_minutes / 60 if summary.scored else None


def _change(before: float, now: float, digits: int, unit: str) -> str:
    """The difference of the two numbers as shown (36 and 40 change by +4, whatever the
    decimals behind them), or "same"."""
    difference = round(round(now, digits) - round(before, digits), digits)
    return "same" if difference == 0 else f"{difference:+.{digits}f}{unit}"


def _mean(days: Sequence[DaySummary], read: Callable[[DaySummary], float | None]) -> float | None:
    """The mean of the days' values, None with fewer than ``MIN_WEEK_DAYS`` of them."""
    values = [v for v in (read(d) for d in days) if v is not None]
    return statistics.fmean(values) if len(values) >= MIN_WEEK_DAYS else None
