"""The shipped HA blueprint `ambient_checkin.yaml`: a valid automation blueprint, and in the real
Home Assistant it turns the companion app's check-in button into the MQTT answer ambient takes
(the app's event fired through HA's API; HA's MQTT integration on the test Mosquitto), passing on
only the buttons of its own instance's questions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import yaml
from fixtures.homeassistant import HaProbe, HomeAssistantInstance, mqtt_integration
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import make_connection, running

from ambient.clock import VirtualClock
from ambient.config.check_ins import CheckInsConfig
from ambient.interventions.checkin_book import CheckInBook
from ambient.interventions.checkin_links import MqttCheckIns
from ambient.interventions.checkins import CheckIns
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.learner import PRIORS
from ambient.interventions.mood import Moods
from ambient.interventions.recorder import EpisodeRecorder
from ambient.store import Store

BLUEPRINT = (
    Path(__file__).resolve().parents[2]
    / "deploy"
    / "homeassistant-blueprints"
    / "ambient_checkin.yaml"
)
T0 = 1_800_000_000.0
WAIT_S = 10.0


class _BlueprintLoader(yaml.SafeLoader):
    """YAML as HA reads blueprints: ``!input name`` refers to an input."""


_BlueprintLoader.add_constructor(
    "!input",
    lambda loader, node: {"!input": loader.construct_scalar(node)},  # type: ignore[arg-type]
)


def load_blueprint() -> dict[str, Any]:
    document = yaml.load(BLUEPRINT.read_text(), Loader=_BlueprintLoader)
    assert isinstance(document, dict)
    return document


def test_the_blueprint_is_an_automation_blueprint_with_its_inputs_used() -> None:
    document = load_blueprint()
    blueprint = document["blueprint"]
    assert blueprint["domain"] == "automation"
    assert blueprint["name"] and blueprint["description"]
    assert set(blueprint["input"]) == {"topic_root"}
    assert blueprint["input"]["topic_root"]["default"] == "ambient/ambient"
    assert document["variables"]["topic_root"] == {"!input": "topic_root"}
    (trigger,) = document["triggers"]
    assert trigger == {"trigger": "event", "event_type": "mobile_app_notification_action"}
    (action,) = document["actions"]
    assert action["action"] == "mqtt.publish"
    assert action["data"]["topic"] == "{{ topic_root }}/checkin"


@contextlib.asynccontextmanager
async def blueprint_automation(
    ha: HomeAssistantInstance, probe: HaProbe, topic_root: str
) -> AsyncIterator[str]:
    """The blueprint saved in HA and an automation made from it (both removed afterwards)."""
    path = "ambient/ambient_checkin.yaml"
    await probe.call(
        "blueprint/save",
        domain="automation",
        path=path,
        yaml=BLUEPRINT.read_text(),
        allow_override=True,
    )
    automation_id = "ambient_checkin_test"
    headers = {"Authorization": f"Bearer {ha.token}"}
    url = f"{ha.url}/api/config/automation/config/{automation_id}"
    async with aiohttp.ClientSession(headers=headers) as session:
        body = {
            "alias": "ambient check-in answers",
            "use_blueprint": {"path": path, "input": {"topic_root": topic_root}},
        }
        await probe.subscribe("state_changed")
        async with session.post(url, json=body) as reply:
            assert reply.status == 200, await reply.text()
        # HA answers once the automation is saved and loads it after: an event fired in
        # between would find no automation to trigger.
        await probe.wait_for(
            lambda e: (
                e.event_type == "state_changed"
                and str(e.data.get("entity_id", "")).startswith("automation.")
                and (e.data.get("new_state") or {}).get("attributes", {}).get("id") == automation_id
                and e.data["new_state"]["state"] == "on"
            )
        )
        try:
            yield automation_id
        finally:
            async with session.delete(url) as reply:
                assert reply.status == 200
            with contextlib.suppress(RuntimeError):
                await probe.call("blueprint/delete", domain="automation", path=path)


@pytest.mark.ha
async def test_the_button_reaches_ambient_through_the_blueprint_and_mqtt(
    ha: HomeAssistantInstance, mosquitto: MosquittoBroker
) -> None:
    clock, store = VirtualClock(T0), Store(None)
    episodes = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, episodes)
    book = CheckInBook(store)
    checkins = CheckIns(
        CheckInsConfig(), None, clock, ZoneInfo("UTC"), episodes, recorder, book, instance="bptest"
    )
    recorder.measured_listeners.append(checkins.on_measured)
    answered = asyncio.Event()
    checkins.answered_listeners.append(lambda _person: answered.set())
    connection = make_connection(mosquitto, instance="bptest")
    MqttCheckIns(
        checkins,
        Moods(clock, ZoneInfo("UTC"), episodes, book),
        connection,
        "ambient/bptest",
        ["alex"],
    )

    async with (
        mqtt_integration(ha, mosquitto),
        HaProbe(ha.url, ha.token) as probe,
        running(connection),
    ):
        await connection.wait_subscribed("ambient/bptest/checkin")
        await probe.subscribe("automation_triggered")
        async with blueprint_automation(ha, probe, "ambient/bptest"):
            episode = recorder.start("alex", "calm", "breathe", PRIORS["breathing"], {})
            await clock.run_until(T0 + 1200)  # measured: asked (on MQTT)
            async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {ha.token}"}
            ) as session:
                # Another app's; another ambient's (the default instance's episode with the
                # same number, as each store numbers its own); then this one's.
                for action in (
                    "ALARM",
                    f"AMBIENT_CHECKIN_{episode}_SAME",
                    f"AMBIENT_CHECKIN_bptest_{episode}_CALMER",
                ):
                    async with session.post(
                        f"{ha.url}/api/events/mobile_app_notification_action",
                        json={"action": action},
                    ) as reply:
                        assert reply.status == 200
            await asyncio.wait_for(answered.wait(), WAIT_S)

    (row,) = episodes.episodes("alex")
    assert row.check_in == "calmer"
    triggered = [e for e in probe.events if e.event_type == "automation_triggered"]
    assert triggered, "the blueprint's automation never ran"
