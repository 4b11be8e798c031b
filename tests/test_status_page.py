"""``ambient status`` as a person reads it: every section, each rule's phase with the facts
that end it, durations in words."""

from __future__ import annotations

import asyncio
import datetime
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures.ambient_process import AmbientProcess, clean_env, run_ambient
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from fixtures.status_sample import STATUS_SAMPLE

from ambient.status_page import format_duration, render_status, rule_phase_text


def idle_episode(
    lights: dict[str, dict[str, Any]], media: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An episode's entry in ``home_assistant`` as the daemon reports it: nothing running,
    not carried over a restart, not waiting for HA."""
    return {
        "lights": lights,
        "media": {} if media is None else media,
        "running": 0,
        "carried_over_restart": False,
        "waiting_for_ha": False,
    }


def test_render_shows_every_section() -> None:
    text = render_status(STATUS_SAMPLE)

    assert text.splitlines()[0] == "ambient 0.1.0 · instance home · up 2 h 03 min · running"
    assert "polar_h10  ble   connected     last reading 1.2 s ago" in text
    assert "watch      mqtt  DISCONNECTED  no reading yet" in text
    assert "stress_score  0.421" in text
    assert "hrv_ln_rmssd  unknown (no RR for 60 s)" in text
    assert "evening_calm  cooling down  last fired 2026-11-26T21:04:00" in text
    assert "focus         armed         never fired" in text
    assert "readings  3" in text
    assert "mqtt:watch/hr  bad_json  2" in text


def test_render_paused_and_empty_sections() -> None:
    text = render_status({"version": "0.1.0", "uptime_s": 5, "paused": True})

    assert text.splitlines()[0] == "ambient 0.1.0 · up 5.0 s · PAUSED"
    assert "Sensors\n  none configured" in text
    assert "Counters\n  none" in text


def test_a_daemon_still_starting_says_so_instead_of_showing_nothing_configured() -> None:
    """A start may wait up to seconds for its store (another process holding it); the page
    read `running` with every section `none configured`, as if the config were empty."""
    assert render_status({"version": "0.1.0", "starting": True}) == (
        "ambient 0.1.0 · starting: its sensors, people and rules come once its config is read "
        "and its store open\n"
    )


def test_in_a_household_each_sensor_names_whose_heart_it_reads() -> None:
    """Two people's wearables side by side: the page says whose each one is, as ``ambient
    check`` does; a sensor for nobody in particular (a topic level names the person) says none."""
    sensors = [
        {
            "name": "strap",
            "type": "mqtt",
            "person": "alex",
            "connected": True,
            "last_reading_age_s": 0.4,
        },
        {
            "name": "watch",
            "type": "mqtt",
            "person": "sam",
            "connected": False,
            "last_reading_age_s": None,
        },
        {
            "name": "by_topic",
            "type": "mqtt",
            "person": None,
            "connected": True,
            "last_reading_age_s": None,
        },
    ]

    text = render_status({"sensors": sensors})

    assert "strap     mqtt  for alex  connected     last reading 0.4 s ago" in text
    assert "watch     mqtt  for sam   DISCONNECTED  no reading yet" in text
    assert "by_topic  mqtt            connected     no reading yet" in text


def test_a_ble_sensor_shows_its_battery_where_it_is_known() -> None:
    """A strap's battery level (read over GATT, then notified) is on the page
    beside its connection, so a flat strap is seen before it stops; a sensor whose level is
    unknown says nothing of a battery."""
    sensors = [
        {
            "name": "strap",
            "type": "ble",
            "connected": True,
            "last_reading_age_s": 1.2,
            "battery_pct": 12,
        },
        {
            "name": "band",
            "type": "ble",
            "connected": True,
            "last_reading_age_s": 0.8,
            "battery_pct": None,
        },
    ]

    lines = render_status({"sensors": sensors}).splitlines()

    assert "  strap  ble  connected  last reading 1.2 s ago  battery 12 %" in lines
    assert "  band   ble  connected  last reading 0.8 s ago" in lines


def test_times_are_in_the_daemons_zone_as_its_timeline_shows_them() -> None:
    """A Pi on UTC with ``timezone: Europe/Berlin``: the timeline said a rule fired at 17:02:17,
    the status page 15:02:17 (the zone of whoever ran ``ambient status``)."""
    fired = datetime.datetime(2020, 7, 1, 15, 2, 17, tzinfo=datetime.UTC).timestamp()
    rule = {"id": "calm", "state": "cooling_down", "cooldown_until": fired + 600}
    status = {"timezone": "Europe/Berlin", "rules": [rule | {"last_fired": fired}]}

    assert "cooling down until 2020-07-01 17:12:17  last fired 2020-07-01 17:02:17" in (
        render_status(status)
    )
    assert "cooling down until 2020-07-01 16:12:17  last fired 2020-07-01 16:02:17" in (
        render_status(status | {"timezone": "Europe/London"})
    )
    unknown_here = render_status(status | {"timezone": "Mars/Olympus_Mons"})
    assert "calm  cooling down until 2020-07-01" in unknown_here  # this machine's zone


def test_a_clock_not_yet_synchronised_is_said_under_the_header_only_while_it_is() -> None:
    unsynchronised = render_status({"version": "0.1.0", "clock": {"synchronised": False}})
    assert unsynchronised.splitlines()[1] == (
        "clock NOT synchronised (NTP) yet: times of day may be wrong until it is"
    )
    for clock in ({"synchronised": True, "since": 1.0}, {"synchronised": True}, None):
        assert "synchronised" not in render_status({"version": "0.1.0", "clock": clock})


def test_what_ambient_holds_in_home_assistant_is_listed_per_episode() -> None:
    """What recovery will put back, and what a person took over by hand (ambient leaves it)."""
    held = {
        "evening_calm:alex:1764190000.000": {
            "lights": {
                "light.bed_light": {"overridden_by": None},
                "light.desk": {"overridden_by": "u1"},
            },
            "media": {
                "media_player.bedroom": {"overridden_by": None},
                "media_player.kitchen": {"overridden_by": "device"},  # its own volume buttons
            },
            "running": 1,
            "carried_over_restart": True,
            "waiting_for_ha": False,
        },
        "focus:-:1764190100.500": {
            "lights": {},
            "media": {},
            "running": 0,
            "carried_over_restart": False,
            "waiting_for_ha": True,
        },
    }
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1764190000))
    text = render_status({"version": "0.1.0", "home_assistant": held})
    assert (
        f"Home Assistant\n  evening_calm (alex) since {since}: light.bed_light, "
        "media_player.bedroom; taken over by hand: light.desk, media_player.kitchen; "
        "carried over a restart\n"
    ) in text
    assert "  focus since " in text and ": nothing held; restore waits for Home Assistant" in text
    assert "Home Assistant\n  nothing held" in render_status(
        {"version": "0.1.0", "home_assistant": {}}
    )
    assert "Home Assistant" not in render_status({"version": "0.1.0", "home_assistant": None})


def test_the_home_assistant_connection_is_shown_with_its_last_error() -> None:
    """A rejected token stops HA's connection until a reload: the Home Assistant section says
    so in its first line; connected, the line is one word; a daemon older than the page sends
    no such field, and the section is as before."""
    rejected = {
        "state": "auth_failed",
        "last_error": "Home Assistant at http://ha.local:8123 rejected the access token "
        "(Invalid access token or password)",
    }
    text = render_status(
        {"version": "0.1.0", "home_assistant": {}, "home_assistant_connection": rejected}
    )
    assert (
        "Home Assistant\n  connection AUTH FAILED: Home Assistant at http://ha.local:8123 "
        "rejected the access token (Invalid access token or password); nothing is sent to or "
        "read from Home Assistant until a reload or restart\n  nothing held\n"
    ) in text
    connected = {"state": "connected", "last_error": None}
    assert "Home Assistant\n  connection connected\n  nothing held\n" in render_status(
        {"version": "0.1.0", "home_assistant": {}, "home_assistant_connection": connected}
    )
    assert "Home Assistant\n  nothing held\n" in render_status(
        {"version": "0.1.0", "home_assistant": {}}
    )


def test_the_add_ons_rejected_supervisor_token_is_said_to_be_tried_again() -> None:
    """In the add-on the Supervisor's token is tried again with backoff when rejected (its
    proxy answers, not HA): the page says so, not that nothing is sent until a reload."""
    rejected = {
        "state": "auth_failed",
        "last_error": "Home Assistant at http://supervisor/core rejected the access token "
        "(Invalid access token or password)",
        "retrying": True,
    }
    text = render_status(
        {"version": "0.1.0", "home_assistant": {}, "home_assistant_connection": rejected}
    )
    assert (
        "Home Assistant\n  connection AUTH FAILED: Home Assistant at http://supervisor/core "
        "rejected the access token (Invalid access token or password); the add-on's "
        "Supervisor token is tried again with backoff\n  nothing held\n"
    ) in text
    assert "until a reload or restart" not in text


def test_lights_and_players_recovery_leaves_as_set_are_not_listed_as_put_back() -> None:
    """``restore: false`` lights and ``stop_on_recovery: false`` players stay as ambient set
    them when the episode ends: listed apart from what recovery puts back."""
    held = {
        "night:alex:1764190000.000": idle_episode(
            lights={
                "light.bed_light": {"overridden_by": None, "put_back": True},
                "light.hall": {"overridden_by": None, "put_back": False},
            },
            media={"media_player.bedroom": {"overridden_by": None, "put_back": False}},
        ),
        "sleep:sam:1764190000.000": idle_episode(
            lights={"light.desk": {"overridden_by": None, "put_back": False}},
        ),
    }
    text = render_status({"version": "0.1.0", "home_assistant": held})
    assert (
        ": light.bed_light; left as ambient set them at the end: light.hall, media_player.bedroom\n"
    ) in text
    assert ": left as ambient set them at the end: light.desk\n" in text
    assert "Home Assistant" not in render_status({"version": "0.1.0", "home_assistant": None})


def test_a_daemon_older_than_the_page_is_read_as_putting_back_all_it_holds() -> None:
    """``ambient status`` upgraded while the daemon still runs the version before: its players
    are a list of ids, and nothing says ``put_back``."""
    held = {
        "night:alex:1764190000.000": {
            "lights": {"light.bed_light": {"overridden_by": None}},
            "media": ["media_player.bedroom"],
            "running": 1,
            "carried_over_restart": False,
            "waiting_for_ha": False,
        }
    }
    text = render_status({"version": "0.1.0", "home_assistant": held})
    assert ": light.bed_light, media_player.bedroom\n" in text


def test_a_light_a_calm_left_off_is_listed_as_left_off_until_someone_switches_it_on() -> None:
    """A light a calm found off is not held (nothing to put back, never "left as ambient set
    them"); once a person switches it on it is theirs, like any light taken over by hand."""
    held = {
        "night:alex:1764190000.000": idle_episode(
            lights={
                "light.bed_light": {"overridden_by": None, "put_back": False, "left_off": True},
                "light.reading": {"overridden_by": "u1", "put_back": False, "left_off": True},
            },
        )
    }
    text = render_status({"version": "0.1.0", "home_assistant": held})
    assert (
        ": nothing held; left off: light.bed_light; taken over by hand: light.reading\n"
    ) in text


def test_check_in_counts_show_only_when_check_ins_are_on() -> None:
    counts = {"asked": 3, "answered": 2, "timed_out": 1}
    text = render_status({"version": "0.1.0", "check_ins": counts})
    assert "Check-ins\n  3 asked, 2 answered, 1 timed_out" in text
    assert "Check-ins" not in render_status({"version": "0.1.0", "check_ins": None})


def test_check_in_counts_show_each_persons_below_the_households() -> None:
    """The page summed everyone's: whether Sam is ever asked could not be told from it."""
    alex = {"asked": 2, "answered": 2, "timed_out": 0}
    sam = {"asked": 1, "answered": 0, "timed_out": 1}
    counts = {"asked": 3, "answered": 2, "timed_out": 1, "people": {"alex": alex, "sam": sam}}

    text = render_status({"version": "0.1.0", "check_ins": counts})

    assert (
        "Check-ins\n"
        "  3 asked, 2 answered, 1 timed_out\n"
        "  alex: 2 asked, 2 answered, 0 timed_out\n"
        "  sam: 1 asked, 0 answered, 1 timed_out\n"
    ) in text
    alone = {"asked": 1, "answered": 1, "timed_out": 0, "people": {"alex": alex}}
    assert "alex:" not in render_status({"version": "0.1.0", "check_ins": alone})


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.42, "0.4 s"),
        (42, "42 s"),
        (185, "3 min 05 s"),
        (7380, "2 h 03 min"),
        (370800, "4 d 07 h"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_the_text_puts_the_phase_first_then_every_other_fact() -> None:
    status = {
        "id": "calm",
        "state": "cooling_down",
        "cooldown_until": "21:34:00",
        "active_since": "21:04:00",
        "recovery": "stress_score at or below 60",
        "held_back": "paused (by ha)",
    }
    assert rule_phase_text(status) == (
        "cooling down until 21:34:00, active since 21:04:00, waiting for stress_score at or "
        "below 60, actions held back: paused (by ha)"
    )
    assert rule_phase_text(
        {"state": "in_for", "for_until": "21:02:00", "in_range": "hr above 100"}
    ) == ("in `for` until 21:02:00 (hr above 100)")
    assert rule_phase_text({"state": "armed"}) == "armed"


def test_a_home_assistant_sensor_shows_its_connection_not_unknown() -> None:
    """A watch's heart rate read from HA: its sensor tells its connection as a word, not as
    the true/false of the other sensors; the page says connected, or what keeps it from it."""
    sensor = {"name": "alex_watch", "type": "homeassistant", "last_reading_age_s": 4.0}
    connected = render_status({"sensors": [sensor | {"connection": "connected"}]})
    refused = render_status({"sensors": [sensor | {"connection": "auth_failed"}]})

    assert "alex_watch  homeassistant  connected  last reading 4.0 s ago" in connected
    assert "alex_watch  homeassistant  AUTH FAILED  last reading 4.0 s ago" in refused


@pytest.mark.ha
def test_status_of_a_running_daemon_shows_a_watch_read_from_ha_as_connected(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    """Real HA, a real daemon and `ambient status` as a user runs them: the watch's sensor
    reads HA's entity, so it is connected (it was shown `unknown`)."""
    entity = "sensor.alex_watch_heart_rate"

    async def the_watch_reads_120() -> None:
        async with HaProbe(ha.url, ha.token) as probe:
            await probe.set_state(entity, "120", {"unit_of_measurement": "bpm"})

    asyncio.run(the_watch_reads_120())
    (tmp_path / "secrets.yaml").write_text(f"ha_token: {ha.token}\n")
    (tmp_path / "secrets.yaml").chmod(0o600)
    config = tmp_path / "watch.yaml"
    config.write_text(
        "people: [{id: alex}]\n"
        "sensors:\n"
        f"  - {{type: homeassistant, id: alex_watch, entity_id: {entity}, metric: hr,\n"
        "     person: alex, stale_after: 6min}\n"
        f"homeassistant: {{url: '{ha.url}', token: !secret ha_token}}\n"
        "rules:\n"
        "  - id: fast_heart\n"
        "    person: alex\n"
        "    triggers: [{trigger: signal, signal: hr, above: 100}]\n"
        "    actions: [{action: log, message: fast}]\n"
        "store: {path: state/ambient.db}\n"
    )
    env = clean_env(XDG_RUNTIME_DIR=str(tmp_path))
    daemon = AmbientProcess("run", str(config), env=env, cwd=tmp_path)
    try:
        daemon.stdout.wait_for(" fired ")  # the watch's sample came through HA
        status = run_ambient("status", str(config), env=env, cwd=tmp_path)
    finally:
        daemon.stop()

    assert status.returncode == 0, status.stderr
    sensor_line = next(line for line in status.stdout.splitlines() if "alex_watch" in line)
    assert "homeassistant  for alex  connected  last reading" in sensor_line


def test_a_satellite_gone_offline_is_listed_under_its_sensor() -> None:
    """A satellite whose last will said it went offline (power or network lost) is on the
    page below the sensors, named, as in ``status --json``'s ``offline``: its readings have
    stopped. A satellite sensor with none offline (or a daemon older than the list) adds no
    line."""
    sensors = [
        {
            "name": "satellite0",
            "type": "satellite",
            "connected": True,
            "last_reading_age_s": 93.0,
            "offline": ["bedroom", "kitchen"],
        },
        {
            "name": "upstairs",
            "type": "satellite",
            "connected": True,
            "last_reading_age_s": 0.5,
            "offline": ["attic"],
        },
        {"name": "downstairs", "type": "satellite", "connected": True, "offline": []},
        {"name": "older", "type": "satellite", "connected": True},
    ]

    lines = render_status({"sensors": sensors}).splitlines()

    assert "  satellite0: satellites OFFLINE: bedroom, kitchen" in lines
    assert "  upstairs: satellite OFFLINE: attic" in lines
    assert [line for line in lines if "OFFLINE" in line] == [
        "  satellite0: satellites OFFLINE: bedroom, kitchen",
        "  upstairs: satellite OFFLINE: attic",
    ]
    assert lines.index("  upstairs: satellite OFFLINE: attic") > max(
        i for i, line in enumerate(lines) if line.startswith("  older ")
    )
