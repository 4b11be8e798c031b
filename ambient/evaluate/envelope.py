"""What a timeline picture can show of a line with more points than it has pixels: of each of
a few thousand columns across the time axis, the first, lowest, highest and last value, in time
order (the M4 reduction), every gap kept exactly.

Columns are a power of two seconds wide, counted from the start: a column of twice the width
is exactly two of the narrower ones, so a line reduced while a replay runs (before its length
is known) and reduced again for the picture is the line reduced once, point for point."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The fewest columns a picture's time axis is cut into: two a pixel of the 13-inch PNG at
#: 100 dpi (so also for an SVG or PDF zoomed in twice). It gets up to twice as many.
COLUMNS = 2600
#: A line with more points than this (about 6 hours of beats) is drawn as its envelope; up to
#: it, point for point.
EXACT_UP_TO_POINTS = 8 * COLUMNS


def column_width_s(span_s: float) -> float:
    """The width (seconds, a power of two) of the columns a line ``span_s`` long is cut into:
    the widest that gives at least :data:`COLUMNS` (so between one and two times as many)."""
    _, exponent = math.frexp(max(span_s, 1.0) / COLUMNS)  # span / COLUMNS = m * 2**exponent
    return math.ldexp(1.0, exponent - 1)


def envelope_indices(
    times_s: Sequence[float], numbers: Sequence[float], width_s: float
) -> list[int]:
    """The indices of the points the line keeps with columns ``width_s`` wide (a power of two
    seconds): of each column's run of numbers its first, lowest, highest and last, in time
    order. The line enters and leaves every column at the same heights and spans the same
    range in it, so it covers the same pixels. A NaN (unknown, or not a number: a gap in the
    line) is kept, and with it the last number before and the first after."""
    kept: list[int] = []
    first = low = high = last = -1  # indices in the current run; -1: none yet
    column = -1
    for index, (t, y) in enumerate(zip(times_s, numbers, strict=True)):
        if math.isnan(y):
            if first >= 0:
                kept.extend(sorted({first, low, high, last}))
                first = -1
            kept.append(index)
            continue
        here = math.floor(t / width_s)  # exact: width_s is a power of two
        if here != column or first < 0:
            if first >= 0:
                kept.extend(sorted({first, low, high, last}))
            column, first, low, high, last = here, index, index, index, index
            continue
        if y < numbers[low]:
            low = index
        elif y > numbers[high]:
            high = index
        last = index
    if first >= 0:
        kept.extend(sorted({first, low, high, last}))
    return kept
