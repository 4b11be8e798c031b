"""The discovery publisher against a real broker, with a client playing Home Assistant."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, make_connection, retained, running
from rules.rule_doubles import Harness, log, make_config, stress_rule

from ambient.actuators.mqtt_discovery import SETTLE_S, DiscoveryPublisher
from ambient.actuators.mqtt_entities import EXPIRE_AFTER_S
from ambient.clock import Clock, RealClock, VirtualClock
from ambient.config.root import AmbientConfig
from ambient.connections.mqtt import MqttConnection
from ambient.hub import Hub
from ambient.messages import ExternalEvent, SignalUpdate, SignalValue, TraceRecord
from ambient.store import Store

DISCOVERY = "homeassistant/device/+/config"


def ambient_config(
    broker: MosquittoBroker,
    publish_interval_s: float = 0.05,
    people: tuple[str, ...] = ("alex",),
    timezone: str | None = None,
    statistics: bool = True,
    sensors: list[dict[str, Any]] | None = None,
) -> AmbientConfig:
    """A Bluetooth strap for each person unless ``sensors`` are given."""
    if sensors is None:
        sensors = [
            {"type": "ble", "person": person, "name": f"Polar H10 {person}"} for person in people
        ]
    return AmbientConfig.model_validate(
        {
            "instance": "home",
            "timezone": timezone,
            "people": [{"id": person, "name": person.title()} for person in people],
            "sensors": sensors,
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "publish_interval": publish_interval_s,
                "statistics": statistics,
            },
        }
    )


@contextlib.asynccontextmanager
async def publishing(
    broker: MosquittoBroker,
    hub: Hub,
    clock: Clock | None = None,
    people: tuple[str, ...] = ("alex",),
    interval_s: float | None = None,
    timezone: str | None = None,
    statistics: bool = True,
    sensors: list[dict[str, Any]] | None = None,
) -> AsyncIterator[tuple[DiscoveryPublisher, MqttConnection]]:
    """The publisher on a live connection; on a virtual ``clock`` its ``publish_interval`` is
    an hour unless given, so only what goes out at once (after the settle time) and the
    refresh are published."""
    connection = make_connection(broker, instance="home")
    if interval_s is None:
        interval_s = 3600.0 if clock is not None else 0.05
    config = ambient_config(broker, interval_s, people, timezone, statistics, sensors)
    publisher = DiscoveryPublisher(config, connection, hub, clock or RealClock())
    task = asyncio.ensure_future(publisher.run())
    try:
        async with running(connection):
            await asyncio.wait_for(publisher.wait_published(), WAIT_S)
            yield publisher, connection
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_on(client: aiomqtt.Client, topic: str) -> aiomqtt.Message:
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            if message.topic.value == topic:
                return message
    raise AssertionError("unreachable")


def payload_of(message: aiomqtt.Message) -> str:
    assert isinstance(message.payload, bytes)
    return message.payload.decode()


async def test_discovery_and_initial_states_are_retained(mosquitto: MosquittoBroker) -> None:
    async with publishing(mosquitto, Hub()):
        found = await retained(mosquitto, DISCOVERY, 2)
        states = await retained(mosquitto, "ambient/home/#", 25)
    person = json.loads(found["homeassistant/device/ambient_home_alex/config"])
    assert person["cmps"]["heart_rate"]["unit_of_measurement"] == "bpm"
    # Daily summaries keep HA's long-term statistics; the HRV trend carries its numbers.
    assert person["cmps"]["day_stress_minutes"]["state_class"] == "measurement"
    assert "expire_after" not in person["cmps"]["day_stress_minutes"]
    hrv_low = person["cmps"]["hrv_low"]
    assert hrv_low["json_attributes_topic"] == "ambient/home/alex/hrv_low/attributes"
    assert states["ambient/home/alex/heart_rate"] == b"None"  # unknown, never made up
    assert states["ambient/home/paused"] == b"OFF"
    assert states["ambient/home/alex/wearable"] == b"online"


async def test_signal_updates_become_retained_states(mosquitto: MosquittoBroker) -> None:
    hub = Hub()
    async with publishing(mosquitto, hub), device_client(mosquitto, "ha") as ha:
        await ha.subscribe("ambient/home/alex/+", qos=1)
        values = {
            "hr": SignalValue(72.4, 1.0),
            "quality": SignalValue(0.91, 1.0),
            "contact": SignalValue(True, 1.0),
            "activity_state": SignalValue("rest", 1.0),
            "rmssd": SignalValue.unknown(1.0, "poor signal quality"),
        }
        hub.publish_signals(SignalUpdate(1.0, "alex", values))
        expected = {
            "ambient/home/alex/heart_rate": "72",
            "ambient/home/alex/signal_quality": "91",
            "ambient/home/alex/skin_contact": "ON",
            "ambient/home/alex/activity_state": "rest",
        }
        # Retained initial states ("None") come first; wait until every update has arrived.
        latest: dict[str, str] = {}
        async with asyncio.timeout(WAIT_S):
            async for message in ha.messages:
                latest[message.topic.value] = payload_of(message)
                if all(latest.get(topic) == value for topic, value in expected.items()):
                    break
    states = await retained(mosquitto, "ambient/home/alex/+", 20)
    for topic, value in expected.items():
        assert states[topic] == value.encode()
    assert states["ambient/home/alex/rmssd"] == b"None"


async def test_rule_traces_give_events_and_the_active_rule(mosquitto: MosquittoBroker) -> None:
    hub = Hub()
    async with publishing(mosquitto, hub), device_client(mosquitto, "ha") as ha:
        await ha.subscribe("ambient/home/rule_event", qos=1)
        await ha.subscribe("ambient/home/active_rule", qos=1)
        hub.publish_trace(TraceRecord(5.0, "evening", "fired", "stress above 70", person="alex"))
        # The event and the state travel separately: either may arrive first.
        event, active = None, None
        async with asyncio.timeout(WAIT_S):
            async for message in ha.messages:
                if message.topic.value == "ambient/home/rule_event":
                    event = message
                elif payload_of(message) == "evening":
                    active = message
                if event is not None and active is not None:
                    break
        assert event is not None and not event.retain
        assert json.loads(payload_of(event))["event_type"] == "fired"
        hub.publish_trace(TraceRecord(9.0, "evening", "recovered", "calm again", person="alex"))
        # A periodic state refresh may repeat "evening" first; "none" must follow (next_on
        # fails the test if it does not arrive in time).
        active = await next_on(ha, "ambient/home/active_rule")
        while payload_of(active) == "evening":
            active = await next_on(ha, "ambient/home/active_rule")
        assert payload_of(active) == "none"


async def test_pause_switch_and_breathing_button_become_hub_commands(
    mosquitto: MosquittoBroker,
) -> None:
    hub = Hub()
    commands: asyncio.Queue[ExternalEvent] = asyncio.Queue()
    hub.on_event(commands.put_nowait)
    async with (
        publishing(mosquitto, hub) as (_publisher, connection),
        device_client(mosquitto, "ha") as ha,
    ):
        await ha.subscribe("ambient/home/paused", qos=1)
        await ha.publish("ambient/home/paused/set", b"ON", qos=1)
        event = await asyncio.wait_for(commands.get(), WAIT_S)
        assert (event.kind, event.key, dict(event.data)) == ("command", "pause", {"paused": True})
        message = await next_on(ha, "ambient/home/paused")
        while payload_of(message) != "ON":
            message = await next_on(ha, "ambient/home/paused")
        await ha.publish("ambient/home/breathing/press", b"PRESS", qos=1)
        event = await asyncio.wait_for(commands.get(), WAIT_S)
        assert (event.key, dict(event.data)) == ("breathing", {})
        await ha.publish("ambient/home/breathing/press", b"smash", qos=1)
        await ha.publish("ambient/home/paused/set", b"OFF", qos=1)
        event = await asyncio.wait_for(commands.get(), WAIT_S)
        assert dict(event.data) == {"paused": False}  # the bad press was ignored, not fatal
        assert connection.counters.get("mqtt:ambient/home/breathing/press", "bad_command") == 1


async def test_ha_birth_message_republishes_discovery(mosquitto: MosquittoBroker) -> None:
    async with publishing(mosquitto, Hub()) as (publisher, _connection):
        await retained(mosquitto, DISCOVERY, 2)
        before = publisher.discovery_publishes
        async with device_client(mosquitto, "ha") as ha:
            await ha.publish("homeassistant/status", b"online", qos=1)
        await asyncio.wait_for(publisher.wait_publishes(before + 1), WAIT_S)
        assert publisher.discovery_publishes == before + 1


async def test_broker_killed_and_restarted_gets_discovery_and_states_again(
    mosquitto: MosquittoBroker,
) -> None:
    hub = Hub()
    async with publishing(mosquitto, hub) as (publisher, connection):
        await retained(mosquitto, DISCOVERY, 2)
        hub.publish_signals(SignalUpdate(1.0, "alex", {"hr": SignalValue(64.0, 1.0)}))
        await asyncio.wait_for(publisher.wait_published(), WAIT_S)
        lost = asyncio.ensure_future(connection.wait_attempt_ended())
        mosquitto.kill()  # no persistence: every retained message is gone
        await asyncio.wait_for(lost, WAIT_S)
        mosquitto.start()
        await asyncio.wait_for(connection.wait_connected(), WAIT_S)
        # The second publication, not the first one's event still set from before the kill.
        await asyncio.wait_for(publisher.wait_publishes(2), WAIT_S)
        found = await retained(mosquitto, DISCOVERY, 2)
        states = await retained(mosquitto, "ambient/home/alex/heart_rate", 1)
        assert connection.reconnects == 1
        assert publisher.discovery_publishes >= 2
    assert json.loads(found["homeassistant/device/ambient_home/config"])["cmps"]["pause"]
    assert states["ambient/home/alex/heart_rate"] == b"64"


async def live_until(
    client: aiomqtt.Client, done: Callable[[list[tuple[str, str]]], bool]
) -> list[tuple[str, str]]:
    """(topic, payload) of each live (not retained) message, until ``done`` says enough."""
    seen: list[tuple[str, str]] = []
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            if not message.retain:
                seen.append((message.topic.value, payload_of(message)))
                if done(seen):
                    return seen
    raise AssertionError("unreachable")


def marker_seen(seen: list[tuple[str, str]]) -> bool:
    return seen[-1][0] == "ambient/home/marker"


async def nothing_sent_yet(connection: MqttConnection, ha: aiomqtt.Client) -> None:
    """A marker on the publisher's own connection reaches HA first: nothing went before it."""
    await connection.publish("ambient/home/marker", "early", qos=1)
    assert await live_until(ha, marker_seen) == [("ambient/home/marker", "early")]


