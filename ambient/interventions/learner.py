"""Which calming option to try for a person: Thompson sampling on the measured responses.

Each option's effect (the rise of ln RMSSD over the episode, in units of the person's baseline
SD) has a Normal–inverse-gamma belief: a conjugate Normal prior on the effect from the
literature (see ``PRIORS``) and an inverse-gamma belief about the noise of one episode's
response, centred on 1 SD and learned from the person's own episodes. The noise is pooled over
the options of a rule (the measurement's noise is the person's, not the option's), so a few
tries of each option are enough to know it. Each option's effect is then a Student-t (the
noise being uncertain widens it); the pick is drawn from the exact Thompson probabilities of
those, each raised to at least ``floor`` (taken from the likelier options), so a person's
habits can change and the learner still notices.

What works for a person changes (a playlist wears out, a move, a new season), so older
evidence about an option's effect counts less: it is halved every ``half_life`` of time (not of
episodes), its weight going back to the prior (:meth:`OptionBelief.aged`). The noise is not
forgotten: it is the measurement's, not the person's taste.

Pure and deterministic given its random source: no clock, no store, no I/O.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

#: The noise of one episode's response believed before any is measured, in baseline SD.
PRIOR_NOISE_SD = 1.0
#: How firmly that is believed: the inverse-gamma prior's shape (``2 * alpha`` pseudo-episodes).
NOISE_PRIOR_ALPHA = 3.0
NOISE_PRIOR_BETA = (NOISE_PRIOR_ALPHA - 1.0) * PRIOR_NOISE_SD**2  # prior mean of σ² = 1 SD²
#: A measured response is clamped to ± this many baseline SD before the learner sees it: no
#: calming option moves ln RMSSD that far in 20 minutes, so a larger change is something else
#: (a new stressor starting, a baseline still settling) and must not outweigh a dozen episodes.
RESPONSE_LIMIT_SD = 3.0
#: Steps of the integral that says how likely each option is (even: Simpson's rule).
GRID_POINTS = 200


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


def kept_share(elapsed_s: float, half_life_s: float | None) -> float:
    """How much of its weight evidence keeps after ``elapsed_s``: half every ``half_life_s``
    (None: all of it, forever). Time running back (a clock stepped back) forgets nothing."""
    if half_life_s is None or elapsed_s <= 0:
        return 1.0
    return math.exp(-math.log(2.0) * elapsed_s / half_life_s)


def prior_for(action_kinds: Sequence[str]) -> Prior:
    """The prior of an option from the kinds of action it performs (breathing wins)."""
    for kind in ("breathing", "play_calming", "calm_lights"):
        if kind in action_kinds:
            return PRIORS[kind]
    return PRIORS["other"]


@dataclass(frozen=True, slots=True)
class OptionBelief:
    """What is known of one option's effect, as the sufficient statistics of its NIG posterior.

    ``mean`` is the belief's mean effect and ``kappa`` how many episodes' worth it stands on
    (the prior counts ``PRIOR_NOISE_SD² / prior.sd²``). ``episodes`` are the measured ones,
    ``weight`` how many episodes' worth of evidence it holds beyond the prior (a measured
    episode counts 1, a check-in answer less, see ``observe``; older ones less, see ``aged``),
    and ``surprise_sq`` the sum over measured episodes of how far each fell from what was
    expected (κ/(κ+1)·(x − mean)²): the option's evidence about the noise, pooled over a rule's
    options by :func:`pooled_noise`. ``as_of``: the time the evidence was last aged to (None:
    never, as a belief stored before evidence was aged); what was observed since counts as of
    then.
    """

    option: str
    mean: float
    kappa: float
    episodes: int = 0
    weight: float = 0.0
    surprise_sq: float = 0.0
    as_of: float | None = None

    @classmethod
    def from_prior(cls, option: str, prior: Prior, as_of: float | None = None) -> OptionBelief:
        return cls(option, prior.mean, _prior_kappa(prior), as_of=as_of)

    def aged(self, now: float, half_life_s: float | None, prior: Prior) -> OptionBelief:
        """The belief at ``now``: its evidence about the effect keeps ``kept_share`` of its
        weight for the time since ``as_of``, the rest going back to ``prior``.

        κ and κ·mean are the prior's plus each observation's weight and weight × response:
        aging scales every observation's share alike, so the result is the posterior in which
        each observation counts 2^(−age / half_life) (Thompson sampling discounted by time, not
        by episodes: a person's taste changes with the weeks, not with how often a rule fires).
        Aging in steps is aging at once. A belief never aged (``as_of`` None) starts aging now;
        a ``now`` before ``as_of`` (a clock behind) forgets nothing and keeps ``as_of``.
        """
        if self.as_of is None or now <= self.as_of:
            return self if self.as_of is not None else replace(self, as_of=now)
        keep = kept_share(now - self.as_of, half_life_s)
        prior_kappa = _prior_kappa(prior)
        kappa = keep * self.kappa + (1.0 - keep) * prior_kappa
        return replace(
            self,
            mean=(keep * self.kappa * self.mean + (1.0 - keep) * prior_kappa * prior.mean) / kappa,
            kappa=kappa,
            weight=keep * self.weight,
            as_of=now,
        )

    def observe(self, response_sd: float, weight: float = 1.0) -> OptionBelief:
        """The belief after one response, worth ``weight`` episodes.

        A measured episode (weight 1) also tells about the noise; a check-in answer (weight
        below 1) only nudges the mean: an answer's scale is not the measurement's.
        """
        if weight <= 0 or not math.isfinite(response_sd):
            return self
        response = max(-RESPONSE_LIMIT_SD, min(RESPONSE_LIMIT_SD, response_sd))
        kappa = self.kappa + weight
        measured = weight >= 1.0
        surprise = self.kappa * weight * (response - self.mean) ** 2 / kappa
        return replace(
            self,
            mean=(self.kappa * self.mean + weight * response) / kappa,
            kappa=kappa,
            episodes=self.episodes + (1 if measured else 0),
            weight=self.weight + weight,
            surprise_sq=self.surprise_sq + (surprise if measured else 0.0),
        )

    def without(self, response_sd: float, weight: float) -> OptionBelief:
        """The belief as if a lighter-than-an-episode observation (``weight`` below 1, such as
        a mood since changed) had never been made: ``observe``'s exact inverse for those."""
        if not 0 < weight < 1.0 or not math.isfinite(response_sd):
            return self
        response = max(-RESPONSE_LIMIT_SD, min(RESPONSE_LIMIT_SD, response_sd))
        kappa = self.kappa - weight
        if kappa <= 0:
            return self
        return replace(
            self,
            mean=(self.kappa * self.mean - weight * response) / kappa,
            kappa=kappa,
            weight=max(0.0, self.weight - weight),
        )

    def to_json(self) -> dict[str, float | int | str]:
        stored: dict[str, float | int | str] = {
            "option": self.option,
            "mean": self.mean,
            "kappa": self.kappa,
            "episodes": self.episodes,
            "weight": self.weight,
            "surprise_sq": self.surprise_sq,
        }
        if self.as_of is not None:
            stored["as_of"] = self.as_of
        return stored

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> OptionBelief:
        """A stored belief; one written before the noise was learned (``mean`` and ``sd`` of a
        Normal with a known noise of 1 SD) is read as the same belief, its episodes taken to
        have shown the noise that was assumed. One stored before evidence was aged (no
        ``as_of``) starts aging when next chosen from."""
        episodes = int(str(data.get("episodes", 0)))
        if "kappa" not in data:
            sd = float(str(data["sd"]))
            return cls(
                option=str(data["option"]),
                mean=float(str(data["mean"])),
                kappa=PRIOR_NOISE_SD**2 / (sd * sd),
                episodes=episodes,
                weight=float(str(data.get("weight", 0.0))),
                surprise_sq=episodes * PRIOR_NOISE_SD**2,
            )
        return cls(
            option=str(data["option"]),
            mean=float(str(data["mean"])),
            kappa=float(str(data["kappa"])),
            episodes=episodes,
            weight=float(str(data.get("weight", 0.0))),
            surprise_sq=float(str(data.get("surprise_sq", 0.0))),
            as_of=None if data.get("as_of") is None else float(str(data["as_of"])),
        )


def _prior_kappa(prior: Prior) -> float:
    """How many episodes' worth a prior is: the noise's variance over the prior's."""
    return PRIOR_NOISE_SD**2 / (prior.sd * prior.sd)


@dataclass(frozen=True, slots=True)
class Noise:
    """The inverse-gamma belief about the variance of one episode's response (baseline SD²)."""

    alpha: float
    beta: float

    @property
    def sd(self) -> float:
        """The believed noise of one episode (root of the posterior mean variance)."""
        return math.sqrt(self.beta / (self.alpha - 1.0))


def pooled_noise(beliefs: Sequence[OptionBelief]) -> Noise:
    """The noise belief from every measured episode of a rule's options (the prior included)."""
    return Noise(
        NOISE_PRIOR_ALPHA + sum(belief.episodes for belief in beliefs) / 2,
        NOISE_PRIOR_BETA + sum(belief.surprise_sq for belief in beliefs) / 2,
    )


@dataclass(frozen=True, slots=True)
class Effect:
    """An option's effect as believed now: a Student-t (``dof``, ``mean``, ``scale``)."""

    option: str
    mean: float
    scale: float
    dof: float

    @property
    def sd(self) -> float:
        """Its standard deviation: the uncertainty `ambient insights` shows."""
        return self.scale * math.sqrt(self.dof / (self.dof - 2.0))

    def cdf(self, x: float) -> float:
        return _student_t_cdf((x - self.mean) / self.scale, self.dof)

    def density(self, x: float) -> float:
        z = (x - self.mean) / self.scale
        nu = self.dof
        tail: float = (1 + z * z / nu) ** (-(nu + 1) / 2)
        return _t_density_at_zero(nu) * tail / self.scale


def effects(beliefs: Sequence[OptionBelief], noise: Noise | None = None) -> list[Effect]:
    """Each option's effect, with the noise pooled over ``beliefs`` unless given."""
    noise = noise or pooled_noise(beliefs)
    return [
        Effect(
            belief.option,
            belief.mean,
            math.sqrt(noise.beta / (noise.alpha * belief.kappa)),
            2 * noise.alpha,
        )
        for belief in beliefs
    ]


@dataclass(frozen=True, slots=True)
class Choice:
    """One pick and why: the option, how likely each allowed option was, and the reason."""

    option: str
    probabilities: Mapping[str, float]
    reason: str


def thompson_probabilities(
    beliefs: Sequence[OptionBelief], noise: Noise | None = None
) -> dict[str, float]:
    """How likely each option's posterior draw is the highest: what Thompson sampling picks.

    P(i is best) = ∫ f_i(x) · Π_{j≠i} F_j(x) dx over the options' Student-t effects, by
    Simpson's rule on ``GRID_POINTS`` + 1 points (each F_j from its exact value at the grid's
    start on, by the same rule): exact enough to explain a choice, deterministic, and cheap
    enough for every episode. ``noise``: the pooled noise belief, when ``beliefs`` are not all
    of the rule's options (banned ones left out still tell about the noise).
    """
    if len(beliefs) == 1:
        return {beliefs[0].option: 1.0}
    believed = effects(beliefs, noise)
    low = min(effect.mean - 10 * effect.sd for effect in believed)
    high = max(effect.mean + 10 * effect.sd for effect in believed)
    step = (high - low) / GRID_POINTS
    grid = [low + index * step for index in range(GRID_POINTS + 1)]
    densities = [[effect.density(x) for x in grid] for effect in believed]
    cdfs = [
        _cumulative(effect.cdf(low), row, step)
        for effect, row in zip(believed, densities, strict=True)
    ]
    weights = [1.0 if k in (0, GRID_POINTS) else 4.0 if k % 2 else 2.0 for k in range(len(grid))]
    wins: dict[str, float] = {}
    for position, effect in enumerate(believed):
        others = [cdf for other, cdf in enumerate(cdfs) if other != position]
        wins[effect.option] = sum(
            weight * density * math.prod(cdf[k] for cdf in others)
            for k, (weight, density) in enumerate(zip(weights, densities[position], strict=True))
        )
    total = sum(wins.values())
    return {option: won / total for option, won in wins.items()}


def _cumulative(start: float, densities: Sequence[float], step: float) -> list[float]:
    """A CDF on an even grid from its value at the first point and the densities: Simpson's
    rule over each pair of steps, and the matching three-point rule for the step between."""
    values = [start]
    for k in range(0, len(densities) - 2, 2):
        d0, d1, d2 = densities[k], densities[k + 1], densities[k + 2]
        values.append(values[k] + step * (5 * d0 + 8 * d1 - d2) / 12)
        values.append(values[k] + step * (d0 + 4 * d1 + d2) / 3)
    return [min(1.0, value) for value in values]


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

    A pinned option is always chosen (the user decided); banned ones are never considered,
    though their episodes still tell about the noise.
    """
    allowed = [belief for belief in beliefs if belief.option not in banned]
    if pinned is not None and any(belief.option == pinned for belief in allowed):
        return Choice(pinned, {pinned: 1.0}, f"{pinned} is pinned")
    if not allowed:
        return None
    noise = pooled_noise(beliefs)
    probabilities = with_floor(thompson_probabilities(allowed, noise), floor)
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
        told = any(belief.weight > 0 for belief in allowed)  # answers, moods: no episode
        deciding = "the priors and check-in answers or moods" if told else "the priors"
        reason = f"{drawn}; no episodes measured yet, so {deciding} decide"
    else:
        best = max(measured, key=lambda belief: belief.mean)
        (effect,) = effects([best], noise)
        # Aged evidence worth a whole episode less than the episodes measured: say so.
        recent = (
            f", as much as {best.weight:.0f} recent" if best.weight + 1.0 <= best.episodes else ""
        )
        reason = (
            f"{drawn}; best so far {best.option} ({best.mean:+.2f} ± {effect.sd:.2f} SD after "
            f"{best.episodes} episode(s){recent})"
        )
    return Choice(chosen, probabilities, reason)


@functools.lru_cache(maxsize=256)
def _t_density_at_zero(dof: float) -> float:
    """The Student-t density's peak (its normalising constant) for ``dof``."""
    log_peak = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    return math.exp(log_peak)


def _student_t_cdf(t: float, dof: float) -> float:
    """P(T ≤ t) for Student's t with ``dof`` degrees of freedom (via the incomplete beta)."""
    tail = 0.5 * _incomplete_beta(dof / 2, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta I_x(a, b), by its continued fraction (Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this point
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    log_front += a * math.log(x) + b * math.log1p(-x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 200):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-12:
            break
    return math.exp(log_front) * fraction / a


#: Check-in answers as a response in baseline SD, each worth ``CHECKIN_WEIGHT`` of an episode.
CHECKIN_RESPONSE_SD: Mapping[str, float] = {"calmer": 0.5, "same": 0.0, "worse": -0.5}
CHECKIN_WEIGHT = 0.25
