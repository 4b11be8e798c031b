"""A state trigger's `for` hold on a Home Assistant entity, begun while `ambient run` was
running, through a kill -9: real `ambient run` processes against a real Home Assistant.

Two ways a Raspberry Pi loses ambient: ambient alone killed (HA runs on), and a power cut, where
HA is down too and comes back after ambient (HA takes a minute or more to start on a Pi; here it
is stopped while ambient starts, and started once ambient's grace period for the signals is
over). Either way the hold ends as an uninterrupted one would have: it fires, saying it was due
while ambient was not running. Every step waits for a line the daemon writes, never a time.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from rules.restart_scenario import WRITTEN, Daemon, outcome_of

pytestmark = pytest.mark.ha

CONFIG = """\
homeassistant:
  url: {url}
  token: {token}
signals:
  stale_after: 2s
store:
  path: {store}
rules:
  - id: home_a_while
    triggers:
      - trigger: state
        entity_id: {entity}
        to: "on"
        for: {hold}
    actions:
      - action: log
        message: home a while
"""

CONNECTED = "Home Assistant: connected"


def _config(tmp_path: Path, ha: HomeAssistantInstance, entity: str, hold: str) -> Path:
    config = tmp_path / "ambient.yaml"
    store = tmp_path / "ambient.db"
    config.write_text(
        CONFIG.format(url=ha.url, token=ha.token, store=store, entity=entity, hold=hold)
    )
    return config


async def _held_then_killed(
    ha: HomeAssistantInstance, probe: HaProbe, config: Path, entity: str
) -> None:
    """The entity turns on while ambient runs (its hold begins); kill -9 once it is written."""
    await probe.call("input_boolean/create", name=entity.split(".", 1)[1].replace("_", " "))
    daemon = Daemon(config)
    try:
        daemon.wait_for(CONNECTED)
        await probe.call_service("input_boolean", "turn_on", {"entity_id": entity})
        daemon.wait_for(WRITTEN)
    finally:
        daemon.kill()


async def test_a_hold_begun_before_a_kill_fires_after_the_restart(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    entity = "input_boolean.ambient_hold_killed"
    config = _config(tmp_path, ha, entity, "3s")
    async with HaProbe(ha.url, ha.other_token) as probe:
        await _held_then_killed(ha, probe, config, entity)
    daemon = Daemon(config)
    try:
        daemon.wait_for("Rule home_a_while fired", "Rule home_a_while suppressed")
    finally:
        daemon.stop()
    assert outcome_of(tmp_path / "ambient.db").actions == ["home a while"]


async def test_a_hold_through_a_power_cut_fires_once_home_assistant_is_back(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    entity = "input_boolean.ambient_hold_power_cut"
    config = _config(tmp_path, ha, entity, "10s")
    async with HaProbe(ha.url, ha.other_token) as probe:
        await _held_then_killed(ha, probe, config, entity)
    ha.stop()  # the power cut: HA is down too, and back after ambient
    daemon = Daemon(config)
    try:
        # The hold falls due while HA is away (before the restart, or after it: stopping HA
        # takes its time); it waits on past the signals' 2 s grace period.
        daemon.wait_for(f"for the state of {entity} from Home Assistant")
        ha.start()  # it restores the entity as on, with a new last_changed
        daemon.wait_for("Rule home_a_while fired", "Rule home_a_while suppressed")
    finally:
        daemon.stop()
        if not ha.running:
            ha.start()
    outcome = outcome_of(tmp_path / "ambient.db")
    assert outcome.actions == ["home a while"]
    # Fired on HA's first state, late by the time HA took to start after the deadline (some
    # seconds); a hold started over from HA's new last_changed would have fired on time.
    (fired,) = [reason for reason in _reasons(tmp_path / "ambient.db") if "(due" in reason]
    late = re.search(
        r"\(due (\d+\.\d) s earlier, (while ambient was not running|before "
        r"Home Assistant was back)\)$",
        fired,
    )
    assert late is not None, fired
    assert float(late.group(1)) >= 1.0, fired


async def test_a_hold_on_an_entity_home_assistant_no_longer_has_ends_at_the_start(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    """The entity is deleted from Home Assistant while ambient is down (a removed integration,
    or a typo fixed in HA, not in ambient): Home Assistant's states at connect lack it, so the
    hold ends then, saying so, instead of waiting 10 min for a state that cannot come."""
    entity = "input_boolean.ambient_hold_deleted"
    config = _config(tmp_path, ha, entity, "3s")
    async with HaProbe(ha.url, ha.other_token) as probe:
        await _held_then_killed(ha, probe, config, entity)
        await probe.call("input_boolean/delete", input_boolean_id=entity.split(".", 1)[1])
    daemon = Daemon(config)
    try:
        daemon.wait_for("Rule home_a_while fired", "Rule home_a_while suppressed")
    finally:
        daemon.stop()
    assert outcome_of(tmp_path / "ambient.db").actions == []
    assert _reasons(tmp_path / "ambient.db")[-1] == (
        f"{entity} unknown (no such entity in Home Assistant) when `for` ended"
    )


def _reasons(store: Path) -> list[str]:
    db = sqlite3.connect(store)
    try:
        rows = db.execute("SELECT value FROM log WHERE namespace = 'traces' ORDER BY id")
        return [str(json.loads(raw).get("reason")) for (raw,) in rows]
    finally:
        db.close()
