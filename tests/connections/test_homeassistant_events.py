"""The HA client's event watch against the real Home Assistant: events of a watched type fired on
HA's bus reach the handler with their data, other types do not, and the watch is taken up
again after HA restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fixtures.connections import running
from fixtures.homeassistant import HomeAssistantInstance
from pydantic import SecretStr

from ambient.clock import RealClock
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters

pytestmark = pytest.mark.ha

WAIT_S = 30.0


async def test_watched_events_arrive_and_the_watch_outlives_an_ha_restart(
    ha: HomeAssistantInstance,
) -> None:
    config = HomeAssistantConfig(url=ha.url, token=SecretStr(ha.token), backoff_max=0.5)
    client = HomeAssistantClient(config, RealClock(), Counters())
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client.watch_events("ambient_test_answer", seen.put_nowait)
    connects = 0
    reconnected = asyncio.Event()

    def on_status(status: str) -> None:
        nonlocal connects
        if status == "connected":
            connects += 1
            if connects == 2:
                reconnected.set()

    client.on_status(on_status)
    async with running(client):
        await ha.fire_event("ambient_test_other", {"n": 0})
        await ha.fire_event("ambient_test_answer", {"n": 1})
        assert await asyncio.wait_for(seen.get(), WAIT_S) == {"n": 1}

        await asyncio.to_thread(ha.restart)
        await asyncio.wait_for(reconnected.wait(), WAIT_S)
        await ha.fire_event("ambient_test_answer", {"n": 2})
        assert await asyncio.wait_for(seen.get(), WAIT_S) == {"n": 2}
        assert seen.empty()
