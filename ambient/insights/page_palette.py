"""The weekly page's colours: the plots' (drawn into the SVG by :mod:`ambient.insights.plots`)
and their counterparts for a phone in dark mode, which the page's CSS swaps in (no matplotlib
here: the page's CSS is written without it)."""

from __future__ import annotations

LOW, MEDIUM, HIGH = "#f2c36b", "#e8894a", "#c8553d"
RECOVERY = "#5a9e7c"
LINE, BAND, DOT = "#3b6ea8", "#d7e6f4", "#6f7f8e"
#: The bars' outline and the band's edge: at least 3:1 against the white plot (and the outline
#: against every bar's fill), so a reader with low vision sees each shape and where one stress
#: level ends and the next begins (WCAG 1.4.11); the pale fills alone are 1.3–2.6:1.
OUTLINE, BAND_EDGE = "#23303b", "#5f86b3"
#: The edge of the report's week in the 60-day HRV plot (its shade is 5 % black).
WEEK_EDGE = "#767676"
#: What matplotlib draws in black and white: the axes and ticks, the figure's background.
AXES, PLOT = "#000000", "#ffffff"

#: The dark page's background, text and the quieter text of notes.
DARK_PAGE, DARK_TEXT, DARK_MUTED, DARK_RULE = "#15191d", "#e3e6ea", "#a9b3bd", "#3a4249"

#: Each plot colour in dark mode, for the same shapes on the dark page: light fills stand out
#: against it by themselves (3:1 or more), the outline takes the page's colour so stacked
#: levels stay apart, the band darkens (a pale band would glare at night) and its edge, the
#: line and the dots lighten.
DARK: dict[str, str] = {
    PLOT: DARK_PAGE,
    AXES: "#b8c1ca",
    OUTLINE: DARK_PAGE,
    BAND: "#24384d",
    BAND_EDGE: "#6f9fd6",
    LINE: "#86b8f0",
    DOT: "#a8b5c2",
    WEEK_EDGE: "#939393",
}


def dark_plot_css() -> str:
    """CSS rules that repaint the inline SVG plots in the dark palette: matplotlib writes each
    colour into a ``style`` attribute, which only an ``!important`` rule overrides. The text,
    drawn in the default black (no colour written), and the week's 5 % shade (black on white,
    white on the dark page) are set by element and opacity."""
    rules = [
        f'svg [style*="{prop}: {light}"]{{{prop}:{dark}!important}}'
        for light, dark in DARK.items()
        for prop in ("fill", "stroke")
    ]
    rules.append(f"figure svg text{{fill:{DARK_TEXT}}}")
    rules.append('svg [style*="fill-opacity: 0.05"]{fill:#ffffff!important}')
    return "\n".join(rules)
