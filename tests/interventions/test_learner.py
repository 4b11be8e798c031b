"""The calming-option learner: conjugate updates, the learned noise, Thompson odds, the floor,
pins and bans, and beliefs stored by the previous version."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ambient.interventions.learner import (
    CHECKIN_WEIGHT,
    PRIOR_NOISE_SD,
    PRIORS,
    RESPONSE_LIMIT_SD,
    Noise,
    OptionBelief,
    choose,
    effects,
    pooled_noise,
    prior_for,
    thompson_probabilities,
    with_floor,
)

#: A noise belief as firm as a known 1 SD: the Student-t effects are then Normal.
KNOWN_NOISE = Noise(1e7, 1e7)


def belief(option: str, mean: float, sd: float) -> OptionBelief:
    """A belief whose effect is Normal(mean, sd) when the noise is ``KNOWN_NOISE``."""
    return OptionBelief(option, mean, kappa=1.0 / (sd * sd))


def sd_of(belief: OptionBelief, *others: OptionBelief) -> float:
    (effect, *_) = effects([belief, *others])
    return effect.sd


def test_a_response_moves_the_belief_towards_it_and_narrows_it() -> None:
    before = OptionBelief.from_prior("box", PRIORS["breathing"])
    after = before.observe(1.5)
    assert before.mean < after.mean < 1.5
    assert sd_of(after) < sd_of(before)
    assert after.episodes == 1


def test_one_episode_updates_the_belief_as_worked_out_by_hand() -> None:
    # Prior 0.37 ± 0.25 with 1 SD of noise: κ0 = 1 / 0.25² = 16. A response of +1.0 SD:
    # κ = 17, mean = (16 · 0.37 + 1) / 17, surprise = 16/17 · 0.63²; the noise belief
    # α = 3 + 1/2, β = 2 + surprise / 2; the effect a Student-t with 2α = 7 dof and scale
    # √(β / (α κ)), so its SD is scale · √(7/5).
    after = OptionBelief.from_prior("box", PRIORS["breathing"]).observe(1.0)
    assert (after.kappa, after.mean) == pytest.approx((17.0, 6.92 / 17))
    assert after.surprise_sq == pytest.approx(16 / 17 * 0.63**2)
    (effect,) = effects([after])
    beta = 2.0 + 16 / 17 * 0.63**2 / 2
    assert effect.dof == pytest.approx(7.0)
    assert effect.sd == pytest.approx(math.sqrt(beta / (3.5 * 17)) * math.sqrt(7 / 5))


def test_a_light_observation_taken_back_leaves_the_belief_as_it_was() -> None:
    start = OptionBelief.from_prior("box", PRIORS["other"]).observe(0.8)
    back = start.observe(-0.5, weight=0.125).observe(1.2).without(-0.5, weight=0.125)
    direct = start.observe(1.2)
    assert (back.mean, back.kappa, back.weight) == pytest.approx(
        (direct.mean, direct.kappa, direct.weight)
    )
    assert back.episodes == 2


def test_before_any_episode_an_option_is_believed_its_prior() -> None:
    (effect,) = effects([OptionBelief.from_prior("box", PRIORS["breathing"])])
    assert effect.mean == pytest.approx(0.37)
    assert effect.sd == pytest.approx(0.25)


def test_a_check_in_weighs_less_than_a_measured_episode_and_says_nothing_of_the_noise() -> None:
    start = OptionBelief.from_prior("box", PRIORS["other"])
    measured = start.observe(1.0)
    answered = start.observe(1.0, weight=0.25)
    assert start.mean < answered.mean < measured.mean
    assert answered.episodes == 0
    assert pooled_noise([answered]) == pooled_noise([start])


@pytest.mark.parametrize("noise_sd", [0.5, 2.0])
def test_the_noise_of_a_persons_responses_is_learned_from_all_options(noise_sd: float) -> None:
    rng = random.Random(5)
    beliefs = [OptionBelief.from_prior(name, PRIORS["other"]) for name in ("a", "b")]
    for _ in range(60):
        beliefs = [b.observe(rng.gauss(0.2, noise_sd)) for b in beliefs]
    assert pooled_noise(beliefs).sd == pytest.approx(noise_sd, rel=0.2)
    assert pooled_noise(beliefs[:1]).alpha < pooled_noise(beliefs).alpha  # both options count


def test_noisier_responses_leave_the_effect_less_certain() -> None:
    rng = random.Random(9)
    calm, noisy = (OptionBelief.from_prior("box", PRIORS["other"]) for _ in range(2))
    for _ in range(20):
        draw = rng.gauss(0.0, 1.0)
        calm, noisy = calm.observe(0.3 + 0.3 * draw), noisy.observe(0.3 + 2.0 * draw)
    assert sd_of(calm) < 0.5 * sd_of(noisy)


def test_a_response_far_outside_what_calming_does_counts_as_the_limit() -> None:
    start = OptionBelief.from_prior("box", PRIORS["breathing"])
    assert start.observe(-8.0) == start.observe(-RESPONSE_LIMIT_SD)
    assert start.observe(1.0) != start.observe(RESPONSE_LIMIT_SD)


def test_a_belief_stored_by_the_known_noise_learner_is_read_as_the_same_belief() -> None:
    stored = {"option": "box", "mean": 0.42, "sd": 0.2, "episodes": 9, "weight": 9.5}
    migrated = OptionBelief.from_json(stored)
    (effect,) = effects([migrated])
    assert (effect.mean, migrated.episodes, migrated.weight) == (0.42, 9, 9.5)
    assert effect.sd == pytest.approx(0.2)  # its episodes showed the 1 SD that was assumed
    assert pooled_noise([migrated]).sd == pytest.approx(PRIOR_NOISE_SD)
    assert OptionBelief.from_json(migrated.to_json()) == migrated


def test_the_prior_of_an_option_comes_from_its_calming_kind() -> None:
    assert prior_for(["calm_lights", "breathing"]) is PRIORS["breathing"]
    assert prior_for(["notify"]) is PRIORS["other"]
    assert PRIORS["breathing"].mean == pytest.approx(0.37)


def test_equal_beliefs_are_equally_likely() -> None:
    probabilities = thompson_probabilities([belief("a", 0.3, 0.4), belief("b", 0.3, 0.4)])
    assert probabilities["a"] == pytest.approx(0.5, abs=1e-3)


def test_two_options_agree_with_the_closed_form() -> None:
    # P(A > B) for independent normals is Φ((μa − μb) / sqrt(σa² + σb²)) = Φ(1) ≈ 0.8413.
    beliefs = [belief("a", 0.5, 0.3), belief("b", 0.0, 0.4)]
    probabilities = thompson_probabilities(beliefs, KNOWN_NOISE)
    assert probabilities["a"] == pytest.approx(0.8413, abs=1e-4)


def test_student_t_effects_agree_with_their_distribution() -> None:
    # Student-t with 4 degrees of freedom: P(T <= 2) = 0.9419417 (tables); the density at 0 is
    # 3/8.
    (effect,) = effects([belief("a", 1.0, 0.5)], Noise(2.0, 2.0))
    assert (effect.dof, effect.scale) == (4.0, 0.5)
    assert effect.cdf(1.0 + 2 * 0.5) == pytest.approx(0.9419417, abs=1e-7)
    assert effect.density(1.0) * effect.scale == pytest.approx(0.375)


def test_the_odds_of_heavy_tailed_effects_match_a_fine_integral() -> None:
    beliefs = [
        OptionBelief("a", 0.4, 6.0, episodes=3, surprise_sq=6.0),
        OptionBelief("b", 0.0, 30.0, episodes=20, surprise_sq=15.0),
        OptionBelief("c", -0.2, 2.0),
    ]
    believed = effects(beliefs)
    assert believed[0].dof < 30  # few episodes: the noise is still uncertain
    low, high, steps = -12.0, 12.0, 20_000
    width = (high - low) / steps
    expected = dict.fromkeys("abc", 0.0)
    for index in range(steps):
        x = low + (index + 0.5) * width
        cdfs = [effect.cdf(x) for effect in believed]
        for position, effect in enumerate(believed):
            others = math.prod(c for other, c in enumerate(cdfs) if other != position)
            expected[effect.option] += effect.density(x) * others * width
    probabilities = thompson_probabilities(beliefs)
    for option, probability in probabilities.items():
        assert probability == pytest.approx(expected[option], abs=1e-4)


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


def test_a_choice_moved_by_check_in_answers_alone_does_not_say_the_priors_decide() -> None:
    """No episode measured (the watch off each time) but the person answered: the beliefs are
    no longer the priors, and the trace said they were."""
    beliefs = [
        OptionBelief.from_prior("box", PRIORS["breathing"]).observe(0.5, CHECKIN_WEIGHT),
        OptionBelief.from_prior("lights", PRIORS["calm_lights"]),
    ]
    choice = choose(beliefs, floor=0.1, rng=random.Random(1))
    assert choice is not None
    assert "the priors decide" not in choice.reason
    assert choice.reason.endswith(
        "no episodes measured yet, so the priors and check-in answers or moods decide"
    )


# Older evidence counts less: aged by time toward the prior.

DAY = 86_400.0
T0 = 1_800_000_000.0
HALF_LIFE = 60 * DAY


def test_an_old_success_counts_less_than_a_recent_one() -> None:
    """Two options alike but for when each calmed the person by 1 SD: half a year ago, or
    yesterday. Today the recent one is believed the better, and is the likelier pick."""
    prior = PRIORS["breathing"]
    old = OptionBelief.from_prior("old", prior, as_of=T0).observe(1.0)
    recent = OptionBelief.from_prior("recent", prior, as_of=T0 + 179 * DAY).observe(1.0)
    now = T0 + 180 * DAY
    aged = [belief.aged(now, HALF_LIFE, prior) for belief in (old, recent)]
    assert prior.mean < aged[0].mean < aged[1].mean
    assert aged[0].weight == pytest.approx(1 / 8)  # three half-lives
    odds = thompson_probabilities(aged, KNOWN_NOISE)
    assert odds["recent"] > odds["old"]
    # Without a half-life both count alike, as every episode did before.
    never = [belief.aged(now, None, prior) for belief in (old, recent)]
    assert never[0].mean == pytest.approx(never[1].mean)
    assert thompson_probabilities(never, KNOWN_NOISE)["old"] == pytest.approx(0.5, abs=1e-3)


def test_an_aged_belief_is_the_posterior_of_each_observation_weighted_by_its_age() -> None:
    """Three responses 100, 40 and 0 days before now, aged step by step at each episode as the
    chooser does: the same as the conjugate update with weights 2^(−age / half-life)."""
    prior = PRIORS["play_calming"]
    belief = OptionBelief.from_prior("music", prior, as_of=T0)
    ages = {100.0: 0.9, 40.0: -0.3, 0.0: 0.5}
    for age, response in ages.items():
        belief = belief.aged(T0 + (100 - age) * DAY, HALF_LIFE, prior).observe(response)
    kappa0 = PRIOR_NOISE_SD**2 / prior.sd**2
    weights = {age: 0.5 ** (age / 60) for age in ages}
    kappa = kappa0 + sum(weights.values())
    mean = (kappa0 * prior.mean + sum(weights[a] * r for a, r in ages.items())) / kappa
    assert (belief.kappa, belief.mean) == pytest.approx((kappa, mean))
    assert belief.weight == pytest.approx(sum(weights.values()))
    assert belief.episodes == 3  # the count of what was measured is not aged
    assert belief.as_of == T0 + 100 * DAY


def test_a_quiet_month_does_not_erase_what_was_learnt() -> None:
    """Forty episodes say `box` works and `lights` not; then a month with no episode at all
    (a holiday): `box` is still the likeliest pick, its odds barely moved."""
    rng = random.Random(3)
    priors = {"box": PRIORS["breathing"], "lights": PRIORS["calm_lights"]}
    beliefs = {
        name: OptionBelief.from_prior(name, prior, as_of=T0) for name, prior in priors.items()
    }
    for n in range(40):
        name = "box" if n % 2 else "lights"
        now = T0 + n * DAY / 2
        beliefs = {o: b.aged(now, HALF_LIFE, priors[o]) for o, b in beliefs.items()}
        beliefs[name] = beliefs[name].observe(rng.gauss(0.6 if name == "box" else 0.0, 0.3))
    before = thompson_probabilities(list(beliefs.values()))
    later = T0 + 50 * DAY
    quiet = {o: b.aged(later, HALF_LIFE, priors[o]) for o, b in beliefs.items()}
    after = thompson_probabilities(list(quiet.values()))
    assert after["box"] > 0.9 and after["box"] == pytest.approx(before["box"], abs=0.05)
    assert quiet["box"].mean == pytest.approx(beliefs["box"].mean, abs=0.05)


def test_a_clock_behind_forgets_nothing_and_keeps_the_time_aged_to() -> None:
    """A Pi booting at its last saved time: a `now` before the belief was last aged."""
    prior = PRIORS["breathing"]
    belief = OptionBelief.from_prior("box", prior, as_of=T0).observe(1.0)
    assert belief.aged(T0 - 30 * DAY, HALF_LIFE, prior) == belief


def test_a_belief_stored_before_evidence_was_aged_loads_and_starts_aging_when_next_read() -> None:
    """The belief as this version's predecessor stored it: no `as_of`. Read, it is the same
    belief; aged, it forgets nothing of its past (its episodes' dates are unknown) and is aged
    from then on; stored again, it keeps that time."""
    stored = {
        "option": "box",
        "mean": 0.5,
        "kappa": 26.0,
        "episodes": 10,
        "weight": 10.0,
        "surprise_sq": 9.0,
    }
    loaded = OptionBelief.from_json(stored)
    assert loaded.as_of is None and loaded.to_json() == stored
    now = T0 + 200 * DAY
    aged = loaded.aged(now, HALF_LIFE, PRIORS["breathing"])
    assert (aged.mean, aged.kappa, aged.weight, aged.as_of) == (0.5, 26.0, 10.0, now)
    assert OptionBelief.from_json(aged.to_json()) == aged
    later = aged.aged(now + HALF_LIFE, HALF_LIFE, PRIORS["breathing"])
    assert later.weight == pytest.approx(5.0)


def test_the_reason_says_when_the_best_so_far_stands_on_older_episodes() -> None:
    prior = PRIORS["breathing"]
    box = OptionBelief.from_prior("box", prior, as_of=T0)
    for _ in range(12):
        box = box.observe(1.0)
    lights = OptionBelief.from_prior("lights", PRIORS["calm_lights"], as_of=T0)
    fresh = choose([box, lights], floor=0.1, rng=random.Random(1))
    assert fresh is not None and fresh.reason.endswith("after 12 episode(s))")
    now = T0 + 2 * HALF_LIFE
    aged = [box.aged(now, HALF_LIFE, prior), lights.aged(now, HALF_LIFE, PRIORS["calm_lights"])]
    choice = choose(aged, floor=0.1, rng=random.Random(1))
    assert choice is not None
    assert choice.reason.endswith("after 12 episode(s), as much as 3 recent)")