async def test_a_readings_states_wait_the_settle_time_then_go_out_together(
    mosquitto: MosquittoBroker,
) -> None:
    """A reading's states wait (HA may be handling the action that reading has just sent):
    with no rule's trace to say the action was answered, ``SETTLE_S`` on the clock; then each
    topic goes out once, with its latest state."""
    hub, clock = Hub(), VirtualClock(1000.0)
    async with (
        publishing(mosquitto, hub, clock) as (_publisher, connection),
        device_client(mosquitto, "ha") as ha,
    ):
        for topic in ("alex/heart_rate", "marker"):
            await ha.subscribe(f"ambient/home/{topic}", qos=1)
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(121.0, 1000.0)}))
        await clock.run_until(1000.0 + SETTLE_S / 2)  # the publisher ran; time is short of it
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(130.0, 1000.0)}))
        await nothing_sent_yet(connection, ha)

        await clock.run_until(1000.0 + SETTLE_S)
        seen = await live_until(ha, lambda seen: seen[-1][0].endswith("heart_rate"))
        await connection.publish("ambient/home/marker", "after", qos=1)
        seen += await live_until(ha, marker_seen)
    assert seen == [
        ("ambient/home/alex/heart_rate", "130"),  # once: not 121, then 130
        ("ambient/home/marker", "after"),
    ]


