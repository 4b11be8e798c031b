"""`choose_calming`: the user's pins, bans and daily cap first, then the learner."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ambient.clock import VirtualClock
from ambient.config.actions import ChooseCalming
from ambient.interventions.chooser import CalmingChooser
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.explain import Policy, probabilities_now
from ambient.interventions.learner import PRIORS, OptionBelief
from ambient.interventions.recorder import EpisodeRecorder
from ambient.store import Store

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
