"""Reported signals are rounded without the builtin's decimal strings: the result must be the
builtin's, float for float (sign of zero, type and NaN included), for every value."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambient.signals.rounding import rounded


def same(value: object, digits: int) -> bool:
    """``rounded`` gives what ``round`` gives: the same type and the same bits."""
    expected = round(value, digits)  # type: ignore[call-overload]
    got = rounded(value, digits)  # type: ignore[arg-type]
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(got, float) and math.isnan(got)
    return type(got) is type(expected) and repr(got) == repr(expected)


@pytest.mark.parametrize("digits", [0, 1, 2, 3])
def test_values_of_every_size_and_sign_round_as_the_builtin_rounds_them(digits: int) -> None:
    rng = random.Random(digits)
    for _ in range(40_000):
        magnitude = 10.0 ** rng.uniform(-6, 12)
        value = rng.choice([1.0, -1.0]) * magnitude * rng.random()
        assert same(value, digits), value
    for _ in range(40_000):  # the ranges signals have (heart rates, scores, logarithms)
        value = rng.uniform(-300.0, 300.0)
        assert same(value, digits), value


@pytest.mark.parametrize("digits", [0, 1, 2, 3])
def test_ties_and_the_floats_either_side_of_them_round_as_the_builtin_rounds_them(
    digits: int,
) -> None:
    """Half-way decimals (``x.x5``) and the few floats next to them: the cases the fast way
    must leave to ``round``, which decides them on the float's exact value."""
    rng = random.Random(10 + digits)
    for _ in range(20_000):
        tie = (rng.randrange(-(10**6), 10**6) + 0.5) / 10**digits
        value = tie
        for _ in range(4):
            value = math.nextafter(value, math.inf)
            assert same(value, digits), value
        value = tie
        for _ in range(4):
            value = math.nextafter(value, -math.inf)
            assert same(value, digits), value
        assert same(tie, digits), tie


def test_zero_huge_and_special_values_and_other_types_are_the_builtins() -> None:
    values: list[object] = [0.0, -0.0, 0.04, -0.04, 0.05, -0.05, 0.5, -0.5, 0.51, -0.51]
    values += [1e9, -1e9, 1e15, 2.0**51, 2.0**53 + 2, 1e300, -1e300, 5e-324]
    values += [math.inf, -math.inf, math.nan, 7, -3, True, 10**20]
    for value in values:
        for digits in (-2, -1, 0, 1, 2, 3, 4, 6):
            assert same(value, digits), (value, digits)


@settings(max_examples=3000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 5))
def test_any_float_rounds_as_the_builtin_rounds_it(value: float, digits: int) -> None:
    assert same(value, digits)
