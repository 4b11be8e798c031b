"""Every source of one person's heart data takes part: a strap over Bluetooth and the same
person's watch through HA or MQTT, or a satellite forwarding the strap this daemon reads, give
one source's readings at a time, the best by kind (strap > watch beats > heart rate only)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ambient.config import load_config
from ambient.config.root import AmbientConfig
from ambient.counters import Counters
from ambient.readings import HR, RR, Reading
from ambient.sensors.heart_sources import arbitrated, heart_source_arbiter
from ambient.sensors.priority import SourceArbiter
from ambient.simulate import simulate

STRAP = {"type": "ble", "id": "strap", "address": "F5:00:00:00:00:01", "person": "alex"}
HA_WATCH = {
    "type": "homeassistant",
    "id": "watch",
    "entity_id": "sensor.alex_watch_heart_rate",
    "metric": "hr",
    "person": "alex",
}


def _arbiter(*sensors: dict[str, Any], counters: Counters | None = None) -> SourceArbiter:
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "mqtt": {"host": "localhost"},
            "homeassistant": {"url": "http://localhost:8123", "token": "abc"},
            "sensors": list(sensors),
        }
    )
    arbiter = heart_source_arbiter(config.sensors, counters=counters)
    assert arbiter is not None
    return arbiter


def _beats(
    source: str, start: float, end: float, every: int = 0, rr_ms: float = 800.0
) -> list[Reading]:
    """A beat each ``rr_ms`` from ``start`` to ``end``; with ``every``, one in each ``every``
    left out (a wrist sensor's gaps)."""
    out, t, i = [], start, 0
    while t < end:
        t += rr_ms / 1000
        i += 1
        if not every or i % every:
            out.append(Reading(t, "alex", RR, rr_ms, source))
    return out


def _feed(arbiter: SourceArbiter, readings: list[Reading]) -> list[Reading]:
    """The readings accepted, fed in time order."""
    return [r for r in sorted(readings, key=lambda r: r.time) if arbiter.accept(r)]


def test_a_strap_counts_before_the_same_persons_watch_through_home_assistant(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The strap sends its heart rate with its beats; the watch's heart rate is set aside
    while the strap's counts, and counts once the strap has gone quiet."""
    counters = Counters()
    arbiter = _arbiter(STRAP, HA_WATCH, counters=counters)
    strap_hr = [Reading(float(t), "alex", HR, 70.0, "strap") for t in range(30)]
    watch = [Reading(t, "alex", HR, 72.0, "watch") for t in (5.0, 10.0, 60.0)]
    with caplog.at_level(logging.INFO, logger="ambient.sensors.priority"):
        accepted = _feed(arbiter, [*_beats("strap", 0.0, 30.0), *strap_hr, *watch])
    assert {r.source for r in accepted if r.time < 31} == {"strap"}
    assert [r for r in accepted if r.source == "watch"] == [watch[2]]  # the strap is gone
    assert counters.snapshot() == {"ha:sensor.alex_watch_heart_rate": {"set_aside": 2}}
    assert [r.getMessage() for r in caplog.records] == [
        "alex: readings from watch count now, instead of strap's"
    ]


def test_a_strap_relayed_over_mqtt_outranks_a_watch_with_gaps_in_its_beats() -> None:
    """Both send beats; the strap's cover the time, the watch's leave one in four out: after
    one period of beats the strap counts (whatever the names' order), and a watch's beat
    the strap already gave is not counted again."""
    strap = {"type": "mqtt", "id": "chest", "topic": "relay/strap", "metric": "rr"}
    watch = {"type": "mqtt", "id": "wrist", "topic": "phone/watch", "metric": "rr"}
    arbiter = _arbiter({**strap, "person": "alex"}, {**watch, "person": "alex"})
    accepted = _feed(
        arbiter, [*_beats("chest", 0.0, 120.0), *_beats("wrist", 0.02, 120.0, every=4)]
    )
    late = [r.source for r in accepted if r.time > 70]
    assert late and set(late) == {"chest"}
    assert arbiter.active("alex", 120.0) == "chest"


def test_a_satellite_forwarding_the_strap_this_daemon_reads_gives_each_beat_once() -> None:
    """The same strap through another Pi (its beats 30 ms later): the local one counts; when
    it stops, the forwarded one takes over, and no heartbeat counts twice."""
    counters = Counters()
    arbiter = _arbiter(STRAP, {"type": "satellite"}, counters=counters)
    local = _beats("strap", 0.0, 60.0)
    forwarded = [
        Reading(r.time + 0.03, "alex", RR, r.value, "pi2/strap") for r in _beats("x", 0.0, 120.0)
    ]
    accepted = _feed(arbiter, [*local, *forwarded])
    times = [r.time for r in accepted]
    assert all(b - a > 0.4 for a, b in itertools.pairwise(times))  # each beat once
    assert times[-1] > 119  # the forwarded strap took over
    assert counters.get("source:pi2/strap", "set_aside") > 50


def test_a_sparse_watch_stays_live_for_its_own_stale_after() -> None:
    """The strap slips off; the watch's heart rate, sampled 5 minutes before and current for
    20 (its sensor's own `stale_after`), is the source that counts from then on."""
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "homeassistant": {"url": "http://localhost:8123", "token": "abc"},
            "sensors": [STRAP, {**HA_WATCH, "stale_after": "20min"}],
        }
    )
    arbiter = heart_source_arbiter(config.sensors, stale_after_by_source={"watch": 1200.0})
    assert arbiter is not None
    _feed(arbiter, [*_beats("strap", 0.0, 400.0), Reading(100.0, "alex", HR, 70.0, "watch")])
    assert arbiter.active("alex", 405.0) == "strap"
    assert arbiter.active("alex", 415.0) == "watch"


