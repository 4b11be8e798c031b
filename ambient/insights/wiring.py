"""How the daemon adds insights to its wiring: one call, so daemon.py stays a list of parts."""

from __future__ import annotations

from typing import Any

from ambient.clock import Clock
from ambient.config.root import AmbientConfig
from ambient.hub import Hub
from ambient.insights.service import Insights, SignalsWithInsights
from ambient.ports import SignalView
from ambient.store import Store


def add_insights(
    config: AmbientConfig,
    clock: Clock,
    store: Store,
    signals: SignalView,
    hub: Hub,
    connections: Any | None,
) -> tuple[Insights | None, SignalView]:
    """The insights for this config (None when off or on a satellite) and the signal view the
    rules should read. ``connections``: the shared ones for sleep sources, None in simulations.
    Call it before the rules subscribe to the hub: the insights hear updates after them."""
    if not config.insights.enabled or config.role != "standalone":
        return None, signals
    zone = _zone(config.timezone)
    insights = Insights(
        config.insights,
        config.person_ids(),
        zone,
        clock,
        store,
        hub.publish_signals,
        stale_after_s=config.signals.stale_after,
    )
    hub.on_trace(insights.on_trace)
    hub.status_providers["insights"] = insights.status
    if connections is not None and config.insights.sleep:
        from ambient.insights.sources import connect_sleep

        connect_sleep(insights, config, connections)
    if connections is not None and config.insights.report is not None:
        from ambient.insights.delivery import ReportDelivery

        notify = _notifier(connections) if config.homeassistant is not None else None
        delivery = ReportDelivery(config, config.insights.report, clock, store, zone, notify)
        insights.closing.append(delivery.close)
    elif connections is not None:  # delivery off now: no page of before is owed any more
        from ambient.insights.delivery import drop_owed

        drop_owed(store)
    return insights, SignalsWithInsights(signals, insights)


def _zone(name: str | None) -> Any:
    from ambient.clock import resolve_zone  # the one place zones are resolved

    return resolve_zone(name)


def _notifier(connections: Any) -> Any:
    async def notify(service: str, data: dict[str, Any]) -> None:
        domain, _, name = service.partition(".")
        await connections.homeassistant().call_service(domain, name, data)

    return notify
