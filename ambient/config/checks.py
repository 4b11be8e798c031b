"""Checks across sections that one model cannot see: duplicate ids, references, signal names."""

from __future__ import annotations

import importlib.util
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from ambient.config.actions import (
    BUILTIN_ACTIONS,
    MqttPublishActionConfig,
)
from ambient.config.homeassistant import SUPERVISOR_URL, resolve_endpoint
from ambient.config.people import people_sharing_entity_ids
from ambient.config.recording_read_through import read_through
from ambient.config.root import AmbientConfig
from ambient.config.rule_checks import rule_checks, walk_steps
from ambient.config.store import DEFAULT_STORE
from ambient.config.template_checks import template_checks
from ambient.config.yaml_source import KeyPath
from ambient.private_files import user_name
from ambient.recordings import (
    HEADER,
    JSON_LINES_SUFFIXES,
    header_names,
    packed_hint_for_config,
)

Finding = tuple[KeyPath, str]

#: The ``person:`` ``ambient scan`` writes when it cannot know whose heart a device reads (a
#: config of several people, or none found): ``check`` refuses it, saying what to put.
SCAN_PERSON_PLACEHOLDER: Final = "who_wears_it"

_HA_ACTIONS = frozenset(BUILTIN_ACTIONS) - {"log", "mqtt.publish"}


def cross_checks(
    config: AmbientConfig, *, environment: bool = True, whole_recordings: bool = False
) -> list[Finding]:
    """What the sections say together; with ``environment``, also what ``run`` will need of
    this machine (files, the store's place, matplotlib). The commands that only read or erase
    the store leave that out: a missing recording must not stop ``forget``. A recording's
    first bytes are looked at; with ``whole_recordings`` (``check``) it is read to its end."""
    findings = [
        *_duplicates(config),
        *_person_references(config),
        *people_sharing_entity_ids(config),
        *_connections(config),
        *rule_checks(config),
        *template_checks(config),
    ]
    if environment:
        findings += [
            *_recording_files(config, whole_recordings),
            *_tls_files(config),
            *_home_assistant_token(config),
            *_store_path(config),
            *_status_socket(config),
            *_report_delivery(config),
        ]
    return findings


def _recording_files(config: AmbientConfig, whole: bool) -> Iterator[Finding]:
    """A recording sensor's file must be there and start as a recording (a path is relative
    to the config file); ``whole``: and play to its end."""
    for index, sensor in enumerate(config.sensors):
        path = getattr(sensor, "path", None) if sensor.type == "recording" else None
        if path is None:
            continue
        problem = _unreadable(path) or _not_a_recording(path, f"sensors[{index}].path")
        if problem is not None:
            yield (("sensors", index, "path"), f"recording {path} {problem}")
        elif whole:
            known = set(config.person_ids()) or None  # as the sensor is built for `run`
            failure = read_through(path, sensor.person or "default", known)
            if failure is not None:
                yield (("sensors", index, "path"), failure)


