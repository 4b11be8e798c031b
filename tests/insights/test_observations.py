"""Observations: plain-language patterns, each with its numbers, told only when the data
support them (at least 3 days in each group compared, a difference of at least 20 % that chance
alone rarely makes)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest

from ambient.insights.observations import observations
from ambient.insights.summaries import DaySummary
from ambient.insights.synthetic import steady_weeks

FIRST = date(2026, 11, 9)  # a Monday: four weeks to Sunday 6 December


def day(on: date, stress_minutes: float, measured: float = 600.0) -> DaySummary:
    return DaySummary("alex", on, measured, stress_minutes, 0, 0, 200, 20, 60.0, None, None, 30.0)


def four_weeks(tuesdays: list[float | None]) -> list[DaySummary]:
    """100 stress minutes a day; the four Tuesdays as given (None: nothing worn)."""
    out = []
    for k in range(28):
        on = FIRST + timedelta(days=k)
        if on.weekday() != 1:
            out.append(day(on, 100.0))
            continue
        minutes = tuesdays[k // 7]
        out.append(day(on, 0.0, measured=0.0) if minutes is None else day(on, minutes))
    return out


def test_a_busy_weekday_is_told_with_its_numbers() -> None:
    (found,) = observations(four_weeks([300.0, 300.0, 300.0, None]), [])
    # by hand: 24 days of 100 and 3 Tuesdays of 300 (the fourth not worn): 3300 / 27 = 122
    assert found.text == (
        "Tuesdays had the most stress: 300 minutes on average over 3 Tuesdays, against 122 "
        "on an average day. A lighter plan or a short break on Tuesdays may help."
    )


def test_two_busy_tuesdays_are_too_few_to_call_a_pattern() -> None:
    assert observations(four_weeks([300.0, 300.0, None, None]), []) == []


def with_sleep(summary: DaySummary, hours: float) -> DaySummary:
    return replace(summary, sleep_hours=hours)


def test_short_nights_followed_by_calmer_days_suggest_no_earlier_evening() -> None:
    days = [day(FIRST + timedelta(days=k), 100.0) for k in range(28)]
    days = [
        with_sleep(d, 7.5) if k % 4 else with_sleep(day(d.day, 40.0), 5.5)
        for k, d in enumerate(days)
    ]
    (found,) = observations(days, [])
    assert found.text == (
        "On the 7 days after a night under 6.5 h of sleep you had 40 minutes of stress on "
        "average, against 100 after longer nights (21 days): fewer after short nights."
    )


def test_short_nights_followed_by_busier_days_offer_an_earlier_evening() -> None:
    days = [
        with_sleep(day(FIRST + timedelta(days=k), 100.0 if k % 4 else 160.0), 7.5 if k % 4 else 5.5)
        for k in range(28)
    ]
    (found,) = observations(days, [])
    assert found.text.endswith(
        "against 100 after longer nights (21 days): more after short nights. An earlier "
        "evening wind-down is one option to try."
    )


def noisy_weeks(seed: int, busy_tuesdays: float = 1.0) -> list[DaySummary]:
    """Alex's four steady weeks from FIRST, days varying by 40 %."""
    return steady_weeks("alex", FIRST, seed, busy_tuesdays=busy_tuesdays)


def test_day_to_day_noise_is_not_told_as_a_pattern() -> None:
    """A steady person's days vary (stress minutes by 40 % here, a usual spread): the busiest
    of seven weekdays, or the days after short nights, differ by 20 % from the rest most weeks
    by chance alone. Such a difference is told only when chance rarely makes one as large,
    across the three kinds the page tests together: each at 1 in 100 on its own told chance
    on 3 % of these pages."""
    told = sum(bool(observations(noisy_weeks(seed), [])) for seed in range(200))
    print(f"\nnoise: an observation in {told / 200:.0%} of four-week histories")
    assert told / 200 <= 0.01


def test_a_real_busy_weekday_is_still_told_through_the_noise() -> None:
    told = [
        found[0].text.startswith("Tuesdays")
        for seed in range(200)
        if (found := observations(noisy_weeks(seed, busy_tuesdays=2.0), []))
    ]
    print(f"\nTuesdays twice as busy: told in {sum(told) / 200:.0%} of histories")
    # Judged against 1 in 300 (the rarest of the page's three kinds), no longer 1 in 100: it
    # was told in 84 % of these histories before the kinds were corrected together.
    assert sum(told) / 200 >= 0.55


