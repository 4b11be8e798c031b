"""The HA client against a real Home Assistant: connect, call, watch, reconnect, wrong token."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import pytest
from fixtures.connections import running
from fixtures.homeassistant import HaProbe, HomeAssistantInstance, stepped_link
from pydantic import SecretStr

from ambient.clock import RealClock
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.errors import NotConnected
from ambient.connections.homeassistant import HomeAssistantClient, HomeAssistantError
from ambient.counters import Counters

pytestmark = pytest.mark.ha


def make_config(ha: HomeAssistantInstance, **overrides: Any) -> HomeAssistantConfig:
    fields: dict[str, Any] = {"url": ha.url, "token": SecretStr(ha.token)}
    fields.update(overrides)
    return HomeAssistantConfig(**fields)


async def wait_status(client: HomeAssistantClient, wanted: str, timeout_s: float = 15.0) -> None:
    """Wait on the client's status events (no polling) until it reaches ``wanted``."""
    if client.status == wanted:
        return
    reached = asyncio.Event()
    client.on_status(lambda status: reached.set() if status == wanted else None)
    await asyncio.wait_for(reached.wait(), timeout_s)


async def test_calls_a_service_and_ha_changes_the_light(ha: HomeAssistantInstance) -> None:
    client = HomeAssistantClient(make_config(ha), RealClock(), Counters())
    async with running(client, wait=False), HaProbe(ha.url, ha.token) as probe:
        await wait_status(client, "connected")
        assert client.user_id == ha.owner_user_id
        result = await client.call_service(
            "light", "turn_on", {"brightness": 77}, target={"entity_id": "light.bed_light"}
        )
        assert result["context"]["user_id"] == ha.owner_user_id
        state = await probe.state("light.bed_light")
        assert state is not None
        assert state["state"] == "on"
        assert state["attributes"]["brightness"] == 77


async def test_service_errors_carry_has_message(ha: HomeAssistantInstance) -> None:
    client = HomeAssistantClient(make_config(ha), RealClock(), Counters())
    async with running(client, wait=False):
        await wait_status(client, "connected")
        with pytest.raises(HomeAssistantError) as raised:
            await client.call_service("light", "no_such_service", target={"entity_id": "light.x"})
        assert raised.value.code == "not_found"


async def test_watches_only_the_entities_asked_for(ha: HomeAssistantInstance) -> None:
    seen: list[tuple[str, Any, Any]] = []
    changed = asyncio.Event()

    def handler(entity_id: str, new: Any, old: Any) -> None:
        seen.append((entity_id, new, old))
        changed.set()

    client = HomeAssistantClient(make_config(ha), RealClock(), Counters())
    client.watch_entities(["input_boolean.sleeping"], handler)
    async with running(client, wait=False), HaProbe(ha.url, ha.other_token) as other:
        await wait_status(client, "connected")
        await asyncio.wait_for(changed.wait(), 10)
        first = seen[-1]
        assert first[0] == "input_boolean.sleeping"
        assert first[2] is None  # the current state, nothing before it
        changed.clear()
        await other.call_service("input_boolean", "toggle", {"entity_id": "input_boolean.sleeping"})
        # Something else changes too: it must not reach the handler.
        await other.call_service("input_boolean", "toggle", {"entity_id": "input_boolean.presence"})
        await asyncio.wait_for(changed.wait(), 10)
        entity_id, new, old = seen[-1]
        assert entity_id == "input_boolean.sleeping"
        assert new["state"] != old["state"]
        assert new["context"]["user_id"] == ha.other_user_id
        assert {e for e, _, _ in seen} == {"input_boolean.sleeping"}
        assert client.state("input_boolean.sleeping") == new


