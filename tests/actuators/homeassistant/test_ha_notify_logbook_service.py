"""notify, logbook and passthrough service calls against a real HA; HA's errors are reported
naming the entity and counted; actions past their time-to-live while HA restarts are dropped."""

from __future__ import annotations

import asyncio
import datetime
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.connections import running
from fixtures.homeassistant import (
    HaProbe,
    HomeAssistantInstance,
    SeenEvent,
    StepClock,
    stepped_link,
)

from ambient.actuators.dispatch import ActionDispatcher
from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.clock import RealClock
from ambient.config.actions import (
    CalmLightsActionConfig,
    LogbookActionConfig,
    NotifyActionConfig,
    ServiceCallActionConfig,
)
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.messages import ActionContext
from ambient.store import Store

pytestmark = pytest.mark.ha


def context(clock: Any, episode: str = "n1", person: str = "alex", **fields: Any) -> ActionContext:
    return ActionContext(
        rule="evening_calm",
        person=person,
        episode=episode,
        time=clock.now(),
        signals={"hr": 97.0},
        **fields,
    )


def notify_trusted(message: str, **fields: Any) -> NotifyActionConfig:
    """A notify action to the trusted person (a notify service of the test HA)."""
    return NotifyActionConfig(
        action="notify", service="notify.trusted_person", message=message, **fields
    )


def to_trusted_person(event: SeenEvent) -> bool:
    """A call of the trusted person's notify service, as HA saw it."""
    return event.event_type == "call_service" and event.data["service"] == "trusted_person"


def to_slow_phone(event: SeenEvent) -> bool:
    """A call of the notify service the test HA holds without answering until released."""
    return event.event_type == "call_service" and event.data["service"] == "slow_phone"


async def test_notify_is_sent_once_per_interval(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, clock)
    action = notify_trusted("{person} seems stressed (HR {hr})", title="ambient", min_interval=600)
    first = await actuator.perform(action, context(clock))
    clock.advance_to(clock.now() + 300)
    second = await actuator.perform(action, context(clock))
    clock.advance_to(clock.now() + 301)
    third = await actuator.perform(action, context(clock))

    assert (first.ok, second.ok, third.ok) == (True, True, True)
    assert "not sent" in second.detail
    sent = await probe.wait_count(to_trusted_person, 2)
    assert [e.data["service_data"] for e in sent] == [
        {"message": "alex seems stressed (HR 97.0)", "title": "ambient"}
    ] * 2


async def test_min_interval_outlasts_a_restart_and_a_config_reload(
    ha_client: HomeAssistantClient, probe: HaProbe, tmp_path: Path
) -> None:
    # A restart (or a config reload, which builds the actuator anew) must not tell the trusted
    # person "alex seems stressed" a second time five minutes after the first.
    clock = StepClock()
    store = Store(tmp_path / "ambient.db")
    action = notify_trusted("{person} seems stressed")
    first = await HomeAssistantActuator(ha_client, clock, store).perform(action, context(clock))
    store.close()
    clock.advance_to(clock.now() + 300)
    store = Store(tmp_path / "ambient.db")
    restarted = HomeAssistantActuator(ha_client, clock, store)
    again = await restarted.perform(action, context(clock))
    sam = await restarted.perform(action, context(clock, person="sam"))
    clock.advance_to(clock.now() + 3301)
    later = await restarted.perform(action, context(clock))

    assert [first.performed, again.performed, sam.performed, later.performed] == [
        True,
        False,
        True,
        True,
    ]
    assert again.detail == "not sent: notify.trusted_person had this message 300 s ago"
    sent = await probe.wait_count(to_trusted_person, 3)
    assert [e.data["service_data"]["message"] for e in sent] == [
        "alex seems stressed",
        "sam seems stressed",
        "alex seems stressed",
    ]
    store.close()