async def test_a_rules_trace_sends_what_waits_at_once(mosquitto: MosquittoBroker) -> None:
    """A firing's trace comes after its action was answered: the events, the states that
    waited and the active rule go out then, without waiting out the settle time (the clock
    stands still here), every event in order, each state once."""
    hub, clock = Hub(), VirtualClock(1000.0)
    async with (
        publishing(mosquitto, hub, clock) as (_publisher, connection),
        device_client(mosquitto, "ha") as ha,
    ):
        for topic in ("rule_event", "active_rule", "alex/heart_rate", "marker"):
            await ha.subscribe(f"ambient/home/{topic}", qos=1)
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(121.0, 1000.0)}))
        await clock.run_until(1000.0)  # the publisher ran and waits
        await nothing_sent_yet(connection, ha)

        hub.publish_trace(TraceRecord(1000.0, "evening", "fired", "stress", person="alex"))
        hub.publish_trace(TraceRecord(1000.0, "evening", "recovered", "calm", person="alex"))
        hub.publish_trace(TraceRecord(1000.0, "morning", "fired", "stress", person="alex"))
        seen = await live_until(ha, lambda seen: ("ambient/home/active_rule", "morning") in seen)
        await connection.publish("ambient/home/marker", "after", qos=1)
        seen += await live_until(ha, marker_seen)
    events = [json.loads(payload) for topic, payload in seen if topic.endswith("rule_event")]
    assert [(e["rule"], e["event_type"]) for e in events] == [
        ("evening", "fired"),
        ("evening", "recovered"),
        ("morning", "fired"),
    ]
    states = [(topic, payload) for topic, payload in seen if not topic.endswith("rule_event")]
    assert states == [
        ("ambient/home/alex/heart_rate", "121"),
        ("ambient/home/active_rule", "morning"),  # not "evening", then "none", then this
        ("ambient/home/marker", "after"),
    ]
    found = await retained(mosquitto, "ambient/home/active_rule/#", 2)
    attributes = json.loads(found["ambient/home/active_rule/attributes"])
    assert [entry["rule"] for entry in attributes["active"]] == ["morning"]
    assert found["ambient/home/active_rule"] == b"morning"


