"""How the daemon wires the interventions: on a virtual clock the choices follow a seed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig
from ambient.config.actions import ChooseCalming
from ambient.hub import Hub
from ambient.interventions.episodes import EpisodeBook, EpisodeRow
from ambient.interventions.orphans import learning_left_behind
from ambient.interventions.wiring import SAID_KEY, SAID_NAMESPACE, add_interventions, only_person
from ambient.messages import SignalUpdate, SignalValue
from ambient.store import Store

STEP: dict[str, Any] = {
    "options": [
        {"id": option, "actions": [{"action": "log", "message": option}]}
        for option in ("breathe", "lights", "music")
    ],
    "per_day": 24,
}
CONFIG: dict[str, Any] = {
    "people": [{"id": "alex"}],
    "store": {"path": None},
    "rules": [
        {
            "id": "calm",
            "person": "alex",
            "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70}],
            "actions": [{"choose_calming": STEP}],
        }
    ],
}


def choices(seed: int) -> list[str | None]:
    """Twenty choices of a fresh simulated daemon whose draws follow ``seed``."""
    chooser = add_interventions(
        AmbientConfig.model_validate(CONFIG),
        VirtualClock(1_800_000_000.0),
        Store(None),
        lambda _person: None,
        Hub(),
        choice_seed=seed,
    )
    assert chooser is not None
    step = ChooseCalming.model_validate(STEP)
    return [chooser.decide(step, "calm", "alex").option for _ in range(20)]


def test_a_simulation_chooses_the_same_every_run_and_another_seed_differently() -> None:
    assert choices(0) == choices(0)
    assert choices(0) != choices(1)  # simulated households do not share one stream of draws


async def calmed_for_nobody_in_particular(config: dict[str, Any], wearer: str) -> EpisodeRow:
    """A `choose_calming` run for no person (a button, a time of day) while ``wearer``'s
    signals arrive once a minute: the episode, measured 20 minutes on."""
    clock, hub, store = VirtualClock(1_800_000_000.0), Hub(), Store(None)
    chooser = add_interventions(
        AmbientConfig.model_validate(config), clock, store, lambda _p: None, hub
    )
    assert chooser is not None
    step = ChooseCalming.model_validate(STEP)
    for minute in range(1, 32):
        await clock.run_until(clock.now() + 60.0)
        ln_rmssd = 3.0 if minute <= 10 else 3.2
        values = {"ln_rmssd": SignalValue(ln_rmssd, clock.now()), "hr": SignalValue(70.0, 0.0)}
        hub.publish_signals(SignalUpdate(clock.now(), wearer, values))
        if minute == 10:
            chooser.started(step, "calm", None, chooser.decide(step, "calm", None), {})
    (row,) = EpisodeBook(store).episodes()
    return row


async def test_a_run_for_nobody_in_particular_is_measured_on_the_only_person_of_the_home() -> None:
    one = {**CONFIG, "rules": [{**CONFIG["rules"][0], "person": None}]}
    row = await calmed_for_nobody_in_particular(one, "alex")
    assert (row.person, row.usable) == ("alex", True)
    assert row.ln_rmssd_change_sd is not None and row.ln_rmssd_change_sd > 0


async def test_a_run_for_nobody_in_a_home_of_several_is_kept_for_the_household() -> None:
    two = {**CONFIG, "people": [{"id": "alex"}, {"id": "sam"}]}
    two["rules"] = [{**CONFIG["rules"][0], "person": None}]
    row = await calmed_for_nobody_in_particular(two, "alex")
    assert (row.person, row.usable, row.reason) == ("_household", False, "no person to measure")


@pytest.mark.parametrize(
    ("people", "sensors", "only"),
    [
        ([{"id": "alex"}], [], "alex"),
        ([{"id": "alex"}, {"id": "sam"}], [], None),
        ([], [{"type": "ble", "name": "strap", "address": "AA:BB:CC:DD:EE:FF"}], "default"),
        (
            [],
            [
                {"type": "recording", "id": "a", "path": "a.csv", "person": "sam"},
                {"type": "recording", "id": "b", "path": "b.csv", "person": "sam"},
            ],
            "sam",
        ),
        ([], [{"type": "satellite", "id": "hall"}], None),
    ],
)
def test_the_only_person_of_a_home_is_known_only_when_nothing_else_can_arrive(
    people: list[dict[str, Any]], sensors: list[dict[str, Any]], only: str | None
) -> None:
    config = AmbientConfig.model_validate({"people": people, "sensors": sensors})
    assert only_person(config) == only


async def test_a_config_reload_mid_episode_leaves_no_timer_of_the_old_wiring_behind(
    tmp_path: Path,
) -> None:
    # The daemon closes the chooser, then the store, and wires the new config on the same
    # clock: the old wiring's timers must not fire on its closed store (an error line for
    # every episode and question in flight); the new wiring measures the episode.
    path, clock = tmp_path / "state.db", VirtualClock(1_800_000_000.0)
    check_ins = {**CONFIG, "check_ins": {"timeout": "30min"}}
    config = AmbientConfig.model_validate(check_ins)
    store = Store(path)
    old = add_interventions(config, clock, store, lambda _p: None, Hub())
    assert old is not None
    step = ChooseCalming.model_validate(STEP)
    old.started(step, "calm", "alex", old.decide(step, "calm", "alex"), {})
    await clock.run_until(clock.now() + 300.0)
    old.close()
    store.close()

    store = Store(path)
    new = add_interventions(config, clock, store, lambda _p: None, Hub())
    assert new is not None
    await clock.run_until(clock.now() + 3600.0)
    assert clock.failed_callbacks == 0
    (row,) = EpisodeBook(store).episodes()
    assert row.usable is False and row.reason == "missing data"  # no signals in this test


def said_at_start(
    config: AmbientConfig, store: Store, caplog: pytest.LogCaptureFixture, words: str
) -> list[tuple[str, str]]:
    """What the interventions say, when they start on ``store``, in lines holding ``words``:
    each line's level and message."""
    with caplog.at_level("INFO"):
        add_interventions(config, VirtualClock(1_800_001_000.0), store, lambda _p: None, Hub())
    return [(r.levelname, r.getMessage()) for r in caplog.records if words in r.getMessage()]


