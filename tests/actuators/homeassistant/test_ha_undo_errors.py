"""An episode's end that Home Assistant answers with an error is not given up: the lights it
calmed stay owed, kept in the store, and are put back once HA answers again.

HA itself cannot be made to answer a state read with a server error on demand, so the link runs
through a loopback reverse proxy (as nginx, or the add-on's Supervisor proxy, stands in front
of HA): it passes the WebSocket and the REST reads through to the real HA, and answers the
reads with 502 Bad Gateway while a test says so."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import web
from fixtures.connections import running
from fixtures.homeassistant import HaProbe, HomeAssistantInstance, StepClock
from pydantic import SecretStr

from ambient.actuators.ha_episode import NAMESPACE
from ambient.actuators.homeassistant import (
    UNDO_RETRY_FOR_S,
    UNDO_RETRY_S,
    HomeAssistantActuator,
)
from ambient.clock import RealClock
from ambient.config.actions import CalmLightsActionConfig
from ambient.config.homeassistant import HomeAssistantConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters
from ambient.messages import ActionContext
from ambient.store import Store

pytestmark = pytest.mark.ha

BED = "light.bed_light"


class BadGateway:
    """A reverse proxy in front of ``ha``: the WebSocket passed through, and each state read
    too, unless ``failing``: then ``status`` (502 Bad Gateway unless told)."""

    def __init__(self, ha: HomeAssistantInstance, session: aiohttp.ClientSession) -> None:
        self.ha = ha
        self.session = session
        self.failing = False
        self.status = 502

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        async with self.session.ws_connect(f"{self.ha.url}/api/websocket", max_msg_size=0) as up:
            pumps = [asyncio.create_task(_pump(ws, up)), asyncio.create_task(_pump(up, ws))]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
        await ws.close()
        return ws

    async def state(self, request: web.Request) -> web.Response:
        if self.failing:
            return web.Response(status=self.status, text="refused by the proxy")
        headers = {"Authorization": request.headers.get("Authorization", "")}
        url = f"{self.ha.url}/api/states/{request.match_info['entity_id']}"
        async with self.session.get(url, headers=headers) as answer:
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type="application/json")


async def _pump(source: Any, sink: Any) -> None:
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:
            return


@contextlib.asynccontextmanager
async def bad_gateway(ha: HomeAssistantInstance) -> AsyncIterator[tuple[BadGateway, str]]:
    """The proxy, serving on a free loopback port, and its URL."""
    async with aiohttp.ClientSession() as session:
        proxy = BadGateway(ha, session)
        app = web.Application()
        app.router.add_get("/api/websocket", proxy.websocket)
        app.router.add_get("/api/states/{entity_id}", proxy.state)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield proxy, f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()


def light_of(state: dict[str, Any] | None) -> tuple[str, int | None, int | None]:
    assert state is not None
    attributes = state["attributes"]
    return state["state"], attributes.get("brightness"), attributes.get("color_temp_kelvin")


CALM = CalmLightsActionConfig(
    action="calm_lights", target=[BED], color_temp_kelvin=2200, brightness_pct=40
)


class Calmed(NamedTuple):
    """An episode that calmed the bed light through the proxy, and what a test turns."""

    proxy: BadGateway
    actuator: HomeAssistantActuator
    clock: StepClock
    context: ActionContext


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "state.db")
    yield store
    store.close()


@contextlib.asynccontextmanager
async def calmed_behind_proxy(
    ha: HomeAssistantInstance, probe: HaProbe, store: Store, episode: str
) -> AsyncIterator[Calmed]:
    """The bed light bright and cool, then calmed by ``episode`` through the proxy; the
    actuator keeps what it owes in ``store`` and retries on a step clock."""
    await probe.call_service(
        "light", "turn_on", {"entity_id": BED, "brightness": 200, "color_temp_kelvin": 5000}
    )
    context = ActionContext(rule="calm", person="alex", episode=episode, time=0.0, recovery=True)
    async with bad_gateway(ha) as (proxy, url):
        config = HomeAssistantConfig(url=url, token=SecretStr(ha.token), backoff_max=0.5)
        async with running(HomeAssistantClient(config, RealClock(), Counters())) as client:
            clock = StepClock()
            actuator = HomeAssistantActuator(client, clock, store)
            assert (await actuator.perform(CALM, context)).ok
            yield Calmed(proxy, actuator, clock, context)


async def test_an_end_home_assistant_answers_with_an_error_is_tried_again_not_given_up(
    ha: HomeAssistantInstance, probe: HaProbe, store: Store
) -> None:
    async with calmed_behind_proxy(ha, probe, store, "g1") as (proxy, actuator, clock, context):
        proxy.failing = True  # HA busy behind its proxy as the episode ends
        await actuator.end_episode(context)
        assert light_of(await probe.state(BED)) == ("on", 102, 2200)
        assert store.items(NAMESPACE)["g1"]["ended"] is True  # owed, kept

        proxy.failing = False
        await clock.fire_next()  # the next try
        assert actuator._settling is not None
        await actuator._settling

    assert light_of(await probe.state(BED)) == ("on", 200, 5000)
    assert store.items(NAMESPACE) == {}


async def test_an_end_home_assistant_refuses_for_good_is_given_up_at_once(
    ha: HomeAssistantInstance,
    probe: HaProbe,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A proxy that forbids the state reads (403) will not let them through a minute later:
    the end is given up with one warning, as before, not tried every minute for good."""
    async with calmed_behind_proxy(ha, probe, store, "g2") as (proxy, actuator, clock, context):
        proxy.failing, proxy.status = True, 403
        await actuator.end_episode(context)

        assert clock.next_due() is None  # no retry coming
    assert store.items(NAMESPACE) == {}
    given_up = [r.getMessage() for r in caplog.records if "given up" in r.getMessage()]
    assert given_up == [
        "Could not undo episode g2 in Home Assistant: http_403: GET state of "
        "scene.ambient_g2_light_bed_light failed; given up, its lights and media left as they are"
    ]


async def test_an_end_refused_with_server_errors_for_an_hour_is_given_up(
    ha: HomeAssistantInstance,
    probe: HaProbe,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tried every minute on the actuator's clock, said once, and given up after an hour of
    502s (HA's proxy broken, not busy) with one more line, rather than every minute for good."""
    async with calmed_behind_proxy(ha, probe, store, "g3") as (proxy, actuator, clock, context):
        proxy.failing = True
        ended_at = clock.now()
        await actuator.end_episode(context)

        tries = 1
        while clock.next_due() is not None and tries <= UNDO_RETRY_FOR_S / UNDO_RETRY_S:
            await clock.fire_next()
            assert actuator._settling is not None
            await actuator._settling
            tries += 1
        assert clock.next_due() is None  # no more tries
        assert clock.now() - ended_at == UNDO_RETRY_FOR_S
        assert tries == UNDO_RETRY_FOR_S / UNDO_RETRY_S + 1
    assert store.items(NAMESPACE) == {}
    said = [r for r in caplog.records if "g3" in r.getMessage() and r.levelname == "WARNING"]
    assert [("yet" in r.getMessage(), "given up" in r.getMessage()) for r in said] == [
        (True, False),
        (False, True),
    ]
