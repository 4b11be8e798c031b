"""How the daemon adds learning interventions to its wiring: one call, so daemon.py stays a list
of parts."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
from collections.abc import Callable
from typing import Any

from ambient.clock import Clock
from ambient.config.actions import ChooseCalmingStepConfig
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import walk_steps
from ambient.hub import Hub
from ambient.interventions.chooser import CalmingChooser
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.orphans import learning_left_behind_by_key
from ambient.interventions.recorder import PRIOR_NORMS, EpisodeRecorder
from ambient.signals.baseline import Norm
from ambient.store import Store, StoreError

_LOGGER = logging.getLogger(__name__)

#: Where the notices of learning left behind said at a start are kept, as digests (they name
#: people), so that a later start says them at INFO (see :func:`say_left_behind`).
SAID_NAMESPACE, SAID_KEY = "interventions_meta", "left_behind_said"


def uses_choose_calming(config: AmbientConfig) -> bool:
    """Whether any rule has a `choose_calming` step (at any depth of its actions)."""
    return any(
        isinstance(step, ChooseCalmingStepConfig)
        for index, rule in enumerate(config.rules)
        for _path, step in walk_steps(rule, ("rules", index))
    )


def add_interventions(
    config: AmbientConfig,
    clock: Clock,
    store: Store,
    norm_of: Callable[[str], Norm | None],
    hub: Hub,
    connections: Any | None = None,
    choice_seed: int = 0,
) -> CalmingChooser | None:
    """The chooser the rules ask (None when no rule lets ambient choose); close it before the
    store, as the daemon stops or reloads. Episodes left unmeasured by a previous run are
    measured or re-armed now. ``connections``: the shared
    ones, for check-ins; None in simulations (nothing is asked). ``choice_seed``: the seed of
    the draws on a virtual clock."""
    if not uses_choose_calming(config):
        return None
    from ambient.clock import resolve_zone  # the one place zones are resolved

    def norms(person: str) -> tuple[float, float]:
        norm = norm_of(person)
        return PRIOR_NORMS if norm is None else (norm.ln_rmssd_sd, norm.hr_sd)

    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book, norms, window_s=config.signals.windows[0])
    hub.on_signals(recorder.on_signals)
    from ambient.interventions.checkin_wiring import add_check_ins, add_entity

    entity = add_entity(config, clock, book, recorder, hub)
    checkins = add_check_ins(config, clock, store, book, recorder, hub, connections, entity)
    recorder.resume()
    say_left_behind(learning_left_behind_by_key(book, config), store)
    # A simulation gives the same choices every run; live, choices are fresh.
    rng = random.Random(choice_seed) if clock.virtual else random.Random()
    chooser = CalmingChooser(
        clock, book, recorder, resolve_zone(config.timezone), rng, only_person(config)
    )
    chooser.on_close.append(recorder.close)
    if checkins is not None:
        chooser.on_close.append(checkins.close)
    return chooser


def only_person(config: AmbientConfig) -> str | None:
    """The one person of a one-person home: the one in `people:`, or without `people:` the
    one every sensor reads for; None when there are several or the sensors name them
    (topic levels, satellites)."""
    if config.people:
        return config.people[0].id if len(config.people) == 1 else None
    named: set[str | None] = set()
    for sensor in config.sensors:
        fixed = sensor.type != "satellite" and getattr(sensor, "person_topic_level", None) is None
        named.add(sensor.person or "default" if fixed else None)
    return named.pop() if len(named) == 1 else None


def say_left_behind(notices: list[tuple[tuple[str, ...], str]], store: Store) -> None:
    """Each notice of learning left behind (a rule or option renamed or removed) as a warning
    at the first start (or reload) that finds it, at INFO at later ones: an option removed on
    purpose keeps its episodes for `retention.episodes`, and a warning at every start for a
    year would teach to ignore warnings. A notice is known by what it is about, not by its
    words, which count episodes that age out (a store of a version that knew it by its words
    has it said all the same). ``ambient insights`` shows them all, always."""
    said = store.get(SAID_NAMESPACE, SAID_KEY)
    before = {str(digest) for digest in said} if isinstance(said, list) else set()
    digests = [_digest("\0".join(key)) for key, _ in notices]
    for (_, notice), digest in zip(notices, digests, strict=True):
        known = digest in before or _digest(notice) in before
        _LOGGER.log(logging.INFO if known else logging.WARNING, "%s", notice)
    if set(digests) != before:
        with contextlib.suppress(StoreError):  # a full card: said as a warning again next time
            store.put(SAID_NAMESPACE, SAID_KEY, digests)


def _digest(text: str) -> str:
    """What the store keeps of a notice said: enough to know it again, not its words."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]
