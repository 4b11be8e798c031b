"""Property: for random signal series, the engine's firings, suppressions and recoveries equal
those of a small, independent reference model of edge + for + hysteresis + cooldown."""

from __future__ import annotations

import asyncio
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from rules.rule_doubles import Harness, make_config

ABOVE = 70.0
Sample = tuple[float, float | None]
Event = tuple[str, float]


def reference(
    samples: list[Sample], hysteresis: float, for_s: float, cooldown_s: float
) -> list[Event]:
    """The documented semantics, written as plainly as possible.

    idle --(value > 70)--> counting --(held `for` without clearing)--> latched
    latched/counting --(value <= 70 - hysteresis)--> idle (a recovery if the latch fired)
    an unknown value ends a count (traced as suppressed); it never ends a latch.
    reaching the latch inside the cooldown is a suppression, never a late firing.
    """
    events: list[Event] = []
    state = "idle"
    since = 0.0
    fired = False
    cooldown_end = -math.inf

    def latch(at: float) -> None:
        nonlocal state, fired, cooldown_end
        state = "latched"
        if at < cooldown_end:
            events.append(("suppressed", at))
            fired = False
        else:
            events.append(("fired", at))
            fired = True
            cooldown_end = at + cooldown_s

    for at, value in samples:
        if state == "counting" and since + for_s <= at:
            latch(since + for_s)
        if value is None:
            if state == "counting":
                events.append(("suppressed", at))
                state = "idle"
            continue
        if state == "idle" and value > ABOVE:
            if for_s == 0:
                latch(at)
            else:
                state, since = "counting", at
        elif state != "idle" and value <= ABOVE - hysteresis:
            if state == "latched" and fired:
                events.append(("recovered", at))
            state, fired = "idle", False
    if state == "counting":
        latch(since + for_s)
    return events


async def _engine(
    samples: list[Sample], hysteresis: float, for_s: float, cooldown_s: float
) -> list[Event]:
    trigger = {
        "trigger": "signal",
        "signal": "stress_score",
        "above": ABOVE,
        "hysteresis": hysteresis,
        "for": for_s,
    }
    rule = {
        "id": "prop",
        "person": "alex",
        "triggers": [trigger],
        "cooldown": cooldown_s,
        "actions": [{"action": "log"}],
    }
    h = await Harness(make_config([rule])).start()
    for at, value in samples:
        await h.push(at, stress_score=value)
    await h.run_until(samples[-1][0] + for_s + 1)
    return [(event, at) for at, event, _ in h.events()]


values = st.sampled_from([None, 50.0, 60.0, 64.0, 65.0, 69.0, 70.0, 70.5, 75.0, 95.0])
steps = st.lists(
    st.tuples(st.sampled_from([1.0, 10.0, 30.0, 60.0, 90.0, 120.0]), values),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    steps=steps,
    hysteresis=st.sampled_from([0.0, 5.0, 10.0]),
    for_s=st.sampled_from([0.0, 30.0, 60.0, 120.0]),
    cooldown_s=st.sampled_from([0.0, 60.0, 300.0]),
)
def test_engine_matches_reference_model(
    steps: list[tuple[float, float | None]], hysteresis: float, for_s: float, cooldown_s: float
) -> None:
    samples: list[Sample] = []
    at = 0.0
    for gap, value in steps:
        at += gap
        samples.append((at, value))
    expected = reference(samples, hysteresis, for_s, cooldown_s)
    actual = asyncio.run(_engine(samples, hysteresis, for_s, cooldown_s))
    assert actual == expected


def test_reference_model_examples() -> None:
    """The reference itself, on the documented example: enter, dip inside the band, clear."""
    samples: list[Sample] = [(0.0, 75.0), (60.0, 65.0), (180.0, 80.0), (300.0, 55.0), (400.0, 80.0)]
    assert reference(samples, 10.0, 120.0, 1800.0) == [
        ("fired", 120.0),
        ("recovered", 300.0),
        ("suppressed", 520.0),
    ]
