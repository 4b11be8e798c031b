"""Trying one request again while its link is down: a check-in question, a withdrawal, the
weekly report's notification — each worth sending minutes late rather than not at all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ambient.clock import Clock
from ambient.connections.errors import NotConnected


def _nothing() -> None:
    return None


def _always() -> bool:
    return True


async def until_connected(
    call: Callable[[], Awaitable[None]],
    clock: Clock,
    retry_s: float,
    give_up: float,
    *,
    on_waiting: Callable[[], None] = _nothing,
    wanted: Callable[[], bool] = _always,
) -> Exception | None:
    """Await ``call``; while its link is not connected, try again every ``retry_s`` until
    ``give_up`` (on ``clock.monotonic()``), as long as it is still ``wanted()``.
    ``on_waiting`` is called once, when a try first finds the link down. What made it fail
    (the last :class:`NotConnected` at ``give_up``, or any other error at once), or None:
    done, or no longer wanted. A cancel (a close) goes through, in the wait too."""
    waited = False
    while True:
        try:
            await call()
            return None
        except NotConnected as exc:
            if not waited:
                waited = True
                on_waiting()
            if clock.monotonic() + retry_s > give_up:
                return exc
            await clock.sleep(retry_s)
            if not wanted():
                return None
        except Exception as exc:  # a refusal: trying again would fail the same
            return exc
