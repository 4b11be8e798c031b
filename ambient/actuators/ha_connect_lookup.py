"""A look-up in Home Assistant made at every connection, for what a config names.

``ambient check`` cannot see HA, so what the config names there (entities, scripts, notify
services) is looked up when ambient connects, and again at each later connection (HA restarted,
a phone re-registered): each subclass says what it looks up and what it warns of.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ambient.connections.homeassistant import HomeAssistantClient


class LookUpAtConnect:
    """Runs :meth:`look_up` at every connection of ``client`` (one at a time); ``task``: the
    latest look-up, whose result is what was missing. ``_warned`` holds what has been warned of,
    so that each missing name is one warning while it stays missing."""

    def __init__(self, client: HomeAssistantClient) -> None:
        self.client = client
        self.task: asyncio.Task[list[str]] | None = None
        self._warned: set[str] = set()
        client.on_status(self._on_status)
        if client.connected:
            self._on_status("connected")

    def _on_status(self, status: str) -> None:
        if status == "connected" and (self.task is None or self.task.done()):
            self.task = asyncio.get_running_loop().create_task(self.look_up())

    async def look_up(self) -> list[str]:
        """What HA does not have, warned of; none when HA cannot be asked now."""
        raise NotImplementedError

    def _say_back(self, missing: list[str], logger: logging.Logger) -> None:
        """One line for each name warned of that HA has again; warned of again if it goes."""
        for name in sorted(self._warned.difference(missing)):
            logger.info("Home Assistant has %s again", name)
        self._warned.intersection_update(missing)


def service_names(services: Mapping[str, object]) -> list[str]:
    """``domain.service`` of each service in HA's ``get_services`` answer, sorted."""
    return sorted(
        f"{domain}.{name}"
        for domain, names in services.items()
        if isinstance(names, dict)
        for name in names
    )


def add_place(named: dict[str, list[str]], name: str, where: str) -> None:
    """Note that ``where`` (a rule, a config key) names ``name``, once each."""
    places = named.setdefault(name, [])
    if where not in places:
        places.append(where)