@pytest.mark.parametrize(
    "sensors",
    [
        [{"type": "recording", "path": "day.csv"}],
        [
            {"type": "recording", "path": "day.csv"},
            {"type": "mqtt", "topic": "t", "metric": "steps"},
        ],
    ],
)
def test_one_heart_sensor_is_not_arbitrated(tmp_path: Path, sensors: list[dict[str, Any]]) -> None:
    """Nothing per beat where no two sources can meet (`bench/bench_simulate.py`'s day)."""
    (tmp_path / "day.csv").write_text("t,metric,value\n0,hr,70\n")
    for sensor in sensors:
        if "path" in sensor:
            sensor["path"] = str(tmp_path / "day.csv")
    config = AmbientConfig.model_validate({"mqtt": {"host": "localhost"}, "sensors": sensors})
    sink = object()
    assert arbitrated(config.sensors, sink) is sink  # type: ignore[arg-type]


def test_a_simulation_of_two_recordings_of_one_strap_counts_each_beat_once(tmp_path: Path) -> None:
    """What the daemon wires: two recordings of the same person's strap (one 30 ms behind, as
    a satellite's): the second's beats are set aside, counted under its source."""
    rows = [f"{t:.3f},rr,800,alex" for t in (i * 0.8 for i in range(1, 400))]
    (tmp_path / "strap.csv").write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    later = [f"{float(r.split(',')[0]) + 0.03:.3f},rr,800,alex" for r in rows]
    (tmp_path / "copy.csv").write_text("t,metric,value,person\n" + "\n".join(later) + "\n")
    path = tmp_path / "ambient.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            people: [{id: alex}]
            store: {path: null}
            sensors:
              - {type: recording, id: strap, path: strap.csv, person: alex}
              - {type: recording, id: copy, path: copy.csv, person: alex}
            """
        )
    )
    result = asyncio.run(simulate(load_config(path), None))
    assert result.counters["source:copy"]["set_aside"] == len(rows)


def test_one_device_read_through_a_sensor_per_metric_gives_all_its_readings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ESPHome strap publishing its heart rate and its beats on two topics (a sensor each):
    sources of different metrics do not compete, so neither is set aside and nothing is said."""
    hr = {"type": "mqtt", "id": "esp_hr", "topic": "esphome/strap/hr", "metric": "hr"}
    rr = {"type": "mqtt", "id": "esp_rr", "topic": "esphome/strap/rr", "metric": "rr"}
    arbiter = _arbiter({**hr, "person": "alex"}, {**rr, "person": "alex"})
    heart_rates = [Reading(float(t), "alex", HR, 75.0, "esp_hr") for t in range(60)]
    with caplog.at_level(logging.INFO, logger="ambient.sensors.priority"):
        accepted = _feed(arbiter, [*_beats("esp_rr", 0.0, 60.0), *heart_rates])
    assert len(accepted) == len(heart_rates) + len(_beats("esp_rr", 0.0, 60.0))
    assert arbiter.rejected == 0
    assert not caplog.records


def test_a_handover_of_both_heart_rate_and_beats_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    arbiter = _arbiter(STRAP, {"type": "satellite"})
    local = [
        *_beats("strap", 0.0, 20.0),
        *(Reading(float(t), "alex", HR, 75.0, "strap") for t in range(20)),
    ]
    forwarded = [
        *(Reading(r.time + 0.03, "alex", RR, r.value, "pi2/strap") for r in _beats("x", 0.0, 60.0)),
        *(Reading(t + 0.03, "alex", HR, 75.0, "pi2/strap") for t in range(60)),
    ]
    with caplog.at_level(logging.INFO, logger="ambient.sensors.priority"):
        _feed(arbiter, [*local, *forwarded])
    assert [r.getMessage() for r in caplog.records] == [
        "alex: readings from pi2/strap count now, instead of strap's"
    ]


def test_between_two_heart_rates_alone_the_denser_stream_counts() -> None:
    """A watch sampling every 15 minutes (`stale_after: 20min`) and a phone sending its
    heart rate every few seconds: the phone's counts while it sends, the watch's after."""
    watch = {**HA_WATCH, "stale_after": "20min"}
    phone = {"type": "mqtt", "id": "a_phone", "topic": "phones/alex/hr", "metric": "hr"}
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "mqtt": {"host": "localhost"},
            "homeassistant": {"url": "http://localhost:8123", "token": "abc"},
            "sensors": [watch, {**phone, "person": "alex"}],
        }
    )
    arbiter = heart_source_arbiter(config.sensors, stale_after_by_source={"watch": 1200.0})
    assert arbiter is not None
    phone_hr = [Reading(float(t), "alex", HR, 80.0, "a_phone") for t in range(10, 60, 5)]
    accepted = _feed(arbiter, [Reading(0.0, "alex", HR, 70.0, "watch"), *phone_hr])
    assert [r.source for r in accepted] == ["watch"] + ["a_phone"] * len(phone_hr)
    assert arbiter.accept(Reading(100.0, "alex", HR, 71.0, "watch"))


def test_sources_a_publisher_invents_are_bounded_per_person() -> None:
    """Forwarded source names are chosen by whoever publishes: past the first 16 sources of
    a person's heart, a new one's readings are set aside and counted under the person (no
    scope per invented name), and each reading still weighs a bounded number of sources."""
    counters = Counters()
    arbiter = _arbiter(STRAP, {"type": "satellite"}, counters=counters)
    for index in range(40):
        arbiter.accept(Reading(float(index), "alex", HR, 70.0, f"pi{index}/strap"))
    assert len(arbiter._people["alex"]) == 16
    assert counters.snapshot()["sources:alex"] == {"too_many_sources": 25}