def test_learning_of_a_rule_id_no_longer_in_the_config_is_said_once_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The rule was `evening_calm` and is `calm` now: its learning stays under the old id.
    store = Store(None)
    book = EpisodeBook(store)
    for minute in range(3):
        book.open("alex", "evening_calm", "breathe", 1_800_000_000.0 + 60 * minute, {})
    book.open("alex", "calm", "breathe", 1_800_000_500.0, {})
    assert said_at_start(AmbientConfig.model_validate(CONFIG), store, caplog, "no rule") == [
        (
            "WARNING",
            "Learned calming episodes of rule 'evening_calm' (3) are kept, but no rule with "
            "choose_calming has that id now: renamed? Learning does not follow a new id; give "
            "the rule its old id back to go on from it (docs/interventions.md)",
        )
    ]


def test_learning_left_with_a_rule_s_old_person_is_said_once_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The rule was Alex's and is Sam's now: it runs for Sam only, Alex's learning unused.
    store = Store(None)
    book = EpisodeBook(store)
    for minute in range(3):
        book.open("alex", "calm", "breathe", 1_800_000_000.0 + 60 * minute, {})
    book.open("sam", "calm", "breathe", 1_800_000_500.0, {})
    given_to_sam = {
        **CONFIG,
        "people": [{"id": "alex"}, {"id": "sam"}],
        "rules": [{**CONFIG["rules"][0], "person": "sam"}],
    }
    assert said_at_start(AmbientConfig.model_validate(given_to_sam), store, caplog, "is for") == [
        (
            "WARNING",
            "alex — rule calm: learned calming episodes (3) are kept, but the rule is for sam "
            "now and does not run for alex: learning does not follow the rule to another "
            "person; give it `person: alex` back to go on from it (docs/interventions.md)",
        )
    ]


