"""Shared by the signals tests: the real NN series, artifact injection, and a replay driver."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

from ambient.clock import VirtualClock
from ambient.config.people import PersonConfig
from ambient.config.signals import SignalsConfig
from ambient.messages import SignalUpdate
from ambient.readings import Reading
from ambient.signals.engine import SignalEngine
from ambient.store import Store

DATA = Path(__file__).resolve().parents[1] / "data"
DEMO = Path(__file__).resolve().parents[2] / "ambient" / "data" / "demo.csv"


def load_nn(name: str) -> list[float]:
    """``5min`` or ``60min``: the real NN intervals in ms."""
    text = (DATA / f"nsrdb-nn-{name}.txt").read_text()
    return [float(line) for line in text.split()]


def timed(rr_ms: Iterable[float], start: float = 0.0) -> list[tuple[float, float]]:
    """Each interval with the time its beat ends."""
    out: list[tuple[float, float]] = []
    t = start
    for rr in rr_ms:
        t += rr / 1000
        out.append((t, rr))
    return out


def inject_artifacts(rr_ms: list[float], share: float, seed: int) -> list[float]:
    """Put ``share`` of beats wrong, a third each missed, extra and ectopic, at least five
    beats apart (as isolated artifacts occur): a missed beat merges two intervals, an extra
    one splits an interval, an ectopic beat comes 25-40 % early with a compensatory pause."""
    rng = random.Random(seed)
    per_kind = max(1, round(share * len(rr_ms) / 3))
    slots = rng.sample(range(1, len(rr_ms) // 5 - 1), 3 * per_kind)
    kinds = {5 * slot: ("missed", "extra", "ectopic")[i % 3] for i, slot in enumerate(slots)}
    out: list[float] = []
    i = 0
    while i < len(rr_ms):
        kind = kinds.get(i)
        if kind == "missed":
            out.append(rr_ms[i] + rr_ms[i + 1])
            i += 2
        elif kind == "extra":
            split = rng.uniform(0.4, 0.6)
            out += [rr_ms[i] * split, rr_ms[i] * (1 - split)]
            i += 1
        elif kind == "ectopic":
            early = rr_ms[i] * rng.uniform(0.25, 0.4)
            out += [rr_ms[i] - early, rr_ms[i + 1] + early]
            i += 2
        else:
            out.append(rr_ms[i])
            i += 1
    return out


class Replay:
    """A SignalEngine on a VirtualClock, with every update kept."""

    def __init__(
        self,
        config: SignalsConfig | None = None,
        people: list[PersonConfig] | None = None,
        store: Store | None = None,
        read: frozenset[str] | None = None,
        clock: VirtualClock | None = None,
    ) -> None:
        """``read``: the signals something reads (None: all), as the daemon wires it."""
        self.clock = clock or VirtualClock(0.0)
        self.updates: list[SignalUpdate] = []
        self.store = store or Store(None)
        self.engine = SignalEngine(
            config or SignalsConfig(),
            people if people is not None else [PersonConfig(id="alex")],
            self.clock,
            self.store,
            self.updates.append,
            read=read,
        )

    def feed(self, t: float, metric: str, value: float, person: str = "alex") -> None:
        self.clock.advance_to(t)
        self.engine.feed(Reading(t, person, metric, value, "test"))

    def beats(self, series: Iterable[tuple[float, float]], person: str = "alex") -> None:
        for t, rr in series:
            self.feed(t, "rr", rr, person)

    def history(self, name: str, person: str = "alex") -> list[tuple[float, object, str | None]]:
        """(time, value, reason) of each update of signal ``name``."""
        return [
            (u.time, v.value, v.reason)
            for u in self.updates
            if u.person == person
            for n, v in u.values.items()
            if n == name
        ]


def longest_run_at_or_above(
    history: list[tuple[float, object, str | None]], threshold: float, end: float
) -> tuple[float, float | None]:
    """Longest time a numeric signal stayed >= threshold, and when it first got there."""
    longest, start, first = 0.0, None, None
    for t, value, _ in [*history, (end, None, "end")]:
        high = isinstance(value, float) and value >= threshold
        if high and start is None:
            start = t
            first = t if first is None else first
        elif not high and start is not None:
            longest = max(longest, t - start)
            start = None
    return longest, first
