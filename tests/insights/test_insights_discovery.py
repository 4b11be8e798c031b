"""The insights in Home Assistant through MQTT discovery (a real broker; a client plays HA):
"HRV below normal" turns on with the trend's numbers as attributes, the last day's summaries
are plain measurements."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, make_connection, retained, running

from ambient.actuators.mqtt_discovery import DiscoveryPublisher
from ambient.clock import RealClock
from ambient.config.root import AmbientConfig
from ambient.hub import Hub
from ambient.messages import SignalUpdate, SignalValue

TREND = {
    "trend": "low",
    "why": "ln RMSSD has stayed below normal (CUSUM 3.1 > 2.5 SD)",
    "mean_7d": 3.81,
    "band_low": 3.85,
    "band_high": 4.1,
    "cusum": 3.1,
    "valid_days_7d": 6,
    "valid_days_range": 50,
}


async def test_hrv_low_turns_on_with_the_trend_as_attributes(mosquitto: MosquittoBroker) -> None:
    config = AmbientConfig.model_validate(
        {
            "instance": "home",
            "people": [{"id": "alex"}],
            # A strap: the HRV entities are announced for someone whose sensors give beats.
            "sensors": [{"type": "ble", "person": "alex", "name": "Polar H10 alex"}],
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "publish_interval": 0.05},
        }
    )
    hub = Hub()
    hub.status_providers["insights"] = lambda: {
        "alex": {"hrv_trend": TREND, "day": "x", "day_ln_rmssd_source": "quietest_5min"}
    }
    connection = make_connection(mosquitto, instance="home")
    publisher = DiscoveryPublisher(config, connection, hub, RealClock())
    task = asyncio.ensure_future(publisher.run())
    try:
        async with running(connection), device_client(mosquitto, "ha") as ha:
            await asyncio.wait_for(publisher.wait_published(), WAIT_S)
            await ha.subscribe("ambient/home/alex/hrv_low/#", qos=1)
            hub.publish_signals(
                SignalUpdate(
                    1.0,
                    "alex",
                    {
                        "hrv_low": SignalValue(True, 1.0, str(TREND["why"])),
                        "day_stress_minutes": SignalValue(42, 1.0),
                    },
                )
            )
            seen: dict[str, str] = {}
            async with asyncio.timeout(WAIT_S):
                async for message in ha.messages:
                    assert isinstance(message.payload, bytes)
                    seen[message.topic.value] = message.payload.decode()
                    if seen.get("ambient/home/alex/hrv_low") == "ON" and seen.get(
                        "ambient/home/alex/hrv_low/attributes"
                    ):
                        break
            states = await retained(mosquitto, "ambient/home/alex/day_stress_minutes", 1)
            # A night's value and a quiet daytime moment's share HA's one history: which is it.
            source = await retained(mosquitto, "ambient/home/alex/day_ln_rmssd/attributes", 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert json.loads(seen["ambient/home/alex/hrv_low/attributes"]) == TREND
    assert states["ambient/home/alex/day_stress_minutes"] == b"42"
    assert json.loads(source["ambient/home/alex/day_ln_rmssd/attributes"]) == {
        "source": "quietest_5min"
    }
