"""The HA sensor of what the learner knows: the option most likely to be chosen now."""

from __future__ import annotations

from ambient.clock import VirtualClock
from ambient.interventions.entity import REFRESH_S, CalmingEntity
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.explain import Policy, insight_rows
from ambient.interventions.learner import PRIORS, OptionBelief
from ambient.store import Store

DAY = 86_400.0
T0 = 1_800_000_000.0
POLICY = Policy(
    ("box", "lights"),
    priors={"box": PRIORS["breathing"], "lights": PRIORS["calm_lights"]},
    half_life_s=60 * DAY,
)


def learnt(book: EpisodeBook) -> None:
    """Twelve episodes of `box` calming Alex by 1 SD, the last one starting at ``T0``."""
    box = OptionBelief.from_prior("box", PRIORS["breathing"], as_of=T0)
    for _ in range(12):
        box = box.observe(1.0)
    lights = OptionBelief.from_prior("lights", PRIORS["calm_lights"], as_of=T0)
    book.save_beliefs("alex", "calm", {"box": box, "lights": lights})


def shown(entity: CalmingEntity) -> dict[str, tuple[float, float]]:
    rows = entity.states()["alex"]["attributes"]["options"]
    return {row["option"]: (row["probability"], row["worth_episodes"]) for row in rows}


def test_the_odds_shown_are_those_the_chooser_would_draw_from_now_not_at_the_last_episode() -> None:
    """Four months without an episode (a rule that rarely fires, a long absence): the sensor
    shows `box` worth what its twelve episodes are worth now, and the odds of now."""
    book = EpisodeBook(Store(None))
    learnt(book)
    clock = VirtualClock(T0 + 120 * DAY)
    entity = CalmingEntity(book, {"calm": POLICY}, clock)
    now = insight_rows(book, {"calm": POLICY}, now=clock.now())
    assert shown(entity) == {
        row["option"]: (row["probability"], row["worth_episodes"]) for row in now
    }
    assert shown(entity)["box"][1] == 3.0  # 12 episodes, two half-lives ago
    as_stored = {row["option"]: row["probability"] for row in insight_rows(book, {"calm": POLICY})}
    assert shown(entity)["box"][0] < as_stored["box"]


def test_the_shown_odds_age_as_time_goes_by_with_nothing_learnt() -> None:
    book = EpisodeBook(Store(None))
    learnt(book)
    clock = VirtualClock(T0)
    entity = CalmingEntity(book, {"calm": POLICY}, clock)
    assert shown(entity)["box"][1] == 12.0
    clock.advance_to(T0 + REFRESH_S / 2)
    assert shown(entity)["box"][1] == 12.0  # answered from the cache within the hour
    clock.advance_to(T0 + 60 * DAY)
    assert shown(entity)["box"][1] == 6.0
    # A clock stepped back a month (NTP after it ran ahead): aged to the time it shows now,
    # not to the time it showed before.
    clock.step(-30 * DAY)
    assert shown(entity)["box"][1] == round(12 * 2**-0.5, 3)
