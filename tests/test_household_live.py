"""A household live, as it lives: one `ambient run` process for Alex (heart rate relayed over a
real Mosquitto) and Sam (a watch's heart rate read from a real Home Assistant on loopback),
each with their own rule that asks HA whether they are home. Sam is out: both hearts race,
Alex's rule acts, Sam's is held back by its condition, and `ambient status` names each sensor
with whose it is and keeps each person's signals apart. Waits are on the timeline: readings
are sent again until the daemon shows it has taken them, and a daemon that exits fails it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, clean_env, run_ambient
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from fixtures.mosquitto import MosquittoBroker

pytestmark = pytest.mark.ha

WATCH = "sensor.sam_watch_heart_rate"
#: A safety net, not a limit: a daemon that never decides fails the test rather than hangs it.
MOST_BEATS = 300

CONFIG = """\
people:
  - {{id: alex, name: Alex}}
  - {{id: sam, name: Sam}}
sensors:
  - {{type: mqtt, id: alex_relay, topic: home/alex/heart_rate, metric: hr, person: alex}}
  - {{type: homeassistant, id: sam_watch, entity_id: {watch}, metric: hr, person: sam}}
mqtt: {{host: {mqtt_host}, port: {mqtt_port}}}
homeassistant: {{url: "{ha_url}", token: !secret ha_token}}
store: {{path: {store}}}
rules:
  - id: calm_alex
    person: alex
    triggers: [{{trigger: signal, signal: hr, above: 100, hysteresis: 10}}]
    conditions: [{{condition: state, entity_id: person.alex, state: home}}]
    actions: [{{action: log, message: "{{name}}: a breather?"}}]
  - id: calm_sam
    person: sam
    triggers: [{{trigger: signal, signal: hr, above: 100, hysteresis: 10}}]
    conditions: [{{condition: state, entity_id: person.sam, state: home}}]
    actions: [{{action: log, message: "{{name}}: a breather?"}}]
"""


def next_shown(daemon: AmbientProcess, words: tuple[str, ...]) -> str | None:
    """A timeline line with all ``words`` among those that come within a second, if any."""
    while (shown := daemon.stdout.next_within(1.0)) is not None:
        if all(word in shown for word in words):
            return shown
    return None


async def test_one_person_out_is_held_back_and_the_other_is_calmed(
    tmp_path: Path, mosquitto: MosquittoBroker, ha: HomeAssistantInstance
) -> None:
    (tmp_path / "secrets.yaml").write_text(f"ha_token: {ha.token}\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        CONFIG.format(
            watch=WATCH,
            mqtt_host=mosquitto.host,
            mqtt_port=mosquitto.port,
            ha_url=ha.url,
            store=tmp_path / "state" / "ambient.db",
        )
    )
    env = clean_env(XDG_RUNTIME_DIR=str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    publish = ["mosquitto_pub", "-h", mosquitto.host, "-p", str(mosquitto.port)]

    async with HaProbe(ha.url, ha.token) as probe:
        await probe.set_state("person.alex", "home")
        await probe.set_state("person.sam", "not_home")
        await probe.set_state(WATCH, "64")
        daemon = AmbientProcess("run", "--config", str(config), env=env)
        try:
            # Both hearts race; each reading is sent again until the timeline shows its rule
            # decided (the daemon may still be subscribing when the first ones arrive).
            alex_line = sam_line = None
            beat = 0
            while alex_line is None or sam_line is None:
                exited = daemon.process.poll()
                assert exited is None, f"ambient run exited ({exited}): {daemon.stderr.drain()}"
                beat += 1
                assert beat <= MOST_BEATS, "no rule decided; saw:\n" + "".join(daemon.stdout.seen)
                if alex_line is None:
                    sent = run_client([*publish, "-t", "home/alex/heart_rate", "-m", "120"])
                    assert sent == 0
                if sam_line is None:
                    await probe.set_state(WATCH, str(124 + beat % 2))  # a change HA passes on
                shown = next_shown(daemon, ("calm_",))
                if shown is not None and "calm_alex (alex)" in shown:
                    alex_line = shown
                elif shown is not None and "calm_sam (sam)" in shown:
                    sam_line = shown
            status = run_ambient("status", "--json", "--config", str(config), env=env)
        finally:
            daemon.stop()
            for entity_id in ("person.alex", "person.sam", WATCH):  # HA as the other tests meet it
                await probe.remove_state(entity_id)

    assert " fired " in alex_line
    assert " suppressed " in sam_line and "person.sam is home false" in sam_line
    assert "Alex: a breather?" in "".join(daemon.stdout.all_lines())
    assert status.returncode == 0, status.stderr
    page = json.loads(status.stdout)
    assert {s["name"]: s["person"] for s in page["sensors"]} == {
        "alex_relay": "alex",
        "sam_watch": "sam",
    }
    assert page["people"]["alex"]["hr"]["value"] == 120
    assert page["people"]["sam"]["hr"]["value"] in (124, 125)


def run_client(args: list[str]) -> int:
    """A command-line client (mosquitto_pub) run to its end: its exit code."""
    return subprocess.run(args, capture_output=True, timeout=30, check=False).returncode
