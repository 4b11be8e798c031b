"""The calming-option learner: conjugate updates, Thompson odds, the floor, pins and bans."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ambient.interventions.learner import (
    PRIORS,
    OptionBelief,
    choose,
    prior_for,
    thompson_probabilities,
    with_floor,
)


def belief(option: str, mean: float, sd: float) -> OptionBelief:
    return OptionBelief(option, mean, sd)


def test_a_response_moves_the_belief_towards_it_and_narrows_it() -> None:
    before = OptionBelief.from_prior("box", PRIORS["breathing"])
    after = before.observe(1.5)
    assert before.mean < after.mean < 1.5
    assert after.sd < before.sd
    assert after.episodes == 1


def test_a_check_in_weighs_less_than_a_measured_episode() -> None:
    start = OptionBelief.from_prior("box", PRIORS["other"])
    measured = start.observe(1.0)
    answered = start.observe(1.0, weight=0.25)
    assert start.mean < answered.mean < measured.mean
    assert answered.episodes == 0


def test_the_prior_of_an_option_comes_from_its_calming_kind() -> None:
    assert prior_for(["calm_lights", "breathing"]) is PRIORS["breathing"]
    assert prior_for(["notify"]) is PRIORS["other"]
    assert PRIORS["breathing"].mean == pytest.approx(0.37)


def test_equal_beliefs_are_equally_likely() -> None:
    probabilities = thompson_probabilities([belief("a", 0.3, 0.4), belief("b", 0.3, 0.4)])
    assert probabilities["a"] == pytest.approx(0.5, abs=1e-3)


def test_two_options_agree_with_the_closed_form() -> None:
    # P(A > B) for independent normals is Φ((μa − μb) / sqrt(σa² + σb²)) = Φ(1) ≈ 0.8413.
    probabilities = thompson_probabilities([belief("a", 0.5, 0.3), belief("b", 0.0, 0.4)])
    assert probabilities["a"] == pytest.approx(0.8413, abs=2e-3)


@given(
    st.lists(st.tuples(st.floats(-2, 2), st.floats(0.05, 1.0)), min_size=1, max_size=6),
    st.floats(0.0, 0.2),
)
def test_every_option_keeps_at_least_the_floor_and_the_total_is_one(
    params: list[tuple[float, float]], floor: float
) -> None:
    beliefs = [belief(f"o{i}", mean, sd) for i, (mean, sd) in enumerate(params)]
    probabilities = with_floor(thompson_probabilities(beliefs), floor)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert min(probabilities.values()) >= min(floor, 1 / len(beliefs)) - 1e-9


def test_a_pinned_option_is_always_chosen_and_a_banned_one_never() -> None:
    beliefs = [belief("a", 2.0, 0.1), belief("b", -1.0, 0.1), belief("c", 0.0, 0.1)]
    rng = random.Random(3)
    pinned = choose(beliefs, floor=0.1, rng=rng, pinned="b")
    assert pinned is not None and pinned.option == "b" and "pinned" in pinned.reason
    picks = {
        choose(beliefs, floor=0.1, rng=rng, banned=frozenset({"a"})).option  # type: ignore[union-attr]
        for _ in range(200)
    }
    assert picks == {"b", "c"}
    assert choose(beliefs, floor=0.1, rng=rng, banned=frozenset({"a", "b", "c"})) is None


def test_the_learner_prefers_the_option_that_works_after_enough_episodes() -> None:
    """A small household: one option 0.5 SD better, noise 1 SD, 112 episodes, 30 seeds."""
    true_effect = {"good": 0.6, "meh": 0.1, "also_meh": 0.1}
    late_shares = []
    for seed in range(30):
        rng = random.Random(seed)
        beliefs = {name: OptionBelief.from_prior(name, PRIORS["breathing"]) for name in true_effect}
        late = []
        for episode in range(112):
            choice = choose(list(beliefs.values()), floor=0.1, rng=rng)
            assert choice is not None
            assert min(choice.probabilities.values()) >= 0.1 - 1e-9
            beliefs[choice.option] = beliefs[choice.option].observe(
                rng.gauss(true_effect[choice.option], 1.0)
            )
            if episode >= 56:
                late.append(choice.option == "good")
        late_shares.append(sum(late) / len(late))
    assert sum(late_shares) / len(late_shares) >= 0.6
