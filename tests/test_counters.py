"""Counters stay small whatever arrives: scopes and reasons past their limits are aggregated."""

from __future__ import annotations

from ambient.counters import MAX_REASONS, MAX_SCOPES, OVERFLOW, Counters


def test_counts_by_scope_and_reason() -> None:
    counters = Counters()
    counters.increment("mqtt:z/#", "bad_json")
    counters.increment("mqtt:z/#", "bad_json", 2)
    assert counters.scope("mqtt:z/#") == {"bad_json": 3}
    assert counters.total() == 3


def test_scopes_past_the_limit_are_aggregated() -> None:
    counters = Counters()
    for index in range(MAX_SCOPES + 5000):
        counters.increment(f"mqtt:invented/{index}", "bad_json")
    snapshot = counters.snapshot()
    assert len(snapshot) == MAX_SCOPES + 1  # the configured ones, and one for the rest
    assert counters.total() == MAX_SCOPES + 5000
    assert snapshot[OVERFLOW]["bad_json"] >= 5000


def test_reasons_past_the_limit_are_aggregated() -> None:
    counters = Counters()
    for index in range(MAX_REASONS + 10):
        counters.increment("ble:strap", f"reason{index}")
    assert len(counters.scope("ble:strap")) == MAX_REASONS + 1
    assert counters.get("ble:strap", OVERFLOW) == 10
