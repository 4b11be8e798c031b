"""The grace period after a start: what waits in it is released when it ends."""

from __future__ import annotations

from ambient.clock import VirtualClock
from ambient.rules.resume import ResumeGrace


async def test_the_end_of_the_grace_retries_every_wait_and_empties_the_shared_dict() -> None:
    clock = VirtualClock(start=100.0)
    grace = ResumeGrace(clock, grace_s=15.0)
    grace.begin()
    waiting = grace.waiting  # the dispatch keeps this very dict, read on every reading
    retried: list[str] = []
    grace.wait("a `for` window", ("alex", "hr"), "hr", lambda: retried.append("hr"))
    grace.wait("a `for` window", ("", "person.alex"), "its state", lambda: retried.append("ha"))
    await clock.run_until(114.9)
    assert retried == [] and waiting
    await clock.run_until(115.0)
    assert retried == ["hr", "ha"]
    assert waiting == {} and grace.waiting is waiting
