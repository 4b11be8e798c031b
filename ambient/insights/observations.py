"""Plain-language observations the data support, each with the numbers behind it, and none when
the data are too thin. Patterns and options, never blame."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ambient.insights.summaries import DaySummary

#: Days in each group before a comparison is told.
MIN_GROUP_DAYS = 3
#: A difference smaller than this share of the smaller mean is not worth telling.
MIN_RELATIVE_DIFFERENCE = 0.2
#: A page is told anything only when chance alone (the same days' values shuffled among the
#: groups) makes differences as large at most this often, across all the kinds of observation the
#: page tests together (Holm's correction): a person's days vary, and among seven weekdays or two
#: groups of a few days a 20 % difference is common by chance; and each kind tested at 1 in 100
#: on its own would tell chance on one page in about 100 / kinds.
MAX_CHANCE = 0.01
#: Shuffles of the permutation test; seeded, so the same days give the same page.
SHUFFLES = 2000
#: Days with stress scores before the weekdays are compared (and before no pattern found is
#: told as such rather than as too little data).
PATTERN_DAYS = 14
SHORT_SLEEP_H = 6.5
ACTIVE_DAY_MIN = 30.0
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def signed(value: float, digits: int = 1) -> str:
    """``+0.6`` / ``-0.3``, and a value that rounds to zero as ``0.0`` (never ``-0.0``)."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


@dataclass(frozen=True)
class Observation:
    text: str
    strength: float  # relative difference, to pick the clearest three


def observations(
    history: Sequence[DaySummary],
    week: Sequence[DaySummary],
    learned: Sequence[Mapping[str, Any]] = (),
) -> list[Observation]:
    """Up to three, strongest first, from the last four weeks (``history``, ``learned``: the
    episodes the intervention learning measured) and this week."""
    tested = [
        t
        for t in (
            _sleep_then_stress(history),
            _weekday(history),
            _activity(history),
            _options(learned),
        )
        if t is not None
    ]
    found = holm(tested)
    found += [o for o in [_episodes(week)] if o is not None]
    return sorted(found, key=lambda o: -o.strength)[:3]


@dataclass(frozen=True)
class Tested:
    """A kind of observation the data were enough to test: its chance (``1.0`` when the
    difference is too small to tell, as if tested and not rare) and what it would tell."""

    chance: float
    observation: Observation | None


def holm(tested: Sequence[Tested]) -> list[Observation]:
    """The observations that stay rare by chance across all the kinds tested on one page
    (Holm–Bonferroni: the rarest against MAX_CHANCE / kinds, the next against MAX_CHANCE /
    (kinds - 1), and so on, stopping at the first that is not): a steady person's page tells
    chance at most MAX_CHANCE of weeks however many kinds it tests, whatever ties them."""
    told: list[Observation] = []
    ranked = sorted(tested, key=lambda t: t.chance)
    for k, t in enumerate(ranked):
        if t.observation is None or t.chance > MAX_CHANCE / (len(ranked) - k):
            break
        told.append(t.observation)
    return told


def scored_days(days: Sequence[DaySummary]) -> list[DaySummary]:
    """The days worn long enough (an hour of stress scores) to be compared."""
    return [d for d in days if d.measured_minutes >= 60]


def _compare(a: list[float], b: list[float]) -> tuple[float, float, float, float] | None:
    """Both means, their relative difference and its chance; None when a group is too small
    to test."""
    if len(a) < MIN_GROUP_DAYS or len(b) < MIN_GROUP_DAYS:
        return None
    mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
    base = max(min(mean_a, mean_b), 1.0)
    relative = abs(mean_a - mean_b) / base
    if relative < MIN_RELATIVE_DIFFERENCE:
        return mean_a, mean_b, relative, 1.0
    size = len(a)

    def difference(values: Sequence[float]) -> float:
        return abs(statistics.fmean(values[:size]) - statistics.fmean(values[size:]))

    return mean_a, mean_b, relative, chance([*a, *b], difference)


def chance(values: list[float], statistic: Callable[[Sequence[float]], float]) -> float:
    """How often ``statistic`` of the same ``values`` shuffled among the groups is as large as
    as grouped, counting the grouping itself ((as large + 1) / (SHUFFLES + 1): a permutation
    test, no assumption about how the minutes are distributed, its smallest chance 1 / 2001).
    It stops, answering ``1.0``, at the first shuffle as large that is one too many for
    MAX_CHANCE, the most lenient bar Holm's correction sets: most differences are chance, and
    none of those is told either way."""
    observed = statistic(values) - 1e-9  # a shuffle that ties counts as large
    rng = random.Random(0)
    shuffled = list(values)
    as_large = 0
    most = MAX_CHANCE * (SHUFFLES + 1) - 1  # as large as observed, and still rare
    for _ in range(SHUFFLES):
        rng.shuffle(shuffled)
        as_large += statistic(shuffled) >= observed
        if as_large > most:
            return 1.0
    return (as_large + 1) / (SHUFFLES + 1)


def _sleep_then_stress(history: Sequence[DaySummary]) -> Tested | None:
    """A day's sleep is the night that ended that morning."""
    short: list[float] = []
    longer: list[float] = []
    for day in scored_days(history):
        if day.sleep_hours is not None:
            group = short if day.sleep_hours < SHORT_SLEEP_H else longer
            group.append(day.stress_minutes)
    compared = _compare(short, longer)
    if compared is None:
        return None
    after_short, after_long, relative, rare = compared
    if relative < MIN_RELATIVE_DIFFERENCE:
        return Tested(1.0, None)
    more = after_short > after_long
    # The option only where it answers the pattern: calmer days after short nights ask none.
    option = " An earlier evening wind-down is one option to try." if more else ""
    return Tested(
        rare,
        Observation(
            f"On the {len(short)} days after a night under {SHORT_SLEEP_H:g} h of sleep you had "
            f"{after_short:.0f} minutes of stress on average, against {after_long:.0f} after "
            f"longer nights ({len(longer)} days): {'more' if more else 'fewer'} after short "
            f"nights.{option}",
            relative,
        ),
    )


