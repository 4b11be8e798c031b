"""A notify's send times are kept in the store per person, so min_interval outlasts a restart;
they are that person's data: export writes them, forget erases them."""

from __future__ import annotations

from pathlib import Path

from ambient.actuators.ha_notify import KEEP_S, NAMESPACE, NotifyHistory
from ambient.privacy.data_classes import data_classes
from ambient.privacy.export import person_rows
from ambient.privacy.forget import forget_store
from ambient.store import Store

STRESSED = "{person} seems stressed"


def test_send_times_are_read_back_by_a_new_history_on_the_same_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "ambient.db")
    NotifyHistory(store).sent("notify.trusted_person", STRESSED, "ambient", "alex", 1000.0)

    again = NotifyHistory(store)
    assert again.last_sent("notify.trusted_person", STRESSED, "ambient", "alex") == 1000.0
    assert again.last_sent("notify.trusted_person", STRESSED, "", "alex") is None  # no title
    assert again.last_sent("notify.other", STRESSED, "ambient", "alex") is None
    store.close()


def test_without_a_store_the_times_live_in_memory() -> None:
    history = NotifyHistory(None)
    history.sent("notify.trusted_person", STRESSED, "", "alex", 1000.0)
    assert history.last_sent("notify.trusted_person", STRESSED, "", "alex") == 1000.0


def test_forget_erases_the_persons_send_times_and_export_writes_them(tmp_path: Path) -> None:
    store = Store(tmp_path / "ambient.db")
    history = NotifyHistory(store)
    history.sent("notify.trusted_person", STRESSED, "", "alex", 1000.0)
    history.sent("notify.trusted_person", STRESSED, "", "sam", 1001.0)
    [notified] = [c for c in data_classes() if c.name == "ha_notify"]
    assert [(t, row["value"]["person"]) for t, row in person_rows(store, notified, "alex")] == [
        (1000.0, "alex")
    ]

    assert forget_store(store, "alex")["ha_notify"] == 1

    kept = NotifyHistory(store)
    assert kept.last_sent("notify.trusted_person", STRESSED, "", "alex") is None
    assert kept.last_sent("notify.trusted_person", STRESSED, "", "sam") == 1001.0
    store.close()


def test_a_send_time_older_than_the_keep_limit_is_dropped_when_read_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "ambient.db")
    NotifyHistory(store).sent("notify.trusted_person", STRESSED, "", "alex", 1000.0)
    NotifyHistory(store).sent("notify.trusted_person", "{person} is calmer", "", "alex", 2000.0)

    history = NotifyHistory(store, now=1000.0 + KEEP_S + 1)
    assert history.last_sent("notify.trusted_person", STRESSED, "", "alex") is None
    assert history.last_sent("notify.trusted_person", "{person} is calmer", "", "alex") == 2000.0
    assert len(store.items(NAMESPACE)) == 1
    store.close()


def test_only_a_send_within_the_interval_holds_the_message_back() -> None:
    history = NotifyHistory(None)
    history.sent("notify.trusted_person", STRESSED, "", "alex", 1000.0)

    def since(now: float) -> float | None:
        return history.since_last("notify.trusted_person", STRESSED, "", "alex", now, 600.0)

    assert (since(1300.0), since(1599.0), since(1600.0)) == (300.0, 599.0, None)
    # The wall clock stepped back (a Pi at boot before NTP): a time "in the future" is no hold.
    assert since(900.0) is None
