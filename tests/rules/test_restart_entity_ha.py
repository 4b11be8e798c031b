"""An entity state trigger's `for` window that falls due while ambient is not running, against
a real Home Assistant: the restarted engine waits for the state HA sends once connected, and HA's
``last_changed`` tells a state that held (fire at once, late) from one that left and came back
while ambient was down (the window starts over from then). The engine runs on a virtual clock
set against HA's own ``last_changed``; kill -9 means only what was written survives."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from fixtures.connections import running
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from pydantic import SecretStr
from rules.rule_doubles import Harness, log, make_config

from ambient.clock import RealClock
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters
from ambient.messages import ExternalEvent
from ambient.sensors.events import watch_ha_entities
from ambient.store import Store

pytestmark = pytest.mark.ha

WAIT_S = 10.0


def _rule(entity: str) -> dict[str, object]:
    return {
        "id": "on_a_while",
        "triggers": [{"trigger": "state", "entity_id": entity, "to": "on", "for": "5min"}],
        "actions": [log("on a while")],
    }


async def _first_state(ha: HomeAssistantInstance, h: Harness, entity: str) -> None:
    """Connect a real HA client, hand the entity's first state to the engine, disconnect."""
    events: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    client = HomeAssistantClient(
        HomeAssistantConfig(url=ha.url, token=SecretStr(ha.token)), RealClock(), Counters()
    )
    watch_ha_entities(client, [entity], h.clock, events.put_nowait)
    async with running(client, wait=False):
        h.engine.on_event(await asyncio.wait_for(events.get(), WAIT_S))
    await h.clock.run_until(h.clock.now())


async def _turned_on(probe: HaProbe, entity: str) -> float:
    """Turn ``entity`` on; HA's ``last_changed`` of that, in unix seconds."""
    await probe.call_service("input_boolean", "turn_on", {"entity_id": entity})
    state = await probe.state(entity)
    assert state is not None and state["state"] == "on"
    return datetime.fromisoformat(state["last_changed"]).timestamp()


async def _pending_then_killed(
    ha: HomeAssistantInstance, entity: str, path: Path, t0: float
) -> Harness:
    """An engine hears the entity turn on at ``t0`` (a 5 min window) and is killed 0.5 s
    before its deadline. It heard it off first: a first state alone is not a change."""
    config = make_config([_rule(entity)], homeassistant={"token": "t"})
    h = await Harness(config, Store(path), t0).start()
    h.engine.on_event(ExternalEvent(h.clock.now(), "ha_state", entity, {"state": "off"}))
    await _first_state(ha, h, entity)
    await h.run_until(299.5)
    assert h.kinds() == []
    h.store.close()
    return h


async def _restarted(h: Harness, path: Path, at: float) -> Harness:
    again = Harness(h.config, store=Store(path), start=h.t0 + at)
    again.t0 = h.t0
    await again.start()
    await again.run_until(at)  # the deadline has passed: it waits for HA
    assert again.kinds() == []
    return again


async def test_a_state_that_held_through_the_restart_fires_when_ha_sends_it(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    entity = "input_boolean.ambient_restart_held"
    path = tmp_path / "ambient.db"
    async with HaProbe(ha.url, ha.other_token) as probe:
        await probe.call("input_boolean/create", name="ambient restart held")
        changed = await _turned_on(probe, entity)
    h = await _pending_then_killed(ha, entity, path, t0=changed + 1)
    h = await _restarted(h, path, at=301)
    await _first_state(ha, h, entity)
    assert h.events() == [
        (
            301,
            "fired",
            f"{entity} changed from unknown to on for 5min "
            "(due 1.0 s earlier, while ambient was not running)",
        )
    ]


async def test_a_state_that_left_and_came_back_while_ambient_was_down_starts_over(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    entity = "input_boolean.ambient_restart_back"
    path = tmp_path / "ambient.db"
    async with HaProbe(ha.url, ha.other_token) as probe:
        await probe.call("input_boolean/create", name="ambient restart back")
        first_on = await _turned_on(probe, entity)
        h = await _pending_then_killed(ha, entity, path, t0=first_on - 10)
        await probe.call_service("input_boolean", "turn_off", {"entity_id": entity})
        back_on = await _turned_on(probe, entity)  # while ambient is not running
    h = await _restarted(h, path, at=301)
    await _first_state(ha, h, entity)
    assert h.kinds() == []
    await h.clock.run_until(back_on + 299.9)
    assert h.kinds() == []
    # 5 min after it came back, as uninterrupted (REST's last_changed is rounded to the µs)
    await h.clock.run_until(back_on + 300.001)
    assert [(event, reason) for _, event, reason in h.events()] == [
        ("fired", f"{entity} changed from unknown to on for 5min")
    ]