def _weekday(history: Sequence[DaySummary]) -> Tested | None:
    days = scored_days(history)
    if len(days) < PATTERN_DAYS:
        return None
    by_weekday: dict[int, list[float]] = {}
    for day in days:
        by_weekday.setdefault(day.day.weekday(), []).append(day.stress_minutes)
    candidates = {w: v for w, v in by_weekday.items() if len(v) >= MIN_GROUP_DAYS}
    if not candidates:
        return None
    weekday = max(candidates, key=lambda w: statistics.fmean(candidates[w]))
    peak = statistics.fmean(candidates[weekday])
    overall = statistics.fmean(d.stress_minutes for d in days)
    relative = (peak - overall) / max(overall, 1.0)
    if relative < MIN_RELATIVE_DIFFERENCE:
        return Tested(1.0, None)
    # The busiest of several weekdays: chance is judged on the busiest of the same days
    # shuffled among the weekdays, so having seven to pick from is counted.
    weekdays = [d.day.weekday() for d in days if d.day.weekday() in candidates]
    minutes = [d.stress_minutes for d in days if d.day.weekday() in candidates]

    def busiest(values: Sequence[float]) -> float:
        sums: dict[int, list[float]] = {}
        for weekday_of, value in zip(weekdays, values, strict=True):
            sums.setdefault(weekday_of, []).append(value)
        return max(statistics.fmean(v) for v in sums.values())

    return Tested(
        chance(minutes, busiest),
        Observation(
            f"{WEEKDAYS[weekday]} had the most stress: {peak:.0f} minutes on average over "
            f"{len(candidates[weekday])} {WEEKDAYS[weekday]}, against {overall:.0f} on an average "
            f"day. A lighter plan or a short break on {WEEKDAYS[weekday]} may help.",
            relative,
        ),
    )


def _activity(history: Sequence[DaySummary]) -> Tested | None:
    days = scored_days(history)
    active = [d.recovery_minutes for d in days if d.active_minutes >= ACTIVE_DAY_MIN]
    quiet = [d.recovery_minutes for d in days if d.active_minutes < ACTIVE_DAY_MIN]
    compared = _compare(active, quiet)
    if compared is None:
        return None
    on_active, on_quiet, relative, rare = compared
    if relative < MIN_RELATIVE_DIFFERENCE:
        return Tested(1.0, None)
    word = "more" if on_active > on_quiet else "less"
    return Tested(
        rare,
        Observation(
            f"Days with at least {ACTIVE_DAY_MIN:.0f} active minutes ({len(active)} days) had "
            f"{on_active:.0f} minutes of recovery, against {on_quiet:.0f} on other days "
            f"({len(quiet)}): {word} recovery on active days.",
            relative,
        ),
    )


def _episodes(week: Sequence[DaySummary]) -> Observation | None:
    pairs = [
        (float(e["stress_before"]), float(e["stress_after"]))
        for day in week
        for e in day.episodes
        if e.get("stress_before") is not None and e.get("stress_after") is not None
    ]
    if len(pairs) < MIN_GROUP_DAYS:
        return None
    before = statistics.fmean(p[0] for p in pairs)
    after = statistics.fmean(p[1] for p in pairs)
    relative = abs(before - after) / max(min(before, after), 1.0)
    direction = "fell" if after < before else "rose"
    return Observation(
        f"After the {len(pairs)} calming moments this week your stress score {direction} "
        f"from {before:.0f} to {after:.0f} on average (10 minutes before, 10–20 after).",
        relative,
    )


def _options(learned: Sequence[Mapping[str, Any]]) -> Tested | None:
    """Which calming option the body answered best, when two have 3 measured episodes each."""
    by_option: dict[str, list[float]] = {}
    for e in learned:
        if e.get("usable") and e.get("response_sd") is not None:
            by_option.setdefault(str(e["option"]), []).append(float(e["response_sd"]))
    measured = {o: v for o, v in by_option.items() if len(v) >= MIN_GROUP_DAYS}
    if len(measured) < 2:
        return None
    ranked = sorted(measured, key=lambda o: -statistics.fmean(measured[o]))
    best, last = ranked[0], ranked[-1]
    best_mean, last_mean = statistics.fmean(measured[best]), statistics.fmean(measured[last])
    if best_mean - last_mean < 0.2:  # SD units: smaller differences are noise here
        return Tested(1.0, None)
    # The best and the last of several options: chance is judged on the same spread of the
    # responses shuffled among the options (a body's responses vary from one time to the next).
    options = [option for option, values in measured.items() for _ in values]
    responses = [value for values in measured.values() for value in values]

    def spread(values: Sequence[float]) -> float:
        by_shuffled: dict[str, list[float]] = {}
        for option, value in zip(options, values, strict=True):
            by_shuffled.setdefault(option, []).append(value)
        means = [statistics.fmean(v) for v in by_shuffled.values()]
        return max(means) - min(means)

    return Tested(
        chance(responses, spread),
        Observation(
            f"Your HRV rose most after {best}: {signed(best_mean)} SD on average over "
            f"{len(measured[best])} times, against {signed(last_mean)} SD after {last} "
            f"({len(measured[last])} times).",
            best_mean - last_mean,
        ),
    )
