"""The real Home Assistant 2025.4.4 reads ambient's discovery from the test broker.

HA's MQTT integration is set up through its REST config flow (no YAML), pointed at this test's
Mosquitto. Entities are found by ``unique_id`` in HA's entity registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest
from fixtures.homeassistant import HaProbe, HomeAssistantInstance, SeenEvent, mqtt_integration
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, make_connection, running

from ambient.actuators.mqtt_discovery import DiscoveryPublisher
from ambient.actuators.mqtt_entities import DiscoveryPayloads, Topics
from ambient.clock import RealClock
from ambient.config.root import AmbientConfig
from ambient.hub import Hub
from ambient.messages import (
    ActionContext,
    ActionResult,
    SignalUpdate,
    SignalValue,
    TraceRecord,
)

pytestmark = pytest.mark.ha


class NoActions:
    async def perform(self, action: Any, context: ActionContext) -> ActionResult:
        return ActionResult("none", True)

    async def end_episode(self, context: ActionContext) -> None:
        return None

    async def settle_episodes(self, live: set[str]) -> None:
        return None


async def test_home_assistant_shows_ambient_and_its_pause_switch_pauses_ambient(
    ha: HomeAssistantInstance, mosquitto: MosquittoBroker
) -> None:
    from ambient.rules.engine import RuleEngine
    from ambient.signals.engine import SignalEngine
    from ambient.store import Store

    log_start = ha.log_file.stat().st_size if ha.log_file.exists() else 0
    config = AmbientConfig.model_validate(
        {
            "instance": "hatest",
            "people": [{"id": "alex", "name": "Alex"}],
            # a strap: beats give RMSSD and signal quality (a watch's heart rate alone would not)
            "sensors": [{"type": "ble", "person": "alex", "name": "Polar H10 1234"}],
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "statistics": ["heart_rate"]},
            "store": {"path": None},
        }
    )
    clock, hub, store = RealClock(), Hub(), Store(None)
    signals = SignalEngine(config.signals, config.people, clock, store, hub.publish_signals)
    rules = RuleEngine(config, clock, store, signals, NoActions(), hub.publish_trace)
    hub.on_event(rules.on_event)
    hub.status_providers["paused"] = lambda: rules.paused
    paused = asyncio.Event()
    hub.on_event(lambda event: paused.set() if event.key == "pause" else None)
    await rules.start()
    connection = make_connection(mosquitto, instance="hatest")
    publisher = DiscoveryPublisher(config, connection, hub, clock)

    async with mqtt_integration(ha, mosquitto), HaProbe(ha.url, ha.token) as probe:
        await probe.subscribe("state_changed")
        publisher_task = asyncio.ensure_future(publisher.run())
        try:
            async with running(connection):
                hub.publish_signals(
                    SignalUpdate(clock.now(), "alex", {"hr": SignalValue(72.0, clock.now())})
                )
                heart = "sensor.hatest_alex_heart_rate"
                state = await probe.wait_for_state(heart, lambda s: s["state"] == "72")
                assert state["attributes"]["unit_of_measurement"] == "bpm"
                assert state["attributes"]["state_class"] == "measurement"

                registry = await probe.call("config/entity_registry/list")
                by_unique_id = {e["unique_id"]: e for e in registry if e["platform"] == "mqtt"}
                assert by_unique_id["ambient_hatest_alex_heart_rate"]["entity_id"] == heart
                rmssd = by_unique_id["ambient_hatest_alex_rmssd"]["entity_id"]
                rmssd_attributes = (await probe.state(rmssd) or {})["attributes"]
                assert rmssd_attributes["unit_of_measurement"] == "ms"
                assert "state_class" not in rmssd_attributes  # not in `statistics`: none kept
                for key in ("battery", "signal_quality", "skin_contact"):
                    entry = by_unique_id[f"ambient_hatest_alex_{key}"]
                    assert entry["entity_category"] == "diagnostic", key
                pause = by_unique_id["ambient_hatest_pause"]["entity_id"]

                # A firing's event and active rule, as HA shows them
                fired_at = clock.now()
                hub.publish_trace(TraceRecord(fired_at, "evening", "fired", "stress", "alex"))
                active = by_unique_id["ambient_hatest_active_rule"]["entity_id"]
                # The state and its attributes travel on two topics: HA ends with both
                state = await probe.wait_for_state(
                    active,
                    lambda s: s["state"] == "evening" and bool(s["attributes"].get("active")),
                )
                assert [a["rule"] for a in state["attributes"]["active"]] == ["evening"]
                since_iso = state["attributes"]["active"][0]["since_iso"]
                assert datetime.fromisoformat(since_iso).timestamp() == pytest.approx(
                    fired_at, abs=1
                )
                event = by_unique_id["ambient_hatest_rule_event"]["entity_id"]
                fired = await probe.wait_for_state(
                    event, lambda s: s["attributes"].get("event_type") == "fired"
                )
                assert fired["attributes"]["rule"] == "evening"

                assert not rules.paused
                await probe.call_service("switch", "turn_on", {"entity_id": pause})
                await asyncio.wait_for(paused.wait(), 10)
                assert rules.paused
                await probe.wait_for_state(pause, lambda s: s["state"] == "on")
        finally:
            publisher_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher_task
        # ambient stopped (cleanly: it said offline): its entities become unavailable
        await probe.wait_for_state(heart, lambda s: s["state"] == "unavailable")
        await probe.wait_for_state(pause, lambda s: s["state"] == "unavailable")
    await rules.stop()
    signals.close()
    log = ha.log_file.read_text(errors="replace")[log_start:] if ha.log_file.exists() else ""
    assert "Invalid MQTT" not in log


def removed(entity_id: str) -> Callable[[SeenEvent], bool]:
    """HA's ``state_changed`` of an entity taken out of its state machine."""
    return lambda e: (
        e.event_type == "state_changed"
        and e.data.get("entity_id") == entity_id
        and e.data.get("new_state") is None
    )


