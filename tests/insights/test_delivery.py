"""The scheduled weekly report: written on the configured local weekday and time (across DST),
under a name that cannot be guessed, with one HA notification per person linking to it.

The notification goes to a recording stand-in for HA's notify service: the call itself is HA's
client, tested against the real HA in tests/actuators."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fixtures.ambient_process import AmbientProcess, run_ambient
from fixtures.small_disk import fill, small_disk

from ambient.clock import VirtualClock
from ambient.config.retention import RetentionConfig
from ambient.config.root import AmbientConfig
from ambient.connections.errors import NotConnected
from ambient.hub import Hub
from ambient.insights import page_process
from ambient.insights.days import week_label
from ambient.insights.delivery import (
    NOTIFY_PATIENCE_S,
    NOTIFY_RETRY_S,
    OWED,
    WRITE_RETRY_S,
    Notify,
    ReportDelivery,
)
from ambient.insights.report_cli import last_full_week, render
from ambient.insights.synthetic import summaries
from ambient.insights.wiring import add_insights
from ambient.messages import SignalValue
from ambient.privacy.data_classes import data_classes
from ambient.privacy.export import person_rows
from ambient.privacy.forget import forget_store
from ambient.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
ROOT = Path(__file__).resolve().parents[2]


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).timestamp()


def store_keeping(days: int, people: tuple[str, ...] = ("alex",)) -> Store:
    """A store keeping ``days`` synthetic day summaries of each person from 12 October 2026."""
    store = Store(None)
    for person in people:
        for summary in summaries(person, date(2026, 10, 12), days, seed=3):
            store.put("insights.days", f"{person}/{summary.day}", summary.to_json())
    return store


def config(
    folder: Path,
    people: tuple[str, ...] = ("alex",),
    notify: str | dict[str, str] = "notify.mobile_app_alex",
) -> AmbientConfig:
    return AmbientConfig.model_validate(
        {
            "people": [{"id": person, "name": person.title()} for person in people],
            "insights": {
                "report": {
                    "folder": str(folder),
                    "weekday": "mon",
                    "at": "08:00",
                    "notify": notify,
                    "url": "/local/ambient/",
                }
            },
        }
    )


#: Monday 7 December 2026, a minute before the configured delivery time (08:00).
BEFORE_MONDAY_8 = berlin(2026, 12, 7, 7, 59)


class Phone:
    """A recording stand-in for HA's notify service: each call's service and data."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, service: str, data: dict[str, Any]) -> None:
        self.sent.append((service, data))

    def titles(self) -> list[str]:
        return [data["title"] for _, data in self.sent]


@dataclass
class Delivering:
    """A delivery on a virtual clock, on a store of synthetic days, to ``folder``."""

    delivery: ReportDelivery
    clock: VirtualClock
    store: Store
    folder: Path
    settings: AmbientConfig
    notify: Notify | None

    async def run_to(self, moment: float) -> None:
        await deliver_at(self.delivery, self.clock, moment)

    def restart(self) -> ReportDelivery:
        """ambient restarted (or its config reloaded) at the clock's time: a new delivery on
        the same store, as the daemon wires one."""
        self.delivery.close()
        report = self.settings.insights.report
        assert report is not None
        self.delivery = ReportDelivery(
            self.settings, report, self.clock, self.store, BERLIN, self.notify
        )
        return self.delivery


def delivering(
    tmp_path: Path,
    start: float = BEFORE_MONDAY_8,
    people: tuple[str, ...] = ("alex",),
    days: int = 56,
    notify: Notify | None = None,
    settings: AmbientConfig | None = None,
) -> Delivering:
    """The delivery of ``people``'s pages to ``tmp_path / "www"`` from ``start``, each
    person with ``days`` synthetic days from 12 October 2026."""
    settings = settings or config(tmp_path / "www", people)
    report = settings.insights.report
    assert report is not None
    clock, store = VirtualClock(start), store_keeping(days, people)
    delivery = ReportDelivery(settings, report, clock, store, BERLIN, notify)
    return Delivering(delivery, clock, store, report.folder, settings, notify)


def block(folder: Path) -> None:
    """A file where the folder should be: no page can be written (as on a full disk)."""
    folder.write_text("a file where the folder should be")