def test_learning_of_an_option_id_no_longer_in_its_rule_is_said_once_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The option was `breathe_slow` and is `breathe` now: its learning stays under the old id.
    store = Store(None)
    book = EpisodeBook(store)
    for minute in range(2):
        book.open("alex", "calm", "breathe_slow", 1_800_000_000.0 + 60 * minute, {})
    book.open("alex", "calm", "breathe", 1_800_000_500.0, {})
    assert said_at_start(AmbientConfig.model_validate(CONFIG), store, caplog, "no option") == [
        (
            "WARNING",
            "alex — rule calm: learned option 'breathe_slow' (2 episodes) is kept, but the rule "
            "has no option with that id now: renamed? Learning does not follow a new id; give "
            "the option its old id back to go on from it (docs/interventions.md)",
        )
    ]


def test_learning_left_behind_is_a_warning_once_then_information_at_later_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An option removed on purpose keeps its episodes for `retention.episodes` (a year): a
    warning at every start for that long would teach to ignore warnings. It warns at the first
    start that finds it, says it at INFO at later ones (and `ambient insights` shows it);
    another left behind later warns in turn."""
    store = Store(None)
    book = EpisodeBook(store)
    book.open("alex", "calm", "breathe_slow", 1_800_000_000.0, {})
    config = AmbientConfig.model_validate(CONFIG)
    assert [level for level, _ in said_at_start(config, store, caplog, "no option")] == ["WARNING"]
    caplog.clear()
    assert [level for level, _ in said_at_start(config, store, caplog, "no option")] == ["INFO"]
    caplog.clear()
    book.open("alex", "calm", "dim", 1_800_000_100.0, {})  # another option renamed since
    assert said_at_start(config, store, caplog, "no option") == [
        ("INFO", _option_notice("breathe_slow", "1 episode")),
        ("WARNING", _option_notice("dim", "1 episode")),
    ]


def test_learning_left_behind_said_once_stays_information_as_its_episodes_change_in_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The notice counts the episodes kept, which change as old ones age out (or, here, as
    one more is found): it is the same learning left behind, so it is not warned again."""
    store = Store(None)
    book = EpisodeBook(store)
    book.open("alex", "calm", "breathe_slow", 1_800_000_000.0, {})
    config = AmbientConfig.model_validate(CONFIG)
    assert [level for level, _ in said_at_start(config, store, caplog, "no option")] == ["WARNING"]
    caplog.clear()
    book.open("alex", "calm", "breathe_slow", 1_800_000_100.0, {})
    assert said_at_start(config, store, caplog, "no option") == [
        ("INFO", _option_notice("breathe_slow", "2 episodes"))
    ]


def test_learning_left_behind_said_by_a_version_that_knew_it_by_its_words_is_not_warned_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store whose notice was said by a version that kept the digest of its words: the
    upgrade's first start says it at INFO, as the start after the one that warned would."""
    store = Store(None)
    book = EpisodeBook(store)
    book.open("alex", "calm", "breathe_slow", 1_800_000_000.0, {})
    config = AmbientConfig.model_validate(CONFIG)
    [words] = learning_left_behind(book, config)
    store.put(SAID_NAMESPACE, SAID_KEY, [hashlib.sha256(words.encode()).hexdigest()[:16]])
    assert said_at_start(config, store, caplog, "no option") == [("INFO", words)]
    caplog.clear()
    assert said_at_start(config, store, caplog, "no option") == [("INFO", words)]


def _option_notice(option: str, episodes: str) -> str:
    return (
        f"alex — rule calm: learned option '{option}' ({episodes}) is kept, but the rule has no "
        "option with that id now: renamed? Learning does not follow a new id; give the option "
        "its old id back to go on from it (docs/interventions.md)"
    )
