"""The weekly report: its structure (golden file), nothing loaded from anywhere, the CLI as a
real subprocess, and the page as a person sees it in headless Chromium at phone and desktop
widths (screenshots kept under build/artifacts/report/, nothing may overflow)."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
import sys
import zoneinfo
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fixtures.ambient_process import run_ambient

from ambient.config.insights import InsightsConfig, TrendConfig
from ambient.config.root import AmbientConfig
from ambient.insights import page_palette, plots
from ambient.insights.minutes import HeldState, OpenDay
from ambient.insights.report import render_week
from ambient.insights.report_cli import kept_and_open, run_report
from ambient.insights.storage import OPEN, InsightStore
from ambient.insights.summaries import DaySummary
from ambient.insights.synthetic import summaries
from ambient.store import Store

WEEK = date(2026, 11, 30)  # 2026-W49
NOW = datetime(2026, 12, 9, 12, 0).timestamp()  # in the week after it
GOLDEN = Path(__file__).with_name("report_structure.golden")
ARTIFACTS = Path(__file__).parents[2] / "build" / "artifacts" / "report"


def page(days: int = 56, first: date = date(2026, 10, 12)) -> str:
    """Alex's page, with Mondays three times as stressful as the other days: a pattern the
    observations tell (a synthetic history's chance differences are rightly not told; four
    Mondays twice as stressful are not rare enough among the kinds the page tests together)."""
    kept = {s.day: busier_on_mondays(s) for s in summaries("alex", first, days, seed=3)}
    return render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)


def busier_on_mondays(day: DaySummary) -> DaySummary:
    """``day`` with three times its stress minutes of each level if it is a Monday."""
    if day.day.weekday() != 0:
        return day
    return replace(
        day,
        low_minutes=day.low_minutes * 3,
        medium_minutes=day.medium_minutes * 3,
        high_minutes=day.high_minutes * 3,
    )


def eight_weeks() -> dict[date, DaySummary]:
    """Alex's eight weeks of days up to the end of the report's week, to change a few of."""
    return {s.day: s for s in summaries("alex", date(2026, 10, 12), 56, seed=3)}


def busy_week_plot() -> str:
    """The bar plot of a week of every stress level and recovery each day."""
    days = [WEEK + timedelta(days=k) for k in range(7)]
    return plots.week_bars(days, [100.0] * 7, [40.0] * 7, [20.0] * 7, [200.0] * 7)


def steady_hrv_plot() -> str:
    """The HRV plot of 60 days at 4.0 inside a band of 3.9 to 4.1, the report's week last."""
    history = [date(2026, 10, 8) + timedelta(days=k) for k in range(60)]
    return plots.hrv_band(history, [4.0] * 60, [4.0] * 60, [3.9] * 60, [4.1] * 60, WEEK)


class Outline(HTMLParser):
    """Headings, section ids, figures and list items: the page's structure, not its numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.urls: list[str] = []
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "xlink:href", "action", "poster", "data"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag in ("h1", "h2"):
            self._heading = tag
        elif tag == "section":
            self.lines.append(f"section#{values.get('id')}")
        elif tag == "figure":
            self.lines.append(f"  figure: {values.get('aria-label')}")
        elif tag in ("li", "table", "script", "link", "img", "iframe"):
            self.lines.append(f"  {tag}")

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            text = data.strip() if self._heading == "h2" else "<name>'s week"
            self.lines.append(f"{self._heading}: {text}")
            self._heading = None


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def test_the_page_has_the_structure_of_the_golden_file() -> None:
    got = "\n".join(outline(page()).lines) + "\n"
    if not GOLDEN.exists():  # first run writes it; review it, then it is the promise
        GOLDEN.write_text(got)
    assert got == GOLDEN.read_text()
    # The golden covers the observations' list: Monday's pattern is told as one item.
    assert "section#observations\nh2: What the data show\n  li\nsection#changes" in got


def test_the_page_loads_nothing_from_anywhere() -> None:
    html = page()
    parsed = outline(html)
    assert all(url.startswith("#") for url in parsed.urls), parsed.urls
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)


def test_the_same_data_give_the_same_page_whatever_was_drawn_before() -> None:
    # The plots reuse their figures between reports: nothing of one report may leak into
    # the next (a taller bar, a wider band, another week's shading).
    first = page()
    other = {s.day: s for s in summaries("sam", date(2026, 9, 1), 91, seed=11)}
    busier = {d: replace(s, high_minutes=s.high_minutes * 4) for d, s in other.items()}
    between = render_week("Sam", busier, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert between != first
    assert page() == first


def test_thin_data_give_no_observations_and_say_so() -> None:
    html = page(days=5, first=WEEK)  # the first five days ever worn
    assert "Not enough data yet to say anything with confidence" in html
    assert "<li>" not in html
    assert (  # which week, and what would be enough
        "<p>Too few days with data to compare the two weeks: 5 this week and 0 last week, "
        "and it needs 3 in each.</p>" in html
    )
    assert "Not enough nights yet for a trend" in html


def keep_eight_weeks_of_days(store_path: Path, person: str) -> None:
    """A store at `store_path` with `person`'s day summaries of 2026-10-12 to 2026-12-06 kept."""
    store = Store(store_path)
    for summary in summaries(person, date(2026, 10, 12), 56, seed=3):
        store.put("insights.days", f"{person}/{summary.day}", summary.to_json())
    store.close()


