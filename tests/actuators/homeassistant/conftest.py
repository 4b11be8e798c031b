"""Fixtures for the HA actuator tests: a connected client and a probe recording HA's events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from pydantic import SecretStr

from ambient.clock import RealClock
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters


@pytest.fixture
async def ha_client(ha: HomeAssistantInstance) -> AsyncIterator[HomeAssistantClient]:
    """ambient's client, connected (the owner's token), on the real clock."""
    config = HomeAssistantConfig(url=ha.url, token=SecretStr(ha.token), backoff_max=0.5)
    client = HomeAssistantClient(config, RealClock(), Counters())
    task = asyncio.create_task(client.run())
    await asyncio.wait_for(client.wait_connected(), 30)
    yield client
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def probe(ha: HomeAssistantInstance) -> AsyncIterator[HaProbe]:
    """HA's call_service and state_changed events, seen from a separate connection."""
    async with HaProbe(ha.url, ha.token) as probe:
        await probe.subscribe("call_service")
        await probe.subscribe("state_changed")
        yield probe


@pytest.fixture
async def someone_else(ha: HomeAssistantInstance) -> AsyncIterator[HaProbe]:
    """Another person in the home, with their own HA user."""
    async with HaProbe(ha.url, ha.other_token) as other:
        yield other
