"""``ambient status`` as a page a person reads: a header, then sensors, people and their signals,
each rule's phase (see :func:`rule_phase_text`), queues, counters (what was dropped, skipped
or set aside, and why: errors and the normal course alike, such as a watch's readings set aside
while the strap counts) and the store."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def render_status(status: Mapping[str, Any]) -> str:
    """A readable page: header, then sensors, people, rules, queues, counters."""
    if status.get("starting"):  # not wired yet: sections would read "none configured"
        return (
            f"ambient {status.get('version', '?')} · starting: its sensors, people and rules "
            "come once its config is read and its store open\n"
        )
    zone = _zone(status.get("timezone"))
    lines = [_header(status)]
    if (status.get("clock") or {}).get("synchronised") is False:
        lines.append("clock NOT synchronised (NTP) yet: times of day may be wrong until it is")
    lines += _section("Sensors", _sensor_lines(status.get("sensors") or []))
    lines += _section("People", _people_lines(status.get("people") or {}))
    lines += _section("Rules", _rule_lines(status.get("rules") or [], zone))
    lines += _section("Queues", _queue_lines(status.get("queues") or {}))
    lines += _section("Counters", _counter_lines(status.get("counters") or {}), empty="none")
    lines += _section("Store", _store_lines(status.get("store") or {}), empty="unknown")
    link = status.get("home_assistant_connection")
    if status.get("home_assistant") is not None or link:
        held = _held_lines(status.get("home_assistant") or {}, zone) or ["  nothing held"]
        lines += _section("Home Assistant", [*_link_lines(link), *held])
    if status.get("check_ins"):
        lines += _section("Check-ins", _check_in_lines(status["check_ins"]))
    return "\n".join(lines) + "\n"


def _link_lines(link: Any) -> list[str]:
    """The Home Assistant connection's state, in capitals when not ``connected``, and its last
    error; a token HA rejected is not tried again, so that says what it stops and until when
    (the add-on's Supervisor token, ``retrying``, is: that says so instead). None (a daemon
    older than this page, or HA used by nothing): no line."""
    if not isinstance(link, Mapping) or not isinstance(link.get("state"), str):
        return []
    state = link["state"]
    text = "connected" if state == "connected" else state.replace("_", " ").upper()
    if link.get("last_error"):
        text += f": {link['last_error']}"
    if state == "auth_failed" and link.get("retrying"):
        text += "; the add-on's Supervisor token is tried again with backoff"
    elif state == "auth_failed":
        text += "; nothing is sent to or read from Home Assistant until a reload or restart"
    return [f"  connection {text}"]


def _check_in_lines(counts: Mapping[str, Any]) -> list[str]:
    """The household's counts, then each person's when there are several."""

    def listed(of: Mapping[str, Any]) -> str:
        return ", ".join(f"{n} {k}" for k, n in of.items() if k != "people")

    people = counts.get("people") or {}
    lines = [f"  {listed(counts)}"]
    if len(people) > 1:
        lines += [f"  {person}: {listed(own)}" for person, own in people.items()]
    return lines


def _zone(name: Any) -> datetime.tzinfo | None:
    """The daemon's zone (its timeline's and HA's), by name; None (this machine's) when the
    document names none (a daemon older than this page) or a zone unknown here."""
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # unknown here; a malformed name
        return None


def _held_lines(
    episodes: Mapping[str, Mapping[str, Any]], zone: datetime.tzinfo | None = None
) -> list[str]:
    """Per open episode (``rule:person:time``): the lights and players ambient will put back,
    those it will leave as it set them (``restore: false``, ``stop_on_recovery: false``, unless
    another episode holding them wants them back), the lights a calm found off and left off (not
    held), the ones a person took over by hand (left as they are), and whether it outlived a
    restart or waits for HA to restore."""
    lines = []
    for episode_id, held in episodes.items():
        media = held.get("media") or {}
        if isinstance(media, list):  # a daemon older than this page: the players' ids
            media = {player: {} for player in media}
        groups: dict[str, list[str]] = {"back": [], "kept": [], "left_off": [], "taken": []}
        for entity, hold in {**(held.get("lights") or {}), **media}.items():
            groups[_held_group(hold)].append(entity)
        facts = [", ".join(groups["back"])] if groups["back"] else []
        if groups["kept"]:
            facts.append(f"left as ambient set them at the end: {', '.join(groups['kept'])}")
        if not facts:
            facts.append("nothing held")
        if groups["left_off"]:
            facts.append(f"left off: {', '.join(groups['left_off'])}")
        if groups["taken"]:
            facts.append(f"taken over by hand: {', '.join(groups['taken'])}")
        if held.get("carried_over_restart"):
            facts.append("carried over a restart")
        if held.get("waiting_for_ha"):
            facts.append("restore waits for Home Assistant")
        lines.append(f"  {_episode_heading(episode_id, zone)}: {'; '.join(facts)}")
    return lines


def _held_group(hold: Mapping[str, Any]) -> str:
    """What recovery does with one light or player: a person's (``taken``), one a calm left off,
    put ``back``, or ``kept`` as ambient set it. No ``put_back`` (a daemon older than this
    page): it puts back all it holds."""
    if hold.get("overridden_by"):
        return "taken"
    if hold.get("left_off"):
        return "left_off"
    return "back" if hold.get("put_back", True) else "kept"


def _episode_heading(episode_id: str, zone: datetime.tzinfo | None) -> str:
    """``rule:person:time`` as ``rule (person) since HH:MM:SS``."""
    parts = episode_id.rsplit(":", 2)
    rule, person, started = parts if len(parts) == 3 else (episode_id, "", "")
    who = f" ({person})" if person and person != "-" else ""
    try:
        since = f" since {_format_time(float(started), zone)}"
    except ValueError:
        since = ""
    return f"{rule}{who}{since}"


def _store_lines(store: Mapping[str, Any]) -> list[str]:
    if not store:
        return []
    if store.get("path") is None:
        return ["  in memory (nothing on disk)"]
    encrypted = "encrypted (SQLCipher)" if store.get("encrypted") else "NOT encrypted"
    return [f"  {store['path']}  {encrypted}"]


def _header(status: Mapping[str, Any]) -> str:
    parts = [f"ambient {status.get('version', '?')}"]
    if status.get("instance"):
        parts.append(f"instance {status['instance']}")
    uptime_s = status.get("uptime_s")
    if isinstance(uptime_s, int | float):
        parts.append(f"up {format_duration(uptime_s)}")
    parts.append("PAUSED" if status.get("paused") else "running")
    return " · ".join(parts)


def _section(title: str, body: list[str], empty: str = "none configured") -> list[str]:
    return ["", title, *(body or [f"  {empty}"])]


def _sensor_lines(sensors: list[Mapping[str, Any]]) -> list[str]:
    """Name, kind, whose heart it reads (in a household, which wearable is whose), state, age,
    battery; the person column only when some sensor names one (a daemon older than this
    page), the battery only where its level is known (a BLE device that tells it). Below
    them, the satellites a satellite sensor knows to be offline (their readings stopped)."""
    named = any(sensor.get("person") for sensor in sensors)
    rows = []
    offline = []
    for sensor in sensors:
        state = _connection_text(sensor)
        age_s = sensor.get("last_reading_age_s")
        age = "no reading yet" if age_s is None else f"last reading {format_duration(age_s)} ago"
        row = [str(sensor.get("name", "?")), str(sensor.get("type", "?"))]
        if named:
            row.append(f"for {sensor['person']}" if sensor.get("person") else "")
        battery = sensor.get("battery_pct")
        known = isinstance(battery, int | float) and not isinstance(battery, bool)
        rows.append([*row, state, age, f"battery {battery} %" if known else ""])
        gone = sensor.get("offline")
        if isinstance(gone, list) and gone:
            listed = ", ".join(str(instance) for instance in gone)
            which = "satellite" if len(gone) == 1 else "satellites"
            offline.append(f"  {sensor.get('name', '?')}: {which} OFFLINE: {listed}")
    return [*_table(rows), *offline]


def _connection_text(sensor: Mapping[str, Any]) -> str:
    """``connected``, else in capitals what keeps the sensor from it. Most sensors tell it as
    ``connected`` (true/false); one reading Home Assistant tells its client's ``connection``
    as a word (``connected``, ``auth_failed``, ``waiting_for_ha`` ...)."""
    connected = sensor.get("connected")
    if connected is None:
        connection = sensor.get("connection")
        if not isinstance(connection, str):
            return "unknown"
        connected = connection == "connected"
        if not connected:
            return connection.replace("_", " ").upper()
    return "connected" if connected else "DISCONNECTED"


def _people_lines(people: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = []
    for person, signals in people.items():
        lines.append(f"  {person}")
        rows = []
        for name, signal in signals.items():
            value = signal.get("value") if isinstance(signal, Mapping) else signal
            reason = signal.get("reason") if isinstance(signal, Mapping) else None
            shown = "unknown" if value is None else _format_value(value)
            if reason:
                shown += f" ({reason})"
            rows.append([str(name), shown])
        lines += ["  " + line for line in _table(rows)] or ["    no signals yet"]
    return lines


def _rule_lines(rules: list[Mapping[str, Any]], zone: datetime.tzinfo | None) -> list[str]:
    rows = []
    for rule in rules:
        who = f" ({rule['person']})" if rule.get("person") else ""
        last = rule.get("last_fired")
        rows.append(
            [
                f"{rule.get('id', '?')}{who}",
                rule_phase_text(rule, zone),
                "never fired" if last is None else f"last fired {_format_time(last, zone)}",
            ]
        )
    return _table(rows)


def rule_phase_text(rule: Mapping[str, Any], zone: datetime.tzinfo | None = None) -> str:
    """``active since 21:04:13, waiting for stress_score at or below 60`` and the like: the
    phase first, then every other fact that applies, then whether actions are held back.
    Times in ``zone`` (None: this machine's)."""
    phase = str(rule.get("state", "?"))
    facts = {
        "running": _fact("running actions since", rule.get("running_since"), zone),
        "in_for": _fact("in `for` until", rule.get("for_until"), zone, rule.get("in_range")),
        "cooling_down": _fact("cooling down until", rule.get("cooldown_until"), zone),
        "active": _active_fact(rule, zone),
    }
    first = facts.pop("active" if phase == "held_back" else phase, None) or phase.replace("_", " ")
    parts = [first, *(fact for fact in facts.values() if fact)]
    if rule.get("held_back"):
        parts.append(f"actions held back: {rule['held_back']}")
    return ", ".join(parts)


def _fact(words: str, when: Any, zone: datetime.tzinfo | None, holding: Any = None) -> str | None:
    if when is None:
        return None
    return f"{words} {_format_time(when, zone)}" + (f" ({holding})" if holding else "")


def _active_fact(rule: Mapping[str, Any], zone: datetime.tzinfo | None) -> str | None:
    since = rule.get("active_since")
    if since is None and rule.get("state") not in ("active", "held_back"):
        return None
    word = "held back" if rule.get("active_held_back") else "active"  # latched, nothing ran
    text = word if since is None else f"{word} since {_format_time(since, zone)}"
    if rule.get("recovery"):
        text += f", waiting for {rule['recovery']}"
    return text


def _queue_lines(queues: Mapping[str, Any]) -> list[str]:
    return _table([[str(name), str(depth)] for name, depth in queues.items()])


def _counter_lines(counters: Mapping[str, Mapping[str, Any]]) -> list[str]:
    rows = []
    for scope, reasons in counters.items():
        for reason, count in reasons.items():
            rows.append([str(scope), str(reason), str(count)])
    return _table(rows)


def _table(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _format_time(value: Any, zone: datetime.tzinfo | None = None) -> str:
    """Clock time in ``zone`` (None: this machine's); the date too unless it is today there."""
    if isinstance(value, int | float):
        shown = datetime.datetime.fromtimestamp(value, zone)
        today = datetime.datetime.now(zone).date() == shown.date()
        return shown.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M:%S")
    return str(value)


def format_duration(seconds: float) -> str:
    """``0.4 s``, ``42 s``, ``3 min 05 s``, ``2 h 03 min``, ``4 d 07 h``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"
