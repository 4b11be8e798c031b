"""Where the intervention learning runs, its measured episodes join the insights: the day's
summary keeps each episode's option, response and check-in, and the weekly report shows them
and tells which option the body answered best (once each has 3 measured episodes and chance
would rarely make the difference)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ambient.clock import VirtualClock
from ambient.config.insights import InsightsConfig, TrendConfig
from ambient.insights import plots
from ambient.insights.report import render_week
from ambient.insights.report_cli import learned_weeks
from ambient.insights.service import Insights
from ambient.insights.storage import InsightStore
from ambient.insights.synthetic import summaries
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.response import EpisodeResponse
from ambient.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)


def at(day: date, hour: int) -> float:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).timestamp()


def book_with_episodes(store: Store) -> None:
    book = EpisodeBook(store)
    for k in range(6):  # 6 of each: 3 against 3 is a split chance makes 1 time in 10
        day = MONDAY + timedelta(days=k)
        for option, hour, change in (("breathing", 10, 0.6), ("lights", 16, 0.1)):
            episode = book.open("alex", "calm", option, at(day, hour), {"hour": hour})
            book.record_response(episode, EpisodeResponse(change, -0.2, True, ""), at(day, 17))
            if k == 0 and option == "breathing":
                book.record_check_in(episode, "calmer")
    episode = book.open("alex", "calm", "lights", at(MONDAY, 20), {})
    book.record_response(episode, EpisodeResponse(None, None, False, "moving"), at(MONDAY, 21))


def test_the_days_summary_keeps_measured_episodes_and_check_ins() -> None:
    store = Store(None)
    book_with_episodes(store)
    clock = VirtualClock(at(MONDAY, 8))
    Insights(InsightsConfig(), ["alex"], BERLIN, clock, store, lambda update: None)
    clock.advance_to(at(MONDAY + timedelta(days=1), 0) + 1)
    summary = InsightStore(store).summaries("alex")[MONDAY]
    assert [e["option"] for e in summary.measured_episodes] == ["breathing", "lights", "lights"]
    assert summary.measured_episodes[2]["reason"] == "moving"
    ((checkin),) = summary.checkins
    assert (checkin["option"], checkin["answer"]) == ("breathing", "calmer")


def test_the_report_shows_the_responses_and_which_option_helped_most() -> None:
    store = Store(None)
    book_with_episodes(store)
    learned = learned_weeks(store, "alex", MONDAY, BERLIN)
    kept = {s.day: s for s in summaries("alex", date(2026, 10, 12), 56, seed=3)}
    html = render_week(
        "Alex", kept, MONDAY, TrendConfig(), plots.week_bars, plots.hrv_band, learned, BERLIN
    )
    assert (
        '<th scope="row">Mon 10:00</th><td>calm</td><td>breathing</td><td>+0.6 SD</td>'
        "<td>calmer</td>" in html
    )
    assert "not measured (moving)" in html
    assert (
        "Your HRV rose most after breathing: +0.6 SD on average over 6 times, "
        "against +0.1 SD after lights (6 times)." in html
    )


def test_a_response_that_rounds_to_zero_reads_0_0_sd_not_minus_0_0() -> None:
    store = Store(None)
    book = EpisodeBook(store)
    for k in range(6):
        day = MONDAY + timedelta(days=k)
        for option, hour, change in (("breathing", 10, 0.5), ("lights", 16, -0.04)):
            episode = book.open("alex", "calm", option, at(day, hour), {"hour": hour})
            book.record_response(episode, EpisodeResponse(change, -0.2, True, ""), at(day, 17))
    learned = learned_weeks(store, "alex", MONDAY, BERLIN)
    kept = {s.day: s for s in summaries("alex", date(2026, 10, 12), 56, seed=3)}
    html = render_week(
        "Alex", kept, MONDAY, TrendConfig(), plots.week_bars, plots.hrv_band, learned, BERLIN
    )
    assert "<td>lights</td><td>0.0 SD</td>" in html
    assert "against 0.0 SD after lights (6 times)" in html
    assert "-0.0" not in html
