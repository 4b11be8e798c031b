"""Two episodes holding one light or speaker, one wanting it put back at its end and the other
not (``restore: false``, ``stop_on_recovery: false``): the putting back is owed while either
holds it, and the last to end does it, whichever ended first. ``ambient status`` says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fixtures.homeassistant import HaProbe, StepClock

from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.clock import RealClock
from ambient.config.actions import CalmLightsActionConfig, PlayCalmingActionConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.messages import ActionContext
from ambient.store import Store

pytestmark = pytest.mark.ha

BED = "light.bed_light"
PLAYER = "media_player.bedroom"


def context(episode: str) -> ActionContext:
    return ActionContext(rule="evening_calm", person="alex", episode=episode, time=0.0)


def calm(restore: bool) -> CalmLightsActionConfig:
    return CalmLightsActionConfig(
        action="calm_lights", target=[BED], brightness_pct=30, restore=restore
    )


def put_back(actuator: HomeAssistantActuator, kind: str, entity_id: str) -> dict[str, bool]:
    return {
        episode: held[kind][entity_id]["put_back"]
        for episode, held in actuator.diagnostics().items()
    }


@pytest.mark.parametrize("ending_first", ["keen", "lazy"])
async def test_a_shared_light_is_restored_by_the_last_to_end_if_either_wanted_it(
    ha_client: HomeAssistantClient, probe: HaProbe, ending_first: str
) -> None:
    # "keen" restores its lights; "lazy" (restore: false) leaves them calm. Which of them
    # calmed first only decides whose snapshot scene they share (tested with calm_lights).
    await probe.call_service(
        "light", "turn_on", {"entity_id": BED, "brightness": 200, "color_temp_kelvin": 5000}
    )
    actuator = HomeAssistantActuator(ha_client, RealClock())
    for episode in ("keen", "lazy"):
        assert (await actuator.perform(calm(episode == "keen"), context(episode))).ok
    # Both say the light will be put back: it will, by whichever of them ends last.
    assert put_back(actuator, "lights", BED) == {"keen": True, "lazy": True}

    await actuator.end_episode(context(ending_first))
    still = await probe.state(BED)
    assert still is not None and still["attributes"]["brightness"] == round(255 * 0.3)
    await actuator.end_episode(context("lazy" if ending_first == "keen" else "keen"))

    restored = await probe.state(BED)
    assert restored is not None
    assert (restored["attributes"]["brightness"], restored["attributes"]["color_temp_kelvin"]) == (
        200,
        5000,
    )
    for episode in ("keen", "lazy"):
        assert await probe.state(f"scene.ambient_{episode}_light_bed_light") is None


async def test_a_light_no_episode_restores_is_not_listed_as_put_back(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await probe.call_service("light", "turn_on", {"entity_id": BED, "brightness": 200})
    actuator = HomeAssistantActuator(ha_client, RealClock())
    assert (await actuator.perform(calm(False), context("lazy"))).ok
    assert (await actuator.perform(calm(False), context("lazier"))).ok

    assert put_back(actuator, "lights", BED) == {"lazy": False, "lazier": False}
    await actuator.end_episode(context("lazy"))
    await actuator.end_episode(context("lazier"))
    left = await probe.state(BED)
    assert left is not None and left["attributes"]["brightness"] == round(255 * 0.3)
    assert await probe.state("scene.ambient_lazy_light_bed_light") is None


@pytest.mark.parametrize("ending_first", ["keen", "lazy"])
async def test_a_shared_player_is_stopped_by_the_last_to_end_if_either_wanted_it(
    ha_client: HomeAssistantClient, probe: HaProbe, ending_first: str
) -> None:
    await probe.call_service(
        "media_player", "volume_set", {"entity_id": PLAYER, "volume_level": 0.6}
    )
    actuator = HomeAssistantActuator(ha_client, StepClock())
    fields: dict[str, Any] = {
        "action": "play_calming",
        "target": PLAYER,
        "media_content_id": "calm",
        "ramp": 0,
        "interrupt": True,
        "volume": 0.3,
    }
    for episode in ("keen", "lazy"):
        action = PlayCalmingActionConfig(**fields, stop_on_recovery=episode == "keen")
        assert (await actuator.perform(action, context(episode))).ok
    assert put_back(actuator, "media", PLAYER) == {"keen": True, "lazy": True}

    await actuator.end_episode(context(ending_first))
    still = await probe.state(PLAYER)
    assert still is not None and still["state"] != "off"
    await actuator.end_episode(context("lazy" if ending_first == "keen" else "keen"))

    stopped = await probe.state(PLAYER)
    assert stopped is not None and stopped["state"] == "off"
    await probe.call_service("media_player", "turn_on", {"entity_id": PLAYER})
    back_on = await probe.state(PLAYER)
    assert back_on is not None and back_on["attributes"]["volume_level"] == 0.6


async def test_a_player_left_playing_is_not_listed_as_put_back(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    actuator = HomeAssistantActuator(ha_client, StepClock())
    action = PlayCalmingActionConfig(
        action="play_calming",
        target=PLAYER,
        media_content_id="calm",
        ramp=0,
        interrupt=True,
        stop_on_recovery=False,
    )
    assert (await actuator.perform(action, context("lazy"))).ok
    assert put_back(actuator, "media", PLAYER) == {"lazy": False}


async def test_the_restore_handed_on_outlasts_a_restart(
    ha_client: HomeAssistantClient, probe: HaProbe, tmp_path: Path
) -> None:
    # "keen" ends first and hands its restore on to "lazy", which is open across a restart.
    await probe.call_service(
        "light", "turn_on", {"entity_id": BED, "brightness": 200, "color_temp_kelvin": 5000}
    )
    store = Store(tmp_path / "ambient.db")
    before = HomeAssistantActuator(ha_client, RealClock(), store)
    assert (await before.perform(calm(True), context("keen"))).ok
    assert (await before.perform(calm(False), context("lazy"))).ok
    await before.end_episode(context("keen"))
    store.close()

    store = Store(tmp_path / "ambient.db")
    after = HomeAssistantActuator(ha_client, RealClock(), store)
    assert put_back(after, "lights", BED) == {"lazy": True}
    await after.end_episode(context("lazy"))

    restored = await probe.state(BED)
    assert restored is not None and restored["attributes"]["brightness"] == 200
    store.close()
