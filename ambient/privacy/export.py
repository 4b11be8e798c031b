"""``ambient export``: everything the store holds about one person, as one document.

JSON (the default) is one object::

    {"format": "ambient-export", "version": 1, "person": "alex",
     "exported_at": "2026-12-04T21:00:00+00:00", "instance": "ambient",
     "data": {"<data class>": {"description": "...", "rows": [{"<column>": value, ...}]}}}

Each data class of :mod:`ambient.privacy.data_classes` is a key of ``data`` (with no rows when
its table is not in the store yet), its rows in store order with every column; columns holding
JSON are decoded. Nested per-person state (a rule's timers for the person) follows as rows of
its own shape. CSV is one row per stored row: ``data_class,time,row`` (``time`` in unix seconds
where the class has one, ``row`` the same object as in JSON, as compact JSON text). With age
recipients the whole output is age-encrypted (binary, ``age -d`` reads it). The file is written
mode 0600.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from ambient.privacy.data_classes import DataClass, data_classes, nested_states
from ambient.store import Store

EXPORT_FORMAT = "ambient-export"
EXPORT_VERSION = 1
ExportFormat = Literal["json", "csv"]


class ExportError(Exception):
    """The export cannot be written as asked; the message says why."""


def person_rows(
    store: Store, data_class: DataClass, person: str
) -> list[tuple[float | None, dict[str, Any]]]:
    """Every row of ``data_class`` that belongs to ``person``, in store order, as (its time
    in unix seconds or None, all its columns with JSON decoded)."""
    columns = [row[1] for row in store.query(f"PRAGMA table_info({data_class.table})")]
    selected = ", ".join([data_class.time or "NULL", *(f'"{c}"' for c in columns)])
    rows = store.query(
        f"SELECT {selected} FROM {data_class.table} WHERE {data_class.person_clause()} "
        "ORDER BY rowid",
        (person,),
    )
    records = []
    for when, *values in rows:
        record = dict(zip(columns, values, strict=True))
        for column in data_class.json_columns:
            if isinstance(record.get(column), str):
                record[column] = json.loads(record[column])
        records.append((None if when is None else float(when), record))
    return records


def collect(
    store: Store, person: str
) -> dict[str, tuple[DataClass, list[tuple[float | None, dict[str, Any]]]]]:
    """Per data class: the class and ``person``'s rows (none when its table is not in the
    store yet: a feature that never ran here)."""
    return {
        data_class.name: (
            data_class,
            person_rows(store, data_class, person) if data_class.exists(store) else [],
        )
        for data_class in data_classes()
    }


def holds_anything(store: Store, person: str) -> bool:
    """Whether the store has any row, or any nested state, of ``person``."""
    if any(rows for _, rows in collect(store, person).values()):
        return True
    return any(state.collect(store, person) for state in nested_states())


def render_json(store: Store, person: str, instance: str, now: datetime) -> bytes:
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "person": person,
        "exported_at": now.isoformat(timespec="seconds"),
        "instance": instance,
        "data": {
            name: {"description": data_class.description, "rows": [row for _, row in rows]}
            for name, (data_class, rows) in collect(store, person).items()
        }
        | {
            state.name: {"description": state.description, "rows": state.collect(store, person)}
            for state in nested_states()
        },
    }
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()


def render_csv(store: Store, person: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["data_class", "time", "row"])
    for name, (_, rows) in collect(store, person).items():
        for when, row in rows:
            text = json.dumps(row, separators=(",", ":"), ensure_ascii=False)
            writer.writerow([name, "" if when is None else repr(when), text])
    for state in nested_states():
        for row in state.collect(store, person):
            writer.writerow([state.name, "", json.dumps(row, separators=(",", ":"))])
    return buffer.getvalue().encode()


def age_encrypt(data: bytes, recipients: Sequence[str]) -> bytes:
    """``data`` encrypted to every recipient (age ``age1...`` or SSH public keys)."""
    try:
        import pyrage
    except ImportError:
        raise ExportError("--age-recipient needs pyrage: pip install 'ambient[crypto]'") from None
    parsed = []
    for text in recipients:
        parser = pyrage.ssh.Recipient if text.startswith("ssh-") else pyrage.x25519.Recipient
        try:
            parsed.append(parser.from_str(text.strip()))
        except pyrage.RecipientError:
            raise ExportError(
                f"--age-recipient {text[:20]}...: not an age (age1...) or SSH public key"
            ) from None
    return bytes(pyrage.encrypt(data, parsed))


def export_person(
    store: Store,
    person: str,
    fmt: ExportFormat,
    instance: str,
    recipients: Sequence[str] = (),
    now: datetime | None = None,
) -> bytes:
    """The export of ``person`` in ``fmt``, age-encrypted when ``recipients`` are given."""
    now = now or datetime.now(UTC)
    data = render_json(store, person, instance, now) if fmt == "json" else render_csv(store, person)
    return age_encrypt(data, recipients) if recipients else data
