"""``ambient forget``: erase one person from everything ambient controls.

In order: the store's rows of every registered data class and the per-person state inside
shared values (rule timers), overwritten and checkpointed; the retained MQTT topics for the
person (HA discovery and states: an empty retained discovery document makes HA delete the
device and its entities); the person's rows in the recordings directory, and their weekly
reports delivered to the folder HA serves. What only Home Assistant can erase, its recorder's
history of those entities, is listed with the service that does it. The daemon must be stopped
first: it would write the person back from memory.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ambient.config.root import AmbientConfig
from ambient.privacy.data_classes import data_classes, nested_states
from ambient.privacy.recording_files import managed_recordings
from ambient.private_files import write_private
from ambient.recordings import header_names, is_json_lines
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

#: How long to wait for the broker to hand over the retained topics (a safety net: the
#: marker message normally ends the wait at once).
RETAINED_WAIT_S = 10.0
_MARKER_KEY = "_forget_marker"
#: How long to wait for another process reading the store (a backup, a sqlite3 shell) to let
#: the write-ahead log be folded back.
FOLD_WAIT_S = 15.0


class ForgetError(Exception):
    """Forgetting cannot go ahead; the message says why and what to do."""


@dataclass
class ForgetReport:
    rows: dict[str, int] = field(default_factory=dict)
    #: The store whose write-ahead log could not be folded back: it still holds the rows.
    log_kept: Path | None = None
    mqtt_cleared: list[str] = field(default_factory=list)
    mqtt_note: str | None = None
    files_removed: list[Path] = field(default_factory=list)
    files_rewritten: list[Path] = field(default_factory=list)
    files_kept: list[Path] = field(default_factory=list)
    sensor_topics: list[str] = field(default_factory=list)
    ha_entities: list[str] = field(default_factory=list)
    #: What the store handed over rather than erased outright (see ``forget_store``).
    store_notes: list[str] = field(default_factory=list)


def forget_store(store: Store, person: str, notes: list[str] | None = None) -> dict[str, int]:
    """Delete ``person``'s rows of every data class and erase their nested state, overwritten
    (the file keeps the old pages until :func:`fold_log`). What a class hands over first (an
    open episode's undo, kept without the person for the next start) is said in ``notes``."""
    removed: dict[str, int] = {}
    store.secure_delete()
    with store.batch():
        for data_class in data_classes():
            if data_class.exists(store):
                if data_class.hand_over is not None:
                    note = data_class.hand_over(store, person)
                    if note is not None and notes is not None:
                        notes.append(note)
                removed[data_class.name] = store.execute(
                    f"DELETE FROM {data_class.table} WHERE {data_class.person_clause()}",
                    (person,),
                )
        for state in nested_states():
            removed[state.name] = state.erase(store, person)
    return removed


def fold_log(store: Store) -> bool:
    """Fold the write-ahead log back, so the file no longer holds the deleted rows; waits up
    to :data:`FOLD_WAIT_S` for another process reading the store. False: it kept reading."""
    return store.checkpoint(busy_wait_s=FOLD_WAIT_S)


# -- MQTT -----------------------------------------------------------------------------------


def person_topics(config: AmbientConfig, person: str) -> tuple[str, str, list[str]]:
    """(the person's discovery topic, the root of their state topics, every known topic)."""
    from ambient.actuators.mqtt_entities import PERSON_ENTITIES, DiscoveryPayloads, Topics

    topics = Topics(config)
    discovery = topics.discovery(DiscoveryPayloads(config, topics).person_device_id(person))
    known = [discovery, topics.wearable(person)]
    known += [topics.person_state(person, entity.key) for entity in PERSON_ENTITIES]
    return discovery, f"{topics.root}/{person}", known


async def clear_retained(config: AmbientConfig, person: str) -> list[str]:
    """Empty every retained topic of ``person`` on the broker: the ones ambient publishes,
    and any other retained under their state root. Returns the topics cleared."""
    import aiomqtt

    from ambient.connections.mqtt import tls_context

    mqtt = config.mqtt
    assert mqtt is not None
    discovery, root, known = person_topics(config, person)
    client_id = f"{mqtt.client_id or f'ambient-{config.instance}'}-forget"
    client = aiomqtt.Client(
        mqtt.host,
        mqtt.port,
        username=mqtt.username,
        password=mqtt.password.get_secret_value() if mqtt.password else None,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=RETAINED_WAIT_S,
        tls_context=tls_context(mqtt),
        logger=_LOGGER.getChild("client"),
    )
    marker = f"{root}/{_MARKER_KEY}"
    found: set[str] = set()
    async with client:
        await client.subscribe(f"{root}/#", qos=1)
        await client.subscribe(discovery, qos=1)
        # Retained messages arrive before anything published after the subscription: when
        # our own marker comes back, every retained topic has been seen.
        await client.publish(marker, b"1", qos=1, retain=False)
        try:
            async with asyncio.timeout(RETAINED_WAIT_S):
                async for message in client.messages:
                    topic = str(message.topic)
                    if topic == marker:
                        break
                    if message.retain and message.payload:
                        found.add(topic)
        except TimeoutError:
            _LOGGER.warning("the broker did not echo the marker; clearing the known topics")
        cleared = sorted(found | set(known))
        for topic in cleared:
            await client.publish(topic, b"", qos=1, retain=True)
    return cleared


def sensor_topics(config: AmbientConfig, person: str) -> list[str]:
    """The MQTT topics the config's sensors read ``person``'s readings from: a sensor of
    theirs, and one that takes the person from a topic level, with that level filled in."""
    topics = []
    for sensor in config.sensors:
        if sensor.type != "mqtt":
            continue
        levels = sensor.topic.split("/")
        level = sensor.person_topic_level
        if level is not None and level < len(levels) and levels[level] == "+":
            levels[level] = person
            topics.append("/".join(levels))
        elif sensor.person == person:
            topics.append(sensor.topic)
    return topics


# -- files ----------------------------------------------------------------------------------


def forget_recordings(
    directory: Path | None, person: str, replayed: Collection[Path] = ()
) -> tuple[list[Path], list[Path]]:
    """Remove ``person``'s rows from the recordings in ``directory``: a file holding only
    theirs is deleted, a shared one rewritten (0600) without them. (removed, rewritten).
    Files the config replays (``replayed``) are the user's and stay as they are.
    Files are read a line at a time, as bytes: what is kept is written back exactly as it
    was, whatever its encoding, and a month's recording is never held as text."""
    removed: list[Path] = []
    rewritten: list[Path] = []
    if directory is None or not directory.is_dir():
        return removed, rewritten
    for path in managed_recordings(directory, replayed):
        kept, dropped, others = _without(path, person)
        if not dropped:
            continue
        if not others:
            path.unlink()
            removed.append(path)
            continue
        write_private(path, kept)
        rewritten.append(path)
    return removed, rewritten


def forget_reports(folder: Path | None, person: str) -> list[Path]:
    """Remove ``person``'s weekly reports delivered to ``folder`` (``<person>-<week>-<random>
    .html``: HA serves them without a login to whoever has the link). The removed files."""
    if folder is None or not folder.is_dir():
        return []
    pattern = re.compile(rf"{re.escape(person)}-\d{{4}}-W\d{{2}}-[\w-]+\.html")
    removed = []
    for path in sorted(folder.iterdir()):
        if pattern.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


def _without(path: Path, person: str) -> tuple[bytes, int, int]:
    """The file's bytes without ``person``'s rows; how many rows were dropped, and kept."""
    is_csv = not is_json_lines(path)  # as the recordings reader tells them: `S01.CSV` is CSV
    #: A CSV file's person column, from its header (after any comment lines) as the
    #: recordings reader takes it; None before the header, or when it names none.
    person_column: int | None = None
    header_seen = not is_csv
    kept = bytearray()
    dropped = others = 0
    with path.open("rb") as handle:
        for line in handle:
            text = line.decode("utf-8-sig", "replace")
            if not header_seen:
                if not text.startswith("#"):
                    header_seen = True
                    names = header_names(text)
                    if names is not None and "person" in names:
                        person_column = len(names) - 1 - names[::-1].index("person")
                kept += line
            elif _row_person(text, is_csv, person_column) == person:
                dropped += 1
            else:
                others += 1
                kept += line
    return bytes(kept), dropped, others


def _row_person(line: str, is_csv: bool, person_column: int | None) -> str | None:
    """Whose row ``line`` is: a CSV row's field at ``person_column``, a JSON line's
    ``person``; None for a row without one (the sensor's person's: left alone)."""
    if not line.strip() or line.startswith("#"):
        return None
    if is_csv:
        if person_column is None:
            return None
        fields = next(csv.reader(io.StringIO(line)), [])
        return fields[person_column].strip() if len(fields) > person_column else None
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, a number too long, nested too deep
        return None
    person = row.get("person") if isinstance(row, dict) else None
    return person if isinstance(person, str) else None


# -- what only Home Assistant can remove -----------------------------------------------------


def ha_entity_ids(config: AmbientConfig, person: str) -> list[str]:
    """The entity ids HA gave the person's entities (unless renamed there)."""
    from ambient.actuators.mqtt_entities import PERSON_ENTITIES, safe_id

    return [
        f"{entity.platform}.{safe_id(f'{config.instance}_{person}_{entity.key}')}"
        for entity in PERSON_ENTITIES
    ]


def recorder_instructions(entity_ids: list[str]) -> str:
    """How to purge HA's recorder history of ``entity_ids`` (Developer tools > Actions), and
    the long-term statistics that purge leaves."""
    listed = "\n".join(f"      - {entity_id}" for entity_id in entity_ids)
    return (
        "Home Assistant keeps its own history of these entities (its recorder database);\n"
        "only HA can remove it. In Developer tools > Actions, in YAML mode, run:\n"
        "  action: recorder.purge_entities\n"
        "  target:\n"
        "    entity_id:\n"
        f"{listed}\n"
        "  data:\n"
        "    keep_days: 0\n"
        "The hourly long-term statistics of heart rate, RMSSD and stress score stay after that:\n"
        "delete them in Developer tools > Statistics (each shows an issue with a Fix button).\n"
    )


def format_report(person: str, report: ForgetReport) -> str:
    lines = [f"Forgot {person}:"]
    rows = ", ".join(f"{count} {name}" for name, count in report.rows.items() if count)
    if report.log_kept is None:
        lines.append(f"  store: {rows or 'nothing held'} (deleted rows overwritten)")
    else:
        lines.append(
            f"  store: {rows or 'nothing held'} deleted, but the file still holds them: another "
            f"process is reading {report.log_kept}, so its write-ahead log could not be folded "
            "back; close it and run forget again"
        )
    lines += [f"  {note}" for note in report.store_notes]
    if report.mqtt_note:
        lines.append(f"  MQTT: {report.mqtt_note}")
    else:
        lines.append(
            f"  MQTT: {len(report.mqtt_cleared)} retained topic(s) emptied, the discovery "
            "document included (HA removes the device)"
        )
    lines += [f"  removed {path}" for path in report.files_removed]
    lines += [f"  rewrote {path} without {person}'s rows" for path in report.files_rewritten]
    lines += [
        f"  not touched: {path} (a recording the config replays; yours to delete)"
        for path in report.files_kept
    ]
    if report.sensor_topics:
        lines.append(
            f"  not touched: MQTT {', '.join(report.sensor_topics)} (what a sensor reads: a "
            "retained reading there is its publisher's to clear)"
        )
    text = "\n".join(lines) + "\n"
    if report.ha_entities:
        text += recorder_instructions(report.ha_entities)
    return text
