"""`choose_calming`: the user's pins, bans and daily cap first, then the learner."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ambient.clock import VirtualClock
from ambient.config import ConfigError, load_config
from ambient.config.actions import ChooseCalming
from ambient.interventions.chooser import CalmingChooser
from ambient.interventions.episodes import BELIEFS_NAMESPACE, EpisodeBook
from ambient.interventions.explain import Policy, insight_rows, probabilities_now
from ambient.interventions.learner import (
    PRIORS,
    OptionBelief,
    thompson_probabilities,
    with_floor,
)
from ambient.interventions.recorder import EpisodeRecorder
from ambient.messages import SignalUpdate, SignalValue
from ambient.store import Store, StoreError

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-12-04 20:00 in Berlin.
EVENING = 1_796_410_800.0


def step(**extra: object) -> ChooseCalming:
    return ChooseCalming.model_validate(
        {
            "options": [
                {"id": "breathe", "actions": [{"action": "log", "message": "in, out"}]},
                {"id": "quiet", "actions": [{"action": "log", "message": "quiet"}]},
            ],
            **extra,
        }
    )


@pytest.fixture
def chooser(tmp_path: Path) -> tuple[CalmingChooser, EpisodeBook, VirtualClock]:
    clock = VirtualClock(EVENING)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    recorder = EpisodeRecorder(clock, book)
    return CalmingChooser(clock, book, recorder, BERLIN, random.Random(7)), book, clock


def test_a_choice_opens_an_episode_with_its_context(
    chooser: tuple[CalmingChooser, EpisodeBook, VirtualClock],
) -> None:
    calming, book, _ = chooser
    decision = calming.decide(step(), "calm", "alex")
    assert decision.option in {"breathe", "quiet"}
    assert min(decision.probabilities.values()) >= 0.1
    calming.started(step(), "calm", "alex", decision, {"quality": "good"})
    (episode,) = book.episodes("alex")
    assert episode.option == decision.option
    before = {"ln_rmssd": None, "hr": None, "coverage": 0.0, "moved": False, "ln_coverage": 0.0}
    assert episode.context == {"hour": 20, "weekday": "Fri", "quality": "good", "before": before}


def test_the_daily_cap_counts_the_local_day(
    chooser: tuple[CalmingChooser, EpisodeBook, VirtualClock],
) -> None:
    calming, _, clock = chooser
    for _ in range(2):
        calming.started(step(per_day=2), "calm", "alex", calming.decide(step(), "calm", "alex"), {})
    capped = calming.decide(step(per_day=2), "calm", "alex")
    assert (capped.option, capped.reason) == (None, "daily cap reached (2 today)")
    clock.advance_to(EVENING + 4 * 3600)  # past midnight in Berlin
    assert calming.decide(step(per_day=2), "calm", "alex").option is not None


def test_an_episode_the_store_refuses_is_one_line_and_no_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The option has been performed when its episode is opened; a full or read-only card
    must not fail the rule's run there (the steps after it, a trusted person's notification,
    would be skipped): one line naming the file, and no episode."""
    clock = VirtualClock(EVENING)
    store = Store(tmp_path / "state.db")
    book = EpisodeBook(store)
    calming = CalmingChooser(clock, book, EpisodeRecorder(clock, book), BERLIN)
    decision = calming.decide(step(), "calm", "alex")
    store.query("PRAGMA query_only = ON")  # as SQLite sees a card remounted read-only
    with caplog.at_level(logging.ERROR):
        assert calming.started(step(), "calm", "alex", decision, {}) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"Calming episode of alex (calm) not recorded: store {tmp_path / 'state.db'} cannot "
        "be used (attempt to write a readonly database)"
    ]
    assert book.episodes("alex") == []