async def test_flush_sends_what_waits_at_once(mosquitto: MosquittoBroker) -> None:
    """At shutdown the daemon flushes while the broker is still connected: the last event and
    every changed state reach it though the settle time has not passed (the clock stands
    still here), small changes the tick would have sent included."""
    hub, clock = Hub(), VirtualClock(1000.0)
    async with (
        publishing(mosquitto, hub, clock) as (publisher, _connection),
        device_client(mosquitto, "ha") as ha,
    ):
        await ha.subscribe("ambient/home/rule_event", qos=1)
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(64.0, 1000.0)}))
        await publisher.flush()  # sent: 64
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(66.0, 1000.0)}))
        hub.publish_trace(TraceRecord(1000.0, "evening", "fired", "stress", person="alex"))
        await publisher.flush()  # within the deadband: only a tick would have sent it
        event = await next_on(ha, "ambient/home/rule_event")
    assert json.loads(payload_of(event))["event_type"] == "fired"
    assert (await retained(mosquitto, "ambient/home/alex/heart_rate", 1)) == {
        "ambient/home/alex/heart_rate": b"66"
    }
    assert (await retained(mosquitto, "ambient/home/active_rule", 1)) == {
        "ambient/home/active_rule": b"evening"
    }


async def retained_now(broker: MosquittoBroker, topic_filter: str) -> dict[str, bytes]:
    """Every retained message under ``topic_filter`` now: those the broker sends before a
    marker published after subscribing."""
    found: dict[str, bytes] = {}
    async with device_client(broker, identifier="retained-now") as client:
        await client.subscribe(topic_filter, qos=1)
        await client.subscribe("test/retained_now_marker", qos=1)
        await client.publish("test/retained_now_marker", b"end", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for message in client.messages:
                if message.topic.value == "test/retained_now_marker":
                    return found
                if message.retain and isinstance(message.payload, bytes) and message.payload:
                    found[message.topic.value] = message.payload
    raise AssertionError("unreachable")


async def test_a_person_removed_from_the_config_leaves_no_device_or_states_behind(
    mosquitto: MosquittoBroker,
) -> None:
    sam_device = "homeassistant/device/ambient_home_sam/config"
    async with publishing(mosquitto, Hub(), people=("alex", "sam")):
        assert sam_device in await retained(mosquitto, DISCOVERY, 3)
    sams = set(await retained_now(mosquitto, "ambient/home/sam/#")) | {sam_device}
    assert len(sams) > 20  # every state, the wearable's availability, the device
    async with device_client(mosquitto, "ha") as ha:
        await ha.subscribe(sam_device, qos=1)
        await ha.subscribe("ambient/home/sam/#", qos=1)
        emptied: list[str] = []
        async with publishing(mosquitto, Hub(), people=("alex",)):
            async with asyncio.timeout(WAIT_S):
                async for message in ha.messages:
                    if not message.retain and payload_of(message) == "":
                        emptied.append(message.topic.value)
                    if sams <= set(emptied):
                        break
            kept = await retained_now(mosquitto, "#")
    # HA deletes a device whose discovery document is emptied: that goes first
    assert emptied[0] == sam_device
    assert not any(topic.startswith("ambient/home/sam/") for topic in kept)
    assert "homeassistant/device/ambient_home_alex/config" in kept
    assert kept["ambient/home/alex/heart_rate"] == b"None"
    assert kept["ambient/home/status"] == b"online"


async def test_an_entity_ambient_no_longer_announces_is_removed_from_its_device(
    mosquitto: MosquittoBroker,
) -> None:
    """As after an upgrade that drops an entity, or a config that no longer chooses calming:
    HA removes a component only when the document names it with nothing but its platform."""
    alex_device = "homeassistant/device/ambient_home_alex/config"
    async with publishing(mosquitto, Hub()):
        document = json.loads((await retained(mosquitto, alex_device, 1))[alex_device])
    document["cmps"]["calming_choice"] = {
        **document["cmps"]["heart_rate"],
        "unique_id": "ambient_home_alex_calming_choice",
    }
    async with device_client(mosquitto, "old-ambient") as old:
        await old.publish(alex_device, json.dumps(document).encode(), qos=1, retain=True)
    async with device_client(mosquitto, "ha") as ha:
        await ha.subscribe(alex_device, qos=1)
        await next_on(ha, alex_device)  # the retained one
        async with publishing(mosquitto, Hub()):
            async with asyncio.timeout(WAIT_S):
                while True:
                    latest = json.loads(payload_of(await next_on(ha, alex_device)))
                    if "calming_choice" in latest["cmps"]:
                        break
    assert latest["cmps"]["calming_choice"] == {"p": "sensor"}
    assert latest["cmps"]["heart_rate"]["unique_id"] == "ambient_home_alex_heart_rate"
    # and it stays so, for an HA that was not listening then
    kept = json.loads((await retained_now(mosquitto, alex_device))[alex_device])
    assert kept["cmps"]["calming_choice"] == {"p": "sensor"}


async def test_a_changed_statistics_setting_is_announced_at_the_next_start(
    mosquitto: MosquittoBroker,
) -> None:
    """``statistics: false`` after a start with the default: the retained document HA reads
    has no ``state_class`` on the heart rate any more, so HA keeps no new statistics of it."""
    alex_device = "homeassistant/device/ambient_home_alex/config"
    async with publishing(mosquitto, Hub()):
        before = json.loads((await retained(mosquitto, alex_device, 1))[alex_device])
    async with publishing(mosquitto, Hub(), statistics=False):
        after = json.loads((await retained_now(mosquitto, alex_device))[alex_device])
    assert before["cmps"]["heart_rate"]["state_class"] == "measurement"
    assert "state_class" not in after["cmps"]["heart_rate"]
    assert after["cmps"]["battery"]["state_class"] == "measurement"


async def test_a_long_publish_interval_still_refreshes_states_before_ha_expires_them(
    mosquitto: MosquittoBroker,
) -> None:
    """``publish_interval`` (an hour here) throttles small changes; the refresh that keeps a
    physiological entity from going unavailable (``expire_after``) must not wait for it."""
    hub, clock = Hub(), VirtualClock(1000.0)
    async with (
        publishing(mosquitto, hub, clock) as (publisher, connection),
        device_client(mosquitto, "ha") as ha,
    ):
        for topic in ("alex/heart_rate", "marker"):
            await ha.subscribe(f"ambient/home/{topic}", qos=1)
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(72.0, 1000.0)}))
        await clock.run_until(1000.0 + SETTLE_S)
        assert await live_until(ha, lambda seen: bool(seen)) == [
            ("ambient/home/alex/heart_rate", "72")
        ]
        for step in range(1, 5):  # up to 120 s on: short of expire_after
            await clock.run_until(1000.0 + step * 30.0)
            await publisher.flush()  # it waits for what a tick is sending; nothing changed
        assert clock.now() < 1000.0 + EXPIRE_AFTER_S
        await connection.publish("ambient/home/marker", "after", qos=1)
        seen = await live_until(ha, marker_seen)
    assert ("ambient/home/alex/heart_rate", "72") in seen