async def test_the_report_is_written_monday_morning_and_linked_in_a_notification(
    tmp_path: Path,
) -> None:
    phone = Phone()
    week = delivering(tmp_path, berlin(2026, 12, 5, 12), notify=phone)  # a Saturday
    delivery, clock = week.delivery, week.clock
    assert delivery.next_due(clock.now()) == berlin(2026, 12, 7, 8)
    await clock.run_until(berlin(2026, 12, 7, 7, 59))
    assert not delivery.written
    await clock.run_until(berlin(2026, 12, 7, 8, 1))
    await delivery.settled()  # the page is rendered in a worker thread
    (path,) = delivery.written
    assert path.parent == tmp_path / "www"
    assert (
        path.name.startswith("alex-2026-W49-") and len(path.name) > len("alex-2026-W49-.html") + 8
    )
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "Alex's week" in path.read_text()
    ((service, data),) = phone.sent
    assert service == "notify.mobile_app_alex"
    assert data["message"] == "Your report on the week of 30 Nov – 6 Dec is ready."
    assert data["data"]["url"] == f"/local/ambient/{path.name}"
    delivery.close()


async def test_each_persons_link_goes_to_their_own_phone(tmp_path: Path) -> None:
    """One service for everyone put Sam's page on Alex's phone; a mapping gives each person
    theirs, and a person it does not name gets the page without a notification."""
    people = ("alex", "sam", "kim")
    phones = {"alex": "notify.mobile_app_alex", "sam": "notify.mobile_app_sam_phone"}
    settings = config(tmp_path / "www", people, phones)
    phone = Phone()
    week = delivering(tmp_path, people=people, notify=phone, settings=settings)
    await week.run_to(berlin(2026, 12, 7, 8, 1))
    assert len(week.delivery.written) == 3
    assert [(service, data["title"]) for service, data in phone.sent] == [
        ("notify.mobile_app_alex", "Alex's week"),
        ("notify.mobile_app_sam_phone", "Sam's week"),
    ]
    week.delivery.close()


def test_a_notify_without_home_assistant_is_a_warning_of_check(tmp_path: Path) -> None:
    """The notification is an HA service call: without a `homeassistant:` section the pages
    are written every week and nobody is ever told, which `ambient check` said nothing of."""
    folder, store = tmp_path / "www", tmp_path / "ambient.db"
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "people: [{id: alex}]\n"
        f"store: {{path: {store}}}\n"
        f"insights: {{report: {{folder: {folder}, notify: notify.mobile_app_alex}}}}\n"
    )
    done = run_ambient("check", str(path))
    assert done.returncode == 0, done.stderr
    assert (
        "insights.report.notify: the weekly report's notification is an HA service call, and "
        "the config has no `homeassistant:` section: the pages are written, nobody is told"
    ) in done.stdout + done.stderr


