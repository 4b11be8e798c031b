"""The actuators a config needs, wired with what they address: the HA actuator knows each
person's display name and the home's zone (a session script greets "Alex" by the local hour)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ambient.actuators.factory import build_actuators
from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.clock import VirtualClock
from ambient.config.root import AmbientConfig
from ambient.connections import Connections
from ambient.counters import Counters
from ambient.messages import TraceRecord


def test_the_ha_actuator_knows_names_and_the_zone() -> None:
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex", "name": "Alex"}, {"id": "sam"}],
            "timezone": "Europe/Berlin",
            "homeassistant": {"url": "http://127.0.0.1:9", "token": "not-a-real-token"},
            "store": {"path": None},
        }
    )
    actuators = build_actuators(Connections(config, VirtualClock(0.0), Counters()))
    (ha,) = [a for a in actuators if isinstance(a, HomeAssistantActuator)]
    assert ha.sessions.names == {"alex": "Alex", "sam": "sam"}
    assert ha.sessions.zone == ZoneInfo("Europe/Berlin")


def test_the_ha_actuator_traces_what_a_running_session_does_later() -> None:
    # A breathing session goes on after its action returned: its later turns (it went quiet)
    # reach the rule traces through the same sink as the rules' own.
    config = AmbientConfig.model_validate(
        {
            "homeassistant": {"url": "http://127.0.0.1:9", "token": "not-a-real-token"},
            "store": {"path": None},
        }
    )
    traces: list[TraceRecord] = []
    actuators = build_actuators(
        Connections(config, VirtualClock(0.0), Counters()), trace=traces.append
    )
    (ha,) = [a for a in actuators if isinstance(a, HomeAssistantActuator)]
    assert ha.sessions.trace == traces.append