def test_a_card_refusing_every_episode_is_one_line_until_one_is_recorded_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each calming on a full card was an error line of its own, for as long as it stayed
    full. The first is said, the next at DEBUG, and one line once an episode goes in again."""
    clock = VirtualClock(EVENING)
    store = Store(tmp_path / "state.db")
    book = EpisodeBook(store)
    calming = CalmingChooser(clock, book, EpisodeRecorder(clock, book), BERLIN)
    decision = calming.decide(step(), "calm", "alex")
    store.query("PRAGMA query_only = ON")  # the card refuses every write from now on
    with caplog.at_level(logging.DEBUG, logger="ambient.interventions.chooser"):
        for _calming in range(3):
            assert calming.started(step(), "calm", "alex", decision, {}) is None
    levels = [r.levelno for r in caplog.records if r.name == "ambient.interventions.chooser"]
    assert levels == [logging.ERROR, logging.DEBUG, logging.DEBUG]
    store.query("PRAGMA query_only = OFF")  # room again
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ambient.interventions.chooser"):
        assert calming.started(step(), "calm", "alex", decision, {}) is not None
        assert calming.started(step(), "calm", "alex", decision, {}) is not None
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Calming episodes are recorded again")
    ]


def test_a_store_damaged_under_the_episodes_still_gives_a_choice_on_the_priors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing SD card: the file opens, a read of the episodes finds the damage. The rule's
    run failed there, before any option (and the steps after the options) was performed."""
    path = tmp_path / "state.db"
    clock = VirtualClock(EVENING)
    store = Store(path)
    book = EpisodeBook(store)
    for n in range(300):  # pages past the schema's, for the damage to land in
        store.append("traces", "calm_alex", {"n": n, "note": "x" * 300}, keep=1000)
    calming = CalmingChooser(clock, book, EpisodeRecorder(clock, book), BERLIN)
    calming.started(step(), "calm", "alex", calming.decide(step(), "calm", "alex"), {})
    store.checkpoint()
    store.close()
    damaged = bytearray(path.read_bytes())
    for page in range(2, len(damaged) // 4096):
        damaged[page * 4096 : page * 4096 + 200] = b"\xff" * 200
    path.write_bytes(bytes(damaged))

    book = EpisodeBook(Store(path))
    calming = CalmingChooser(clock, book, EpisodeRecorder(clock, book), BERLIN)
    with caplog.at_level(logging.ERROR):
        decision = calming.decide(step(), "calm", "alex")
    assert decision.option in {"breathe", "quiet"}
    assert decision.reason.endswith("no episodes measured yet, so the priors decide")
    assert [r.getMessage() for r in caplog.records] == [
        f"Calming for alex (calm) chosen on the priors: store {path} is damaged (database disk "
        "image is malformed): move it and its -wal and -shm files aside to start with a new one, "
        "or put back a copy"
    ]


def test_a_store_failing_every_read_is_one_line_until_a_read_works_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Each calming on a card failing its reads was an error line of its own. The first is
    said, the next at DEBUG, and one line once a read works again. A stand-in refuses the
    reads: a real file cannot be damaged and mended under an open store."""
    clock = VirtualClock(EVENING)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    calming = CalmingChooser(clock, book, EpisodeRecorder(clock, book), BERLIN)

    def refused(*_args: object, **_kwargs: object) -> list[object]:
        raise StoreError(f"store {tmp_path / 'state.db'} cannot be used (disk I/O error)")

    with monkeypatch.context() as failing:
        failing.setattr(book, "episodes", refused)
        with caplog.at_level(logging.DEBUG, logger="ambient.interventions.chooser"):
            for _calming in range(3):
                assert calming.decide(step(), "calm", "alex").option in {"breathe", "quiet"}
    levels = [r.levelno for r in caplog.records if r.name == "ambient.interventions.chooser"]
    assert levels == [logging.ERROR, logging.DEBUG, logging.DEBUG]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ambient.interventions.chooser"):
        calming.decide(step(), "calm", "alex")
        calming.decide(step(), "calm", "alex")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Calming choices read the store again")
    ]


def test_an_option_removed_from_the_config_is_never_chosen_and_insights_show_the_same_odds(
    chooser: tuple[CalmingChooser, EpisodeBook, VirtualClock],
) -> None:
    # "walk" was an option once: its episodes still tell how noisy the person's responses
    # are, for the daemon and for `ambient insights` alike.
    calming, book, _ = chooser
    walk = OptionBelief.from_prior("walk", PRIORS["other"])
    for response in (2.5, -2.0, 2.8, -2.6):
        walk = walk.observe(response)
    breathe = OptionBelief.from_prior("breathe", PRIORS["other"]).observe(0.6)
    book.save_beliefs("alex", "calm", {"walk": walk, "breathe": breathe})

    decision = calming.decide(step(), "calm", "alex")
    assert set(decision.probabilities) == {"breathe", "quiet"}
    policy = Policy(
        ("breathe", "quiet"), priors=dict.fromkeys(("breathe", "quiet"), PRIORS["other"])
    )
    shown = probabilities_now(policy.with_priors(book.beliefs("alex", "calm")), policy)
    assert decision.probabilities == pytest.approx(shown)


def test_pinned_and_banned_options_are_honoured(
    chooser: tuple[CalmingChooser, EpisodeBook, VirtualClock],
) -> None:
    calming, _, _ = chooser
    assert {calming.decide(step(pin="quiet"), "calm", "alex").option for _ in range(20)} == {
        "quiet"
    }
    assert {calming.decide(step(ban=["quiet"]), "calm", "alex").option for _ in range(20)} == {
        "breathe"
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"pin": "nope"}, "name no option: nope"),
        ({"pin": "quiet", "ban": ["quiet"]}, "both pinned and banned"),
    ],
)
def test_pins_and_bans_must_name_options(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        step(**extra)


# What works changes: older episodes count less.

DAY = 86_400.0


def calm_twice_a_day(
    tmp_path: Path, half_life: object, days: int, change_after: int, seed: int
) -> list[float]:
    """A person calmed at 8:00 and 20:00 for ``days``, through the chooser and the recorder,
    each response measured from the signals: `breathe` raises ln RMSSD by 0.8 SD and `quiet`
    not at all, until ``change_after`` episodes; then the other way round (1 SD of noise
    each). How likely `quiet` was at each decision after the change."""
    clock = VirtualClock(EVENING)
    book = EpisodeBook(Store(tmp_path / f"{half_life}.db"))
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.5, 8.0))
    calming = CalmingChooser(clock, book, recorder, BERLIN, random.Random(seed))
    body = random.Random(seed + 1)
    calm = step(half_life=half_life)
    odds = []
    for n in range(2 * days):
        start = EVENING + n * DAY / 2
        feed_rest(recorder, clock, start - 360.0, start, ln=3.0)
        decision = calming.decide(calm, "calm", "alex")
        assert calming.started(calm, "calm", "alex", decision, {}) is not None
        better = "breathe" if n < change_after else "quiet"
        response = body.gauss(0.8 if decision.option == better else 0.0, 1.0)
        feed_rest(recorder, clock, start, start + 1260.0, ln=3.0 + 0.5 * response)
        if n >= change_after:
            odds.append(decision.probabilities["quiet"])
    return odds


def feed_rest(
    recorder: EpisodeRecorder, clock: VirtualClock, start: float, until: float, ln: float
) -> None:
    """A person at rest: one update a minute from ``start`` up to ``until``."""
    clock.advance_to(start)
    while clock.now() + 60 <= until:
        clock.advance_to(clock.now() + 60.0)
        values = {
            "ln_rmssd": SignalValue(ln, clock.now()),
            "hr": SignalValue(70.0, clock.now()),
            "activity_state": SignalValue("rest", clock.now()),
        }
        recorder.on_signals(SignalUpdate(clock.now(), "alex", values))


def test_a_changed_preference_is_followed_within_fifty_days_after_four_months(
    tmp_path: Path,
) -> None:
    """Four months of `breathe` working, then `quiet` does instead. With the default half-life
    `quiet` is the likelier pick from the 100th episode after the change on (50 days; this
    seeded person gets there after 87); with every episode counting the same however old
    (`half_life: null`), the four months still outweigh the two."""
    aging = calm_twice_a_day(tmp_path, "60d", days=180, change_after=240, seed=2)
    assert all(p > 0.5 for p in aging[100:])
    never = calm_twice_a_day(tmp_path, None, days=180, change_after=240, seed=2)
    assert all(p < 0.5 for p in never[100:])


def test_the_odds_insights_show_later_are_those_the_chooser_draws_from_then(
    chooser: tuple[CalmingChooser, EpisodeBook, VirtualClock],
) -> None:
    calming, book, clock = chooser
    calming.started(step(), "calm", "alex", calming.decide(step(), "calm", "alex"), {})
    beliefs = book.beliefs("alex", "calm")
    (tried,) = beliefs
    beliefs[tried] = beliefs[tried].observe(1.5)  # as the recorder learns it 20 min on
    book.save_beliefs("alex", "calm", beliefs)
    clock.advance_to(EVENING + 90 * DAY)
    decision = calming.decide(step(), "calm", "alex")
    policy = Policy(
        ("breathe", "quiet"), priors=dict.fromkeys(("breathe", "quiet"), PRIORS["other"])
    )
    rows = insight_rows(book, {"calm": policy}, now=clock.now())
    assert decision.probabilities == pytest.approx(
        {r["option"]: r["probability"] for r in rows}, abs=1e-3
    )
    assert {r["option"]: r["worth_episodes"] for r in rows}[tried] == pytest.approx(
        2**-1.5, abs=1e-3
    )


def test_learning_stored_before_it_was_aged_is_chosen_from_as_it_was_then_ages(
    chooser: tuple[CalmingChooser, EpisodeBook, VirtualClock], tmp_path: Path
) -> None:
    """An upgrade: beliefs in the store as the previous version wrote them (no time). The first
    choice sees them whole (when their episodes were is not known); its episode's start is
    when they begin to age."""
    calming, book, clock = chooser
    stored = {
        "breathe": {
            "option": "breathe",
            "mean": 0.7,
            "kappa": 24.0,
            "episodes": 20,
            "weight": 20.0,
            "surprise_sq": 19.0,
        },
        "quiet": {
            "option": "quiet",
            "mean": 0.1,
            "kappa": 6.0,
            "episodes": 2,
            "weight": 2.0,
            "surprise_sq": 2.0,
        },
    }
    previous = Store(tmp_path / "state.db")
    previous.put(BELIEFS_NAMESPACE, "alex/calm", stored)
    previous.close()
    as_stored = [OptionBelief.from_json(value) for value in stored.values()]
    first = calming.decide(step(), "calm", "alex")
    assert first.probabilities == with_floor(thompson_probabilities(as_stored), 0.1)
    calming.started(step(), "calm", "alex", first, {})
    assert {b.as_of for b in book.beliefs("alex", "calm").values()} == {EVENING}
    clock.advance_to(EVENING + 60 * DAY)
    later = calming.decide(step(), "calm", "alex")
    assert "as much as 10 recent" in later.reason
    assert later.probabilities["breathe"] < first.probabilities["breathe"]


def test_half_life_is_a_duration_of_a_day_or_more_or_null_for_never() -> None:
    assert step().half_life == 60 * DAY
    assert step(half_life="90d").half_life == 90 * DAY
    assert step(half_life=None).half_life is None


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("6h", "should be at least 24h (got 6h)"),
        ("0", "should be at least 24h (got 0 s)"),
        (
            "often",
            "`often` is not a duration like 90s, 5min, 1h30m, 00:05:00 or a number of seconds",
        ),
    ],
)
def test_a_half_life_too_short_or_not_a_duration_is_one_line_at_its_place(
    tmp_path: Path, written: str, said: str
) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(
        "rules:\n  - id: calm\n    triggers: [{trigger: signal, signal: hr, above: 90}]\n"
        "    actions:\n      - choose_calming:\n"
        "          options: [{id: quiet, actions: [{action: log, message: quiet}]}]\n"
        f"          half_life: {written}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (issue,) = caught.value.issues
    assert (issue.line, f"{issue.path}: {issue.message}") == (
        7,
        f"rules[0].actions[0].choose_calming.half_life: {said}",
    )


def test_an_episode_on_a_clock_at_1970_does_not_erase_what_was_learnt_when_ntp_sets_it(
    chooser: tuple[CalmingChooser, EpisodeBook, VirtualClock],
) -> None:
    """A Raspberry Pi without a saved time boots at 1970 and a rule runs before NTP steps the
    clock: the beliefs keep the time they were aged to (the clock behind forgets nothing and
    dates nothing back), so the step to the real time ages them by the day that really passed,
    not by 56 years."""
    calming, book, clock = chooser
    breathe = OptionBelief.from_prior("breathe", PRIORS["other"], as_of=EVENING)
    for _ in range(12):
        breathe = breathe.observe(1.0)
    book.save_beliefs("alex", "calm", {"breathe": breathe})
    clock.step(-(EVENING - 3600.0))  # 01:00 on 1 January 1970
    calming.started(step(), "calm", "alex", calming.decide(step(), "calm", "alex"), {})
    assert book.beliefs("alex", "calm")["breathe"].as_of == EVENING
    clock.step(EVENING + DAY - clock.now())  # NTP: the real time, a day after the last episode
    calming.started(step(), "calm", "alex", calming.decide(step(), "calm", "alex"), {})
    assert book.beliefs("alex", "calm")["breathe"].weight == pytest.approx(12 * 2 ** (-1 / 60))