async def test_home_assistant_drops_a_removed_person_and_an_entity_no_longer_announced(
    ha: HomeAssistantInstance, mosquitto: MosquittoBroker
) -> None:
    """What the broker test cannot show: HA itself deletes the device whose document ambient
    empties, and the component named by its platform alone (an older ambient's entity)."""
    log_start = ha.log_file.stat().st_size if ha.log_file.exists() else 0
    clock, hub = RealClock(), Hub()

    def config(*people: str) -> AmbientConfig:
        return AmbientConfig.model_validate(
            {
                "instance": "hatest",
                "people": [{"id": person} for person in people],
                "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
                "store": {"path": None},
            }
        )

    alex_device = "homeassistant/device/ambient_hatest_alex/config"
    older = DiscoveryPayloads(config("alex"), Topics(config("alex"))).all()[alex_device]
    older["cmps"]["old_entity"] = {
        **older["cmps"]["heart_rate"],
        "unique_id": "ambient_hatest_alex_old_entity",
        "object_id": "hatest_alex_old_entity",
        "default_entity_id": "sensor.hatest_alex_old_entity",
        "name": "Old entity",
        "state_topic": "ambient/hatest/alex/old_entity",
        "json_attributes_topic": "ambient/hatest/alex/old_entity/attributes",
    }
    async with mqtt_integration(ha, mosquitto), HaProbe(ha.url, ha.token) as probe:
        await probe.subscribe("state_changed")
        connection = make_connection(mosquitto, instance="hatest")
        publisher = DiscoveryPublisher(config("alex", "sam"), connection, hub, clock)
        async with running(connection), serving(publisher):
            await probe.wait_for_state("sensor.hatest_sam_heart_rate", lambda s: True)
        async with device_client(mosquitto, "older-ambient") as client:  # as it left it
            await client.publish(alex_device, json.dumps(older).encode(), qos=1, retain=True)
            await client.publish("ambient/hatest/alex/old_entity", b"61", qos=1, retain=True)
            attributes = b'{"note": "kept"}'
            await client.publish(
                "ambient/hatest/alex/old_entity/attributes", attributes, qos=1, retain=True
            )
        await probe.wait_for_state("sensor.hatest_alex_old_entity", lambda s: True)
        connection = make_connection(mosquitto, instance="hatest")
        publisher = DiscoveryPublisher(config("alex"), connection, hub, clock)
        async with device_client(mosquitto, "watcher") as watcher:
            await watcher.subscribe("ambient/hatest/alex/old_entity/#", qos=1)
            async with running(connection), serving(publisher):
                await probe.wait_for(removed("sensor.hatest_sam_heart_rate"))
                await probe.wait_for(removed("sensor.hatest_alex_old_entity"))
                registry = await probe.call("config/entity_registry/list")
                devices = await probe.call("config/device_registry/list")
                # its last value and attributes are emptied too (after HA removed it: no warning)
                emptied: set[str] = set()
                async with asyncio.timeout(WAIT_S):
                    async for message in watcher.messages:
                        if message.payload == b"":
                            emptied.add(message.topic.value)
                        if len(emptied) == 2:
                            break
    mine = {e["unique_id"] for e in registry if e["platform"] == "mqtt"}
    assert "ambient_hatest_alex_heart_rate" in mine
    assert not any(unique_id.startswith("ambient_hatest_sam_") for unique_id in mine)
    assert "ambient_hatest_alex_old_entity" not in mine
    names = {tuple(i) for d in devices for i in d["identifiers"]}
    assert ("mqtt", "ambient_hatest_sam") not in names
    log = ha.log_file.read_text(errors="replace")[log_start:] if ha.log_file.exists() else ""
    assert "WARNING (MainThread) [homeassistant.components.mqtt" not in log


@contextlib.asynccontextmanager
async def serving(publisher: DiscoveryPublisher) -> AsyncIterator[None]:
    task = asyncio.ensure_future(publisher.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
