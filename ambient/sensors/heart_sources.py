"""Every source of one person's heart data takes part in choosing whose readings count.

A strap over Bluetooth and the same person's watch through Home Assistant or MQTT both give
heart rate (and the watch perhaps beats); a satellite forwarding the strap this daemon also
reads gives every beat twice. So the arbiter of :mod:`ambient.sensors.priority` is given every
sensor that may give a person's heart readings, not the Bluetooth devices alone: one source
counts at a time, the best by kind (beats covering the time, a strap; then beats with gaps, a
watch's; then heart rate only), then by ``priority`` (Bluetooth devices), then the denser
stream (a sensor without a long ``stale_after`` of its own), then this daemon's own sensors
before forwarded ones.

It is wired only when two sources may meet (two heart sensors, or a satellite sensor, which
forwards many): a config with one sensor pays nothing per beat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ambient.config.sensors import STALE_AFTER_METRICS, SensorConfig
from ambient.counters import Counters
from ambient.ports import ReadingSink
from ambient.sensors.factory import sensor_name
from ambient.sensors.priority import ArbitratedSink, SourceArbiter


def _gives_heart_readings(config: SensorConfig) -> bool:
    """Whether the sensor may give someone's HR or beats (a recording or satellite may)."""
    if config.type in ("mqtt", "homeassistant"):
        return config.metric in STALE_AFTER_METRICS
    return True


def heart_source_arbiter(
    configs: Sequence[SensorConfig],
    *,
    stale_after_s: float = 10.0,
    stale_after_by_source: Mapping[str, float] | None = None,
    counters: Counters | None = None,
) -> SourceArbiter | None:
    """The arbiter of the configured sensors' heart readings, or None when no two sources
    can give one person's. A source is live ``stale_after_s`` after its last reading (or
    its sensor's own ``stale_after``, in ``stale_after_by_source``)."""
    heart = [(index, c) for index, c in enumerate(configs) if _gives_heart_readings(c)]
    if len(heart) < 2 and not any(c.type == "satellite" for _, c in heart):
        return None
    bluetooth: list[tuple[str, str, int]] = []
    scopes: dict[str, str] = {}
    local: list[str] = []
    for index, config in heart:
        if config.type == "satellite":
            continue  # its readings are named by the satellite's devices: forwarded ones
        name = sensor_name(config, index)
        local.append(name)
        if config.type == "ble":
            bluetooth.append((config.person or "default", name, config.priority))
        elif config.type == "mqtt":
            scopes[name] = f"mqtt:{config.topic}"
        elif config.type == "homeassistant":
            scopes[name] = f"ha:{config.entity_id}"
    return SourceArbiter(
        bluetooth,
        stale_after_s=stale_after_s,
        counters=counters,
        scopes=scopes,
        local=local,
        stale_after_by_source=stale_after_by_source,
    )


def arbitrated(
    configs: Iterable[SensorConfig],
    sink: ReadingSink,
    *,
    stale_after_s: float = 10.0,
    stale_after_by_source: Mapping[str, float] | None = None,
    counters: Counters | None = None,
) -> ReadingSink:
    """``sink``, behind the arbiter of the sensors' heart readings when it is needed."""
    arbiter = heart_source_arbiter(
        list(configs),
        stale_after_s=stale_after_s,
        stale_after_by_source=stale_after_by_source,
        counters=counters,
    )
    return sink if arbiter is None else ArbitratedSink(sink, arbiter)
