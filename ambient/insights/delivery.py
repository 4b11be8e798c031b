"""The weekly report, delivered: on the configured weekday and time, last week's page of every
person is written to ``insights.report.folder`` (where HA serves files: ``/config/www/…`` is
``/local/…``), and an HA notification links to it.

HA serves ``/local/`` without a login, so each file name carries a random part: the link works,
a guess does not, and one week's link says nothing of another's (the part is a keyed hash of the
week under a secret kept per person in the store). Pages whose week ended longer ago than the
summaries they show are kept (``insights.keep_days``, or ``retention.daily_summaries`` when
shorter) are removed. Files are written 0600 (health data), so HA must run as the same user
(as it does under the add-on). The page is drawn in a short-lived child process (see
:mod:`ambient.insights.page_process`: matplotlib's memory goes with it), never on the event
loop; a daemon stopped while it draws kills it. A delivery time missed while ambient was off
is made up at the next start; HA not connected yet is waited for (the link is the only way in).
A page that could not be written (a full disk for a moment, the drawing process killed) is
tried again every hour until the end of the next day, never once the next week's is due; the
page still owed is kept in the store, so a restart or a reload goes on trying it.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from ambient.clock import Clock, TimerHandle
from ambient.config.insights import ReportDeliveryConfig
from ambient.config.people import PersonConfig
from ambient.config.root import AmbientConfig
from ambient.config.types import parse_time_of_day
from ambient.connections.retry import until_connected
from ambient.insights.days import day_of, iso_week, week_label
from ambient.insights.page_process import render_in_child
from ambient.insights.report_cli import last_full_week, learned_weeks, nothing_before
from ambient.insights.storage import InsightStore
from ambient.private_files import write_private
from ambient.store import Store, StoreError
from ambient.warn_once import WarnOnce

_LOGGER = logging.getLogger(__name__)
TOKENS = "insights.report_token"
#: The Monday of the last week delivered (key ``WEEK``), to deliver one missed while off.
DELIVERED, WEEK = "insights.report_delivered", "week"
#: The pages still owed, by person (the key, so forget and export cover it as the person's):
#: the week's Monday and the end of its tries (unix seconds), so a restart or a reload goes on
#: trying them.
OWED = "insights.report_owed"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A page this module wrote: person, ISO week, random part.
_PAGE = re.compile(r"[a-z0-9][a-z0-9_]*-(\d{4}-W\d{2})-[A-Za-z0-9_-]{16,}\.html")

#: HA not connected (restarting, or booting with the Pi): the notification is tried again this
#: often, for at most this long (its link is the only way to the page).
NOTIFY_RETRY_S = 30.0
NOTIFY_PATIENCE_S = 900.0
#: A page not written is tried again this often, until the end of the day after its delivery
#: time (and never once the next week's is due).
WRITE_RETRY_S = 3600.0

#: Sends one notification: (service ``notify.x``, service data).
Notify = Callable[[str, dict[str, Any]], Awaitable[None]]


class ReportDelivery:
    def __init__(
        self,
        config: AmbientConfig,
        delivery: ReportDeliveryConfig,
        clock: Clock,
        store: Store,
        zone: tzinfo,
        notify: Notify | None,
    ) -> None:
        self.config = config
        self.delivery = delivery
        self.clock = clock
        self.store = store
        self.zone = zone
        self.notify = notify
        #: The pages of the last delivery (one per person written).
        self.written: list[Path] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._retry: TimerHandle | None = None
        #: Per person and week: a page not written is said once, not at every try.
        self._refusals: dict[tuple[str, date], WarnOnce] = {}
        #: The store refusing to keep the pages owed (said once, until it keeps them).
        self._owed_refusals = WarnOnce(_LOGGER)
        now = clock.now()
        #: The week whose delivery time passed while ambient was off, delivered at once.
        self._missed_week = self._missed(now)
        due = now if self._missed_week is not None else self.next_due(now)
        self._timer: TimerHandle = clock.call_at_wall(due, self._due)
        self._resume_owed(now)

    def next_due(self, now: float) -> float:
        """The next configured weekday and time after ``now`` (local, DST-aware)."""
        today = day_of(now, self.zone)
        for ahead in range(8):
            due = self._due_on(today + timedelta(days=ahead))
            if due is not None and due > now:
                return due
        raise AssertionError("a weekday recurs within 8 days")

    def _missed(self, now: float) -> date | None:
        """The Monday of the week whose delivery time (the last before ``now``) passed while
        ambient was off, if it was not delivered; None when it was, or when nothing ever was
        (a first start is no missed delivery)."""
        delivered = self.store.get(DELIVERED, WEEK)
        if not isinstance(delivered, str):
            return None
        today = day_of(now, self.zone)
        for back in range(8):
            day = today - timedelta(days=back)
            due = self._due_on(day)
            if due is not None and due <= now:
                week = last_full_week(day)
                return week if week.isoformat() > delivered else None
        return None

    def _due_on(self, day: date) -> float | None:
        """The configured time on ``day`` if it is the configured weekday."""
        if day.weekday() != _WEEKDAYS.index(self.delivery.weekday):
            return None
        at = parse_time_of_day(self.delivery.at).replace(second=0)  # to the minute
        return datetime.combine(day, at, self.zone).timestamp()

    def _resume_owed(self, now: float) -> None:
        """The pages a run before this one (ambient restarted, or its config reloaded) still
        owed: tried again at once while their tries last, or said to be given up. Those of
        people no longer configured are dropped."""
        owed: dict[tuple[date, float], set[str]] = {}
        for person, record in self.store.items(OWED).items():
            try:
                week = (date.fromisoformat(record["week"]), float(record["until"]))
            except (KeyError, TypeError, ValueError):
                continue  # unreadable: dropped below
            if person in self.config.person_ids():
                owed.setdefault(week, set()).add(person)
        if not owed:
            self._remember_owed(None)
            return
        # One week is owed at a time (a new week's delivery ends the last one's tries).
        (monday, until_s), people = max(owed.items())
        if now >= until_s:
            self._give_up(monday, sorted(people), until_s)
            return
        self._remember_owed(monday, sorted(people), until_s)  # the others' dropped
        for person in people:  # said before the restart: a failure again is not news
            self._refusals[(person, monday)] = WarnOnce(_LOGGER, failing=True)
        self._retry = self.clock.call_later(
            0.0, functools.partial(self._start, monday, frozenset(people), until_s)
        )

    def close(self) -> None:
        self._timer.cancel()
        if self._retry is not None:
            self._retry.cancel()
        for task in self._tasks:
            task.cancel()

    async def settled(self) -> None:
        """Until the deliveries under way are done."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def deliver(
        self, monday: date | None = None, people: frozenset[str] | None = None
    ) -> list[str]:
        """Write the page of every person (or of ``people``) of the week starting ``monday``
        (by default last week), then tell HA (one notification each). One person's failure (a
        page that cannot be written, HA unreachable for the notification) is one warning (at
        a later try of the same page, a debug line) and never costs the others their page.
        The people whose page was not written, to try again."""
        if monday is None:
            monday = last_full_week(day_of(self.clock.now(), self.zone))
        await asyncio.to_thread(self._remove_expired, monday)
        self.written = []
        written: list[tuple[PersonConfig, str]] = []
        failed: list[str] = []
        for person in self.config.people:
            if people is not None and person.id not in people:
                continue
            try:
                written.append((person, await self._write(person.id, monday)))
            except NothingToShow as exc:  # as `ambient report` refuses: no empty page, no "ready"
                _LOGGER.info("Weekly report of %s not written: %s", person.id, exc)
            except Exception as exc:  # a full disk, a folder gone: tried again (_deliver_logged)
                failed.append(person.id)
                # An OSError names the file, whose random part must stay out of the log.
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                refusals = self._refusals.setdefault((person.id, monday), WarnOnce(_LOGGER))
                refusals.failed(
                    "Weekly report of %s not written to %s: %s",
                    person.id,
                    self.delivery.folder,
                    why,
                )
            else:
                if (person.id, monday) in self._refusals:
                    refusals = self._refusals.pop((person.id, monday))
                    refusals.worked("Weekly report of %s written on a later try", person.id)
        # One wait for HA, shared by all: a duration, on the clock no step moves.
        give_up = self.clock.monotonic() + NOTIFY_PATIENCE_S
        for person, name in written:
            await self._tell(person, name, monday, give_up)
        try:
            self.store.put(DELIVERED, WEEK, monday.isoformat())
        except StoreError as exc:  # the pages are out; at worst a restart writes them again
            _LOGGER.warning("Weekly report of %s delivered, not recorded: %s", monday, exc)
        return failed

    async def _tell(self, person: PersonConfig, name: str, monday: date, give_up: float) -> None:
        """The notification linking to ``person``'s page; while HA is not connected it is
        tried again every NOTIFY_RETRY_S, until ``give_up`` (on ``clock.monotonic()``)."""
        service = self.delivery.notify
        if isinstance(service, dict):  # one phone per person: nobody gets another's page
            service = service.get(person.id)
        if self.notify is None or service is None:
            return
        link = f"{self.delivery.url.rstrip('/')}/{name}"
        data = {
            "title": f"{person.display_name}'s week",
            "message": f"Your report on the week of {_span(monday)} is ready.",
            "data": {"url": link, "clickAction": link},
        }
        failure = await until_connected(
            functools.partial(self.notify, service, data), self.clock, NOTIFY_RETRY_S, give_up
        )
        if failure is not None:  # HA refused or stayed away: the page is there all the same
            # Not the link: its random part is all that keeps the page private.
            _LOGGER.warning(
                "Weekly report of %s written to %s, but HA was not notified: %s: %s",
                person.id,
                self.delivery.folder,
                type(failure).__name__,
                failure,
            )

    async def _write(self, person: str, monday: date) -> str:
        """Render and write ``person``'s page of the week starting ``monday``; its file name."""
        summaries = InsightStore(self.store).summaries(person)
        learned = learned_weeks(self.store, person, monday, self.zone)
        nothing = nothing_before(summaries, person, monday)
        if nothing is not None and not learned:
            raise NothingToShow(nothing)
        page = await render_in_child(
            self.config, summaries, person, monday, learned, clock=self.clock.for_outside_links()
        )
        name = f"{person}-{week_label(monday)}-{self._random_part(person, monday)}.html"
        await asyncio.to_thread(write_private, self.delivery.folder / name, page)
        self.written.append(self.delivery.folder / name)
        return name

    def _random_part(self, person: str, monday: date) -> str:
        """The file name's random part for ``person``'s week: the same for the same week (a
        page delivered again replaces it), unrelated between weeks."""
        secret = self.store.get(TOKENS, person)
        if not isinstance(secret, str):
            secret = secrets.token_urlsafe(12)
            self.store.put(TOKENS, person, secret)
        digest = hmac.digest(secret.encode(), week_label(monday).encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest[:12]).decode()

    def _kept_for(self) -> timedelta:
        """How long a page is kept: as the daily summaries it shows (``insights.keep_days``,
        or ``retention.daily_summaries`` when that is shorter)."""
        kept = timedelta(days=self.config.insights.keep_days)
        retention_s = self.config.retention.limit_s("daily_summaries")
        return kept if retention_s is None else min(kept, timedelta(seconds=retention_s))

    def _remove_expired(self, monday: date) -> None:
        """Remove the pages (of anyone, also people no longer configured) whose week ended
        longer than their summaries are kept before ``monday``'s week ended; other files
        stay."""
        oldest = monday + timedelta(days=6) - self._kept_for()
        try:
            names = [path.name for path in self.delivery.folder.iterdir()]
        except OSError:
            return  # no folder yet (or none to be had: the write says why)
        for name in names:
            page = _PAGE.fullmatch(name)
            if page is None:
                continue
            try:
                sunday = iso_week(page[1]) + timedelta(days=6)
            except ValueError:
                continue
            if sunday >= oldest:
                continue
            try:
                (self.delivery.folder / name).unlink(missing_ok=True)
            except OSError as exc:  # not ours to remove: the week's pages are written anyway
                _LOGGER.warning(
                    "Expired report of %s not removed from %s: %s",
                    page[1],
                    self.delivery.folder,
                    exc.strerror,
                )

    def _due(self) -> None:
        now = self.clock.now()
        week, self._missed_week = self._missed_week, None
        week = week or last_full_week(day_of(now, self.zone))
        self._timer = self.clock.call_at_wall(self.next_due(now + 1), self._due)
        delivered = self.store.get(DELIVERED, WEEK)
        if isinstance(delivered, str) and delivered >= week.isoformat():
            # A Pi booted at a saved time before the delivery time, then stepped over it by
            # NTP: that week went out before the restart, and a second notification of it
            # would only be noise.
            _LOGGER.debug("weekly report of %s delivered already", week)
            return
        if self._retry is not None:  # last week's tries end where this week's page begins
            self._retry.cancel()
            self._retry = None
        self._refusals.clear()
        # Tries of a page not written: until the end of the next day, before next week's time.
        until = datetime.combine(day_of(now, self.zone) + timedelta(days=2), time(), self.zone)
        until_s = min(until.timestamp(), self.next_due(now + 1))
        self._start(week, None, until_s)

    def _start(self, monday: date, people: frozenset[str] | None, until_s: float) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver_logged(monday, people, until_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_logged(
        self, monday: date, people: frozenset[str] | None, until_s: float
    ) -> None:
        try:
            failed = await self.deliver(monday, people)
        except Exception as exc:  # a report that cannot be written must not stop the daemon
            _LOGGER.warning("Weekly report not delivered: %s", exc)
            return
        if not failed:
            self._remember_owed(None)
            return
        again = self.clock.now() + WRITE_RETRY_S
        if again >= until_s:
            self._give_up(monday, failed, until_s)
            return
        self._remember_owed(monday, failed, until_s)
        # An hour of time passing (a duration: a step of the wall clock neither brings it
        # forward nor puts it off), where the end of the tries, until_s, is a time of day.
        self._retry = self.clock.call_later(
            WRITE_RETRY_S, functools.partial(self._start, monday, frozenset(failed), until_s)
        )

    def _give_up(self, monday: date, people: list[str], until_s: float) -> None:
        self._remember_owed(None)
        _LOGGER.warning(
            "Weekly report of %s of the week of %s not written; tried until %s, "
            "next week's comes as usual",
            ", ".join(people),
            _span(monday),
            datetime.fromtimestamp(until_s, self.zone).strftime("%a %d %b %H:%M"),
        )

    def _remember_owed(
        self, monday: date | None, people: Sequence[str] = (), until_s: float = 0.0
    ) -> None:
        """Keep the pages still owed to ``people`` (None: none owed) for a restart or a
        reload, one record per person, replacing any other."""
        try:
            for person in self.store.items(OWED):
                if person not in people:
                    self.store.delete(OWED, person)
            if monday is not None:
                for person in people:
                    self.store.put(OWED, person, {"week": monday.isoformat(), "until": until_s})
        except StoreError as exc:  # the tries go on in this run all the same
            self._owed_refusals.failed("Weekly report's tries not kept over a restart: %s", exc)
        else:
            self._owed_refusals.worked("Weekly report's tries kept again")


def drop_owed(store: Store) -> None:
    """The pages a run before owed, dropped (delivery taken out of the config): nothing is left
    naming a person and a week that no run will try again."""
    try:
        for person in store.items(OWED):
            store.delete(OWED, person)
    except StoreError as exc:  # tried again at the next start
        _LOGGER.debug("weekly report's pages owed not dropped: %s", exc)


class NothingToShow(Exception):
    """The week ended before the person's first day kept (or none is kept yet): its page
    would be empty."""


def _span(monday: date) -> str:
    """``30 Nov – 6 Dec``: the week in words a person reads (not ``2026-W49``)."""
    sunday = monday + timedelta(days=6)
    return f"{monday.day} {monday:%b} – {sunday.day} {sunday:%b}"
