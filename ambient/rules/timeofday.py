"""Local time for rules: time-of-day windows that may cross midnight, and
short texts for traces."""

from __future__ import annotations

from datetime import datetime, time, tzinfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def in_window(now: time, after: time | None, before: time | None) -> bool:
    """HA's time condition: ``after`` inclusive, ``before`` exclusive; when ``after`` is later
    than ``before`` the window crosses midnight (22:00 → 06:00)."""
    if after is None and before is None:
        return True
    if after is None:
        assert before is not None
        return now < before
    if before is None:
        return now >= after
    if after <= before:
        return after <= now < before
    return now >= after or now < before


def in_condition_window(now: time, after: time | None, before: time | None) -> bool:
    """HA's time condition exactly: a missing ``after`` is midnight, and a window whose
    ``after`` is not earlier than its ``before`` wraps midnight, so equal ends (07:00 to
    07:00, or a lone ``before: "00:00"``) hold all day, as in HA, rather than never."""
    start = after if after is not None else time(0)
    if before is None:
        return now >= start
    if start < before:
        return start <= now < before
    return not before <= now < start


def weekday_of(moment: datetime) -> str:
    return WEEKDAYS[moment.weekday()]


def local_text(timestamp: float, zone: tzinfo) -> str:
    """``10:45`` (or ``10:45:30`` when seconds matter) in the rule zone."""
    moment = datetime.fromtimestamp(timestamp, zone)
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")
