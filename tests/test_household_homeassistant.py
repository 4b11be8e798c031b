"""A household's shared room, end to end: a real `ambient run --speed` process replays Alex's
strap and Sam's watch, both racing at once, against a real Home Assistant on loopback. One rule
for anyone calms the one living-room light for each of them. The two episodes do not fight over
it: the light is calmed once, Alex's recovery leaves it to Sam's episode, and Sam's recovery,
the last, puts it back as it was before both. Waits are on HA's event stream and the timeline,
with deadlines, never sleeps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.homeassistant import HaProbe, HomeAssistantInstance, SeenEvent
from test_run_homeassistant import (
    BED,
    SLACK_S,
    SPEED,
    ambient_run,
    light_change,
    position,
    probe,
)

pytestmark = pytest.mark.ha

__all__ = ["probe"]  # the fixture, used by name below

BEFORE_KELVIN, BEFORE_BRIGHTNESS = 4000, 200
CALM_KELVIN, CALM_BRIGHTNESS = 2200, 102  # 40 % of 255
#: Alex's heart races from minute 5 to 9, Sam's from minute 6 to 12: Sam recovers last.
ALEX_FAST_S, SAM_FAST_S, END_S = (300, 540), (360, 720), 900

CONFIG = """\
people:
  - {{id: alex, name: Alex}}
  - {{id: sam, name: Sam}}
sensors:
  - type: recording
    path: {recording}
homeassistant:
  url: {url}
  token: !secret ha_token
  ping_interval: 10min
  ping_timeout: 5min
store:
  path: {store}
rules:
  - id: calm_anyone
    triggers:
      - {{trigger: signal, signal: hr, above: 100, for: 1min, hysteresis: 10}}
    actions:
      - action: calm_lights
        target: [light.bed_light]
        color_temp_kelvin: {kelvin}
        brightness_pct: 40
        transition: 0s
        timeout: 5min
        ttl: 10min
    on_recovery:
      - action: logbook
        message: "{{person}} recovered"
        timeout: 5min
        ttl: 10min
"""


def both_racing(path: Path) -> Path:
    """Alex's strap (a beat every 800 ms, 500 ms racing) and Sam's watch (HR once a second)."""
    rows: list[tuple[float, str]] = []
    t = 0.0
    while t < END_S:
        rr = 500.0 if ALEX_FAST_S[0] <= t < ALEX_FAST_S[1] else 800.0
        t += rr / 1000.0
        rows.append((t, f"{t:.3f},rr,{rr:g},alex"))
    for second in range(1, END_S):
        hr = 125 if SAM_FAST_S[0] <= second < SAM_FAST_S[1] else 64
        rows.append((float(second), f"{second},hr,{hr},sam"))
    path.write_text("t,metric,value,person\n" + "\n".join(row for _, row in sorted(rows)) + "\n")
    return path


def recovered_of(person: str) -> Callable[[SeenEvent], bool]:
    def match(event: SeenEvent) -> bool:
        return (
            event.event_type == "call_service"
            and event.data.get("domain") == "logbook"
            and event.data.get("service_data", {}).get("message") == f"{person} recovered"
        )

    return match


async def test_two_people_calmed_in_one_room_keep_the_light_calm_until_the_last_recovers(
    ha: HomeAssistantInstance, probe: HaProbe, tmp_path: Path
) -> None:
    await probe.call_service(
        "light",
        "turn_on",
        {"entity_id": BED, "color_temp_kelvin": BEFORE_KELVIN, "brightness": BEFORE_BRIGHTNESS},
    )
    await probe.wait_for_state(
        BED, lambda s: s["attributes"].get("brightness") == BEFORE_BRIGHTNESS
    )
    (tmp_path / "secrets.yaml").write_text(f"ha_token: {ha.token}\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        CONFIG.format(
            recording=both_racing(tmp_path / "household.csv"),
            url=ha.url,
            store=tmp_path / "state" / "ambient.db",
            kelvin=CALM_KELVIN,
        )
    )
    whole_s = END_S / SPEED + SLACK_S

    async with ambient_run(config) as run:
        calmed = await probe.wait_for(
            lambda e: light_change(e, CALM_KELVIN, CALM_BRIGHTNESS), whole_s
        )
        alex_recovered = await probe.wait_for(recovered_of("alex"), whole_s)
        sam_recovered = await probe.wait_for(recovered_of("sam"), whole_s)
        restored = await probe.wait_for(
            lambda e: (
                position(probe, e) > position(probe, calmed)
                and light_change(e, BEFORE_KELVIN, BEFORE_BRIGHTNESS)
            ),
            timeout_s=SLACK_S,
        )
        await run.wait_line("calm_anyone (sam)", "recovered", timeout_s=SLACK_S)
        assert await run.stop() == 0

    timeline = run.timeline()
    assert "calm_anyone (alex)" in timeline and "calm_anyone (sam)" in timeline
    # Both fired before either recovered: the two episodes held the light together ...
    fired = [x.text for x in run.stdout if "fired" in x.text]
    assert [line.split()[2] for line in fired] == ["(alex)", "(sam)"], run.transcript()
    # ... it was calmed, Alex's recovery left it so, and only Sam's, the last, put it back.
    assert (
        position(probe, calmed)
        < position(probe, alex_recovered)
        < position(probe, sam_recovered)
        < position(probe, restored)
    )
    bed_changes = [
        e
        for e in probe.events
        if e.event_type == "state_changed"
        and e.data.get("entity_id") == BED
        and position(probe, calmed) <= position(probe, e)
    ]
    assert bed_changes == [calmed, restored], "the light changed between the two recoveries"
    state = await probe.state(BED)
    assert state is not None
    assert (state["attributes"]["color_temp_kelvin"], state["attributes"]["brightness"]) == (
        BEFORE_KELVIN,
        BEFORE_BRIGHTNESS,
    )