def test_what_the_correction_costs_a_milder_real_link(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic generator's short nights come before busier days: a real link, milder
    than Tuesdays twice as busy. Told in about a quarter of four-week spans when each kind was
    judged at 1 in 100 on its own, which told day-to-day noise on 3 % of a steady person's
    pages (nearly every page by the 20 % rule alone); judged with the page's other kinds, noise
    is told on at most 1 page in 100 and the link less often. The figures docs/insights.md
    gives."""
    from ambient.insights import observations as rule
    from ambient.insights.synthetic import summaries

    spans = [summaries("alex", date(2026, 1, 5), 28, seed=seed) for seed in range(200)]

    def rates() -> tuple[float, float]:
        link = sum(
            any("more after short nights" in o.text for o in observations(span, []))
            for span in spans
        )
        noise = sum(bool(observations(noisy_weeks(seed), [])) for seed in range(200))
        return link / 200, noise / 200

    def each_on_its_own(tested: Sequence[rule.Tested]) -> list[rule.Observation]:
        return [t.observation for t in tested if t.observation and t.chance <= rule.MAX_CHANCE]

    link, noise = rates()
    monkeypatch.setattr(rule, "holm", each_on_its_own)
    alone_link, alone_noise = rates()
    monkeypatch.setattr(rule, "MAX_CHANCE", 1.0)
    _, no_rule_noise = rates()
    print(
        f"\nshort nights, more stress: told in {link:.0%} of spans ({alone_link:.0%} each kind "
        f"on its own); noise told in {noise:.0%} ({alone_noise:.0%} each kind on its own, "
        f"{no_rule_noise:.0%} by the 20 % rule alone)"
    )
    assert 0.05 <= link < alone_link
    assert noise <= 0.01 < alone_noise < no_rule_noise


def test_four_weeks_without_a_pattern_say_none_stands_out_not_too_little_data() -> None:
    """Eight weeks of days whose busiest weekday (Tuesday, here) is chance: the page tells no
    pattern, and does not ask for more weeks of wear the person has already given."""
    from ambient.config.insights import TrendConfig
    from ambient.insights import plots
    from ambient.insights.report import render_week
    from ambient.insights.synthetic import summaries

    kept = {s.day: s for s in summaries("alex", date(2026, 10, 12), 56, seed=3)}
    html = render_week(
        "Alex", kept, date(2026, 11, 30), TrendConfig(), plots.week_bars, plots.hrv_band
    )
    assert "Tuesdays had the most stress" not in html
    assert "Not enough data yet" not in html
    assert "No pattern stands out" in html


def learned_responses(seed: int, better: float = 0.0, times: int = 6) -> list[dict[str, object]]:
    """``times`` measured episodes of each of three options whose HRV responses vary by 0.8 SD
    from one time to the next; breathing's ``better`` SD higher on average."""
    rng = random.Random(seed)
    return [
        {"usable": True, "option": option, "response_sd": rng.gauss(mean, 0.8)}
        for option, mean in (("breathing", better), ("music", 0.0), ("lights", 0.0))
        for _ in range(times)
    ]


def test_options_answered_alike_are_not_told_as_one_helping_most() -> None:
    """The best and the last of three options differ by 0.2 SD by chance nearly every time:
    "Your HRV rose most after ..." was told of noise in most four-week spans."""
    told = sum(bool(observations([], [], learned_responses(seed))) for seed in range(200))
    assert told / 200 <= 0.05


def test_an_option_the_body_answers_clearly_better_is_still_told() -> None:
    told = [
        found[0].text.startswith("Your HRV rose most after breathing")
        for seed in range(200)
        if (found := observations([], [], learned_responses(seed, better=2.0)))
    ]
    assert sum(told) / 200 >= 0.8


def test_a_difference_chance_makes_often_is_judged_without_every_shuffle() -> None:
    """Each page judges several differences, most of them chance: 2000 shuffles each made the
    observations most of a page's drawing time (24 pages: 0.7 s of CPU, the rest 1 s)."""
    from ambient.insights.observations import MAX_CHANCE, SHUFFLES, chance

    calls = 0

    def difference(values: Sequence[float]) -> float:
        nonlocal calls
        calls += 1
        return abs(sum(values[:5]) - sum(values[5:]))

    assert chance([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0], difference) == 1.0
    assert calls < SHUFFLES / 10
    calls = 0
    rare = chance([float(v) for v in (1, 2, 3, 4, 5, 16, 17, 18, 19, 20)], difference)
    # only the split as given and its mirror are as far apart: a few shuffles, plus the split
    # itself, out of SHUFFLES + 1
    as_large = rare * (SHUFFLES + 1)
    assert as_large == round(as_large)
    assert 1 < as_large < MAX_CHANCE * (SHUFFLES + 1)
    assert calls == SHUFFLES + 1  # a rare one: every shuffle, as before


def test_the_kinds_a_page_tests_are_judged_together() -> None:
    """Each of three kinds chance makes 1 time in 150: rare enough on its own, but a page
    testing three has one such in about 1 in 50 by chance, so none is told. The rarest is
    judged against 1 in 300, the next against 1 in 200, the last against 1 in 100."""
    from ambient.insights.observations import Observation, Tested, holm

    def kind(name: str, chance: float) -> Tested:
        return Tested(chance, Observation(name, 1.0))

    assert holm([kind("sleep", 1 / 150), kind("weekday", 1 / 150), kind("activity", 1 / 150)]) == []
    told = holm([kind("sleep", 1 / 250), kind("weekday", 1 / 400), kind("activity", 1 / 150)])
    assert [o.text for o in told] == ["weekday", "sleep", "activity"]
    told = holm([kind("sleep", 1 / 250), kind("weekday", 1 / 400), kind("activity", 1 / 50)])
    assert [o.text for o in told] == ["weekday", "sleep"]
    told = holm([kind("sleep", 1 / 150), kind("weekday", 1 / 400), kind("activity", 1 / 150)])
    assert [o.text for o in told] == ["weekday"]
    # a kind too small to tell still counts as tested: the others are judged as one of three
    too_small = Tested(1.0, None)
    assert holm([too_small, kind("weekday", 1 / 250), too_small]) == []
    assert [o.text for o in holm([kind("weekday", 1 / 250)])] == ["weekday"]