def test_the_cli_writes_a_private_report_and_says_where(tmp_path: Path) -> None:
    store_path = tmp_path / "state" / "ambient.db"
    keep_eight_weeks_of_days(store_path, "alex")
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\n    name: Alex\nstore:\n  path: {store_path}\n")
    out = tmp_path / "alex.html"
    report = ("report", "--config", str(config))
    done = run_ambient(*report, "--person", "alex", "--week", "2026-W49", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert "Alex's week" in out.read_text()
    assert InsightStore(Store(store_path)).summaries("alex")
    bad = run_ambient(*report, "--person", "sam")
    assert bad.returncode == 1
    assert bad.stderr == "ambient report: no person `sam` (people: alex)\n"
    week = run_ambient(*report, "--person", "alex", "--week", "49")
    assert week.returncode == 1 and "not an ISO week" in week.stderr
    for edge in ("0001-W01", "9999-W52"):  # no weeks around them to read
        week = run_ambient(*report, "--person", "alex", "--week", edge)
        assert (week.returncode, week.stderr) == (
            1,
            f"ambient report: `{edge}` is not an ISO week such as 2026-W49\n",
        )


def test_without_matplotlib_the_report_is_one_line_and_exit_3_as_for_a_plot(
    tmp_path: Path,
) -> None:
    """Without the `report` extra the report exited 1 (failed) where `simulate --plot` and
    `evaluate --plot` exit 3 for the same missing matplotlib: a script telling "install the
    extra" from "something failed" had two answers. A stand-in for an installation without
    the extra: matplotlib made unimportable."""
    store_path = tmp_path / "ambient.db"
    keep_eight_weeks_of_days(store_path, "alex")
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store_path}\n")
    out = tmp_path / "week.html"
    code = (
        "import sys; sys.modules['matplotlib'] = None; from ambient.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    report = ["report", "--config", str(config), "--person", "alex", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", code, *report, "--week", "2026-W49"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        "ambient report: matplotlib is not installed; "
        "install the report extra: pip install 'ambient[report]'\n"
    )
    assert not out.exists()


def test_a_week_not_begun_or_before_the_first_kept_day_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    """Each wrote an empty page and said nothing: a week not yet begun has nothing to show,
    nor has one that ended before the first day kept, nor any week before a day is kept."""
    store_path = tmp_path / "ambient.db"
    keep_eight_weeks_of_days(store_path, "alex")
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\n  - id: sam\nstore:\n  path: {store_path}\n")
    report = ("report", "--config", str(config), "--out", str(tmp_path / "week.html"))

    future = run_ambient(*report, "--person", "alex", "--week", "9998-W01")
    before = run_ambient(*report, "--person", "alex", "--week", "2026-W41")
    nothing = run_ambient(*report, "--person", "sam", "--week", "2026-W49")

    assert future.returncode == 1
    assert re.fullmatch(
        r"ambient report: 9998-W01 has not begun \(this week is \d{4}-W\d\d\)\n", future.stderr
    )
    assert (before.returncode, before.stderr) == (
        1,
        "ambient report: 2026-W41 ended before the first day kept of alex "
        "(2026-10-12, in 2026-W42)\n",
    )
    assert (nothing.returncode, nothing.stderr) == (
        1,
        "ambient report: no days of sam kept yet (the daemon keeps each day it reads "
        "their sensor)\n",
    )
    assert not (tmp_path / "week.html").exists()
    first = run_ambient(*report, "--person", "alex", "--week", "2026-W42")
    assert first.returncode == 0, first.stderr


def test_the_report_of_someone_removed_from_people_covers_their_kept_days(
    tmp_path: Path,
) -> None:
    """Sam left the household; their days stay in the store until `ambient forget`, and
    `ambient insights` shows what was learnt of them: the report is written too, with the
    same note (it refused them as an unknown person)."""
    store_path = tmp_path / "ambient.db"
    keep_eight_weeks_of_days(store_path, "sam")
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store_path}\n")
    out = tmp_path / "sam.html"

    report = ("report", "--config", str(config), "--person", "sam", "--week", "2026-W49")
    done = run_ambient(*report, "--out", str(out))

    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "ambient report: sam: not in the config's people: their days kept before "
        "(`ambient forget --person sam` erases them)\n"
    )
    assert "sam's week" in out.read_text()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def page_with_every_table() -> str:
    """The page with the measured calming moments' table too (a learning rule's option), one
    of them not measured, with its reason, and an observation: of the weeks before, which
    option the body answered best."""
    berlin = ZoneInfo("Europe/Berlin")
    kept = eight_weeks()
    ten = datetime.combine(WEEK + timedelta(days=1), time(10), berlin).timestamp()
    earlier = [
        {"start": ten - (k + 2) * 86400, "rule": "calm", "option": option, "response_sd": sd}
        | {"usable": True, "reason": "", "check_in": None}
        for k, (option, sd) in enumerate([("breathing", 0.6), ("music", 0.1)] * 6)
    ]
    learned = [
        *earlier,
        {"start": ten, "rule": "calm", "option": "breathing", "response_sd": 0.6}
        | {"usable": True, "reason": "", "check_in": "calmer"},
        {"start": ten + 3600, "rule": "calm", "option": "breathing", "response_sd": None}
        | {"usable": False, "reason": "another episode overlaps", "check_in": "no change"},
    ]
    return render_week(
        "Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band, learned, berlin
    )