async def test_min_interval_holds_back_the_same_message_not_the_next_one(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    # The trusted person is told Alex is stressed; the all-clear minutes later, and Sam's own
    # episode, must still reach them: only the same message for the same person is repeated.
    clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, clock)
    stressed = notify_trusted("{person} seems stressed")
    calmer = notify_trusted("{person} is calmer now")
    results = [await actuator.perform(stressed, context(clock))]
    clock.advance_to(clock.now() + 120)
    results.append(await actuator.perform(stressed, context(clock, person="sam")))
    results.append(await actuator.perform(calmer, context(clock, recovery=True)))
    results.append(await actuator.perform(stressed, context(clock)))

    assert [r.detail.startswith("sent") for r in results] == [True, True, True, False]
    # Held back is not performed: no calming episode opens on a message nobody got.
    assert [r.performed for r in results] == [True, True, True, False]
    sent = await probe.wait_count(to_trusted_person, 3)
    assert [e.data["service_data"]["message"] for e in sent] == [
        "alex seems stressed",
        "sam seems stressed",
        "alex is calmer now",
    ]


async def test_placeholders_in_notify_data_are_filled(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    # The companion app's tag (one notification per person, replaced) and an action's title.
    clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, clock)
    action = NotifyActionConfig(
        action="notify",
        service="notify.mobile_app_ambient_phone",
        message="{person} seems stressed",
        data={
            "tag": "ambient-{person}",
            "group": "ambient",
            "actions": [{"action": "CALL", "title": "Call {person}"}],
        },
    )
    assert (await actuator.perform(action, context(clock))).ok
    sent = await probe.wait_for(
        lambda e: e.event_type == "call_service" and e.data["service"] == "mobile_app_ambient_phone"
    )
    assert sent.data["service_data"]["data"] == {
        "tag": "ambient-alex",
        "group": "ambient",
        "actions": [{"action": "CALL", "title": "Call alex"}],
    }


