"""``ambient report --person P [--week 2026-W49] [--out report.html]``: the weekly report of
one person from the store, as one HTML file (mode 0600: it is health data)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import Any, TextIO

from ambient.config.root import AmbientConfig
from ambient.insights.days import day_of, day_start, iso_week, week_label
from ambient.insights.learned import learned_episodes
from ambient.insights.storage import InsightStore
from ambient.insights.summaries import DaySummary, summarize
from ambient.private_files import write_private
from ambient.store import Store, StoreError, StoreKey, existing_store_path

#: The exit code without matplotlib (the `report` extra), as the commands' that can plot.
MISSING_EXTRA = 3


def last_full_week(today: date) -> date:
    """The Monday of the last week that has ended."""
    return today - timedelta(days=today.weekday() + 7)


def render(
    config: AmbientConfig,
    summaries: dict[date, DaySummary],
    person: str,
    monday: date,
    learned: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The page (imports matplotlib: the `report` extra)."""
    from ambient.insights.page import render_page

    return render_page(
        display_name(config, person),
        summaries,
        monday,
        config.insights.trend,
        learned,
        _zone(config),
    )


def display_name(config: AmbientConfig, person: str) -> str:
    """The name the page shows for ``person``: the configured display name, else the id."""
    return config.display_names().get(person, person)


def kept_and_open(
    storage: InsightStore, config: AmbientConfig, person: str
) -> dict[date, DaySummary]:
    """The kept summaries, plus the days still open summarised from their stored minutes (so
    this week's report shows today so far). An older day without a summary had it expire
    (minutes kept longer than summaries): it is not rebuilt."""
    zone = _zone(config)
    summaries = storage.summaries(person)
    open_since = storage.open_since(person)
    for day in storage.kept_days(person):
        if day in summaries or open_since is None or day < open_since:
            continue
        opened = storage.open_day(person, day, zone)
        if opened is not None:
            before = storage.open_day(person, day - timedelta(days=1), zone)
            neighbours = () if before is None else (before,)
            summaries[day] = summarize(person, opened, config.insights, zone, neighbours)
    return summaries


def learned_weeks(store: Store, person: str, monday: date, zone: tzinfo) -> list[dict[str, Any]]:
    """The measured episodes of the four weeks up to the end of ``monday``'s week."""
    begin = day_start(monday - timedelta(weeks=3), zone)
    return learned_episodes(store, person, begin, day_start(monday + timedelta(weeks=1), zone))


def run_report(
    config: AmbientConfig,
    person: str,
    week: str | None,
    out: Path | None,
    now: float,
    err: TextIO,
    key: StoreKey | None = None,
) -> int:
    """0 written; 1 with one line on ``err`` saying why not (also for a week not begun, or with
    no day kept in or before it: an empty page); 3 (MISSING_EXTRA) without matplotlib. A
    person no longer in the config's people whose days the store keeps is reported, with a
    note on ``err``."""
    if person not in config.person_ids():
        if not _days_kept(config, person, key):
            known = config.person_ids_text()
            err.write(f"ambient report: no person `{person}` (people: {known})\n")
            return 1
        err.write(
            f"ambient report: {person}: not in the config's people: their days kept before "
            f"(`ambient forget --person {person}` erases them)\n"
        )
    zone = _zone(config)
    today = day_of(now, zone)
    try:
        monday = iso_week(week) if week else last_full_week(today)
    except ValueError as exc:
        err.write(f"ambient report: {exc}\n")
        return 1
    if monday > today:  # an empty page, said done
        err.write(  # any day's ISO week is its Monday's
            f"ambient report: {week_label(monday)} has not begun (this week is "
            f"{week_label(today)})\n"
        )
        return 1
    try:
        path = existing_store_path(config.store, "there are no days to report")
    except StoreError as exc:
        err.write(f"ambient report: {exc}\n")
        return 1
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # exit 3, as `simulate --plot` and `evaluate --plot` without it
        err.write(
            "ambient report: matplotlib is not installed; "
            "install the report extra: pip install 'ambient[report]'\n"
        )
        return MISSING_EXTRA
    store = Store(path, key)
    try:
        summaries = kept_and_open(InsightStore(store), config, person)
        learned = learned_weeks(store, person, monday, zone)
    finally:
        store.close()
    nothing = nothing_before(summaries, person, monday)
    if nothing is not None and not learned:
        err.write(f"ambient report: {nothing}\n")
        return 1
    if out == Path("-"):  # stdout, as for `ambient export`; never a file called `-`
        print(render(config, summaries, person, monday, learned), end="")
        return 0
    target = out or Path(f"ambient-{person}-{week_label(monday)}.html")
    try:
        write_private(target, render(config, summaries, person, monday, learned))
    except OSError as exc:
        err.write(f"ambient report: cannot write {target}: {exc.strerror}\n")
        return 1
    print(target)
    return 0


def nothing_before(summaries: Mapping[date, DaySummary], person: str, monday: date) -> str | None:
    """Why ``monday``'s week has no day to show (it ended before the first day kept, or no day
    is kept yet), or None."""
    if not summaries:
        return f"no days of {person} kept yet (the daemon keeps each day it reads their sensor)"
    first = min(summaries)
    if monday + timedelta(weeks=1) <= first:
        return (
            f"{week_label(monday)} ended before the first day kept of {person} "
            f"({first}, in {week_label(first)})"
        )
    return None


def _days_kept(config: AmbientConfig, person: str, key: StoreKey | None) -> bool:
    """Whether the store keeps days of ``person`` (a summary, or minutes)."""
    try:
        path = existing_store_path(config.store, "there are no days to report")
    except StoreError:
        return False
    store = Store(path, key)
    try:
        storage = InsightStore(store)
        return person in storage.people() or bool(storage.summaries(person))
    finally:
        store.close()


def _zone(config: AmbientConfig) -> tzinfo:
    from ambient.clock import resolve_zone

    return resolve_zone(config.timezone)
