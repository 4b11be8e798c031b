"""The zone of every local time (rules, insights, check-ins): the config's `timezone`, or the
system's as it is when the config is (re)loaded, so a zone changed on the Pi (raspi-config,
timedatectl) is taken up by a reload."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from ambient.clock import resolve_zone


def test_the_configured_zone_is_used() -> None:
    assert resolve_zone("America/New_York") == ZoneInfo("America/New_York")


def test_without_a_configured_zone_a_changed_system_zone_is_taken_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The TZ variable is the first place the system zone is looked up: it stands for the
    # zone file timedatectl rewrites, which a test may not touch.
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert str(resolve_zone(None)) == "Europe/Berlin"
    monkeypatch.setenv("TZ", "America/New_York")
    assert str(resolve_zone(None)) == "America/New_York"
