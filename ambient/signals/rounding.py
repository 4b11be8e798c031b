"""``round(value, digits)`` of reported signals: the same float for every value, at a part of
the cost.

The builtin rounds through a decimal string (``_Py_dg_dtoa``, then ``_Py_dg_strtod`` of the
digits: about 3,000 machine instructions on CPython 3.13), and every update rounds the
signals it reports. Here: when ``value * 10**digits`` is not a half-way value, the decimal
``round`` works out is the integer nearest it over ``10**digits``, and dividing the two
(both exact as floats) gives the float nearest that decimal, which is what ``round`` returns.
The product is rounded, but rounding is monotonic and every half-way mark below ``_LIMIT``
is a float itself, so the rounded product lies on the same side of each mark as the exact
one, or on the mark. Everything else (on a mark, rounding to zero, huge values, NaN,
infinities, ints, other places) goes to ``round`` itself.
"""

from __future__ import annotations

from typing import Final

#: ``10 ** digits`` as floats (exact) for the places signals are reported with.
_SCALES: Final = {0: 1.0, 1: 10.0, 2: 100.0, 3: 1000.0}
#: 1.5 * 2**52: for ``|x| < 2**51``, ``(x + _TO_WHOLE) - _TO_WHOLE`` is the integer nearest
#: ``x`` (ties to even): the sum's last place is 1, so the addition rounds the fraction away.
_TO_WHOLE: Final = 6755399441055744.0
_LIMIT: Final = 1e9  # far below 2**51: every half-way mark up to here is a float


def rounded(value: float, digits: int) -> float:
    """``round(value, digits)``: the same float (or whatever ``round`` gives) for every
    value and number of places."""
    if type(value) is float:
        try:
            scale = _SCALES[digits]
        except KeyError:
            return round(value, digits)
        scaled = value * scale
        # Beyond half a unit (so the integer is not 0, whose sign `round` keeps) and within
        # the limit; NaN fails both.
        if 0.5 < scaled < _LIMIT or -_LIMIT < scaled < -0.5:
            whole = (scaled + _TO_WHOLE) - _TO_WHOLE
            off = scaled - whole  # exact: both are whole multiples of scaled's last place
            if -0.5 < off < 0.5:  # not on a half-way mark
                return whole / scale
    return round(value, digits)
