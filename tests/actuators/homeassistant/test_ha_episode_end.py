"""Every episode ends, against a real HA: the rule engine, the action dispatcher and the HA
actuator wired as the daemon wires them.

- A firing no recovery will follow (an MQTT trigger here; time, cron and state triggers are the
  same) ends its episode when its run ends: the lights are restored, the snapshot scene and the
  ``ha.episodes`` record are gone.
- A breathing session with lights ends by itself; the lights come back after its last cue.
- The HA breathing button's session ends the same way.
- An episode whose rule was changed (or removed) while ambient was down is ended at the start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fixtures.homeassistant import HaProbe, SeenEvent, StepClock
from rules.rule_doubles import DictSignals, make_config

from ambient.actuators.commands import CommandHandler
from ambient.actuators.dispatch import ActionDispatcher
from ambient.actuators.ha_episode import NAMESPACE
from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.clock import Clock, RealClock
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.messages import ExternalEvent, SignalUpdate, SignalValue, TraceRecord
from ambient.rules.engine import RuleEngine
from ambient.store import Store

pytestmark = pytest.mark.ha

BED = "light.bed_light"
#: Box breathing, one cycle, pacing the bed light: six steps (opening, four phases, closing).
BREATHING = {
    "action": "breathing",
    "preset": "box",
    "cycles": 1,
    "media_player": "media_player.living_room",
    "tts_service": "tts.demo_say",
    "lights": [BED],
}


def calm(brightness_pct: int = 40) -> dict[str, Any]:
    return {
        "action": "calm_lights",
        "target": [BED],
        "color_temp_kelvin": 2200,
        "brightness_pct": brightness_pct,
    }


def scene_call(service: str) -> Any:
    def check(event: SeenEvent) -> bool:
        data = event.data
        return event.event_type == "call_service" and (data["domain"], data["service"]) == (
            "scene",
            service,
        )

    return check


def calmed(service_data: dict[str, Any]) -> bool:
    return service_data.get("color_temp_kelvin") == 2200


def light_of(state: dict[str, Any] | None) -> tuple[str, int | None, int | None]:
    assert state is not None
    attributes = state["attributes"]
    return state["state"], attributes.get("brightness"), attributes.get("color_temp_kelvin")


async def set_bed(probe: HaProbe) -> None:
    await probe.call_service(
        "light", "turn_on", {"entity_id": BED, "brightness": 200, "color_temp_kelvin": 5000}
    )


class Wired:
    """A rule engine performing through the real HA actuator (``actuator_clock`` paces the
    actuator's sessions; the engine and the dispatcher run on the real clock)."""

    def __init__(
        self,
        rules: list[dict[str, Any]],
        client: HomeAssistantClient,
        store: Store,
        actuator_clock: Clock | None = None,
    ) -> None:
        clock = RealClock()
        self.actuator = HomeAssistantActuator(client, actuator_clock or clock, store)
        dispatcher = ActionDispatcher(clock, [self.actuator], timeout_clock=clock)
        self.signals = DictSignals()
        self.traces: list[TraceRecord] = []
        self.engine = RuleEngine(
            make_config(rules), clock, store, self.signals, dispatcher, self.traces.append
        )
        self.clock = clock

    def push(self, **values: float) -> None:
        now = self.clock.now()
        update = {name: SignalValue(value, now) for name, value in values.items()}
        self.signals.values.setdefault("alex", {}).update(update)
        self.engine.on_signals(SignalUpdate(now, "alex", update))


async def test_a_firing_without_recovery_restores_the_lights_when_its_run_ends(
    ha_client: HomeAssistantClient, probe: HaProbe, tmp_path: Path
) -> None:
    await set_bed(probe)
    store = Store(tmp_path / "ambient.db")
    rule = {"id": "bedtime", "triggers": [{"trigger": "mqtt", "topic": "home/bedtime"}]}
    wired = Wired([rule | {"actions": [calm()]}], ha_client, store)
    await wired.engine.start()

    wired.engine.on_event(ExternalEvent(wired.clock.now(), "mqtt", "home/bedtime", {}))
    await probe.wait_for(scene_call("delete"))

    assert any(calmed(e.data["service_data"]) for e in probe.service_calls("light"))
    assert light_of(await probe.state(BED)) == ("on", 200, 5000)
    assert store.items(NAMESPACE) == {}
    await wired.engine.stop()
    store.close()


async def test_breathing_with_lights_restores_them_after_its_last_cue(
    ha_client: HomeAssistantClient, probe: HaProbe, tmp_path: Path
) -> None:
    await set_bed(probe)
    store = Store(tmp_path / "ambient.db")
    session_clock = StepClock()
    rule = {"id": "wind_down", "triggers": [{"trigger": "mqtt", "topic": "home/wind_down"}]}
    wired = Wired([rule | {"actions": [BREATHING]}], ha_client, store, session_clock)
    await wired.engine.start()

    wired.engine.on_event(ExternalEvent(wired.clock.now(), "mqtt", "home/wind_down", {}))
    for _ in range(4):  # the four phases after the opening: the episode is still on
        await session_clock.fire_next()
    assert probe.service_calls("scene") == [e for e in probe.events if scene_call("create")(e)]
    assert store.items(NAMESPACE) != {}
    await session_clock.fire_next()  # the closing words: the session is over
    await probe.wait_for(scene_call("delete"))

    assert light_of(await probe.state(BED))[:2] == ("on", 200)
    assert store.items(NAMESPACE) == {}
    await wired.engine.stop()
    store.close()


async def test_the_breathing_buttons_session_restores_the_lights_after_its_last_cue(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await set_bed(probe)
    session_clock = StepClock()
    actuator = HomeAssistantActuator(ha_client, session_clock)
    clock = RealClock()
    dispatcher = ActionDispatcher(clock, [actuator], timeout_clock=clock)
    rule = {"id": "wind_down", "triggers": [{"trigger": "mqtt", "topic": "home/wind_down"}]}
    commands = CommandHandler(make_config([rule | {"actions": [BREATHING]}]), clock, dispatcher)

    commands.on_event(ExternalEvent(clock.now(), "command", "breathing", {}))
    for _ in range(5):  # four phases after the opening, closing
        await session_clock.fire_next()
    await probe.wait_for(scene_call("delete"))

    assert light_of(await probe.state(BED))[:2] == ("on", 200)
    assert actuator.diagnostics() == {}  # no episode left


async def test_an_episode_of_a_rule_changed_while_ambient_was_down_ends_at_the_start(
    ha_client: HomeAssistantClient, probe: HaProbe, tmp_path: Path
) -> None:
    await set_bed(probe)
    path = tmp_path / "ambient.db"
    rule: dict[str, Any] = {
        "id": "stressed",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70}],
    }
    store = Store(path)
    before = Wired([rule | {"actions": [calm(40)]}], ha_client, store)
    await before.engine.start()
    before.push(stress_score=80)  # fires; the episode stays open until stress clears
    await probe.wait_for(
        lambda e: e.event_type == "call_service" and calmed(e.data["service_data"])
    )
    assert store.items(NAMESPACE) != {}  # written when the snapshot was taken
    await before.engine.stop()
    store.close()
    assert light_of(await probe.state(BED))[2] == 2200

    store = Store(path)
    after = Wired([rule | {"actions": [calm(30)]}], ha_client, store)  # edited meanwhile
    await after.engine.start()
    await probe.wait_for(scene_call("delete"))

    assert light_of(await probe.state(BED)) == ("on", 200, 5000)
    assert store.items(NAMESPACE) == {}
    await after.engine.stop()
    store.close()