async def test_a_watched_entity_ha_does_not_have_is_one_warning(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """A typo in a sensor's entity_id would otherwise give no reading and no word, forever."""
    current = asyncio.Event()
    client = HomeAssistantClient(make_config(ha), RealClock(), Counters())
    client.watch_entities(["input_boolean.sleeping"], lambda *_: current.set())
    client.watch_entities(["sensor.pixel_watch_heart_rat"], lambda *_: None)
    with caplog.at_level(logging.WARNING, logger="ambient"):
        async with running(client, wait=False):
            await wait_status(client, "connected")
            await asyncio.wait_for(current.wait(), 10)  # the subscription's current states

    assert [r.getMessage() for r in caplog.records] == [
        "Home Assistant has no entity sensor.pixel_watch_heart_rat: "
        "it gives nothing until it appears"
    ]
    assert client.counters.get("ha:sensor.pixel_watch_heart_rat", "unknown_entity") == 1
    assert client.counters.get("ha:input_boolean.sleeping", "unknown_entity") == 0


async def test_a_watched_entity_ha_does_not_have_is_told_to_its_watchers(
    ha: HomeAssistantInstance,
) -> None:
    """What waits for an entity's state after a start (a `for` hold) learns at once that HA,
    up and answering, has no such entity, rather than waiting out the wait for HA."""
    told: list[str] = []
    missing = asyncio.Event()
    client = HomeAssistantClient(make_config(ha), RealClock(), Counters())
    client.watch_entities(["input_boolean.sleeping", "person.alx"], lambda *_: None)

    def on_missing(entity_id: str) -> None:
        told.append(entity_id)
        missing.set()

    client.watch_missing(on_missing)
    async with running(client, wait=False):
        await wait_status(client, "connected")
        await asyncio.wait_for(missing.wait(), 10)
        late: list[str] = []
        client.watch_missing(late.append)  # a watcher added later hears of it too
    assert told == ["person.alx"]
    assert late == ["person.alx"]


async def test_not_connected_calls_raise_unavailable(ha: HomeAssistantInstance) -> None:
    client = HomeAssistantClient(make_config(ha), RealClock(), Counters())
    with pytest.raises(NotConnected):
        await client.call_service("light", "turn_on", target={"entity_id": "light.bed_light"})


async def test_a_rejected_token_is_one_line_and_not_tried_again(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """A token HA rejects (revoked, mistyped) never becomes valid, and HA answers each failed
    login with a "Login attempt failed" notification and counts it toward banning the
    address (``ip_ban_enabled``): the client says so once and waits, without trying again, for
    a reload or restart to bring a new token."""
    secret = "not-a-valid-token-abcdef"
    link = stepped_link(ha, token=SecretStr(secret), backoff_max=8.0)
    client, clock, counters = link.client, link.clock, link.counters
    failures = asyncio.Queue[str]()
    client.on_status(
        lambda status: failures.put_nowait(status) if status == "auth_failed" else None
    )
    caplog.set_level(logging.DEBUG, logger="ambient.connections.homeassistant")
    async with running(client, wait=False):
        await asyncio.wait_for(failures.get(), 10)
        await clock.run_until(clock.now() + 3600)  # an hour on the client's clock
        assert failures.empty()
        assert counters.get("homeassistant", "auth_invalid") == 1
        assert client.status == "auth_failed"
        assert not client.connected
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [e.getMessage() for e in errors] == [
        f"Home Assistant at {ha.url} rejected the access token (Invalid access token or "
        "password): not trying it again (each failed login is a warning in Home Assistant "
        "and may get this address banned); make a new long-lived access token (Home "
        "Assistant: your profile → Security), put it in homeassistant.token, then reload or "
        "restart ambient"
    ]
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_the_supervisors_token_rejected_in_the_add_on_is_tried_again(
    ha: HomeAssistantInstance,
) -> None:
    """In the add-on the Supervisor's proxy checks ambient's token, not HA: it bans no address,
    and its token is valid again once the Supervisor is (a restart of it): tried again with
    backoff. The proxy is not here: the real HA rejecting a token it does not know stands in
    for it."""
    link = stepped_link(ha, token=SecretStr("not-the-supervisors-token"), backoff_max=8.0)
    client, clock, counters = link.client, link.clock, link.counters
    assert client.endpoint is not None
    client.endpoint = replace(client.endpoint, via_supervisor=True)
    failures = asyncio.Queue[str]()
    client.on_status(
        lambda status: failures.put_nowait(status) if status == "auth_failed" else None
    )
    async with running(client, wait=False):
        delays = []
        for _ in range(3):
            await asyncio.wait_for(failures.get(), 10)
            await clock.run_until(clock.now())  # the client reaches its backoff wait
            due = clock.next_due()
            assert due is not None
            delays.append(due - clock.now())
            clock.advance_to(due)
        assert delays == [1.0, 2.0, 4.0]
        assert counters.get("homeassistant", "auth_invalid") == 3


async def test_ha_down_is_one_clear_line_then_reconnects_when_ha_is_back(
    ha: HomeAssistantInstance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ambient.connections.homeassistant")
    client = HomeAssistantClient(make_config(ha, backoff_max=0.5), RealClock(), Counters())
    states: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client.watch_entities(
        ["light.bed_light"], lambda e, new, old: states.put_nowait(new) if new else None
    )
    async with running(client, wait=False):
        await wait_status(client, "connected")
        assert client.connect_count == 1
        disconnected = wait_status(client, "disconnected")
        await asyncio.to_thread(ha.stop)
        await disconnected
        with pytest.raises(NotConnected):
            await client.call_service("light", "turn_on", target={"entity_id": "light.bed_light"})
        await asyncio.to_thread(ha.start)
        await wait_status(client, "connected", timeout_s=30)
        assert client.connect_count == 2
        # The subscription came back: the handler (registered before the outage) hears the
        # change this call makes, known by HA's context id, not a state cached before.
        current = client.state("light.bed_light")
        wanted = "off" if current is not None and current["state"] == "on" else "on"
        result = await client.call_service(
            "light", f"turn_{wanted}", target={"entity_id": "light.bed_light"}
        )

        async def caused_by_the_call() -> dict[str, Any]:
            while True:
                new = await states.get()
                if (new.get("context") or {}).get("id") == result["context"]["id"]:
                    return new

        changed = await asyncio.wait_for(caused_by_the_call(), 10)
        assert changed["state"] == wanted
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "HA going away must be logged"
    assert len(set(errors)) <= 2  # "closed the connection" once, "not reachable" once
    assert any("connected again" in r.getMessage() for r in caplog.records)
