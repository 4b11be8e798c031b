"""The notify services a config names are looked up in the real Home Assistant as soon as
ambient connects: a typo is one warning at start (with the service meant), not a failed
message at the first episode, days later.

The test HA has no phone: ``notify.mobile_app_ambient_phone`` and ``notify.trusted_person`` are
stand-in services of its test component, listed by HA as a companion app's would be."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from fixtures.connections import running
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from fixtures.log_lines import Heard, heard_from

from ambient.actuators.factory import build_actuators
from ambient.actuators.ha_notify_services import (
    NotifyServiceCheck,
    closest_service,
    named_notify_services,
)
from ambient.clock import RealClock
from ambient.config.root import AmbientConfig
from ambient.connections import Connections
from ambient.counters import Counters

WAIT_S = 10.0


def home(ha_url: str, token: str) -> AmbientConfig:
    """Notify services named by a rule, the check-ins and the weekly report; two are typos."""
    return AmbientConfig.model_validate(
        {
            "timezone": "UTC",
            "people": [{"id": "alex"}],
            "homeassistant": {"url": ha_url, "token": token, "backoff_max": 0.5},
            "store": {"path": None},
            "rules": [
                {
                    "id": "night_watch",
                    "person": "alex",
                    "triggers": [{"trigger": "signal", "signal": "hr", "above": 120}],
                    "actions": [{"action": "log", "message": "high"}],
                    "escalate": [
                        {
                            "after": "15min",
                            "actions": [
                                {
                                    "action": "notify",
                                    "service": "notify.trusted_persn",
                                    "message": "{person} is stressed",
                                }
                            ],
                        }
                    ],
                    "on_recovery": [
                        {
                            "action": "notify",
                            "service": "notify.trusted_person",
                            "message": "all clear",
                        }
                    ],
                }
            ],
            "check_ins": {"people": {"alex": {"notify": "notify.mobile_app_ambient_phone"}}},
        }
    )


def test_every_notify_service_is_named_with_where_the_config_names_it() -> None:
    config = home("http://127.0.0.1:9", "not-a-real-token")
    assert named_notify_services(config) == {
        "notify.trusted_persn": ["rule night_watch"],
        "notify.trusted_person": ["rule night_watch"],
        "notify.mobile_app_ambient_phone": ["check_ins.people.alex.notify"],
    }


@pytest.fixture
def heard() -> Iterator[Heard]:
    """The check's lines; done at its last one (DEBUG: how many were looked up)."""
    with heard_from("ambient.actuators.ha_notify_services", "notify services looked up") as handler:
        yield handler


@pytest.mark.ha
async def test_a_notify_service_home_assistant_lacks_is_a_warning_as_ambient_connects(
    ha: HomeAssistantInstance, heard: Heard
) -> None:
    connections = Connections(home(ha.url, ha.token), RealClock(), Counters())
    build_actuators(connections)
    async with running(connections.homeassistant()):
        await asyncio.wait_for(heard.done.wait(), WAIT_S)

    warnings = [line for level, line in heard.lines if level == logging.WARNING]
    assert warnings == [
        "Home Assistant has no notify.trusted_persn (rule night_watch): nothing sent through it "
        "will arrive; did you mean notify.trusted_person?"
    ]


@pytest.mark.ha
async def test_a_service_still_missing_at_the_next_connection_is_not_said_again(
    ha: HomeAssistantInstance, heard: Heard
) -> None:
    """Each connection (HA restarted, the link back) looks again; a service still missing is
    said once while it stays missing, as an entity is (the journal's policy)."""
    connections = Connections(home(ha.url, ha.token), RealClock(), Counters())
    async with running(connections.homeassistant()):
        check = NotifyServiceCheck(
            connections.homeassistant(), {"notify.trusted_persn": ["rule night_watch"]}
        )
        assert check.task is not None
        assert await asyncio.wait_for(check.task, WAIT_S) == ["notify.trusted_persn"]
        for _reconnect in range(2):
            assert await asyncio.wait_for(check.look_up(), WAIT_S) == ["notify.trusted_persn"]

    warnings = [line for level, line in heard.lines if level >= logging.INFO]
    assert warnings == [
        "Home Assistant has no notify.trusted_persn (rule night_watch): nothing sent through it "
        "will arrive; did you mean notify.trusted_person?"
    ]


@pytest.mark.ha
async def test_a_service_back_in_home_assistant_is_said_once_and_warned_of_if_it_goes(
    ha: HomeAssistantInstance, heard: Heard
) -> None:
    """A phone's app registered after the warning: its service was never said to be back, so
    the warning seemed to stand; and had it gone again, nothing was said (warned once per
    config). The stand-in component registers and removes the phone's service in HA."""
    spare = "notify.mobile_app_spare_phone"
    connections = Connections(home(ha.url, ha.token), RealClock(), Counters())
    async with running(connections.homeassistant()), HaProbe(ha.url, ha.token) as probe:
        check = NotifyServiceCheck(connections.homeassistant(), {spare: ["check_ins"]})
        assert check.task is not None
        assert await asyncio.wait_for(check.task, WAIT_S) == [spare]
        await probe.call_service("ambient_test", "phone_paired")
        try:
            for _reconnect in range(2):
                assert await asyncio.wait_for(check.look_up(), WAIT_S) == []
        finally:
            await probe.call_service("ambient_test", "phone_paired", {"paired": False})
        assert await asyncio.wait_for(check.look_up(), WAIT_S) == [spare]

    said = [(level, line) for level, line in heard.lines if level >= logging.INFO]
    missing = (
        logging.WARNING,
        f"Home Assistant has no {spare} (check_ins): nothing sent through it will arrive",
    )
    assert said == [missing, (logging.INFO, f"Home Assistant has {spare} again"), missing]


def test_the_weekly_reports_services_per_person_are_named_too() -> None:
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}, {"id": "sam"}],
            "insights": {
                "report": {
                    "folder": "/tmp/www",
                    "notify": {"alex": "notify.mobile_app_alex", "sam": "notify.mobile_app_sam"},
                }
            },
        }
    )
    assert named_notify_services(config) == {
        "notify.mobile_app_alex": ["insights.report.notify.alex"],
        "notify.mobile_app_sam": ["insights.report.notify.sam"],
    }


def test_only_a_typo_is_suggested_never_another_persons_phone() -> None:
    known = ["notify.mobile_app_alex_phone", "notify.trusted_person"]
    assert closest_service("notify.trusted_persn", known) == "notify.trusted_person"
    assert closest_service("notify.mobile_app_alex_phon", known) == "notify.mobile_app_alex_phone"
    assert closest_service("notify.mobile_app_sam_phone", known) is None
    assert closest_service("notify.mobile_app_sam", known) is None
    assert closest_service("notify.mobile_app_tam", ["notify.mobile_app_sam"]) is None
    assert closest_service("notify.mobile_app_pixel", ["notify.mobile_app_pixel_7"]) == (
        "notify.mobile_app_pixel_7"
    )
