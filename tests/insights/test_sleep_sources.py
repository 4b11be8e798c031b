"""Sleep from Home Assistant entities (the companion app, Withings, Oura and Fitbit integrations
all end up as HA sensors): the real HA on loopback, its states set through HA's REST API as an
integration would set them, read by ambient's own HA connection, and the night lands in the
day's summary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fixtures.connections import running
from fixtures.homeassistant import HaProbe, HomeAssistantInstance

from ambient.clock import RealClock, VirtualClock
from ambient.config.root import AmbientConfig
from ambient.connections import Connections
from ambient.counters import Counters
from ambient.insights.days import day_end, day_of
from ambient.insights.service import Insights
from ambient.insights.sources import connect_sleep
from ambient.insights.storage import InsightStore
from ambient.store import Store

pytestmark = pytest.mark.ha

BERLIN = ZoneInfo("Europe/Berlin")
DAY_S = 86400.0
WAIT_S = 15.0
DURATION = "sensor.alex_sleep_duration"
SCORE = "sensor.alex_sleep_score"


@pytest.fixture
async def probe(ha: HomeAssistantInstance) -> AsyncIterator[HaProbe]:
    """A connection of its own to HA, which sets the sleep entities as their integration's
    updates do."""
    async with HaProbe(ha.url, ha.token) as probe:
        yield probe


def sleep_config(ha: HomeAssistantInstance, **source: Any) -> AmbientConfig:
    return AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "homeassistant": {"url": ha.url, "token": ha.token},
            "insights": {
                "sleep": [
                    {"person": "alex", "duration_entity": DURATION, "score_entity": SCORE} | source
                ]
            },
        }
    )


class HeardInsights(Insights):
    """The real insights, telling the test each time a sleep value reached them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heard: list[tuple[str, float]] = []
        self.changed = asyncio.Event()

    def on_sleep(self, person: str, kind: str, value: float, at: float | None = None) -> None:
        super().on_sleep(person, kind, value, at)
        self.heard.append((kind, value))
        self.changed.set()

    async def wait_heard(self, count: int) -> None:
        while len(self.heard) < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), WAIT_S)


@asynccontextmanager
async def sleep_watched(
    config: AmbientConfig, store: Store, clock: VirtualClock
) -> AsyncIterator[HeardInsights]:
    """The insights on ``clock`` with the config's sleep entities watched through ambient's
    own HA connection (real time: it talks to the real HA)."""
    insights = HeardInsights(config.insights, ["alex"], BERLIN, clock, store, lambda _u: None)
    connections = Connections(config, RealClock(), Counters())
    connect_sleep(insights, config, connections)
    async with running(connections.homeassistant()):
        yield insights
    insights.close()


async def test_sleep_from_ha_entities_lands_in_the_days_summary(
    ha: HomeAssistantInstance, probe: HaProbe
) -> None:
    config = sleep_config(ha, duration_unit="min")
    await probe.set_state(DURATION, "unknown")  # nothing tracked yet tonight
    await probe.set_state(SCORE, "unavailable")
    store = Store(None)
    clock = VirtualClock(time.time())  # HA stamps states in real time: the same day
    today = day_of(clock.now(), BERLIN)
    async with sleep_watched(config, store, clock) as insights:
        await probe.set_state(
            DURATION, "450", {"unit_of_measurement": "min", "device_class": "duration"}
        )
        await probe.set_state(SCORE, "82", {"state_class": "measurement"})
        await insights.wait_heard(2)
        clock.advance_to(day_end(today, BERLIN) + 1)  # midnight: the day is closed
    summary = InsightStore(store).summaries("alex")[today]
    assert (summary.sleep_hours, summary.sleep_score) == (7.5, 82.0)


async def test_the_entitys_own_unit_wins_over_the_configured_one(
    ha: HomeAssistantInstance, probe: HaProbe
) -> None:
    # Configured as hours, but the integration reports seconds (as Withings' durations do).
    config = sleep_config(ha, duration_unit="h")
    store = Store(None)
    clock = VirtualClock(time.time())
    async with sleep_watched(config, store, clock) as insights:
        await probe.set_state(
            DURATION, "27000", {"unit_of_measurement": "s", "device_class": "duration"}
        )
        await insights.wait_heard(1)
        while ("hours", 7.5) not in insights.heard:
            await insights.wait_heard(len(insights.heard) + 1)
    opened = insights.open_day("alex")
    assert opened is not None and opened.sleep["hours"] == 7.5


async def test_last_nights_value_seen_at_start_does_not_count_for_a_later_day(
    ha: HomeAssistantInstance, probe: HaProbe
) -> None:
    config = sleep_config(ha, duration_unit="min")
    await probe.set_state(DURATION, "400", {"unit_of_measurement": "min"})
    await probe.set_state(SCORE, "70")
    store = Store(None)
    clock = VirtualClock(time.time() + DAY_S)  # ambient starts a day after they were reported
    async with sleep_watched(config, store, clock) as insights:
        await insights.wait_heard(2)  # the current states, on subscribing
    opened = insights.open_day("alex")
    assert opened is not None and opened.day == day_of(clock.now(), BERLIN)
    assert opened.sleep == {}
