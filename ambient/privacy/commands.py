"""The ``export`` and ``forget`` subcommands: options in, one report out, an exit code."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ambient.config.root import AmbientConfig
from ambient.privacy.export import ExportError, ExportFormat, export_person, holds_anything
from ambient.privacy.forget import (
    ForgetError,
    ForgetReport,
    clear_retained,
    fold_log,
    forget_recordings,
    forget_reports,
    forget_store,
    format_report,
    ha_entity_ids,
    sensor_topics,
)
from ambient.privacy.recording_files import replayed_recordings
from ambient.private_files import write_private
from ambient.store import Store, existing_store_path

_PERSON_ID = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")


def _check_person(person: str) -> None:
    if not _PERSON_ID.fullmatch(person):
        raise ForgetError(f"`{person}` is not a person id (lower-case letters, digits, _)")


def run_export(
    config: AmbientConfig,
    person: str,
    fmt: ExportFormat,
    out_path: Path | None,
    recipients: Sequence[str],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """0 written; 1 with one line on ``stderr`` when it cannot be, or for a person neither the
    config nor the store knows (a typo, most likely: report, insights and baseline refuse
    them alike). One of the people with nothing kept yet gets their empty export."""
    if out_path == Path("-"):  # the usual name for stdout, never a file called `-`
        out_path = None
    try:
        _check_person(person)
        existing_store_path(config.store, "there is nothing to export")
        if out_path is None and recipients and stdout.isatty():
            raise ExportError("an age-encrypted export is binary: give --out FILE or a pipe")
        store = Store.from_config(config.store)
        try:
            if person not in config.person_ids() and not holds_anything(store, person):
                known = config.person_ids_text()
                raise ExportError(
                    f"no person `{person}` in the config or the store (people: {known})"
                )
            data = export_person(store, person, fmt, config.instance, recipients)
        finally:
            store.close()
    except (ExportError, ForgetError) as exc:
        print(f"ambient export: {exc}", file=stderr)
        return 1
    if out_path is None:
        stdout.flush()
        binary = getattr(stdout, "buffer", None)
        if binary is not None:
            binary.write(data)
            binary.flush()
        else:
            stdout.write(data.decode())
    else:
        try:
            write_private(out_path, data)
        except OSError as exc:  # a full disk, a device: the path, as the report says it
            print(f"ambient export: cannot write {out_path}: {exc.strerror or exc}", file=stderr)
            return 1
        private = ", mode 0600" if out_path.is_file() else ""  # not a device or a pipe
        print(f"wrote {out_path} ({len(data)} bytes{private})", file=stderr)
    return 0


def run_forget(
    config: AmbientConfig, person: str, yes: bool, stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    """0 everything erased; 1 refused, or a part could not be erased (said which)."""
    try:
        _check_person(person)
        _refuse_while_running(config)
        if not yes:
            _confirm(config, person, stdin, stdout)
    except ForgetError as exc:
        print(f"ambient forget: {exc}", file=stderr)
        return 1
    report = ForgetReport()
    path = config.store.path
    if path is not None and path.exists():
        store = Store.from_config(config.store)
        try:
            report.rows = forget_store(store, person, report.store_notes)
            if not fold_log(store):
                report.log_kept = path
        finally:
            store.close()
    failed = False
    if config.mqtt is None:
        report.mqtt_note = "not configured: nothing retained to clear"
    else:
        try:
            report.mqtt_cleared = asyncio.run(clear_retained(config, person))
        except Exception as exc:  # aiomqtt.MqttError, OSError: the broker cannot be reached
            failed = True
            report.mqtt_note = (
                f"broker {config.mqtt.host}:{config.mqtt.port} unreachable ({exc}): retained "
                "topics NOT cleared; run forget again when it is reachable"
            )
        report.ha_entities = ha_entity_ids(config, person)
        report.sensor_topics = sensor_topics(config, person)
    recordings = config.retention.recordings_path(path)
    report.files_removed, report.files_rewritten = forget_recordings(
        recordings, person, replayed_recordings(config)
    )
    delivery = config.insights.report
    report.files_removed += forget_reports(None if delivery is None else delivery.folder, person)
    report.files_kept = [
        sensor.path
        for sensor in config.sensors
        if sensor.type == "recording" and sensor.person == person
    ]
    stdout.write(format_report(person, report))
    found = any(report.rows.values()) or report.files_removed or report.files_rewritten
    if person not in config.person_ids() and not found:
        print(
            f"ambient forget: note: nothing about {person} was found, who is not among the "
            f"config's people ({config.person_ids_text()})",
            file=stderr,
        )
    if person in config.person_ids():
        print(
            f"ambient forget: {person} is still in the config's people: the next start "
            "publishes their device again and learns afresh; remove them from the config",
            file=stderr,
        )
    return 1 if failed or report.log_kept is not None else 0


def _refuse_while_running(config: AmbientConfig) -> None:
    from ambient.daemon_stop import refusal

    refused = refusal(config.store.path, "write the person back from memory", "forget")
    if refused is not None:
        raise ForgetError(refused)


def _confirm(config: AmbientConfig, person: str, stdin: TextIO, stdout: TextIO) -> None:
    if not stdin.isatty():
        raise ForgetError("nothing erased: confirm with --yes (stdin is not a terminal)")
    stdout.write(
        f"This erases everything ambient holds about {person}: the store's rows, the retained "
        "MQTT topics (HA drops the device), their rows in the recordings directory and their "
        "delivered weekly reports. It cannot be undone.\nForget them? [y/N] "
    )
    stdout.flush()
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise ForgetError("nothing erased")