async def test_small_changes_wait_the_whole_publish_interval(
    mosquitto: MosquittoBroker,
) -> None:
    """45 s here: the ticks every 30 s that refresh states do not send small changes early."""
    hub, clock = Hub(), VirtualClock(1000.0)
    async with (
        publishing(mosquitto, hub, clock, interval_s=45.0) as (_publisher, connection),
        device_client(mosquitto, "ha") as ha,
    ):
        for topic in ("alex/heart_rate", "marker"):
            await ha.subscribe(f"ambient/home/{topic}", qos=1)
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(72.0, 1000.0)}))
        await clock.run_until(1000.0 + SETTLE_S)
        assert await live_until(ha, lambda seen: bool(seen)) == [
            ("ambient/home/alex/heart_rate", "72")
        ]
        hub.publish_signals(SignalUpdate(1001.0, "alex", {"hr": SignalValue(74.0, 1001.0)}))
        await clock.run_until(1030.0)  # a refresh tick, 30 s into the interval
        await nothing_sent_yet(connection, ha)
        await clock.run_until(1060.0)  # the first tick past 45 s sends it
        # The clock stands still from here, so only that tick can have sent it. (A marker sent
        # now could overtake it: the tick publishes its due states one acknowledgement apart.)
        seen = await live_until(ha, lambda seen: ("ambient/home/alex/heart_rate", "74") in seen)
    assert seen[-1] == ("ambient/home/alex/heart_rate", "74")


