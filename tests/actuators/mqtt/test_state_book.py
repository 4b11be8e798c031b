"""State throttling: quick on meaningful change, never per beat, refreshed for expire_after."""

from __future__ import annotations

from ambient.actuators.mqtt_state import StateBook


def test_first_value_is_urgent_then_small_changes_wait_for_the_tick() -> None:
    book = StateBook(refresh_s=60.0, min_gap_s=1.0)
    assert book.set("hr", "70", 70.0, deadband=5.0)
    book.sent("hr", "70", now=0.0)
    assert not book.set("hr", "72", 72.0, deadband=5.0)
    assert book.urgent(now=10.0) == []
    assert book.due(now=5.0) == [("hr", "72")]


def test_big_change_is_urgent_but_rate_limited_per_topic() -> None:
    book = StateBook(refresh_s=60.0, min_gap_s=1.0)
    book.set("hr", "70", 70.0, 5.0)
    book.sent("hr", "70", 0.0)
    assert book.set("hr", "90", 90.0, 5.0)
    assert book.urgent(now=0.5) == []  # every beat could be a big change: not per beat
    assert book.urgent(now=1.0) == [("hr", "90")]


def test_text_and_unknown_changes_go_out_at_once() -> None:
    book = StateBook(refresh_s=60.0)
    book.set("activity", "rest")
    book.sent("activity", "rest", 0.0)
    assert book.set("activity", "active")
    assert book.urgent(now=0.1) == [("activity", "active")]
    book.set("hr", "70", 70.0, 5.0)
    book.sent("hr", "70", 0.0)
    assert book.set("hr", "None")
    assert book.urgent(now=0.1) == [("activity", "active"), ("hr", "None")]


def test_unchanged_states_are_refreshed_and_reconnect_resends_everything() -> None:
    book = StateBook(refresh_s=60.0)
    book.set("hr", "70", 70.0, 5.0)
    book.sent("hr", "70", 0.0)
    assert book.due(now=59.0) == []
    assert book.due(now=60.0) == [("hr", "70")]
    book.forget_sent()
    assert book.urgent(now=61.0) == [("hr", "70")]
    assert book.everything() == [("hr", "70")]


def test_changed_is_every_state_not_yet_sent_as_it_is_small_changes_included() -> None:
    book = StateBook(refresh_s=60.0, min_gap_s=1.0)
    book.set("hr", "70", 70.0, 5.0)
    book.set("paused", "OFF")
    book.sent("hr", "70", 0.0)
    book.sent("paused", "OFF", 0.0)
    book.set("hr", "72", 72.0, 5.0)  # inside the deadband: urgent() would leave it
    assert book.urgent(now=10.0) == []
    assert book.changed() == [("hr", "72")]


def test_stale_is_what_the_refresh_is_due_for_not_every_small_change() -> None:
    book = StateBook(refresh_s=60.0)
    book.set("hr", "72", 72.0, 5.0)
    book.set("battery", "80", 80.0)
    book.sent("hr", "72", 0.0)
    book.sent("battery", "80", 30.0)
    book.set("hr", "74", 74.0, 5.0)  # a small change waits for the publish_interval tick
    assert book.stale(59.0) == []
    assert book.stale(60.0) == [("hr", "74")]  # refreshed as it is now


def test_a_state_sent_while_a_newer_one_was_set_keeps_its_number() -> None:
    """A reading may come while a state awaits the broker's acknowledgement: the next small
    change is measured from the number sent, not taken for a change from unknown."""
    book = StateBook(refresh_s=60.0, min_gap_s=1.0)
    book.set("hr", "None")
    book.sent("hr", "None", 0.0)
    book.set("hr", "72", 72.0, 5.0)
    assert book.urgent(now=1.0) == [("hr", "72")]  # picked, then awaiting its acknowledgement
    book.set("hr", "74", 74.0, 5.0)
    book.sent("hr", "72", 1.0)
    assert book.urgent(now=2.0) == []
    assert book.set("hr", "80", 80.0, 5.0)
    assert book.urgent(now=2.0) == [("hr", "80")]