async def test_logbook_entry_says_what_and_why(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await probe.subscribe("logbook_entry")
    actuator = HomeAssistantActuator(ha_client, RealClock())
    action = LogbookActionConfig(
        action="logbook",
        message="{rule} {event}: warm lights for {person}",
        entity_id="light.bed_light",
    )
    result = await actuator.perform(action, context(RealClock()))
    assert result.ok
    entry = await probe.wait_for(lambda e: e.event_type == "logbook_entry")
    assert entry.data["name"] == "ambient"
    assert entry.data["message"] == "evening_calm fired: warm lights for alex"
    assert entry.data["entity_id"] == "light.bed_light"


async def test_passthrough_service_call_changes_ha(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await probe.call_service("input_boolean", "turn_off", {"entity_id": "input_boolean.sleeping"})
    actuator = HomeAssistantActuator(ha_client, RealClock())
    action = ServiceCallActionConfig(
        action="input_boolean.turn_on", target={"entity_id": "input_boolean.sleeping"}
    )
    assert (await actuator.perform(action, context(RealClock()))).ok
    state = await probe.state("input_boolean.sleeping")
    assert state is not None and state["state"] == "on"


async def test_a_date_in_an_actions_data_reaches_ha_as_iso_8601(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """YAML reads `message: 2025-01-31` as a date, which JSON cannot carry as it is."""
    document = yaml.safe_load("action: logbook.log\ndata: {name: ambient, message: 2025-01-31}")
    action = ServiceCallActionConfig.model_validate(document)
    assert action.data["message"] == datetime.date(2025, 1, 31)
    actuator = HomeAssistantActuator(ha_client, RealClock())

    assert (await actuator.perform(action, context(RealClock()))).ok
    calls = await probe.wait_count(lambda e: e.data.get("service") == "log", 1)
    assert calls[0].data["service_data"]["message"] == "2025-01-31"


async def test_ha_rejecting_a_call_is_a_clear_counted_failure(
    ha_client: HomeAssistantClient,
) -> None:
    actuator = HomeAssistantActuator(ha_client, RealClock())
    bad_value = ServiceCallActionConfig(
        action="input_number.set_value",
        target={"entity_id": "input_number.stress_threshold"},
        data={"value": "not a number"},
    )
    result = await actuator.perform(bad_value, context(RealClock()))
    assert not result.ok
    assert "input_number.stress_threshold" in result.detail
    assert ha_client.counters.get("ha:input_number.stress_threshold", "service_error") == 1

    no_service = ServiceCallActionConfig(
        action="light.make_coffee", target={"entity_id": "light.bed_light"}
    )
    result = await actuator.perform(no_service, context(RealClock()))
    assert not result.ok
    assert "light.bed_light" in result.detail and "not_found" in result.detail
    assert ha_client.counters.get("ha:light.bed_light", "service_error") == 1


async def test_unknown_media_player_is_named(ha_client: HomeAssistantClient) -> None:
    from ambient.config.actions import PlayCalmingActionConfig

    actuator = HomeAssistantActuator(ha_client, RealClock())
    action = PlayCalmingActionConfig(
        action="play_calming", target="media_player.nowhere", media_content_id="calm"
    )
    result = await actuator.perform(action, context(RealClock()))
    assert not result.ok
    assert "media_player.nowhere" in result.detail
    assert ha_client.counters.get("ha:media_player.nowhere", "unknown_entity") == 1


async def test_an_entity_ha_does_not_have_fails_the_action_in_one_line(
    ha_client: HomeAssistantClient, probe: HaProbe, caplog: pytest.LogCaptureFixture
) -> None:
    """HA performs a call on an unknown entity without complaint: ambient must not say done."""
    actuator = HomeAssistantActuator(ha_client, RealClock())
    passthrough = ServiceCallActionConfig(
        action="input_boolean.turn_on", target={"entity_id": "input_boolean.slepping"}
    )
    lights = CalmLightsActionConfig(
        action="calm_lights", target=["light.bed_light", "light.bedrom"]
    )
    with caplog.at_level(logging.ERROR, logger="ambient"):
        first = await actuator.perform(passthrough, context(RealClock()))
        second = await actuator.perform(lights, context(RealClock()))

    assert not first.ok and "input_boolean.slepping" in first.detail
    assert not second.ok and "light.bedrom" in second.detail
    assert [r.getMessage() for r in caplog.records] == [
        "Rule evening_calm: service_call not performed: "
        "Home Assistant has no entity input_boolean.slepping",
        "Rule evening_calm: calm_lights not performed: Home Assistant has no entity light.bedrom",
    ]
    assert ha_client.counters.get("ha:input_boolean.slepping", "unknown_entity") == 1
    assert ha_client.counters.get("ha:light.bedrom", "unknown_entity") == 1
    assert ha_client.counters.get("ha:light.bed_light", "unknown_entity") == 0
    # nothing was asked of HA for the light that does exist either (no half-calmed room)
    await probe.call_service("input_boolean", "toggle", {"entity_id": "input_boolean.sleeping"})
    calls = await probe.wait_count(lambda e: e.event_type == "call_service", 1)
    assert [(e.data["domain"], e.data["service"]) for e in calls] == [("input_boolean", "toggle")]


async def test_an_entity_ha_gains_after_a_failed_action_is_found_on_the_next(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """A missing entity is not remembered as missing: an integration that comes up late (or a
    typo mended in HA) lets the next action through without a restart of ambient."""
    entity_id = "sensor.ambient_test_appears_later"
    actuator = HomeAssistantActuator(ha_client, RealClock())
    action = ServiceCallActionConfig(
        action="logbook.log", data={"name": "ambient", "message": "x", "entity_id": entity_id}
    )
    assert not (await actuator.perform(action, context(RealClock()))).ok

    await probe.set_state(entity_id, "on")
    assert (await actuator.perform(action, context(RealClock()))).ok
    assert ha_client.counters.get(f"ha:{entity_id}", "unknown_entity") == 1


async def test_an_entity_ha_removes_after_an_action_found_it_fails_the_next_action(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """An entity renamed or removed in HA while ambient runs is noticed without a restart: the
    next action fails naming it instead of being reported performed while nothing happened."""
    entity_id = "sensor.ambient_test_removed_later"
    await probe.set_state(entity_id, "on")
    actuator = HomeAssistantActuator(ha_client, RealClock())
    action = ServiceCallActionConfig(
        action="logbook.log", data={"name": "ambient", "message": "x", "entity_id": entity_id}
    )
    assert (await actuator.perform(action, context(RealClock()))).ok

    seen, gone = asyncio.Event(), asyncio.Event()

    def on_state(_: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> None:
        (seen if new is not None else gone).set()

    ha_client.watch_entities([entity_id], on_state)
    await seen.wait()  # the client follows the entity: its removal will reach it
    await probe.remove_state(entity_id)
    await gone.wait()

    result = await actuator.perform(action, context(RealClock()))
    assert not result.ok and entity_id in result.detail


async def test_ha_restart_mid_episode_reconnects_and_drops_actions_past_their_ttl(
    ha: HomeAssistantInstance, ha_client: HomeAssistantClient
) -> None:
    clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, clock)
    dispatcher = ActionDispatcher(clock, [actuator])
    calm = CalmLightsActionConfig(
        action="calm_lights", target=["light.bed_light"], brightness_pct=35, ttl=5
    )
    async with HaProbe(ha.url, ha.token) as probe:
        await probe.call_service("light", "turn_off", {"entity_id": "light.bed_light"})
        assert (await dispatcher.perform(calm, context(clock, "r1"))).ok

    # HA goes away mid-episode; one action is due while it is down.
    await asyncio.to_thread(ha.stop)
    await asyncio.wait_for(_until(ha_client, lambda: not ha_client.connected), 10)
    late = asyncio.create_task(
        dispatcher.perform(
            ServiceCallActionConfig(
                action="input_boolean.turn_on",
                target={"entity_id": "input_boolean.presence"},
                ttl=5,
            ),
            context(clock, "r1"),
        )
    )
    started = clock.now()
    attempts_at = []
    while not late.done():
        stepping = asyncio.create_task(clock.fire_next())
        await asyncio.wait({late, stepping}, return_when=asyncio.FIRST_COMPLETED)
        if stepping.done():
            attempts_at.append(round(stepping.result() - started, 3))
        else:
            stepping.cancel()
    dropped = late.result()
    # Retried with backoff (1 s, 2 s, then up to the deadline), never after it.
    assert attempts_at[:2] == [1.001, 3.002]
    assert max(attempts_at) <= 5.01
    assert not dropped.ok
    assert dropped.detail.startswith("dropped: time-to-live passed")

    # HA is back (demo states reset on restart): ambient reconnects by itself ...
    await asyncio.to_thread(ha.start)
    await asyncio.wait_for(ha_client.wait_connected(), 30)
    async with HaProbe(ha.url, ha.token) as probe:
        await probe.subscribe("call_service")
        await probe.call_service(
            "input_boolean", "turn_off", {"entity_id": "input_boolean.presence"}
        )
        # ... and a fresh action in the same episode is performed ...
        fresh = ServiceCallActionConfig(
            action="input_boolean.turn_on", target={"entity_id": "input_boolean.sleeping"}
        )
        assert (await dispatcher.perform(fresh, context(clock, "r1"))).ok
        sleeping = await probe.state("input_boolean.sleeping")
        assert sleeping is not None and sleeping["state"] == "on"
        # ... while the one past its TTL was never replayed.
        presence = await probe.state("input_boolean.presence")
        assert presence is not None and presence["state"] == "off"
        assert not [
            e
            for e in probe.service_calls("input_boolean")
            if e.data["service_data"].get("entity_id") == "input_boolean.presence"
            and e.data["service"] == "turn_on"
        ]
        # Recovery after the restart: the snapshot scene died with HA; nothing crashes.
        await dispatcher.end_episode(context(clock, "r1"))


async def _until(client: HomeAssistantClient, predicate: Any) -> None:
    if predicate():
        return
    changed = asyncio.Event()
    client.on_status(lambda _status: changed.set() if predicate() else None)
    await changed.wait()


async def test_a_notify_home_assistant_does_not_answer_in_time_is_not_sent_again(
    ha: HomeAssistantInstance, ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """HA carries a message out while ambient waits (its push to the phone hangs): after the
    attempt's timeout the message may well have arrived, so it is not sent again within the
    action's time-to-live — the trusted person's phone does not ring once per retry."""
    clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, clock)
    dispatcher = ActionDispatcher(clock, [actuator])
    action = NotifyActionConfig(
        action="notify", service="notify.slow_phone", message="{person} seems stressed", ttl=60
    )

    sending = asyncio.create_task(dispatcher.perform(action, context(clock, "n9")))
    try:
        await probe.wait_for(to_slow_phone)  # HA has the message, and does not answer yet
        result = await clock.fire_until_done(sending)  # its timeout, and any retries after it
    finally:
        await ha.fire_event("ambient_test_release", {})

    assert len([e for e in probe.events if to_slow_phone(e)]) == 1
    assert not result.ok
    assert result.detail == (
        "not sent again: notify.slow_phone did not answer in time (the message may have arrived)"
    )


async def test_an_unanswered_notify_whose_retry_never_comes_is_forgotten_past_its_ttl(
    ha: HomeAssistantInstance, ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """A message HA did not answer is kept so that its retry does not send it again; when no
    retry comes (ambient stopping cut the attempt short, the queue gave up), it is forgotten
    once the action's time-to-live is past, not kept for the whole run."""
    clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, clock)
    slow = NotifyActionConfig(
        action="notify", service="notify.slow_phone", message="{person} seems stressed", ttl=60
    )

    sending = asyncio.create_task(actuator.perform(slow, context(clock, "n11")))
    try:
        await probe.wait_for(to_slow_phone)  # HA has the message, and does not answer yet
        sending.cancel()  # the attempt cut short, and no retry follows
        with pytest.raises(asyncio.CancelledError):
            await sending
    finally:
        await ha.fire_event("ambient_test_release", {})
    assert len(actuator._unanswered) == 1  # kept for a retry, while one may come

    clock.advance_to(clock.now() + 61)  # past its time-to-live: no retry comes now
    result = await actuator.perform(notify_trusted("{person} is calm again"), context(clock))

    assert result.ok
    assert actuator._unanswered == {}


async def test_a_notify_whose_link_drops_before_home_assistant_answers_is_not_sent_again(
    ha: HomeAssistantInstance, probe: HaProbe
) -> None:
    """The link to HA drops while HA carries a message out (its push to the phone is under
    way): the message may well have arrived, so once the link is back the retry does not send
    it again. The link runs on a step clock of its own, so it comes back only when the test
    lets it."""
    link = stepped_link(ha)
    clock = StepClock()
    dispatcher = ActionDispatcher(clock, [HomeAssistantActuator(link.client, clock)])
    action = NotifyActionConfig(
        action="notify", service="notify.slow_phone", message="{person} seems stressed", ttl=60
    )

    async with running(link.client) as client:
        try:
            sending = asyncio.create_task(dispatcher.perform(action, context(clock, "n10")))
            await probe.wait_for(to_slow_phone)  # HA has the message, and does not answer yet
            await link.drop()
            await link.clock.fire_next()  # the link's backoff: it connects again
            await client.wait_connected()
            result = await clock.fire_until_done(sending)  # the retry, once the link is back
        finally:
            await ha.fire_event("ambient_test_release", {})

    assert len([e for e in probe.events if to_slow_phone(e)]) == 1
    assert not result.ok
    assert result.detail == (
        "not sent again: the link to Home Assistant dropped before notify.slow_phone answered "
        "(the message may have arrived)"
    )
