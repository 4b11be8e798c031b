"""Durations as people write them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ambient.config.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5min", 300.0),
        ("1h30m", 5400.0),
        ("1h 30min", 5400.0),
        ("00:05:00", 300.0),
        ("01:30", 5400.0),
        ("2.5s", 2.5),
        ("250ms", 0.25),
        ("45", 45.0),
        (45, 45.0),
        (0.5, 0.5),
        ("1d", 86400.0),
    ],
)
def test_accepted_forms(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 fortnights", "m5", "1h30", "-5", "5min!", True, None])
def test_rejected_forms_say_what_is_accepted(text: object) -> None:
    with pytest.raises(ValueError, match=r"90s, 5min, 1h30m, 00:05:00|negative"):
        parse_duration(text)


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_clock_form_equals_unit_form(h: int, m: int, s: int) -> None:
    assert parse_duration(f"{h:02d}:{m:02d}:{s:02d}") == parse_duration(f"{h}h{m}m{s}s")


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ({"minutes": 5}, 300.0),
        ({"hours": 0, "minutes": 5, "seconds": 0}, 300.0),  # what HA's editor writes
        ({"days": 1, "hours": 2}, 93600.0),
        ({"seconds": 1.5, "milliseconds": 500}, 2.0),
    ],
)
def test_home_assistants_dictionary_form(written: dict[str, float], seconds: float) -> None:
    assert parse_duration(written) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ({}, "give days, hours, minutes, seconds or milliseconds"),
        ({"mins": 5}, "unknown key `mins`"),
        ({"minutes": "five"}, "`minutes` must be a number"),
        ({"minutes": True}, "`minutes` must be a number"),
        ({"minutes": -5}, "negative"),
    ],
)
def test_dictionary_form_mistakes_are_named(written: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_duration(written)