def measured_in_chromium(html: str, width: int, script: str, *flags: str) -> str:
    """What ``script`` (run in the page at the end of its body) puts in ``found``, as JSON text,
    with the page in a frame ``width`` px wide: headless Chromium lays a window out at least
    500 px wide whatever --window-size says. The page's own script is never part of the
    report: the check is added to a copy. A screenshot of the page at that width is kept."""
    browser = _chromium()
    if browser is None:
        pytest.skip("Debian's `chromium` is not installed (scripts/test installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    mode = "-".join(f.strip("-").split("=")[0] for f in flags)
    source = ARTIFACTS / f"report{'-' if mode else ''}{mode}.html"
    source.write_text(html)
    checked = html.replace(
        "</body>",
        f"<script>const found = (() => {{{script}}})();"
        "parent.document.title = 'F' + JSON.stringify(found) + 'F';</script></body>",
    )
    probe = ARTIFACTS / f"probe-{width}.html"
    probe.write_text(
        f'<!DOCTYPE html><title>-</title><iframe style="width:{width}px;height:2400px;'
        f'border:0" srcdoc="{escape(checked)}"></iframe>'
    )
    base = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *flags]
    shot = ARTIFACTS / f"report-{width}px{'-' if mode else ''}{mode}.png"
    subprocess.run(
        [browser, *base, f"--window-size={width},2400", f"--screenshot={shot}", source.as_uri()],
        capture_output=True,
        check=True,
    )
    dumped = subprocess.run(
        [browser, *base, "--window-size=1400,2400", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000
    found = re.search(r"<title>F(.*)F</title>", dumped.stdout, re.S)
    assert found is not None, dumped.stdout[:300]
    return unescape(found[1])


#: The smallest height in px of the plots' text as drawn: each text's font size times the
#: scale from the SVG's units to the screen's px (rotated or not).
SMALLEST_PLOT_TEXT = """Math.min(...[...document.querySelectorAll('figure svg text')].map(t => {
  const m = t.getScreenCTM();
  return Math.hypot(m.a, m.b) * parseFloat(getComputedStyle(t).fontSize);
}))"""


# Phones at their narrowest (360 px: many Androids), a small iPhone, most phones, a desktop.
@pytest.mark.parametrize("width", [360, 375, 390, 1280])
def test_the_page_fits_a_phone_and_a_desktop_in_chromium(width: int) -> None:
    """Nothing scrolls sideways, the tables included: each table scrolls inside its own box,
    which the page's width never shows (at 390 px a day's sleep, active minutes and resting
    HR were off to the right, and so was the change since last week), and at 360 px each
    table fits whole (the days' table was 12 px wider than its box, and scrolled). The plots'
    text is 12 px or more on a phone (it was drawn at about 10 px)."""
    script = (
        "return {page: document.documentElement.scrollWidth, viewport: innerWidth, "
        "tables: [...document.querySelectorAll('.table')].map(t => [t.scrollWidth, "
        f"t.clientWidth]), text: {SMALLEST_PLOT_TEXT}}};"
    )
    found = json.loads(measured_in_chromium(page_with_every_table(), width, script))
    assert found["viewport"] == width
    assert found["page"] <= width
    assert len(found["tables"]) == 4  # the days, both calming moments' tables, since last week
    assert all(inside <= box for inside, box in found["tables"]), found["tables"]
    assert found["text"] >= 12, found["text"]


def rgb_hex(colour: str) -> str:
    """Chromium's computed ``rgb(r, g, b)`` as ``#rrggbb``."""
    red, green, blue = (int(c) for c in re.findall(r"\d+", colour)[:3])
    return f"#{red:02x}{green:02x}{blue:02x}"


#: Each plot element that has a colour of its own (matplotlib writes it into its style), with
#: the colour Chromium paints it in: [its style, fill, stroke].
PLOT_COLOURS = """[...document.querySelectorAll('figure svg [style]')].map(e => {
  const c = getComputedStyle(e); return [e.getAttribute('style'), c.fill, c.stroke]; })"""


def test_a_phone_in_dark_mode_shows_a_dark_page_whose_plots_keep_their_contrast() -> None:
    """Opened at night on a phone in dark mode, the page was white. Now it is dark, its text
    at 4.5:1 or more, and the plots are repainted (CSS only, the SVG is the same): every shape
    stands out from the dark plot at 3:1 as on the white one (each bar by its fill, the
    boundaries between stacked levels by the outline against both fills, the band by its
    edge, the dots and the 7-day line against the plot and the band), and the axes at 3:1, and
    their text at 4.5:1, as Chromium paints them."""
    script = (
        "const of = s => getComputedStyle(document.querySelector(s));"
        "return {page: of('body').backgroundColor, "
        "texts: ['body', 'h1', 'h2', 'p.lead', '.note', 'th', 'td', 'li'].map(s => of(s).color), "
        f"plot_text: [...new Set([...document.querySelectorAll('figure svg text')].map("
        f"t => getComputedStyle(t).fill))], shapes: {PLOT_COLOURS}}};"
    )
    found = json.loads(
        measured_in_chromium(page_with_every_table(), 390, script, "--force-dark-mode")
    )
    page = rgb_hex(found["page"])
    assert contrast(page, "#000000") < 1.5, page  # a dark page, not a white one
    for text in [*found["texts"], *found["plot_text"]]:
        assert contrast(rgb_hex(text), page) >= 4.5, text

    def painted(light: str, prop: str = "fill") -> set[str]:
        """What each element drawn in ``light`` (its ``fill`` or ``stroke``) is painted in."""
        at = {"fill": 1, "stroke": 2}[prop]
        return {rgb_hex(s[at]) for s in found["shapes"] if f"{prop}: {light}" in s[0]}

    (plot,) = painted(page_palette.PLOT)
    assert plot == page  # the plots' background is the page's
    (outline,) = painted(page_palette.OUTLINE, "stroke")
    for light in (page_palette.LOW, page_palette.MEDIUM, page_palette.HIGH, page_palette.RECOVERY):
        (fill,) = painted(light)
        assert contrast(fill, plot) >= 3 and contrast(fill, outline) >= 3, (light, fill)
    (band,) = painted(page_palette.BAND)
    (band_edge,) = painted(page_palette.BAND_EDGE, "stroke")
    assert contrast(band_edge, plot) >= 3
    for light in (page_palette.DOT, page_palette.LINE):
        (drawn,) = painted(light, "stroke")
        assert contrast(drawn, plot) >= 3 and contrast(drawn, band) >= 3, (light, drawn)
    for light in (page_palette.AXES, page_palette.WEEK_EDGE):
        (drawn,) = painted(light, "stroke")
        assert contrast(drawn, plot) >= 3, (light, drawn)


def test_a_printed_page_is_black_on_white_and_cuts_neither_a_plot_nor_a_table() -> None:
    """Printed (from a phone in dark mode too), the page is black on white, its plots on white,
    and nothing is cut: a table's box showed only what fitted (it scrolls on a screen, and
    paper does not), a plot or a table row could be split between two sheets, and a heading
    ended a sheet with its plot or list on the next (as the HRV plot's and the observations'
    did, printed to PDF). Chromium has no switch to lay a page out as printed, so a copy's
    print rules are applied to the screen (and its screen-only rules, dark mode's, to print),
    in a frame as wide as an A4 sheet's text (190 mm)."""
    shown = page_with_every_table()
    printed = shown.replace("@media print{", "@media all{", 1).replace(
        "@media screen and", "@media print and", 1
    )
    assert "@media screen and" not in printed
    script = (
        "const of = s => getComputedStyle(document.querySelector(s));"
        "return {page: of('body').backgroundColor, text: of('body').color, "
        "plots: [...new Set([...document.querySelectorAll('figure svg [style*=\"fill: #ffffff\"]')]"
        ".map(e => getComputedStyle(e).fill))], "
        "tables: [...document.querySelectorAll('.table')].map(t => "
        "[t.scrollWidth, t.clientWidth, getComputedStyle(t).overflowX]), "
        "kept: [...document.querySelectorAll('figure, tr')].map(e => "
        "getComputedStyle(e).breakInside), "
        "headed: [...document.querySelectorAll('h2')].map(e => getComputedStyle(e).breakAfter)};"
    )
    found = json.loads(measured_in_chromium(printed, 718, script, "--force-dark-mode"))
    assert rgb_hex(found["page"]) == "#ffffff" and rgb_hex(found["text"]) == "#000000"
    assert [rgb_hex(p) for p in found["plots"]] == ["#ffffff"]
    assert all(overflow == "visible" for _, _, overflow in found["tables"]), found["tables"]
    assert all(inside <= box for inside, box, _ in found["tables"]), found["tables"]
    assert set(found["kept"]) == {"avoid"}
    assert set(found["headed"]) == {"avoid"}  # a heading stays with what it heads


def test_this_weeks_report_shows_the_open_day_so_far(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    store_path = tmp_path / "ambient.db"
    store = Store(store_path)
    opened = OpenDay.of(WEEK, berlin)
    held = HeldState(stress=60.0, activity="rest")
    opened.add(opened.start + 8 * 3600, opened.start + 9 * 3600, held, InsightsConfig())
    InsightStore(store).put_day("alex", opened, None)  # open: no summary yet
    store.put(OPEN, "alex", WEEK.isoformat())  # the day the daemon is recording
    store.close()
    config = AmbientConfig.model_validate(
        {"people": [{"id": "alex"}], "timezone": "Europe/Berlin", "store": {"path": store_path}}
    )
    out, err = tmp_path / "now.html", io.StringIO()
    now = opened.start + 10 * 3600
    assert run_report(config, "alex", "2026-W49", out, now, err) == 0, err.getvalue()
    assert '<tr><th scope="row">Mon 30</th><td>1.0</td><td>60</td>' in out.read_text()


def test_a_day_whose_summary_expired_is_not_rebuilt_from_minutes_kept_longer() -> None:
    """`keep_minutes_days` above `keep_days`: a day's summary has expired, its minutes not.
    The report summarises only the days still being recorded, never a day gone."""
    berlin = ZoneInfo("Europe/Berlin")
    store = Store(None)
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "timezone": "Europe/Berlin",
            "insights": {"keep_days": 70, "keep_minutes_days": 100},
        }
    )
    held = HeldState(stress=60.0, activity="rest")
    for day in (WEEK - timedelta(days=80), WEEK):  # expired; today, open
        opened = OpenDay.of(day, berlin)
        opened.add(opened.start + 8 * 3600, opened.start + 9 * 3600, held, config.insights)
        InsightStore(store).put_day("alex", opened, None)
    store.put(OPEN, "alex", WEEK.isoformat())
    assert list(kept_and_open(InsightStore(store), config, "alex")) == [WEEK]


def test_a_config_without_a_store_is_told_so(tmp_path: Path) -> None:
    config = AmbientConfig.model_validate({"people": [{"id": "alex"}], "store": {"path": None}})
    err = io.StringIO()
    assert run_report(config, "alex", "2026-W49", tmp_path / "a.html", NOW, err) == 1
    assert err.getvalue() == (
        "ambient report: this config keeps no store (store.path: null), "
        "so there are no days to report\n"
    )


def test_a_week_a_little_under_the_band_is_not_called_inside_it() -> None:
    kept = eight_weeks()
    mean = sum(s.ln_rmssd or 0.0 for s in kept.values()) / len(kept)
    for s in list(kept.values())[-7:]:  # a mild dip in the report's week: the band, no alarm
        kept[s.day] = replace(s, ln_rmssd=round(mean - 0.095, 3))
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "a little under your normal band, not a sustained drop" in html
    assert "inside your normal band" not in html


def not_worn(summary: DaySummary) -> DaySummary:
    """The summary of a day the daemon ran but no sensor was worn: zeros, no heart data."""
    return DaySummary(summary.person, summary.day, 0, 0, 0, 0, 0, 0, None, None, None, None)


def table_row(html: str, first_cell: str) -> list[str]:
    found = re.search(rf'<tr><th scope="row">{first_cell}</th>(.*?)</tr>', html)
    assert found is not None, first_cell
    return re.findall(r"<td>(.*?)</td>", found[1])


def test_a_day_nothing_was_worn_is_no_data_not_a_calm_day() -> None:
    kept = eight_weeks()
    wednesday, thursday = date(2026, 12, 2), date(2026, 12, 3)
    kept[wednesday], kept[thursday] = not_worn(kept[wednesday]), not_worn(kept[thursday])
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "5 of 7 days with data." in html
    assert table_row(html, "Wed 2") == ["–"] * 6  # "Wed 2": no zero to read
    assert "<th>resting HR bpm</th>" in html  # every column says its unit
    worn = [s for d, s in kept.items() if WEEK <= d < WEEK + timedelta(days=7) and s.worn]
    last_week = [kept[WEEK - timedelta(days=k)] for k in range(1, 8)]
    stress_now = sum(s.stress_minutes for s in worn) / 5
    stress_before = sum(s.stress_minutes for s in last_week) / 7
    assert table_row(html, "stress minutes a day") == [
        f"{stress_before:.0f}",
        f"{stress_now:.0f}",
        f"{round(stress_now) - round(stress_before):+d}",
    ]


def test_two_days_worn_of_a_week_are_too_few_to_compare() -> None:
    kept = eight_weeks()
    for k in range(2, 7):
        day = WEEK + timedelta(days=k)
        kept[day] = not_worn(kept[day])
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "2 of 7 days with data." in html
    assert "Too few days with data to compare the two weeks: 2 this week and 7 last" in html


def test_a_watch_that_sends_hr_only_is_told_why_there_is_no_hrv_trend() -> None:
    # "Not enough nights yet" would promise a trend that heart rate alone can never give.
    kept = {
        s.day: replace(s, ln_rmssd=None, ln_rmssd_source=None)
        for s in summaries("sam", date(2026, 10, 12), 56, seed=3)
    }
    html = render_week("Sam", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "Not enough nights yet" not in html
    assert (
        "<p>No HRV in the last 60 days: it needs the intervals between beats (a chest strap, "
        "or a watch that shares them); heart rate alone has none.</p>" in html
    )


def test_the_hrv_sentence_speaks_plainly_and_says_a_drop_as_the_plot_shows_it() -> None:
    # Two days well under a steady series: the early warning says low while the 7-day mean
    # is still inside the band, so "below your normal band" would contradict the plot.
    first = date(2026, 10, 12)
    kept = {
        s.day: replace(s, ln_rmssd=3.9 if k % 2 else 4.1)
        for k, s in enumerate(summaries("alex", first, 56, seed=3))
    }
    for day in (WEEK + timedelta(days=5), WEEK + timedelta(days=6)):
        kept[day] = replace(kept[day], ln_rmssd=3.8)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    sentence = re.search(r"<p>At the end of the week your HRV was (.*?)</p>", html)
    assert sentence is not None
    assert sentence[1] == (
        "lower than usual for several days: your body may be asking for a lighter few days "
        "(7-day average 3.93; your normal band 3.93–4.08)."
    )
    assert "CUSUM" not in html and "ln RMSSD mean" not in html
    # The plot's name, which a screen reader announces, claims no state: it said "HRV trend
    # inside its normal band" in a week of the early warning.
    assert "inside its normal band" not in html
    # by hand: (3.9 + 4.1 + 3.9 + 4.1 + 3.9 + 3.8 + 3.8) / 7 = 3.929, inside the band from 3.926


def test_a_week_without_enough_hrv_days_says_so_in_words() -> None:
    kept = eight_weeks()
    for k in range(2, 7):
        day = WEEK + timedelta(days=k)
        kept[day] = replace(kept[day], ln_rmssd=None, ln_rmssd_source=None)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert (
        "<p>Your HRV trend is not known at the end of this week: 2 of the last 7 days had "
        "HRV, and it needs 3.</p>" in html
    )


def test_since_last_week_compares_hrv_from_one_source_only() -> None:
    # A night strap most nights; four days this week without it give a daytime value (a
    # quiet moment's HRV runs lower): mixing them in would read as a drop that is not one.
    kept = {
        s.day: replace(s, ln_rmssd=4.2, ln_rmssd_source="night")
        for s in summaries("alex", date(2026, 10, 12), 56, seed=3)
    }
    for k in range(7):
        day = WEEK + timedelta(days=k)
        if k < 4:
            kept[day] = replace(kept[day], ln_rmssd=3.6, ln_rmssd_source="quietest_5min")
        else:
            kept[day] = replace(kept[day], ln_rmssd=4.1)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert table_row(html, r"HRV \(ln RMSSD\)") == ["4.20", "4.10", "-0.10"]


def test_a_change_is_the_difference_of_the_numbers_shown() -> None:
    # 36.3 and 39.6 show as 36 and 40: the change a reader checks is +4, not +3.
    kept = eight_weeks()
    for k in range(1, 8):
        earlier = WEEK - timedelta(days=k)
        kept[earlier] = replace(kept[earlier], active_minutes=36.3)
    for k in range(7):
        day = WEEK + timedelta(days=k)
        kept[day] = replace(kept[day], active_minutes=39.6)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert table_row(html, "active minutes a day") == ["36", "40", "+4"]


def test_out_dash_writes_the_page_to_stdout_and_no_file_named_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out -` wrote a file called `-` (the person's week, made where the command ran), where
    `ambient export --out -` means stdout. In process, to read stdout."""
    store_path = tmp_path / "state" / "ambient.db"
    keep_eight_weeks_of_days(store_path, "alex")
    config = AmbientConfig.model_validate(
        {"people": [{"id": "alex", "name": "Alex"}], "store": {"path": str(store_path)}}
    )
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()

    assert run_report(config, "alex", "2026-W49", Path("-"), NOW, err) == 0, err.getvalue()

    html = capsys.readouterr().out
    assert html.startswith("<!DOCTYPE html>") or html.startswith("<!doctype html>")
    assert "Alex's week" in html and html.rstrip().endswith("</html>")
    assert not (tmp_path / "-").exists()


def test_measured_calming_moments_do_not_hide_other_rules_episodes() -> None:
    """Where the intervention learning measured an episode, its table came instead of the
    week's calming moments: another rule's episodes (a plain `log` or lights rule) vanished.
    Both show; an episode the learning measured is listed once, in its table."""
    berlin = ZoneInfo("Europe/Berlin")
    tuesday = WEEK + timedelta(days=1)
    ten = datetime.combine(tuesday, time(10), berlin).timestamp()
    kept = eight_weeks()
    calm = {"rule": "calm", "start": ten, "end": ten + 900, "actions": ["choose_calming"]}
    lights = {"rule": "evening_lights", "start": ten + 7200, "end": ten + 8000}
    lights |= {"actions": ["dim"], "stress_before": 70.0, "stress_after": 48.0}
    kept[tuesday] = replace(kept[tuesday], episodes=(calm, lights))
    learned = [
        {"start": ten + 5, "rule": "calm", "option": "breathing", "response_sd": 0.6}
        | {"usable": True, "reason": "", "check_in": "calmer"}
    ]
    html = render_week(
        "Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band, learned, berlin
    )
    assert '<th scope="row">Tue 10:00</th><td>calm</td><td>breathing</td><td>+0.6 SD</td>' in html
    assert (
        '<th scope="row">Tue 1</th><td>evening_<wbr>lights</td><td>dim</td><td>70</td><td>48</td>'
        in html
    )
    assert "<td>calm</td><td>choose_<wbr>calming</td>" not in html  # measured: listed once


def test_each_day_shows_the_hours_worn_so_a_short_day_reads_as_one() -> None:
    """Stress and recovery minutes grow with the hours a sensor was worn: a day worn 1.5 h
    has few of either. Its row says so first, beside its minutes."""
    kept = eight_weeks()
    tuesday = WEEK + timedelta(days=1)
    kept[tuesday] = replace(kept[tuesday], measured_minutes=90.0, low_minutes=20.0)
    kept[tuesday] = replace(kept[tuesday], medium_minutes=5.0, high_minutes=0.0)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "<th>day</th><th>worn h</th>" in html
    assert table_row(html, "Tue 1")[:2] == ["1.5", "25"]


def figure_texts(html: str) -> dict[str, str]:
    """Each figure's text alternative (what a screen reader reads instead of its picture), by
    its label; its SVG must be hidden from screen readers (tick labels without their bars)."""
    found: dict[str, str] = {}
    for label, body in re.findall(r'<figure aria-label="([^"]*)">(.*?)</figure>', html, re.S):
        assert re.match(r'<svg aria-hidden="true"', body), body[:80]
        caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", body, re.S)
        assert caption is not None, label
        found[label] = caption[1]
    return found


def test_each_chart_tells_a_screen_reader_its_numbers() -> None:
    """The two charts had only a name ("HRV trend inside its normal band"), and their SVG read
    as loose tick labels: a screen reader never heard the minutes of each stress level, nor
    the HRV values of the week. Each figure now carries them in words."""
    kept = eight_weeks()
    wednesday = WEEK + timedelta(days=2)
    kept[wednesday] = not_worn(kept[wednesday])
    thursday = WEEK + timedelta(days=3)  # heart rate only: no stress score, as in its row
    kept[thursday] = replace(not_worn(kept[thursday]), active_minutes=20.0, resting_hr=60.0)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    texts = figure_texts(html)
    assert set(texts) == {
        "stress and recovery minutes per day",
        "HRV over 60 days and its normal band",
    }
    bars = texts["stress and recovery minutes per day"]
    monday = kept[WEEK]
    assert (
        f"Mon 30 Nov: {monday.stress_minutes:.0f} minutes of stress ({monday.low_minutes:.0f} "
        f"low, {monday.medium_minutes:.0f} medium, {monday.high_minutes:.0f} high) and "
        f"{monday.recovery_minutes:.0f} of recovery." in bars
    )
    assert "Wed 2 Dec: no data." in bars  # not a calm day: nothing was worn
    # Heart rate only: its row has active minutes and a resting HR, so not "no data"
    assert "Thu 3 Dec: no stress score, so no bars." in bars
    hrv = texts["HRV over 60 days and its normal band"]
    assert "over the 60 days from 8 Oct to 6 Dec 2026" in hrv  # what the plot covers
    for k in range(7):
        day = kept[WEEK + timedelta(days=k)]
        if day.ln_rmssd is not None:
            assert f"{day.day:%a} {day.ln_rmssd:.2f}" in hrv
    sentence = re.search(r"7-day average ([\d.]+); your normal band ([\d.]+)–([\d.]+)", html)
    assert sentence is not None
    assert f"and ends at {sentence[1]}." in hrv  # the 7-day average, a sentence with a verb
    assert f"The normal band (shaded) ends at {sentence[2]} to {sentence[3]}." in hrv
    # Read aloud, a dash between two numbers is silent at a screen reader's usual punctuation
    # level ("3.85 4.04"): the words only a screen reader reads say "to".
    assert "–" not in bars and "–" not in hrv


def test_the_hrv_words_say_what_is_not_known_at_the_end_of_a_week_not_worn() -> None:
    """A week nothing was worn: the plot's line and band stop before it, and its words say so
    in sentences ("The 7-day average (line) not known at the end" had no verb)."""
    kept = eight_weeks()
    for k in range(7):
        kept[WEEK + timedelta(days=k)] = not_worn(kept[WEEK + timedelta(days=k)])
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    hrv = figure_texts(html)["HRV over 60 days and its normal band"]
    assert re.search(
        r"The 7-day average \(line\) is between [\d.]+ and [\d.]+ over the days it is known, "
        r"and is not known at the end\. The normal band \(shaded\) is not known at the end\.",
        hrv,
    ), hrv
    assert hrv.endswith(
        "This week, shaded grey: "
        + ", ".join(f"{WEEK + timedelta(days=k):%a} no value" for k in range(7))
        + "."
    )


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
        red, green, blue = (
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
        )
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def shape_styles(svg: str, group: str) -> list[tuple[str, str | None]]:
    """(fill, stroke) of each filled path in the SVG groups whose id starts with ``group``."""
    found = []
    for body in re.findall(rf'<g id="{group}[^"]*">(.*?)</g>', svg, re.S):
        for style in re.findall(r'style="([^"]*fill: #[0-9a-f]{6}[^"]*)"', body):
            fill = re.search(r"fill: (#[0-9a-f]{6})", style)
            stroke = re.search(r"stroke: (#[0-9a-f]{6})", style)
            assert fill is not None
            found.append((fill[1], stroke[1] if stroke else None))
    return found


def test_the_plots_shapes_stand_out_at_3_to_1_for_low_vision() -> None:
    """WCAG 1.4.11: the low-stress bars (1.6:1 against the white plot), the medium ones
    (2.6:1), the boundaries between stacked levels (1.6–1.7:1) and the normal band (1.3:1)
    were faint for a reader with low vision. Each bar now has a dark outline (at least 3:1
    against the white and against every fill), the band a blue edge, and the dots a grey
    that stands out against the band too."""
    bars = busy_week_plot()
    segments = shape_styles(bars, "PolyCollection")
    assert {fill for fill, _ in segments} == {
        page_palette.LOW,
        page_palette.MEDIUM,
        page_palette.HIGH,
        page_palette.RECOVERY,
    }
    for fill, stroke in segments:
        assert stroke is not None, fill
        assert contrast(stroke, "#ffffff") >= 3 and contrast(stroke, fill) >= 3, (fill, stroke)
    band = steady_hrv_plot()
    ((band_fill, band_edge),) = shape_styles(band, "FillBetween")
    assert band_edge is not None and contrast(band_edge, "#ffffff") >= 3
    for drawn in (
        page_palette.DOT,
        page_palette.LINE,
    ):  # the dots and the 7-day line, inside the band too
        assert f"stroke: {drawn}" in band
        assert contrast(drawn, "#ffffff") >= 3 and contrast(drawn, band_fill) >= 3, drawn


def test_the_hrv_plots_week_has_an_edge_at_3_to_1_in_the_plot_and_its_legend() -> None:
    """The week the page is about is a 5 % grey over the plot, 1.1:1 against the white, and so
    was the legend's "this week" swatch: named, and all but invisible to a reader with low
    vision. Both have a grey edge of at least 3:1 now."""
    band = steady_hrv_plot()
    shades = re.findall(r'style="([^"]*opacity: 0\.05[^"]*)"', band)
    assert len(shades) == 2, shades  # the week in the plot, and its swatch in the legend
    for style in shades:
        stroke = re.search(r"stroke: (#[0-9a-f]{6})", style)
        assert stroke is not None, style
        assert contrast(stroke[1], "#ffffff") >= 3, style


def test_the_page_says_the_time_zone_of_its_days_and_times() -> None:
    """A calming moment's "Tue 10:00" and each day's midnight are the config's zone's, which
    the page never named: read abroad, or on a phone in another zone, they were ambiguous."""
    html = page_with_every_table()  # Europe/Berlin
    lead = re.search(r'<p class="lead">(.*?)</p>', html)
    assert lead is not None
    assert lead[1] == (
        "2026-W49: 30 Nov – 6 Dec 2026. 7 of 7 days with data. Days and times in Europe/Berlin."
    )
    assert "Days and times in UTC." in page()  # no zone given: render_week's default


def test_a_system_zone_without_a_name_is_told_by_its_abbreviation() -> None:
    """Without a `timezone` in the config the system's zone is read, which tzlocal hands over
    as "local" when the system does not name it (a copied /etc/localtime): the page said
    "Days and times in local."."""
    tz_file = next(
        Path(folder, "Europe", "Berlin")
        for folder in zoneinfo.TZPATH
        if Path(folder, "Europe", "Berlin").exists()
    )
    with tz_file.open("rb") as file:
        unnamed = ZoneInfo.from_file(file, key="local")
    kept = eight_weeks()
    html = render_week(
        "Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band, (), unnamed
    )
    zone = "Days and times in CET (the time zone of the computer ambient runs on).</p>"
    assert f"7 of 7 days with data. {zone}" in html
    clocks_changed = date(2026, 10, 19)  # 2026-W43: summer time ended on Sunday 25 Oct
    html = render_week(
        "Alex", kept, clocks_changed, TrendConfig(), plots.week_bars, plots.hrv_band, (), unnamed
    )
    assert "Days and times in CEST and CET (the time zone of the computer" in html


def test_a_first_week_is_told_what_the_hrv_band_still_needs_in_plain_words() -> None:
    """The first week's page read "Not enough nights yet for a trend: 0 days with HRV in the
    normal range; 14 needed" (the trend's reason for HA): after five nights of HRV, as if none
    had been normal. The band is learnt from the days before the latest week."""
    html = page(days=5, first=WEEK)
    assert "normal range" not in html
    assert (
        "<p>Not enough nights yet for a trend: your normal band is learnt from at least 14 "
        "days with HRV before the latest 7, and there are 0 so far.</p>" in html
    )


def test_a_week_without_a_stress_score_draws_no_empty_chart() -> None:
    """A week the daemon ran with nothing worn drew the bar chart all the same: no bars, a y
    axis from -0.04 to 0.04 minutes, the "minutes" label cut off; a watch that sends heart
    rate only (no stress score) drew that every week. The page says why there is no chart."""
    kept = eight_weeks()
    week = [WEEK + timedelta(days=k) for k in range(7)]
    for day in week:
        kept[day] = not_worn(kept[day])
    nothing = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "stress and recovery minutes per day" not in nothing
    assert "<p>No days with data this week.</p>" in nothing
    for day in week:  # heart rate only: active minutes and resting HR, no stress score
        kept[day] = replace(kept[day], active_minutes=30.0, resting_hr=58.0)
    heart_rate_only = render_week(
        "Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band
    )
    assert "stress and recovery minutes per day" not in heart_rate_only
    assert (
        "<p>No stress score this week, so no stress or recovery minutes: it needs the "
        "intervals between beats (heart rate alone has none).</p>" in heart_rate_only
    )
    assert table_row(heart_rate_only, "Mon 30")[4:] == ["30", "58"]  # the table stays


def test_a_week_of_sleep_only_says_nothing_was_worn_and_keeps_its_table() -> None:
    """Sleep came from another source (a phone's sleep sensor) while no strap was worn: the
    week has days with data, but no minutes to draw; the page says so rather than blaming
    heart rate alone, which was not worn either."""
    kept = eight_weeks()
    for k in range(7):
        day = WEEK + timedelta(days=k)
        kept[day] = replace(not_worn(kept[day]), sleep_hours=7.5)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "7 of 7 days with data." in html
    assert "stress and recovery minutes per day" not in html
    assert "<p>Nothing was worn this week: no stress or recovery minutes.</p>" in html
    assert table_row(html, "Mon 30") == ["–", "–", "–", "7.5", "–", "–"]


def test_bars_of_zero_minutes_stand_on_an_axis_from_zero() -> None:
    """A week whose days were worn but counted no minute of stress or recovery (a short wear
    at a low score) drew a y axis of negative minutes around zero."""
    days = [WEEK + timedelta(days=k) for k in range(7)]
    busy = busy_week_plot()
    svg = plots.week_bars(days, [0.0] * 7, [0.0] * 7, [0.0] * 7, [0.0] * 7)
    assert busy_week_plot() == busy  # the figure is reused: the next week scales to its own
    ticks = re.findall(r"<text[^>]*>([^<]*)</text>", svg)  # written as text (svg.fonttype)
    assert "0" in ticks
    assert not any(t.startswith(("\u2212", "-")) or "." in t for t in ticks), ticks


def test_a_day_of_heart_rate_only_has_no_stress_minutes_not_zero() -> None:
    """A watch that sends heart rate only gives no stress score: its days showed 0 stress and
    0 recovery minutes (a calm day, to a reader) and "Since last week" counted those zeros."""
    kept = eight_weeks()
    for k in range(7):
        day = WEEK + timedelta(days=k)
        kept[day] = replace(not_worn(kept[day]), active_minutes=30.0, resting_hr=58.0)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert table_row(html, "Mon 30") == ["–", "–", "–", "–", "30", "58"]
    last_week = [kept[WEEK - timedelta(days=k)] for k in range(1, 8)]
    before = sum(s.stress_minutes for s in last_week) / 7
    assert table_row(html, "stress minutes a day") == [f"{before:.0f}", "–", "–"]
    assert table_row(html, "active minutes a day")[1:] == ["30", "-6"]


def test_since_last_week_needs_three_days_with_a_value_of_each_measure() -> None:
    """A strap worn one day and a watch of heart rate only the other six: "Since last week"
    compared one day's stress minutes with last week's seven as if they were a week's (the
    heart-rate-only days are no data, not zeros). A measure with fewer than 3 days with a
    value in either week is not compared, as the weeks are not with fewer than 3 days."""
    kept = eight_weeks()
    for k in range(1, 7):
        day = WEEK + timedelta(days=k)
        kept[day] = replace(not_worn(kept[day]), active_minutes=30.0, resting_hr=58.0)
    html = render_week("Alex", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    last_week = [kept[WEEK - timedelta(days=k)] for k in range(1, 8)]
    before = sum(s.stress_minutes for s in last_week) / 7
    assert table_row(html, "stress minutes a day") == [f"{before:.0f}", "–", "–"]
    assert table_row(html, "sleep")[1:] == ["–", "–"]  # one night
    assert table_row(html, "resting heart rate")[1:] == ["58 bpm", "-2 bpm"]  # seven days
    assert (
        '<p class="note">A measure with a value on fewer than 3 days of a week shows –.</p>' in html
    )
    assert "days of a week shows" not in page()  # every measure compared: nothing to explain


def test_the_hrv_plot_says_what_its_grey_part_is() -> None:
    """The week the page is about is shaded grey in the 60-day plot, which its legend never
    named; and the legend's "7-day mean" is the sentence's "7-day average"."""
    band = steady_hrv_plot()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", band)
    assert texts[-4:] == ["normal band", "daily", "7-day average", "this week"]
    for frame in (plots._band_frame(), plots._bars_frame()):  # drawn: the legend fits
        (legend,) = frame.figure.legends
        shown = legend.get_window_extent()
        assert shown.x0 >= -2 and shown.x1 <= frame.figure.bbox.x1 + 2  # 2 px: its padding
        assert shown.y0 >= frame.axes.get_window_extent().y1  # above the plot, not over it


def test_the_hrv_numbers_say_what_unit_they_are_in() -> None:
    """ "7-day average 3.87; your normal band 3.85–4.04": numbers without a unit, on a log scale
    that no watch app shows. A note under them says what they are, in milliseconds too."""
    html = page()
    sentence = re.search(r"7-day average ([\d.]+);", html)
    assert sentence is not None
    milliseconds = math.exp(float(sentence[1]))
    assert (
        '<p class="note">HRV here is ln RMSSD: the natural logarithm of RMSSD, the variation '
        "from one heartbeat to the next in milliseconds (a 7-day average of "
        f"{sentence[1]} is about {milliseconds:.0f} ms).</p>" in html
    )


def test_the_calming_moments_table_says_its_numbers_are_stress_scores() -> None:
    """ "stress before 80, after 58" under a table of "stress min": a reader took them for
    minutes. A note says they are the stress score (0 to 100) and over which minutes."""
    html = page()
    episodes = re.search(r'<section id="episodes">(.*?)</section>', html, re.S)
    assert episodes is not None
    assert (
        '<p class="note">Stress before and after: the mean stress score (0 to 100) over the '
        "10 minutes before the moment began and from 10 to 20 minutes after.</p>" in episodes[1]
    )


def test_a_day_without_minutes_draws_no_bar_stub() -> None:
    """With outlines, a day of no data drew a zero-high bar as a dark stub on the axis, as if
    it had been measured at 0: a bar of no minutes is not drawn."""
    days = [WEEK + timedelta(days=k) for k in range(7)]
    recovery = [200.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    svg = plots.week_bars(days, [100.0] * 7, [0.0] * 7, [20.0] * 7, recovery)
    drawn = [fill for fill, _ in shape_styles(svg, "PolyCollection")]
    assert (drawn.count(page_palette.LOW), drawn.count(page_palette.MEDIUM)) == (7, 0)
    assert (drawn.count(page_palette.HIGH), drawn.count(page_palette.RECOVERY)) == (7, 1)


def test_heart_rate_only_is_not_promised_patterns_after_a_few_weeks() -> None:
    """Every observation compares stress or recovery minutes, which need a stress score: a
    watch that sends heart rate only was told "patterns appear after a few weeks of wear",
    week after week, for patterns that never could."""
    kept = {
        s.day: replace(not_worn(s), active_minutes=40.0, resting_hr=60.0)
        for s in summaries("sam", date(2026, 10, 12), 56, seed=3)
    }
    html = render_week("Sam", kept, WEEK, TrendConfig(), plots.week_bars, plots.hrv_band)
    assert "patterns appear after a few weeks of wear" not in html
    assert (
        "<p>No patterns to tell: they compare stress and recovery minutes, which need a stress "
        "score, and heart rate alone gives none.</p>" in html
    )
    assert "patterns appear after a few weeks of wear" in page(days=5, first=WEEK)  # new


def test_each_table_row_is_named_by_its_first_cell_for_a_screen_reader() -> None:
    """Going down the "change" column, a screen reader read "+31, -8, -0.3 h" without the
    measure each belongs to: rows had no header. Each row's first cell (the day, the moment,
    the measure) is its header now."""
    html = page_with_every_table()
    rows = re.findall(r"<tr>(<t[hd][^>]*>)", html.split("<tbody>", 1)[1])
    body_rows = [r for r in rows if r != "<th>"]  # the header rows' cells are <th>
    assert len(body_rows) == 7 + 2 + 2 + 6
    assert set(body_rows) == {'<th scope="row">'}
