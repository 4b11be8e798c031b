"""Insights on a full SD card (a real small file system filled up): one warning when the card
fills, the minutes kept in memory and written once there is room, and a stop that still ends
cleanly (exit 0, "Stopped"), saying what it could not save."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fixtures.ambient_process import AmbientProcess
from fixtures.small_disk import fill, small_disk

from ambient.clock import VirtualClock
from ambient.config.insights import InsightsConfig
from ambient.insights.service import Insights
from ambient.insights.storage import InsightStore
from ambient.messages import SignalUpdate, SignalValue
from ambient.store import Store

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
SERVICE = "ambient.insights.service"


def local(hour: int, minute: int, day: int = 1) -> float:
    return datetime(2026, 7, day, hour, minute, tzinfo=BERLIN).timestamp()


def insights_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in (SERVICE, "ambient.clock")]


class Wearer:
    """Insights on a virtual clock with a real store, fed a steady stress score each minute."""

    def __init__(self, store: Store, start: float) -> None:
        self.clock = VirtualClock(start)
        self.published: list[SignalUpdate] = []
        self.insights = Insights(
            InsightsConfig(), ["alex"], BERLIN, self.clock, store, self.published.append
        )

    def wear_until(self, until: float) -> None:
        t = self.clock.now()
        while t < until:
            t = min(t + 60.0, until)
            self.clock.advance_to(t)
            value = SignalValue(30.0, t, None)
            self.insights.on_signals(SignalUpdate(t, "alex", {"stress_score": value}))


def test_a_full_card_is_one_warning_and_the_minutes_are_written_once_there_is_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The save every 10 minutes used to fail as a timer callback each time, named by its
    function (`Timer callback Insights._on_persist failed: StoreError ...`)."""
    with small_disk(tmp_path / "card") as card:
        store = Store(card / "ambient.db")
        wearer = Wearer(store, local(8, 0))
        wearer.wear_until(local(8, 30))
        fill(card)
        with caplog.at_level(logging.INFO):
            wearer.wear_until(local(10, 0))  # nine saves refused
        assert wearer.clock.failed_callbacks == 0
        assert insights_lines(caplog) == [
            f"Insights not saved: store {card / 'ambient.db'} cannot be used (database or disk "
            "is full); the minutes are kept in memory and written when there is room (tried "
            "every 10min)"
        ]
        caplog.clear()
        (card / "recordings.csv").unlink()  # room again
        with caplog.at_level(logging.INFO):
            wearer.wear_until(local(10, 10))
        assert insights_lines(caplog) == ["Insights saved again"]
        kept = InsightStore(store).open_day("alex", date(2026, 7, 1), BERLIN)
        assert kept is not None and sorted(kept.bins) == list(range(8 * 60 + 1, 10 * 60 + 10))
        wearer.insights.close()
        store.close()


def test_a_stop_on_a_full_card_says_what_it_did_not_save_and_ends_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`close` raised the StoreError: the daemon's stop went no further (no "Stopped", exit 1)."""
    with small_disk(tmp_path / "card") as card:
        store = Store(card / "ambient.db")
        wearer = Wearer(store, local(8, 0))
        wearer.wear_until(local(8, 30))
        fill(card)
        wearer.wear_until(local(8, 45))
        closed: list[str] = []
        wearer.insights.closing.append(lambda: closed.append("report"))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            wearer.insights.close()
        store.close()
    assert closed == ["report"]  # the rest of the stop still ran
    assert insights_lines(caplog) == [
        f"Insights not saved at the stop: the minutes of alex since 08:30 on 2026-07-01 are "
        f"lost: store {card / 'ambient.db'} cannot be used (database or disk is full)"
    ]


def test_a_stop_after_a_restart_counts_what_the_run_before_saved(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with small_disk(tmp_path / "card") as card:
        store = Store(card / "ambient.db")
        before = Wearer(store, local(8, 0))
        before.wear_until(local(8, 30))
        before.insights.close()  # saved to 08:30
        again = Wearer(store, local(8, 35))
        fill(card)
        again.wear_until(local(10, 0))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            again.insights.close()
        store.close()
    assert insights_lines(caplog) == [
        f"Insights not saved at the stop: the minutes of alex since 08:30 on 2026-07-01 are "
        f"lost: store {card / 'ambient.db'} cannot be used (database or disk is full)"
    ]


def test_a_run_stopped_on_a_full_card_exits_0_saying_stopped(tmp_path: Path) -> None:
    config = tmp_path / "ambient.yaml"
    with small_disk(tmp_path / "card") as card:
        config.write_text(
            "people:\n  - id: alex\nsensors:\n  - type: recording\n"
            f"    path: {ROOT / 'ambient' / 'data' / 'resting-hour.csv'}\n"
            f"    person: alex\n    loop: true\nstore:\n  path: {card / 'ambient.db'}\n"
        )
        daemon = AmbientProcess("run", "--config", str(config), "--speed", "10")
        daemon.stderr.wait_for("Running: 1 sensor")
        fill(card)
        daemon.process.terminate()
        returncode = daemon.process.wait(timeout=60)
        lines = daemon.stderr.all_lines()
    assert returncode == 0, "".join(lines)
    assert any("Stopped on SIGTERM" in line for line in lines), "".join(lines)
    assert any("Insights not saved at the stop" in line for line in lines), "".join(lines)
    assert not any("Traceback" in line for line in lines), "".join(lines)