async def test_a_reading_while_a_state_awaits_its_acknowledgement_is_still_a_small_change(
    mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HA may get a state before the broker's acknowledgement of it reaches ambient, and the
    next reading may come in between (seen on a loaded machine): 72 then 74 is a small change
    all the same, and waits for the ``publish_interval`` tick. The reading is handed over from
    inside the publish, once the broker has acknowledged, so that order is the one tested."""
    hub, clock = Hub(), VirtualClock(1000.0)
    async with (
        publishing(mosquitto, hub, clock, interval_s=45.0) as (_publisher, connection),
        device_client(mosquitto, "ha") as ha,
    ):
        for topic in ("alex/heart_rate", "marker"):
            await ha.subscribe(f"ambient/home/{topic}", qos=1)
        publish_acknowledged = connection.publish
        read_meanwhile = asyncio.Event()

        async def publish_then_a_reading(
            topic: str, payload: str | bytes, qos: int = 1, retain: bool = False
        ) -> None:
            await publish_acknowledged(topic, payload, qos, retain)
            if (topic, payload) == ("ambient/home/alex/heart_rate", "72"):
                hub.publish_signals(SignalUpdate(1000.1, "alex", {"hr": SignalValue(74.0, 1000.1)}))
                read_meanwhile.set()

        monkeypatch.setattr(connection, "publish", publish_then_a_reading)
        hub.publish_signals(SignalUpdate(1000.0, "alex", {"hr": SignalValue(72.0, 1000.0)}))
        await clock.run_until(1000.0 + SETTLE_S)
        assert await live_until(ha, lambda seen: bool(seen)) == [
            ("ambient/home/alex/heart_rate", "72")
        ]
        await asyncio.wait_for(read_meanwhile.wait(), WAIT_S)
        await clock.run_until(1030.0)  # past another settle time, and a refresh tick
        await nothing_sent_yet(connection, ha)
        await clock.run_until(1060.0)  # the first tick past 45 s sends it
        seen = await live_until(ha, lambda seen: ("ambient/home/alex/heart_rate", "74") in seen)
    assert seen == [("ambient/home/alex/heart_rate", "74")]


def rule_row(rule: str, person: str, episode_since: float | None) -> dict[str, object]:
    """A row of the rules' status, as the daemon's ``rules`` status provider gives them."""
    return {"id": rule, "person": person, "state": "armed", "episode_since": episode_since}


async def active_rule_now(
    publisher: DiscoveryPublisher, broker: MosquittoBroker
) -> tuple[str, list[dict[str, object]]]:
    """The Active rule's state and its attributes' ``active`` list, as retained now."""
    await publisher.flush()
    found = await retained(broker, "ambient/home/active_rule/#", 2)
    attributes = json.loads(found["ambient/home/active_rule/attributes"])
    return found["ambient/home/active_rule"].decode(), attributes["active"]


async def test_a_rule_an_event_fired_does_not_stay_the_active_rule(
    mosquitto: MosquittoBroker,
) -> None:
    """Only a signal trigger opens an episode that a recovery ends: a rule fired by a time, an
    MQTT message or an HA state never recovers, and must not read as active for ever."""
    hub = Hub()
    rows = [rule_row("evening", "alex", 5.0), rule_row("morning", "alex", None)]
    hub.status_providers["rules"] = lambda: rows
    async with publishing(mosquitto, hub) as (publisher, _connection):
        hub.publish_trace(TraceRecord(5.0, "evening", "fired", "stress above 70", person="alex"))
        hub.publish_trace(TraceRecord(6.0, "morning", "fired", "at 07:00", person="alex"))
        state, active = await active_rule_now(publisher, mosquitto)
    assert state == "evening"
    assert [entry["rule"] for entry in active] == ["evening"]


async def test_one_persons_recovery_leaves_the_rule_active_for_another(
    mosquitto: MosquittoBroker,
) -> None:
    hub = Hub()
    async with publishing(mosquitto, hub, people=("alex", "sam")) as (publisher, _connection):
        hub.publish_trace(TraceRecord(5.0, "evening", "fired", "stress", person="alex"))
        hub.publish_trace(TraceRecord(6.0, "evening", "fired", "stress", person="sam"))
        hub.publish_trace(TraceRecord(7.0, "evening", "recovered", "calm", person="alex"))
        state, active = await active_rule_now(publisher, mosquitto)
    assert state == "evening"
    assert [(entry["rule"], entry["person"]) for entry in active] == [("evening", "sam")]


async def test_an_open_episodes_since_is_given_as_an_iso_time_too(
    mosquitto: MosquittoBroker,
) -> None:
    """``since`` stays unix seconds (automations read it); ``since_iso`` beside it is the same
    moment in the config's zone, with its offset, as HA's templates take it (``as_datetime``)."""
    hub = Hub()
    fired_at = 1764950400.0  # 2025-12-05 16:00 UTC
    async with publishing(mosquitto, hub, timezone="Europe/Berlin") as (publisher, _connection):
        hub.publish_trace(TraceRecord(fired_at, "evening", "fired", "stress", person="alex"))
        _state, active = await active_rule_now(publisher, mosquitto)
    assert active[0]["since"] == fired_at
    assert active[0]["since_iso"] == "2025-12-05T17:00:00+01:00"


async def test_the_active_rule_reads_the_rule_engines_own_status(
    mosquitto: MosquittoBroker,
) -> None:
    """As above with the real rules' status rows: the stress rule's episode is open, the
    rule a text state fired has none."""
    moving = {
        "id": "moving",
        "person": "alex",
        "triggers": [{"trigger": "state", "signal": "activity_state", "to": "active"}],
        "actions": [log("moving")],
    }
    rules = await Harness(make_config([stress_rule(cooldown=0), moving])).start()
    await rules.push(0, stress_score=80)
    await rules.push(130, stress_score=85)
    await rules.push(140, activity_state="active")
    assert [(t.rule, t.event) for t in rules.traces] == [("calm", "fired"), ("moving", "fired")]
    hub = Hub()
    hub.status_providers["rules"] = rules.engine.status
    async with publishing(mosquitto, hub) as (publisher, _connection):
        for trace in rules.traces:
            hub.publish_trace(trace)
        state, active = await active_rule_now(publisher, mosquitto)
    assert state == "calm"
    assert [(entry["rule"], entry["person"]) for entry in active] == [("calm", "alex")]


async def test_an_episode_open_across_a_restart_is_still_the_active_rule(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """Its firing's trace was before the restart: the rules' status says it is still open,
    so HA does not read ``none`` (and an automation waiting for it does not run) until it
    recovers."""
    before = await Harness(make_config([stress_rule(cooldown=0)]), Store(tmp_path / "s.db")).start()
    await before.push(0, stress_score=80)
    await before.push(130, stress_score=85)
    rules = await before.restarted(tmp_path / "s.db")
    hub = Hub()
    hub.status_providers["rules"] = rules.engine.status
    async with publishing(mosquitto, hub) as (publisher, _connection):
        state, active = await active_rule_now(publisher, mosquitto)
        assert state == "calm"
        assert [(entry["rule"], entry["person"]) for entry in active] == [("calm", "alex")]
        await rules.push(200, stress_score=50)  # it recovers
        hub.publish_trace(rules.traces[-1])
        state, active = await active_rule_now(publisher, mosquitto)
    assert rules.traces[-1].event == "recovered"
    assert (state, active) == ("none", [])


@pytest.mark.parametrize(
    ("metric", "published"),
    [("rr", True), ("hr", False)],
)
async def test_what_is_not_announced_gets_no_state_or_attributes_either(
    mosquitto: MosquittoBroker, metric: str, published: bool
) -> None:
    """A watch sending heart rate only: its HRV entities are not on the device, so nothing is
    left on the broker for them (the HRV trend's numbers included); beats give them all."""
    sensors = [{"type": "mqtt", "topic": f"watch/{metric}", "person": "alex", "metric": metric}]
    hub = Hub()
    hub.status_providers["insights"] = lambda: {
        "alex": {"hrv_trend": {"state": "normal"}, "day_ln_rmssd_source": "night"}
    }
    paused = False
    hub.status_providers["paused"] = lambda: paused
    async with publishing(mosquitto, hub, sensors=sensors) as (publisher, _connection):
        async with device_client(mosquitto, "ha") as ha:
            await ha.subscribe("ambient/home/paused", qos=1)
            paused = True  # seen after the providers were read again
            async with asyncio.timeout(WAIT_S):
                while payload_of(await next_on(ha, "ambient/home/paused")) != "ON":
                    pass
        await publisher.flush()
        kept = await retained_now(mosquitto, "ambient/home/alex/#")
    beats = {
        "ambient/home/alex/rmssd",
        "ambient/home/alex/hrv_low",
        "ambient/home/alex/hrv_low/attributes",
        "ambient/home/alex/day_ln_rmssd/attributes",
    }
    assert (beats <= set(kept)) is published
    assert bool(beats & set(kept)) is published
    assert kept["ambient/home/alex/heart_rate"] == b"None"


async def test_an_entity_no_longer_announced_leaves_no_retained_state_behind(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The strap swapped for a watch that sends heart rate only: RMSSD leaves the device, and
    its last value (and the HRV trend's numbers) no longer stay on the broker for anyone."""
    strap = [{"type": "ble", "person": "alex", "name": "Polar H10 alex"}]
    watch = [{"type": "mqtt", "topic": "watch/hr", "person": "alex", "metric": "hr"}]
    caplog.set_level(logging.INFO, logger="ambient.actuators.mqtt_discovery")
    hub = Hub()
    hub.status_providers["insights"] = lambda: {"alex": {"hrv_trend": {"state": "normal"}}}
    async with publishing(mosquitto, hub, sensors=strap) as (publisher, _connection):
        hub.publish_signals(SignalUpdate(1.0, "alex", {"rmssd": SignalValue(42.0, 1.0)}))
        await publisher.flush()
    before = await retained_now(mosquitto, "ambient/home/alex/#")
    assert before["ambient/home/alex/rmssd"] == b"42.0"
    assert "ambient/home/alex/hrv_low/attributes" in before
    async with device_client(mosquitto, "ha") as ha:
        await ha.subscribe("ambient/home/alex/rmssd", qos=1)
        await next_on(ha, "ambient/home/alex/rmssd")  # the retained value
        async with publishing(mosquitto, Hub(), sensors=watch):
            emptied = await next_on(ha, "ambient/home/alex/rmssd")
            after = await retained_now(mosquitto, "#")
    assert payload_of(emptied) == ""
    alex = json.loads(after["homeassistant/device/ambient_home_alex/config"])
    assert alex["cmps"]["rmssd"] == {"p": "sensor"}  # announced first: HA removes it
    gone = {"ambient/home/alex/rmssd", "ambient/home/alex/hrv_low/attributes"}
    assert not gone & set(after)
    assert after["ambient/home/alex/heart_rate"] == b"None"
    assert after["ambient/home/alex/wearable"] == b"online"
    # one line says what went, naming the device and its entities (no values)
    removing = [r.getMessage() for r in caplog.records if "no longer announced" in r.getMessage()]
    assert removing == [
        "Removing from Home Assistant the entities of ambient_home_alex no longer announced: "
        "day_ln_rmssd, hrv_low, hrv_trend, rmssd, signal_quality, skin_contact"
    ]
    caplog.clear()  # the next start finds them removed already: nothing more is said
    async with publishing(mosquitto, Hub(), sensors=watch) as (publisher, _connection):
        await publisher.flush()  # after what the start sends
    assert not [r for r in caplog.records if "no longer announced" in r.getMessage()]


async def test_a_start_that_finds_its_device_as_it_would_announce_it_publishes_it_once(
    mosquitto: MosquittoBroker,
) -> None:
    """The removed entities stay named by their platform in the retained document: a later
    start finds them there, and announces the device once (with them), not a second time."""
    strap = [{"type": "ble", "person": "alex", "name": "Polar H10 alex"}]
    watch = [{"type": "mqtt", "topic": "watch/hr", "person": "alex", "metric": "hr"}]
    alex_device = "homeassistant/device/ambient_home_alex/config"
    async with publishing(mosquitto, Hub(), sensors=strap):
        pass
    async with publishing(mosquitto, Hub(), sensors=watch) as (publisher, _connection):
        await publisher.flush()  # after what the start sends
        assert publisher.discovery_publishes == 2  # announced, then without RMSSD & co
    retired = (await retained_now(mosquitto, alex_device))[alex_device]
    assert json.loads(retired)["cmps"]["rmssd"] == {"p": "sensor"}
    async with publishing(mosquitto, Hub(), sensors=watch) as (publisher, _connection):
        await publisher.flush()  # after what the start sends: a second publication waits
        assert publisher.discovery_publishes == 1
        kept = (await retained_now(mosquitto, alex_device))[alex_device]
    assert kept == retired


async def test_removed_entities_are_no_longer_named_once_home_assistant_has_read_them(
    mosquitto: MosquittoBroker,
) -> None:
    """HA sends its birth message once it has read the retained discovery documents: one
    come after the document naming the removed entities by their platform reached the broker
    says HA has read their removal. The device is then announced without them (as HA's docs
    advise), and a later start has nothing to remove."""
    strap = [{"type": "ble", "person": "alex", "name": "Polar H10 alex"}]
    watch = [{"type": "mqtt", "topic": "watch/hr", "person": "alex", "metric": "hr"}]
    alex_device = "homeassistant/device/ambient_home_alex/config"
    async with publishing(mosquitto, Hub(), sensors=strap):
        pass
    async with publishing(mosquitto, Hub(), sensors=watch) as (publisher, _connection):
        await publisher.flush()  # after what the start sends: the removal is on the broker
        named = json.loads((await retained_now(mosquitto, alex_device))[alex_device])
        async with device_client(mosquitto, "ha") as ha:
            await ha.publish("homeassistant/status", b"online", qos=1)
        await asyncio.wait_for(publisher.wait_publishes(3), WAIT_S)
        kept = json.loads((await retained_now(mosquitto, alex_device))[alex_device])
    assert named["cmps"]["rmssd"] == {"p": "sensor"}
    assert "rmssd" not in kept["cmps"]
    assert kept["cmps"]["heart_rate"]["unique_id"] == "ambient_home_alex_heart_rate"
    async with publishing(mosquitto, Hub(), sensors=watch) as (publisher, _connection):
        await publisher.flush()  # after what the start sends
        assert publisher.discovery_publishes == 1
        again = json.loads((await retained_now(mosquitto, alex_device))[alex_device])
    assert again == kept


async def test_removed_entities_learnt_after_the_device_went_out_are_announced_again(
    mosquitto: MosquittoBroker,
) -> None:
    """A document naming a removed entity by its platform, come after this start announced
    the device without it (another copy of ambient, an older one): the device goes out again
    with it, so the broker keeps it for an HA that still has the entity."""
    alex_device = "homeassistant/device/ambient_home_alex/config"
    async with publishing(mosquitto, Hub()) as (publisher, _connection):
        document = json.loads((await retained_now(mosquitto, alex_device))[alex_device])
        document["cmps"]["old_entity"] = {"p": "sensor"}
        async with device_client(mosquitto, "old-ambient") as old:
            await old.publish(alex_device, json.dumps(document).encode(), qos=1, retain=True)
        await asyncio.wait_for(publisher.wait_publishes(2), WAIT_S)
        kept = json.loads((await retained_now(mosquitto, alex_device))[alex_device])
    assert kept["cmps"]["old_entity"] == {"p": "sensor"}
    assert kept["cmps"]["heart_rate"]["unique_id"] == "ambient_home_alex_heart_rate"


async def test_what_was_learnt_of_calming_is_not_published_without_its_entity(
    mosquitto: MosquittoBroker,
) -> None:
    """No rule lets ambient choose its calming: Calming most likely next is not announced, so
    what check-ins learnt stays off the broker too (it would be retained there for ever)."""
    hub = Hub()
    learnt = {"alex": {"state": "breathe", "attributes": {"breathe": {"calmer": 3}}}}
    hub.status_providers["calming"] = lambda: learnt
    async with publishing(mosquitto, hub) as (publisher, _connection):
        await publisher.flush()
        kept = await retained_now(mosquitto, "ambient/home/alex/#")
    assert not any(topic.startswith("ambient/home/alex/calming_choice") for topic in kept)
    assert kept["ambient/home/alex/heart_rate"] == b"None"
