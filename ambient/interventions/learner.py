"""Which calming option to try for a person: Thompson sampling on the measured responses.

Each option's effect (the rise of ln RMSSD over the episode, in units of the person's baseline
SD) is a Gaussian with a conjugate Normal prior from the literature (see ``PRIORS``) and a known
observation noise of 1 SD. Sampling the posteriors and taking the best draw tries every option
while it is uncertain and settles on what works. The pick is drawn from the exact Thompson
probabilities, each raised to at least ``floor`` (taken from the likelier options), so a
person's habits can change and the learner still notices.

Pure and deterministic given its random source: no clock, no store, no I/O.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

#: Observation noise of one episode's response, in baseline SD (what a single episode shows).
RESPONSE_NOISE_SD = 1.0
#: Grid points for the integral that says how likely each option is.
GRID_POINTS = 400


@dataclass(frozen=True, slots=True)
class Prior:
    """What is believed about an option before the person has tried it."""

    mean: float
    sd: float
    source: str


#: Priors by the kind of calming an option performs (its first calming action decides).
#: Paced breathing: +0.37 SD of RMSSD, a meta-analysis of 31 studies with 1,133 people
#: (Shao et al. 2024). Light and music have no pooled estimate of the same quality: a small
#: effect with a wide prior, so the person's own responses decide quickly.
PRIORS: Mapping[str, Prior] = {
    "breathing": Prior(0.37, 0.25, "paced breathing, meta-analysis (Shao et al. 2024)"),
    "play_calming": Prior(0.15, 0.4, "calming music: small effect, wide prior"),
    "calm_lights": Prior(0.1, 0.4, "warm, dim light: small effect, wide prior"),
    "other": Prior(0.0, 0.5, "no evidence either way"),
}


def prior_for(action_kinds: Sequence[str]) -> Prior:
    """The prior of an option from the kinds of action it performs (breathing wins)."""
    for kind in ("breathing", "play_calming", "calm_lights"):
        if kind in action_kinds:
            return PRIORS[kind]
    return PRIORS["other"]


@dataclass(frozen=True, slots=True)
class OptionBelief:
    """The posterior of one option's effect: Normal(mean, sd), from ``episodes`` responses.

    ``weight`` is the sum of the observations' weights (a measured episode counts 1, a check-in
    answer less; see ``observe``).
    """

    option: str
    mean: float
    sd: float
    episodes: int = 0
    weight: float = 0.0

    @classmethod
    def from_prior(cls, option: str, prior: Prior) -> OptionBelief:
        return cls(option, prior.mean, prior.sd)

    def observe(self, response_sd: float, weight: float = 1.0) -> OptionBelief:
        """The belief after one response (a Normal-Normal update with noise 1/sqrt(weight))."""
        if weight <= 0 or not math.isfinite(response_sd):
            return self
        prior_precision = 1.0 / (self.sd * self.sd)
        data_precision = weight / (RESPONSE_NOISE_SD * RESPONSE_NOISE_SD)
        precision = prior_precision + data_precision
        mean = (self.mean * prior_precision + response_sd * data_precision) / precision
        return replace(
            self,
            mean=mean,
            sd=math.sqrt(1.0 / precision),
            episodes=self.episodes + (1 if weight >= 1.0 else 0),
            weight=self.weight + weight,
        )

    def to_json(self) -> dict[str, float | int | str]:
        return {
            "option": self.option,
            "mean": self.mean,
            "sd": self.sd,
            "episodes": self.episodes,
            "weight": self.weight,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> OptionBelief:
        return cls(
            option=str(data["option"]),
            mean=float(str(data["mean"])),
            sd=float(str(data["sd"])),
            episodes=int(str(data.get("episodes", 0))),
            weight=float(str(data.get("weight", 0.0))),
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """One pick and why: the option, how likely each allowed option was, and the reason."""

    option: str
    probabilities: Mapping[str, float]
    reason: str


def thompson_probabilities(beliefs: Sequence[OptionBelief]) -> dict[str, float]:
    """How likely each option's posterior draw is the highest: what Thompson sampling picks.

    P(i is best) = ∫ φ_i(x) · Π_{j≠i} Φ_j(x) dx, integrated on a grid of ``GRID_POINTS``: exact
    enough to explain a choice, deterministic, and cheap enough for every episode.
    """
    if len(beliefs) == 1:
        return {beliefs[0].option: 1.0}
    low = min(belief.mean - 6 * belief.sd for belief in beliefs)
    high = max(belief.mean + 6 * belief.sd for belief in beliefs)
    step = (high - low) / GRID_POINTS
    wins = dict.fromkeys((belief.option for belief in beliefs), 0.0)
    for index in range(GRID_POINTS):
        x = low + (index + 0.5) * step
        cdfs = [0.5 * (1 + math.erf((x - b.mean) / (b.sd * math.sqrt(2)))) for b in beliefs]
        for position, belief in enumerate(beliefs):
            z = (x - belief.mean) / belief.sd
            density = math.exp(-0.5 * z * z) / (belief.sd * math.sqrt(2 * math.pi))
            others = math.prod(cdf for other, cdf in enumerate(cdfs) if other != position)
            wins[belief.option] += density * others * step
    total = sum(wins.values())
    return {option: won / total for option, won in wins.items()}


def with_floor(probabilities: Mapping[str, float], floor: float) -> dict[str, float]:
    """Raise every option to at least ``floor``, taking the mass from the likelier ones.

    Only options Thompson sampling would rarely try are changed, so exploration is added
    where the learner would otherwise stop looking, and nowhere else.
    """
    floor = min(floor, 1.0 / len(probabilities)) if probabilities else floor
    result = dict(probabilities)
    fixed: set[str] = set()
    while True:
        low = {option for option, p in result.items() if option not in fixed and p < floor}
        if not low:
            return result
        fixed |= low
        free = [option for option in result if option not in fixed]
        free_mass = sum(probabilities[option] for option in free)
        left = 1.0 - floor * len(fixed)
        for option in fixed:
            result[option] = floor
        for option in free:
            result[option] = (
                left * probabilities[option] / free_mass if free_mass > 0 else left / len(free)
            )


def choose(
    beliefs: Sequence[OptionBelief],
    *,
    floor: float,
    rng: random.Random,
    pinned: str | None = None,
    banned: frozenset[str] = frozenset(),
) -> Choice | None:
    """Pick an option; None when every option is banned.

    A pinned option is always chosen (the user decided); banned ones are never considered.
    """
    allowed = [belief for belief in beliefs if belief.option not in banned]
    if pinned is not None and any(belief.option == pinned for belief in allowed):
        return Choice(pinned, {pinned: 1.0}, f"{pinned} is pinned")
    if not allowed:
        return None
    probabilities = with_floor(thompson_probabilities(allowed), floor)
    pick = rng.random()
    running = 0.0
    chosen = allowed[-1].option
    for option, probability in probabilities.items():
        running += probability
        if pick < running:
            chosen = option
            break
    drawn = f"{chosen} drawn with p={probabilities[chosen]:.2f}"
    measured = [belief for belief in allowed if belief.episodes > 0]
    if not measured:
        reason = f"{drawn}; no episodes measured yet, so the priors decide"
    else:
        best = max(measured, key=lambda belief: belief.mean)
        reason = (
            f"{drawn}; best so far {best.option} ({best.mean:+.2f} ± {best.sd:.2f} SD after "
            f"{best.episodes} episode(s))"
        )
    return Choice(chosen, probabilities, reason)


#: Check-in answers as a response in baseline SD, each worth ``CHECKIN_WEIGHT`` of an episode.
CHECKIN_RESPONSE_SD: Mapping[str, float] = {"calmer": 0.5, "same": 0.0, "worse": -0.5}
CHECKIN_WEIGHT = 0.25
