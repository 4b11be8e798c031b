"""The notify services a config names, looked up in Home Assistant as soon as ambient connects.

``ambient check`` cannot see HA, and HA only refuses an unknown service when it is called: a
typo in a trusted person's ``notify.mobile_app_…`` would otherwise be found at the first
episode, perhaps at night, days later. Each connection (HA restarted, a phone's app
re-registered) looks again; each missing service is one warning while it stays missing, naming
where the config names it and the closest service HA has, and one line when HA has it again
(the journal's policy, docs/raspberry-pi.md). A reload's new config warns again of what is still
missing.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ambient.actuators.ha_connect_lookup import LookUpAtConnect, add_place, service_names
from ambient.config.actions import NotifyActionConfig
from ambient.config.rule_checks import walk_steps
from ambient.connections.errors import LinkError

if TYPE_CHECKING:
    from ambient.config.root import AmbientConfig
    from ambient.connections.homeassistant import HomeAssistantClient

_LOGGER = logging.getLogger(__name__)


def named_notify_services(config: AmbientConfig) -> dict[str, list[str]]:
    """Each notify service of the config (``notify.x``) and where it is named: rules (their
    actions, escalations and recovery), check-ins, the weekly report."""
    named: dict[str, list[str]] = {}

    for rule in config.rules:
        for _path, step in walk_steps(rule, ()):
            if isinstance(step, NotifyActionConfig):
                add_place(named, step.service, f"rule {rule.id}")
    if config.check_ins is not None:
        for person, where in config.check_ins.people.items():
            if where.notify is not None:
                add_place(named, where.notify, f"check_ins.people.{person}.notify")
    report = config.insights.report
    notify = report.notify if report is not None else None
    if isinstance(notify, str):
        add_place(named, notify, "insights.report.notify")
    elif notify is not None:
        for person, service in notify.items():
            add_place(named, service, f"insights.report.notify.{person}")
    return named


class NotifyServiceCheck(LookUpAtConnect):
    """Looks the ``named`` services up at every connection; ``task``: the latest look-up."""

    def __init__(self, client: HomeAssistantClient, named: Mapping[str, list[str]]) -> None:
        self.named = dict(named)
        super().__init__(client)

    async def look_up(self) -> list[str]:
        """The named services HA does not have (each warned of once while it is missing); none
        when HA cannot be asked now (the next connection asks again)."""
        try:
            services = await self.client.services()
        except LinkError as exc:
            _LOGGER.debug("Notify services not looked up: %s", exc)
            return []
        known = service_names(services)
        missing = [service for service in self.named if service not in known]
        for service in missing:
            if service in self._warned:
                continue
            self._warned.add(service)
            close = closest_service(service, known)
            _LOGGER.warning(
                "Home Assistant has no %s (%s): nothing sent through it will arrive%s",
                service,
                ", ".join(self.named[service]),
                f"; did you mean {close}?" if close else "",
            )
        self._say_back(missing, _LOGGER)
        _LOGGER.debug(
            "Home Assistant: %d notify services looked up, %d missing",
            len(self.named),
            len(missing),
        )
        return missing


#: How alike the device parts must be for a suggestion: a letter or two off, never another
#: phone's (``mobile_app_sam`` is not ``mobile_app_alex`` nor ``mobile_app_tam``).
SUGGEST_SIMILARITY = 0.8


def closest_service(service: str, known: list[str]) -> str | None:
    """The service HA has that ``service`` is most likely a typo of; None if none is close.
    Compared without the domain and the companion app's ``mobile_app_``, which every phone
    shares: what is left names the phone."""
    by_part = {_device_part(name): name for name in known}
    close = difflib.get_close_matches(
        _device_part(service), list(by_part), n=1, cutoff=SUGGEST_SIMILARITY
    )
    return by_part[close[0]] if close else None


def _device_part(service: str) -> str:
    return service.partition(".")[2].removeprefix("mobile_app_")