def _unreadable(path: Path) -> str | None:
    """Why ``path`` is no file this user can read (a folder it may not look into, too), or
    None."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return "does not exist"
    except PermissionError:
        return "cannot be read (permissions)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory"
    if not os.access(path, os.R_OK):
        return "cannot be read (permissions)"
    return None


#: How much of a recording is read to tell it is one (the rows are read when it plays).
_HEAD_BYTES = 65_536


def _not_a_recording(path: Path, key: str) -> str | None:
    """What its first bytes show would stop ``path`` (the config's ``key``) from playing at
    all (a binary file, a packed one said with what to do, an empty CSV, a CSV without the
    header), else None; bad rows are skipped when it plays."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:  # a failing card
        return f"cannot be read ({exc.strerror})"
    if len(head) == _HEAD_BYTES:
        head = head[: head.rfind(b"\n") + 1]  # whole lines: a character is not cut in two
    try:
        text = head.decode("utf-8-sig")  # as the recording is read: past a byte order mark
    except UnicodeDecodeError as exc:
        hint = packed_hint_for_config(path, head, key)
        return f"is not a text recording (byte {exc.start} is not UTF-8){hint}"
    if path.suffix.lower() in JSON_LINES_SUFFIXES:  # as the recording is read
        return None
    first = next((line for line in text.splitlines() if not line.startswith("#")), None)
    if first is None:
        return f"is empty: a CSV recording starts with the header `{HEADER}`"
    if header_names(first) is None:
        return f"does not start with the header `{HEADER}` (got `{first.strip()}`)"
    return None


def _store_path(config: AmbientConfig) -> Iterator[Finding]:
    """The store must be a file in a directory that is, or can be, there, on a file system
    that can be written (a Pi's root made read-only cannot), and that this user could use
    where it can see it (``_store_owner``); a folder it may not look into is left to `run`:
    `check` is often run by someone else than the daemon."""
    path = config.store.path
    if path is None:
        return
    try:
        if path.is_dir():
            yield (
                ("store", "path"),
                f"{path} is a directory; name the file, e.g. {path / 'ambient.db'}",
            )
            return
        existing = next(p for p in (path, *path.parents) if p.exists())
        if existing != path and not existing.is_dir():
            yield ("store", "path"), f"{existing} is a file, so {path} cannot be created"
            return
        if os.statvfs(existing).f_flag & os.ST_RDONLY:
            yield (
                ("store", "path"),
                f"{existing} is on a read-only file system, where `run` cannot write the "
                f"store: give an absolute path in a folder it can write, such as {DEFAULT_STORE} "
                "(in Docker, the state volume)",
            )
            return  # whose the folder is does not matter there
    except PermissionError:
        return  # a folder this user may not look into (the daemon's user may): left to `run`
    yield from _store_owner(path)


def _store_owner(path: Path) -> Iterator[Finding]:
    """A store this user can see but `run` as this user could not use: its folder not
    writable (the -wal, the socket), or its files another user's (`run` makes the file 0600,
    which only its owner may): ``sudo ambient run`` by hand leaves the service's store root's,
    and the unit's check, run as the service's user, is the one that can tell. By hand, only
    root's are refused: another user's are most likely the daemon's user's, checked by someone
    else (an admin), and are left to `run`."""
    from ambient.store_crypto import CREDENTIALS_ENV

    me = os.geteuid()
    if me == 0:
        return
    in_service = bool(os.environ.get(CREDENTIALS_ENV))

    def left_to_run(owner: int) -> bool:
        return owner not in (me, 0) and not in_service

    folder = path.parent
    try:
        folder_owner = folder.stat().st_uid
        files = [(file, file.stat().st_uid) for file in _store_files(path) if file.exists()]
    except OSError:
        return  # not there yet (made by `run`), or not this user's to look into: left to `run`
    if not os.access(folder, os.W_OK | os.X_OK):
        if left_to_run(folder_owner):
            return
        yield (
            ("store", "path"),
            f"`run` as {user_name(me)} cannot make files in {folder} "
            f"({user_name(folder_owner)}'s): give a folder it can write, such as "
            f"{DEFAULT_STORE.parent}, or make this one its own",
        )
        return
    others = [(file, owner) for file, owner in files if owner != me and not left_to_run(owner)]
    if others:
        names = " ".join(str(file) for file, _ in others)
        # Its own folder: all of it, as the same sudo may have left more there (recordings).
        fix = f"-R {user_name(me)}: {folder}" if folder_owner == me else f"{user_name(me)}: {names}"
        owners = ", ".join(sorted({user_name(owner) for _, owner in others}))
        yield (
            ("store", "path"),
            f"{names} {'is' if len(others) == 1 else 'are'} {owners}'s, so `run` as "
            f"{user_name(me)} cannot use {'it' if len(others) == 1 else 'them'} (a daemon "
            f"or command run with sudo makes the store's files root's): "
            f"sudo chown {fix}",
        )


def _store_files(path: Path) -> tuple[Path, ...]:
    """The store and SQLite's files beside it."""
    return (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm"))


def _report_delivery(config: AmbientConfig) -> Iterator[Finding]:
    """The weekly report is drawn with matplotlib into a folder, once a week: without either,
    the first delivery, days after the start, is where it would fail."""
    report = config.insights.report
    if report is None:
        return
    if importlib.util.find_spec("matplotlib") is None:
        yield (
            ("insights", "report"),
            "the weekly report is drawn with matplotlib, which is not installed: "
            "pip install 'ambient[report]'",
        )
    folder = report.folder
    try:
        existing = next(p for p in (folder, *folder.parents) if p.exists())
    except PermissionError:
        return  # a folder this user may not look into (the daemon's user may): left to `run`
    if not existing.is_dir():
        yield (
            ("insights", "report", "folder"),
            f"{existing} is a file, so {folder} cannot be made",
        )


def report_folder_advice(config: AmbientConfig) -> list[Finding]:
    """A weekly report folder on a read-only file system: the service may write only its state
    folder (the rest is mounted read-only for it, as its check before each start sees too), so
    a folder elsewhere fails every week. Advice, not a refusal: the rest of `run` works, and an
    upgrade must not stop a daemon that ran before over its weekly page."""
    report = config.insights.report
    if report is None:
        return []
    if (hidden := _folder_not_to_look_into(report.folder)) is not None:
        return _report_folder_hidden(hidden)
    try:
        existing = next(p for p in (report.folder, *report.folder.parents) if p.exists())
        read_only = existing.is_dir() and os.statvfs(existing).f_flag & os.ST_RDONLY
    except OSError:
        return []
    if not read_only:
        return []
    return [
        (
            ("insights", "report", "folder"),
            f"{existing} is on a read-only file system, where the weekly report cannot be "
            f"written: give a folder `run` can write (the service's is {DEFAULT_STORE.parent}; "
            "another needs ReadWritePaths= in a drop-in, sudo systemctl edit ambient)",
        )
    ]


def _folder_not_to_look_into(folder: Path) -> Path | None:
    """The first folder above ``folder`` that this user may not look into, if any."""
    for parent in reversed(folder.parents):
        try:
            if not stat.S_ISDIR(parent.stat().st_mode):
                return None
        except OSError:
            return None  # not there: made by `run`
        if not os.access(parent, os.X_OK):
            return parent
    return None


def _report_folder_hidden(hidden: Path) -> list[Finding]:
    """A report folder under one this user may not look into. By hand that is left to `run`
    (the daemon's user may); in the service (the unit's check) it is the daemon's user that
    cannot, as in a home folder, which the unit hides (ProtectHome=yes: /home is there, not to
    be looked into), so the report would fail every week."""
    from ambient.store_crypto import CREDENTIALS_ENV

    if not os.environ.get(CREDENTIALS_ENV):
        return []
    return [
        (
            ("insights", "report", "folder"),
            f"the service cannot look into {hidden}, so the weekly report cannot be written "
            f"there: give a folder `run` can write (the service's is {DEFAULT_STORE.parent})",
        )
    ]


def _status_socket(config: AmbientConfig) -> Iterator[Finding]:
    """The daemon answers ``ambient status`` on a socket beside the store, and a Unix
    socket's path is short: a deep folder would stop ``run`` at its start."""
    if config.store.path is None:
        return
    socket = config.store.path.parent / STATUS_SOCKET_NAME
    if len(os.fsencode(socket)) > UNIX_SOCKET_PATH_MAX:
        yield (
            ("store", "path"),
            f"the status socket beside it, {socket}, would be a path longer than a Unix "
            f"socket's {UNIX_SOCKET_PATH_MAX} bytes: keep the store in a shorter folder",
        )


#: The status socket's name, beside the store (``ambient.status.SOCKET_NAME``; not imported
#: from there, which would load asyncio into every command that reads a config).
STATUS_SOCKET_NAME = "ambient.sock"
#: The longest path a Unix socket can have (``sun_path``: 108 bytes with the ending NUL).
UNIX_SOCKET_PATH_MAX = 107


def _tls_files(config: AmbientConfig) -> Iterator[Finding]:
    """The broker's CA and the client's certificate and key, and Home Assistant's CA, are
    read at every connect: one that is missing, or holds no certificate, would fail every
    attempt (the broker retried for ever, Home Assistant stopping ``run``). The contexts are
    built as ``run`` builds them, by the same code."""
    tls = config.mqtt.tls if config.mqtt is not None else None
    files: list[tuple[KeyPath, Path]] = [
        (("mqtt", "tls", key), path)
        for key in ("ca_file", "certfile", "keyfile")
        if (path := getattr(tls, key, None)) is not None
    ]
    ha = config.homeassistant
    if ha is not None and ha.verify_ssl and ha.ca_file is not None:
        files.append((("homeassistant", "ca_file"), ha.ca_file))
    unreadable = False
    for where, path in files:
        problem = _unreadable(path)
        if problem is not None:
            unreadable = True
            yield where, f"{path} {problem}"
    if unreadable or not files:
        return
    from ambient.config.tls import (  # loads ssl: only for a config with TLS files
        TlsFileError,
        broker_context,
        homeassistant_context,
    )

    if tls is not None:
        try:
            broker_context(tls)
        except TlsFileError as exc:
            yield ("mqtt", "tls", exc.setting), str(exc)
    if ha is not None:
        try:
            homeassistant_context(ha)
        except TlsFileError as exc:
            yield ("homeassistant", exc.setting), str(exc)


def _home_assistant_token(config: AmbientConfig) -> Iterator[Finding]:
    """Without a token, and outside the add-on, ``run`` logs once that HA stays unavailable
    and runs on without it: no action, sensor or entity of HA would ever work. The config the
    add-on writes (HA at the Supervisor's URL) is left alone: it is only run inside."""
    ha = config.homeassistant
    if ha is not None and ha.url != SUPERVISOR_URL and resolve_endpoint(ha, os.environ) is None:
        yield (
            ("homeassistant",),
            "no `token`: outside the Home Assistant add-on, give a long-lived access token "
            "(HA: Profile → Security), e.g. `token: !secret ha_token`",
        )


def _duplicates(config: AmbientConfig) -> Iterator[Finding]:
    for section, ids in (
        ("people", [p.id for p in config.people]),
        ("rules", [r.id for r in config.rules]),
        ("sensors", [s.id for s in config.sensors]),
    ):
        seen: dict[str, int] = {}
        for index, item_id in enumerate(ids):
            if item_id is None:
                continue
            if item_id in seen:
                yield (
                    (section, index, "id"),
                    f"duplicate id `{item_id}` (first used at {section}[{seen[item_id]}])",
                )
            else:
                seen[item_id] = index


def _person_references(config: AmbientConfig) -> Iterator[Finding]:
    known = set(config.person_ids())
    listing = ", ".join(sorted(known)) or "none: add a `people:` section"
    for section, items in (("sensors", config.sensors), ("rules", config.rules)):
        for index, item in enumerate(items):
            person = getattr(item, "person", None)
            if person is not None and person not in known:
                scanned = " (the placeholder `ambient scan` writes: put whose heart it is)"
                hint = scanned if person == SCAN_PERSON_PLACEHOLDER else ""
                yield (
                    (section, index, "person"),
                    f"unknown person `{person}`{hint}; people are: {listing}",
                )


def _connections(config: AmbientConfig) -> Iterator[Finding]:
    for r_index, rule in enumerate(config.rules):
        for path, action in walk_steps(rule, ("rules", r_index)):
            kind = getattr(action, "action", None)
            needs_ha = kind in _HA_ACTIONS or (
                isinstance(kind, str) and "." in kind and kind != "mqtt.publish"
            )
            if needs_ha and config.homeassistant is None:
                yield path, f"action `{kind}` needs a `homeassistant:` section"
            if isinstance(action, MqttPublishActionConfig) and config.mqtt is None:
                yield path, "action `mqtt.publish` needs an `mqtt:` section"
    if config.role == "satellite" and config.mqtt is None:
        yield ("role",), "a satellite forwards its readings over MQTT: add an `mqtt:` section"
    for s_index, sensor in enumerate(config.sensors):
        if sensor.type in ("mqtt", "satellite") and config.mqtt is None:
            yield ("sensors", s_index, "type"), f"a {sensor.type} sensor needs an `mqtt:` section"
        if sensor.type == "homeassistant" and config.homeassistant is None:
            yield (
                ("sensors", s_index, "type"),
                "a homeassistant sensor needs a `homeassistant:` section",
            )