async def test_a_week_with_nothing_to_show_is_neither_written_nor_notified(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Sam wears nothing yet: a page of last week would be empty, which `ambient report`
    refuses to write. The delivery wrote it, and Sam's phone was told "Your report ... is
    ready" of an empty page, every week. Now only Alex's is written and told; Sam's is one
    line in the log."""
    phone = Phone()
    settings = config(tmp_path / "www", people=("alex", "sam"))  # only Alex's days are kept
    week = delivering(tmp_path, berlin(2026, 12, 14, 7, 59), notify=phone, settings=settings)
    caplog.set_level(logging.INFO, logger="ambient.insights.delivery")
    await week.run_to(berlin(2026, 12, 14, 8, 1))
    assert [path.name[:13] for path in week.delivery.written] == ["alex-2026-W50"]
    assert phone.titles() == ["Alex's week"]
    told = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert told == [
        "Weekly report of sam not written: no days of sam kept yet (the daemon keeps each day "
        "it reads their sensor)"
    ]
    week.delivery.close()


def test_the_report_notify_may_name_a_service_per_person() -> None:
    settings = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}, {"id": "sam"}],
            "insights": {
                "report": {
                    "folder": "/tmp/www",
                    "notify": {"alex": "notify.mobile_app_alex", "sam": "notify.mobile_app_sam"},
                }
            },
        }
    )
    assert settings.insights.report is not None
    assert settings.insights.report.notify == {
        "alex": "notify.mobile_app_alex",
        "sam": "notify.mobile_app_sam",
    }


async def test_ha_unreachable_costs_nobody_their_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The first notification failing (HA restarting) stopped the round: the people after
    the first got no page that week. Every page is written; a notification HA never takes
    (tried until NOTIFY_PATIENCE_S) is one warning."""
    tried: list[str] = []
    first_try = asyncio.Event()

    async def notify(service: str, data: dict[str, Any]) -> None:
        tried.append(data["title"])
        first_try.set()
        raise NotConnected("Home Assistant is not connected")

    week = delivering(tmp_path, people=("alex", "sam"), notify=notify)
    with caplog.at_level(logging.WARNING, logger="ambient.insights.delivery"):
        await notified_by(week, first_try, berlin(2026, 12, 7, 8, 20))
    written = week.delivery.written
    assert [path.name[:13] for path in written] == ["alex-2026-W49", "sam-2026-W49-"]
    retries = int(NOTIFY_PATIENCE_S // NOTIFY_RETRY_S)
    assert tried == ["Alex's week"] * (retries + 1) + ["Sam's week"]
    assert [r.getMessage().split(" written to ")[0] for r in caplog.records] == [
        "Weekly report of alex",
        "Weekly report of sam",
    ]
    secret = [path.stem.split("-W49-", 1)[1] for path in written]
    assert not [r for r in caplog.records for part in secret if part in r.getMessage()]
    assert all(
        r.getMessage().endswith("NotConnected: Home Assistant is not connected")
        for r in caplog.records
    )
    week.delivery.close()


async def test_a_page_that_cannot_be_written_is_one_warning_without_its_secret_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The error of a failed write names the file, and the file's random part is the page's
    only protection on HA's login-free /local/: the warning says the folder and why."""
    week = delivering(tmp_path)
    block(week.folder)
    with caplog.at_level(logging.WARNING, logger="ambient.insights.delivery"):
        await week.run_to(berlin(2026, 12, 7, 8, 1))
    token = week.store.get("insights.report_token", "alex")
    assert isinstance(token, str) and not week.delivery.written
    assert [r.getMessage() for r in caplog.records] == [
        f"Weekly report of alex not written to {week.folder}: File exists"
    ]
    week.delivery.close()


async def notified_by(week: Delivering, first_try: asyncio.Event, end: float) -> None:
    """Run Monday's delivery until ``end``. The pages are rendered in worker threads, which
    the virtual clock does not wait for: it moves past 08:00 only once the first notification
    was tried (an event, not a sleep), so the retries wait on it."""
    await week.clock.run_until(berlin(2026, 12, 7, 8, 0))
    await first_try.wait()
    await week.clock.run_until(end)
    await week.delivery.settled()


def test_the_time_is_local_across_a_dst_change(tmp_path: Path) -> None:
    delivery = delivering(tmp_path, 0.0).delivery
    # Clocks go back on Sunday 25 October 2026: Monday 08:00 is then UTC+1.
    assert delivery.next_due(berlin(2026, 10, 24, 12)) == berlin(2026, 10, 26, 8)
    assert delivery.next_due(berlin(2026, 10, 26, 8)) == berlin(2026, 11, 2, 8)
    delivery.close()


async def deliver_at(delivery: ReportDelivery, clock: VirtualClock, moment: float) -> None:
    """Runs the clock to ``moment`` one timer at a time, what each started settled before it
    goes on: a page is drawn in a process of its own, in real time, and one jump of the clock
    past a drawing would also pass the drawing's time limit."""
    while (due := clock.next_due()) is not None and due <= moment:
        await clock.run_until(due)
        await delivery.settled()
    await clock.run_until(moment)
    await delivery.settled()


async def test_one_weeks_link_does_not_open_another_weeks_page(tmp_path: Path) -> None:
    """Whoever is given one week's link (forwarded, or seen in a notification history) can
    read that page, and cannot make another week's link from it by changing the week."""
    week = delivering(tmp_path, days=63)
    await week.run_to(berlin(2026, 12, 7, 8, 1))
    (first,) = (path.name for path in week.delivery.written)
    await week.run_to(berlin(2026, 12, 14, 8, 1))
    (second,) = (path.name for path in week.delivery.written)  # the last week's only
    assert first.startswith("alex-2026-W49-") and second.startswith("alex-2026-W50-")
    assert first.replace("W49", "W50") != second
    assert first.split("-W49-")[1] != second.split("-W50-")[1]
    again = week.restart()
    await again.deliver()  # the same week delivered again: the same page, not a second one
    assert [path.name for path in again.written] == [second]
    assert sorted(p.name for p in week.folder.iterdir()) == [first, second]
    again.close()


async def test_pages_older_than_keep_days_are_removed_as_the_summaries_are(tmp_path: Path) -> None:
    """The pages are health data on HA's login-free /local/: they go when their days go."""
    folder = tmp_path / "www"
    folder.mkdir()
    old = folder / "alex-2025-W40-abcdefghijklmnop.html"  # ended 5 Oct 2025: 428 days before
    kept = folder / "alex-2025-W46-abcdefghijklmnop.html"  # ended 16 Nov 2025: 386 days
    gone_person = folder / "kim-2025-W01-abcdefghijklmnop.html"
    other = folder / "notes-2025-W01.html"  # not one of ours: never touched
    for path in (old, kept, gone_person, other):
        path.write_text("page")
    week = delivering(tmp_path)
    await week.run_to(berlin(2026, 12, 7, 8, 1))
    assert not old.exists() and not gone_person.exists()
    assert kept.exists() and other.exists()
    assert week.delivery.written[0].exists()
    week.delivery.close()


async def test_a_week_whose_time_passed_while_ambient_was_off_is_delivered_at_the_start(
    tmp_path: Path,
) -> None:
    """A Pi switched off at night and on at nine never had its Monday 08:00: that week's page
    is written once ambient runs again (late, the latest week only), and not twice."""
    week = delivering(tmp_path, berlin(2026, 11, 30, 7, 59), days=63)
    await week.run_to(berlin(2026, 11, 30, 8, 1))  # W48, on time
    week.delivery.close()
    await week.clock.run_until(berlin(2026, 12, 7, 9, 0))  # off from Sunday night to 09:00
    late = week.restart()
    await week.run_to(berlin(2026, 12, 7, 9, 0))
    assert [path.name[:13] for path in late.written] == ["alex-2026-W49"]
    again = week.restart()
    await week.run_to(berlin(2026, 12, 7, 10, 0))  # a restart: not again
    assert not again.written
    again.close()


async def test_a_first_start_after_the_time_waits_for_the_next_week(tmp_path: Path) -> None:
    # Nothing was ever delivered: turning the report on mid-week is not a missed delivery.
    week = delivering(tmp_path, berlin(2026, 12, 7, 9, 0))
    await week.run_to(berlin(2026, 12, 14, 7, 59))
    assert not week.delivery.written
    await week.run_to(berlin(2026, 12, 14, 8, 1))
    assert [path.name[:13] for path in week.delivery.written] == ["alex-2026-W50"]
    week.delivery.close()


async def test_the_notification_waits_for_ha_to_come_back_up(tmp_path: Path) -> None:
    """The link is the only way to the page (its name cannot be guessed): HA restarting at
    08:00 (an update), or booting with the Pi after a power cut, must not cost the week's
    notification. Every page is written first; each notification is tried again until HA
    answers, at most NOTIFY_PATIENCE_S."""
    ha_up_at = berlin(2026, 12, 7, 8, 3)
    sent: list[tuple[str, float]] = []
    pages_at_first_try: list[int] = []
    first_try = asyncio.Event()

    async def notify(service: str, data: dict[str, Any]) -> None:
        if not pages_at_first_try:
            pages_at_first_try.append(len(list((tmp_path / "www").iterdir())))
        first_try.set()
        if week.clock.now() < ha_up_at:
            raise NotConnected("Home Assistant is not connected (connecting)")
        sent.append((data["title"], week.clock.now()))

    week = delivering(tmp_path, people=("alex", "sam"), notify=notify)
    await notified_by(week, first_try, berlin(2026, 12, 7, 8, 10))
    assert pages_at_first_try == [2]  # both pages before any wait
    assert [title for title, _ in sent] == ["Alex's week", "Sam's week"]
    assert all(ha_up_at <= at <= ha_up_at + NOTIFY_RETRY_S for _, at in sent)
    week.delivery.close()


async def test_a_shorter_retention_of_daily_summaries_removes_pages_sooner(
    tmp_path: Path,
) -> None:
    # A page shows the daily summaries: it goes when they go, whichever limit is shorter.
    folder = tmp_path / "www"
    folder.mkdir()
    old = folder / "alex-2026-W34-abcdefghijklmnop.html"  # ended 23 Aug: 98 days before
    recent = folder / "alex-2026-W38-abcdefghijklmnop.html"  # ended 20 Sep: 70 days
    for path in (old, recent):
        path.write_text("page")
    settings = config(folder).model_copy(
        update={"retention": RetentionConfig(daily_summaries=90 * 86_400.0)}
    )
    week = delivering(tmp_path, settings=settings)
    await week.run_to(berlin(2026, 12, 7, 8, 1))
    assert not old.exists() and recent.exists()
    week.delivery.close()


async def test_a_start_before_this_weeks_time_makes_up_the_missed_week_not_this_one(
    tmp_path: Path,
) -> None:
    """Off for over a week, back on Monday at 07:00: the missed time (last Monday's) is W48's
    page; W49's comes at 08:00 as usual, once."""
    week = delivering(tmp_path, berlin(2026, 12, 7, 7, 0), days=63)
    week.store.put("insights.report_delivered", "week", "2026-11-16")  # W47 was the last
    delivery = week.restart()
    await week.run_to(berlin(2026, 12, 7, 7, 1))
    assert [path.name[:13] for path in delivery.written] == ["alex-2026-W48"]
    await week.run_to(berlin(2026, 12, 7, 8, 1))
    assert [path.name[:13] for path in delivery.written] == ["alex-2026-W49"]
    assert [p.name[:13] for p in sorted(week.folder.iterdir())] == [
        "alex-2026-W48",
        "alex-2026-W49",
    ]
    delivery.close()


#: A daemon delivering the week's report, in a process of its own: what it imported after.
DELIVERING_DAEMON = """
import asyncio, json, sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo
from ambient.clock import VirtualClock
from ambient.config.root import AmbientConfig
from ambient.insights.delivery import ReportDelivery
from ambient.insights.synthetic import summaries
from ambient.privacy.data_classes import data_classes
from ambient.privacy.export import person_rows
from ambient.privacy.forget import forget_store
from ambient.store import Store

folder = Path(sys.argv[1])
settings = AmbientConfig.model_validate(
    {"people": [{"id": "alex", "name": "Alex"}], "insights": {"report": {"folder": str(folder)}}}
)
store = Store(None)
for summary in summaries("alex", date(2026, 10, 12), 56, seed=3):
    store.put("insights.days", f"alex/{summary.day}", summary.to_json())
clock = VirtualClock(1_796_000_000.0)
delivery = ReportDelivery(
    settings, settings.insights.report, clock, store, ZoneInfo("Europe/Berlin"), None
)
asyncio.run(delivery.deliver(date(2026, 11, 30)))
delivery.close()
heavy = ("matplotlib", "numpy", "PIL", "fontTools")
print(json.dumps({
    "written": [str(path) for path in delivery.written],
    "imported": sorted(name for name in sys.modules if name.split(".")[0] in heavy),
}))
"""


def test_the_daemon_delivers_the_page_without_importing_matplotlib(tmp_path: Path) -> None:
    """Drawing loads matplotlib, numpy, PIL and fontTools (about 46 MiB) and keeps figures: in
    the daemon they stayed for the rest of its life after the first Monday. The page is drawn
    in a child process; the daemon's process (a real one: this test's already holds
    matplotlib) never imports them, and the page is the one `ambient report` draws."""
    done = subprocess.run(
        [sys.executable, "-c", DELIVERING_DAEMON, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["imported"] == []
    (path,) = (Path(p) for p in result["written"])
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    kept = {s.day: s for s in summaries("alex", date(2026, 10, 12), 56, seed=3)}
    settings = AmbientConfig.model_validate({"people": [{"id": "alex", "name": "Alex"}]})
    assert path.read_text() == render(settings, kept, "alex", date(2026, 11, 30))


async def test_a_drawing_process_that_fails_costs_the_page_one_warning_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child killed (out of memory on a small Pi) or failing writes no page and says so in
    one line; like any page not written, it is tried again (see below)."""
    killed = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    monkeypatch.setattr(page_process, "COMMAND", killed)
    delivery = delivering(tmp_path, 0.0).delivery
    with caplog.at_level(logging.WARNING, logger="ambient.insights.delivery"):
        await delivery.deliver(date(2026, 11, 30))
    assert not delivery.written and not (tmp_path / "www").exists()
    assert [r.getMessage() for r in caplog.records] == [
        f"Weekly report of alex not written to {tmp_path / 'www'}: "
        "the drawing process was killed by signal 9"
    ]
    delivery.close()


async def test_a_page_not_written_is_tried_again_that_day_and_the_next_and_notified_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk for a moment, or the drawing process killed, cost the whole week's page:
    it is tried again every hour, and the page written then is linked in one notification."""
    phone = Phone()
    week = delivering(tmp_path, notify=phone)
    block(week.folder)
    with caplog.at_level(logging.INFO, logger="ambient.insights.delivery"):
        await week.run_to(berlin(2026, 12, 7, 8, 1))
        assert not week.delivery.written and not phone.sent
        await week.run_to(berlin(2026, 12, 7, 10, 30))  # tried again, failing
        assert not week.delivery.written and not phone.sent
        week.folder.unlink()  # room again
        await week.run_to(berlin(2026, 12, 7, 12, 0))
        (path,) = week.delivery.written
        assert path.name.startswith("alex-2026-W49-")
        await week.run_to(berlin(2026, 12, 8, 23, 59))
    assert [data["data"]["url"] for _, data in phone.sent] == [f"/local/ambient/{path.name}"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == [
        f"Weekly report of alex not written to {week.folder}: File exists",
        "Weekly report of alex written on a later try",
    ]
    week.delivery.close()


async def test_the_tries_of_a_page_end_with_the_next_day(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    week = delivering(tmp_path)
    block(week.folder)
    with caplog.at_level(logging.INFO, logger="ambient.insights.delivery"):
        await week.run_to(berlin(2026, 12, 9, 0, 30))
        week.folder.unlink()  # room again, too late for that week
        await week.run_to(berlin(2026, 12, 14, 7, 59))
    assert not week.delivery.written
    assert [r.getMessage() for r in caplog.records] == [
        f"Weekly report of alex not written to {week.folder}: File exists",
        "Weekly report of alex of the week of 30 Nov – 6 Dec not written; tried until "
        "Wed 09 Dec 00:00, next week's comes as usual",
    ]
    await week.run_to(berlin(2026, 12, 14, 8, 1))  # next week's as usual
    assert [path.name[:13] for path in week.delivery.written] == ["alex-2026-W50"]
    week.delivery.close()


@pytest.mark.parametrize("why", ["restart", "reload"])
async def test_a_page_still_owed_is_tried_again_after_a_restart_or_a_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, why: str
) -> None:
    """The hourly tries lived in the process: after a restart or a reload (each wires a new
    delivery on the store) the week counted as delivered and its page was never made. The
    page still owed is kept in the store: tried again at once, then hourly, and notified."""
    phone = Phone()
    week = delivering(tmp_path, notify=phone)
    block(week.folder)
    with caplog.at_level(logging.INFO, logger="ambient.insights.delivery"):
        await week.run_to(berlin(2026, 12, 7, 9, 30))  # the time, and one hourly try
        if why == "restart":
            week.delivery.close()
            await week.clock.run_until(berlin(2026, 12, 7, 11, 0))  # off for a while
        restarted = week.restart()
        await week.run_to(week.clock.now())
        assert not restarted.written  # still no room: tried at once, quietly
        week.folder.unlink()  # room again
        await week.run_to(week.clock.now() + WRITE_RETRY_S)
    (path,) = restarted.written
    assert path.name.startswith("alex-2026-W49-")
    assert [data["data"]["url"] for _, data in phone.sent] == [f"/local/ambient/{path.name}"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == [
        f"Weekly report of alex not written to {week.folder}: File exists",
        "Weekly report of alex written on a later try",
    ]
    again = week.restart()  # written: nothing owed any more
    await week.run_to(berlin(2026, 12, 8, 23, 59))
    assert not again.written and len(phone.sent) == 1
    again.close()


async def test_a_page_whose_tries_ended_while_ambient_was_off_is_said_given_up_at_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    week = delivering(tmp_path)
    block(week.folder)
    await week.run_to(berlin(2026, 12, 7, 8, 1))
    week.delivery.close()
    await week.clock.run_until(berlin(2026, 12, 10, 8, 0))  # off past the end of the tries
    week.folder.unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ambient.insights.delivery"):
        restarted = week.restart()
        await week.run_to(berlin(2026, 12, 14, 7, 59))
    assert not restarted.written
    assert [r.getMessage() for r in caplog.records] == [
        "Weekly report of alex of the week of 30 Nov – 6 Dec not written; tried until "
        "Wed 09 Dec 00:00, next week's comes as usual",
    ]
    assert week.store.items(OWED) == {}
    restarted.close()


async def test_a_page_still_owed_is_the_persons_data_exported_and_forgotten_with_them(
    tmp_path: Path,
) -> None:
    """The pages still owed were one record naming everyone owed one: `ambient forget alex`
    left alex's name and week in the store, and `ambient export alex` did not show it. Each
    person's is their own record now, in the export and gone with them; the others' stay."""
    week = delivering(tmp_path, people=("alex", "sam"))
    block(week.folder)
    await week.run_to(berlin(2026, 12, 7, 8, 1))
    week.delivery.close()
    (owed,) = [c for c in data_classes() if c.name == "report_owed"]
    ((_, row),) = person_rows(week.store, owed, "alex")
    assert row["value"] == {"week": "2026-11-30", "until": berlin(2026, 12, 9, 0, 0)}
    assert forget_store(week.store, "alex")["report_owed"] == 1
    assert list(week.store.items(OWED)) == ["sam"]
    week.folder.unlink()  # room again: sam's page is made after a restart, and only sam's
    restarted = week.restart()
    await week.run_to(week.clock.now())
    assert [path.name.split("-")[0] for path in restarted.written] == ["sam"]
    assert week.store.items(OWED) == {}
    restarted.close()


class NoSignals:
    """The signal engine's side of the insights' view: nothing measured here."""

    def get(self, person: str, name: str) -> SignalValue:
        return SignalValue.unknown(0.0, "no data")

    def people(self) -> list[str]:
        return ["alex"]


def test_a_page_still_owed_is_dropped_when_delivery_is_taken_out_of_the_config() -> None:
    """No run tries it again then: the record naming the person and the week stayed for good
    (the insights wired as the daemon wires them)."""
    store = store_keeping(7)
    store.put(OWED, "alex", {"week": "2026-11-30", "until": berlin(2026, 12, 9, 0, 0)})
    settings = AmbientConfig.model_validate({"people": [{"id": "alex"}]})
    clock = VirtualClock(BEFORE_MONDAY_8)
    insights, _ = add_insights(settings, clock, store, NoSignals(), Hub(), connections=object())
    assert insights is not None
    assert store.items(OWED) == {}


RUNNING = """\
people:
  - id: alex
    name: Alex
sensors:
  - type: recording
    path: {recording}
    person: alex
    loop: true
store:
  path: {store}
insights:
  report: {{folder: {folder}}}
"""


def test_a_restarted_daemon_writes_the_page_its_run_before_could_not(tmp_path: Path) -> None:
    """Two real `ambient run`s on one store: the first makes up a missed week whose page
    cannot be written (its folder on a full card), and is stopped; once there is room the
    second writes that page at its start, though the week was recorded as delivered."""
    store_path = tmp_path / "state" / "ambient.db"
    store_path.parent.mkdir()
    store = Store(store_path)
    today = date.today()
    for summary in summaries("alex", today - timedelta(days=70), 70, seed=3):
        store.put("insights.days", f"alex/{summary.day}", summary.to_json())
    store.put("insights.report_delivered", "week", "2026-01-05")  # a week long gone
    store.close()
    config = tmp_path / "ambient.yaml"
    recording = ROOT / "ambient" / "data" / "resting-hour.csv"
    with small_disk(tmp_path / "www") as folder:
        config.write_text(RUNNING.format(recording=recording, store=store_path, folder=folder))
        fill(folder)
        first = AmbientProcess("run", "--config", str(config))
        try:
            first.stderr.wait_for(f"Weekly report of alex not written to {folder}: No space")
        finally:
            first.stop()
        (folder / "recordings.csv").unlink()  # room again
        second = AmbientProcess("run", "--config", str(config))
        try:
            second.stderr.wait_for("Weekly report of alex written on a later try")
        finally:
            second.stop()
        (page,) = folder.iterdir()
        assert page.name.startswith(f"alex-{week_label(last_full_week(today))}-")
        assert "Alex's week" in page.read_text()
