"""Check-ins through the real Home Assistant: the actionable notification is sent to the
person's companion-app notify service, and the button's answer, fired as a real
`mobile_app_notification_action` event through HA's REST API, reaches the episode.

The test HA has no phone: `notify.mobile_app_ambient_phone` is a stand-in service in the test
component (tests/fixtures/ha_config/custom_components/ambient_test); the event is the one the
companion app fires, sent the same way (HA's API)."""

from __future__ import annotations

import asyncio

import pytest
from fixtures.connections import running
from fixtures.homeassistant import HaProbe, HomeAssistantInstance

from ambient.clock import RealClock, VirtualClock
from ambient.config.root import AmbientConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.counters import Counters
from ambient.hub import Hub
from ambient.interventions.checkin_book import CheckInBook
from ambient.interventions.checkin_wiring import add_check_ins, add_entity
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.learner import PRIORS
from ambient.interventions.recorder import EpisodeRecorder
from ambient.store import Store

pytestmark = pytest.mark.ha

T0 = 1_800_000_000.0  # 08:00 UTC
WAIT_S = 10.0


class Links:
    """The daemon's shared connections, as far as check-ins use them (HA only here)."""

    def __init__(self, client: HomeAssistantClient) -> None:
        self._client = client

    def homeassistant(self) -> HomeAssistantClient:
        return self._client


def alex_config(ha: HomeAssistantInstance, check_ins: dict[str, str]) -> AmbientConfig:
    """Alex's home on the test HA, with Alex's ``check_ins`` settings and no store file."""
    return AmbientConfig.model_validate(
        {
            "timezone": "UTC",
            "people": [{"id": "alex", "name": "Alex"}],
            "homeassistant": {"url": ha.url, "token": ha.token, "backoff_max": 0.5},
            "store": {"path": None},
            "check_ins": {"people": {"alex": check_ins}},
        }
    )


async def test_the_notification_is_sent_and_its_button_answers_the_episode(
    ha: HomeAssistantInstance,
) -> None:
    config = alex_config(ha, {"notify": "notify.mobile_app_ambient_phone"})
    assert config.homeassistant is not None
    clock, hub, store = VirtualClock(T0), Hub(), Store(None)
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book)
    client = HomeAssistantClient(config.homeassistant, RealClock(), Counters())
    entity = add_entity(config, clock, book, recorder, hub)
    checkins = add_check_ins(config, clock, store, book, recorder, hub, Links(client), entity)
    assert checkins is not None
    answered = asyncio.Event()
    checkins.answered_listeners.append(lambda _person: answered.set())

    async with running(client), HaProbe(ha.url, ha.token) as probe:
        await probe.subscribe("call_service")
        episode = recorder.start("alex", "calm", "breathe", PRIORS["breathing"], {})
        await clock.run_until(T0 + 1200)  # measured: the question goes out

        sent = await probe.wait_for(
            lambda e: (
                e.event_type == "call_service"
                and e.data.get("service") == "mobile_app_ambient_phone"
            ),
            WAIT_S,
        )
        data = sent.data["service_data"]
        assert data["message"] == "How do you feel after the breathe?"
        assert data["data"]["tag"] == f"ambient_checkin_{episode}"
        assert data["data"]["actions"] == [
            {"action": f"AMBIENT_CHECKIN_{episode}_CALMER", "title": "Calmer"},
            {"action": f"AMBIENT_CHECKIN_{episode}_SAME", "title": "Same"},
            {"action": f"AMBIENT_CHECKIN_{episode}_WORSE", "title": "Worse"},
        ]

        await ha.fire_event("mobile_app_notification_action", {"action": "ALARM"})  # not ours
        await ha.fire_event(
            "mobile_app_notification_action",
            {"action": f"AMBIENT_CHECKIN_{episode}_WORSE", "tag": f"ambient_checkin_{episode}"},
        )
        await asyncio.wait_for(answered.wait(), WAIT_S)
        # ... and it is taken off the person's other devices (a notify group's), silently.
        cleared = await probe.wait_for(
            lambda e: (
                e.event_type == "call_service"
                and e.data.get("service") == "mobile_app_ambient_phone"
                and e.data["service_data"].get("message") == "clear_notification"
            ),
            WAIT_S,
        )
        assert cleared.data["service_data"]["data"] == {"tag": f"ambient_checkin_{episode}"}

    (row,) = book.episodes("alex")
    assert row.check_in == "worse"
    assert checkins.status()["answered"] == 1
    assert checkins.status()["late"] == 0


async def test_a_mood_chosen_in_the_input_select_is_kept_and_teaches(
    ha: HomeAssistantInstance,
) -> None:
    config = alex_config(ha, {"mood_entity": "input_select.alex_mood"})
    assert config.homeassistant is not None
    clock, hub, store = VirtualClock(T0), Hub(), Store(None)
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book)
    recorder.start("alex", "calm", "breathe", PRIORS["breathing"], {})
    await clock.run_until(T0 + 1200)  # measured today
    before = book.beliefs("alex", "calm")["breathe"]
    client = HomeAssistantClient(config.homeassistant, RealClock(), Counters())
    entity = add_entity(config, clock, book, recorder, hub)
    add_check_ins(config, clock, store, book, recorder, hub, Links(client), entity)

    moods = CheckInBook(store)
    mood = "input_select.alex_mood"
    async with HaProbe(ha.url, ha.token) as probe:
        # Yesterday's choice, before ambient connects: the first state seen is not a new mood.
        await probe.call_service(
            "input_select", "select_option", {"entity_id": mood, "option": "ok"}
        )
        async with running(client):
            changed = asyncio.Event()
            client.watch_entities(
                [mood],
                lambda _e, new, old: changed.set() if old is not None and new is not None else None,
            )
            await probe.call_service(
                "input_select", "select_option", {"entity_id": mood, "option": "good"}
            )
            await asyncio.wait_for(changed.wait(), WAIT_S)  # ambient's watcher ran before this

    assert [(m.answer, m.source) for m in moods.rows("alex", "mood")] == [("good", "homeassistant")]
    after = book.beliefs("alex", "calm")["breathe"]
    assert after.mean > before.mean
    assert hub.status_providers["calming"]()["alex"]["attributes"]["rule"] == "calm"
