"""What a picture keeps of a line with more points than pixels: each column's first, lowest,
highest and last value, every gap exactly, in columns a power of two seconds wide."""

from __future__ import annotations

import math
import random

import pytest

from ambient.evaluate.envelope import COLUMNS, column_width_s, envelope_indices


@pytest.mark.parametrize("span_s", [1.0, 3600.0, 7 * 86400.0, 31 * 86400.0, 1e9])
def test_the_columns_are_a_power_of_two_seconds_and_there_are_one_to_two_times_columns(
    span_s: float,
) -> None:
    width_s = column_width_s(span_s)
    assert math.frexp(width_s)[0] == 0.5  # a power of two
    assert COLUMNS <= span_s / width_s < 2 * COLUMNS


def test_a_line_keeps_each_column_s_first_lowest_highest_and_last_value() -> None:
    """Here 1-second columns: the line enters and leaves every column at the same heights and
    spans the same range, in time order."""
    times_s = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.2, 1.5, 2.5, 2.6]
    values = [50.0, 70.0, 40.0, 60.0, 45.0, 55.0, 80.0, 81.0, 90.0, 91.0]
    kept = envelope_indices(times_s, values, 1.0)
    assert [times_s[i] for i in kept] == [0.0, 0.1, 0.2, 0.5, 1.2, 1.5, 2.5, 2.6]


def test_every_gap_in_the_line_is_kept_exactly() -> None:
    """An unknown value (NaN: the line breaks there) stays where it was, and so do the last
    value before it and the first after it, however short the gap."""
    rng = random.Random(1)
    times_s = [i / 1000 for i in range(3000)]
    values = [math.nan if i in (1234, 1235, 2000) else 60 + rng.random() for i in range(3000)]
    kept = envelope_indices(times_s, values, 0.125)
    assert [i for i in kept if math.isnan(values[i])] == [1234, 1235, 2000]
    assert {1233, 1236, 1999, 2001} <= set(kept)
    assert len(kept) <= 4 * 24 + 3 * 3


def test_reducing_in_narrow_columns_first_draws_the_same_line() -> None:
    """A replay reduces its line before it knows the recording's length; reduced again in
    columns twice or four times as wide it is the line reduced once, point for point."""
    rng = random.Random(7)
    times_s = sorted(rng.uniform(0, 1000) for _ in range(20_000))
    values = [math.nan if rng.random() < 0.002 else float(rng.randint(40, 120)) for _ in times_s]
    narrow = envelope_indices(times_s, values, 0.25)
    for width_s in (0.5, 1.0):
        again = envelope_indices([times_s[i] for i in narrow], [values[i] for i in narrow], width_s)
        assert [narrow[i] for i in again] == envelope_indices(times_s, values, width_s)
