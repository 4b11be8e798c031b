"""How check-ins and the calming entity join the daemon's wiring (called by
:func:`ambient.interventions.wiring.add_interventions`)."""

from __future__ import annotations

import logging
from typing import Any

from ambient.clock import Clock
from ambient.config.root import AmbientConfig
from ambient.hub import Hub
from ambient.interventions.checkin_book import CheckInBook
from ambient.interventions.checkins import CheckIns
from ambient.interventions.entity import CalmingEntity
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.mood import Moods
from ambient.interventions.policies import policies_of
from ambient.interventions.recorder import EpisodeRecorder
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)


def add_entity(
    config: AmbientConfig, clock: Clock, book: EpisodeBook, recorder: EpisodeRecorder, hub: Hub
) -> CalmingEntity:
    """The per-person calming state HA discovery shows, refreshed after each measurement (and
    hourly, as what was learnt ages)."""
    entity = CalmingEntity(book, policies_of(config), clock)
    recorder.measured_listeners.append(entity.changed)
    hub.status_providers["calming"] = entity.states
    return entity


def add_check_ins(
    config: AmbientConfig,
    clock: Clock,
    store: Store,
    book: EpisodeBook,
    recorder: EpisodeRecorder,
    hub: Hub,
    connections: Any | None,
    entity: CalmingEntity,
) -> CheckIns | None:
    """Check-ins when the config asks for them (``check_ins:``); None otherwise."""
    settings = config.check_ins
    if settings is None:
        return None
    from ambient.clock import resolve_zone

    zone = resolve_zone(config.timezone)
    checkin_book = CheckInBook(store)
    checkins = CheckIns(
        settings,
        config.quiet_hours,
        clock,
        zone,
        book,
        recorder,
        checkin_book,
        names=config.display_names(),
        paused=lambda: bool(_provided(hub, "paused")),
        instance=config.instance,
    )
    moods = Moods(clock, zone, book, checkin_book, checkins.not_recorded)
    moods.given_listeners.append(entity.changed)
    recorder.measured_listeners.append(checkins.on_measured)
    checkins.answered_listeners.append(entity.changed)
    hub.status_providers["check_ins"] = checkins.status
    unknown = sorted(set(settings.people) - set(config.person_ids()))
    if unknown:
        _LOGGER.warning("check_ins.people names no person of the config: %s", ", ".join(unknown))
    if config.homeassistant is None and any(
        where.notify or where.mood_entity for where in settings.people.values()
    ):
        _LOGGER.warning(
            "check_ins.people name Home Assistant services or entities, but there is no "
            "`homeassistant:` section: those check-ins are not asked or heard"
        )
    if connections is not None:
        if config.homeassistant is not None and settings.people:
            from ambient.interventions.checkin_links import link_homeassistant

            link_homeassistant(checkins, moods, settings, connections.homeassistant())
        if config.mqtt is not None and settings.mqtt:
            from ambient.interventions.checkin_links import MqttCheckIns

            root = f"{config.mqtt.base_topic}/{config.instance}"
            MqttCheckIns(checkins, moods, connections.mqtt(), root, config.person_ids())
    checkins.resume()
    return checkins


def _provided(hub: Hub, name: str) -> Any:
    provider = hub.status_providers.get(name)
    return None if provider is None else provider()
