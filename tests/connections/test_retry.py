"""A request whose link is down is tried again until a deadline, while it is still wanted."""

import asyncio

from ambient.clock import VirtualClock
from ambient.connections.errors import NotConnected, Rejected
from ambient.connections.retry import until_connected


class Link:
    """A request that finds its link down until ``up_at`` (virtual seconds), or is refused."""

    def __init__(self, clock: VirtualClock, up_at: float, refuse: bool = False) -> None:
        self.clock = clock
        self.up_at = up_at
        self.refuse = refuse
        self.tries: list[float] = []

    async def call(self) -> None:
        self.tries.append(self.clock.now())
        if self.clock.now() < self.up_at:
            raise NotConnected("down")
        if self.refuse:
            raise Rejected("not_found", "no such service")


async def test_a_request_is_tried_again_until_its_link_is_up() -> None:
    clock = VirtualClock(0.0)
    link = Link(clock, up_at=70.0)
    waiting: list[float] = []
    task = asyncio.create_task(
        until_connected(link.call, clock, 30.0, 600.0, on_waiting=lambda: waiting.append(1))
    )
    await clock.run_until(1000.0)
    assert task.result() is None
    assert link.tries == [0.0, 30.0, 60.0, 90.0]
    assert waiting == [1]  # said once, not at every try


async def test_at_the_deadline_the_last_not_connected_is_the_failure() -> None:
    clock = VirtualClock(0.0)
    link = Link(clock, up_at=10_000.0)
    task = asyncio.create_task(until_connected(link.call, clock, 30.0, 100.0))
    await clock.run_until(1000.0)
    assert isinstance(task.result(), NotConnected)
    assert link.tries == [0.0, 30.0, 60.0, 90.0]  # a wait past 100 s is not begun


async def test_a_refusal_is_not_tried_again() -> None:
    clock = VirtualClock(0.0)
    link = Link(clock, up_at=0.0, refuse=True)
    task = asyncio.create_task(until_connected(link.call, clock, 30.0, 600.0))
    await clock.run_until(1000.0)
    assert isinstance(task.result(), Rejected)
    assert link.tries == [0.0]


async def test_a_request_no_longer_wanted_after_a_wait_ends_quietly() -> None:
    clock = VirtualClock(0.0)
    link = Link(clock, up_at=10_000.0)
    task = asyncio.create_task(
        until_connected(link.call, clock, 30.0, 600.0, wanted=lambda: clock.now() < 45.0)
    )
    await clock.run_until(1000.0)
    assert task.result() is None
    assert link.tries == [0.0, 30.0]
