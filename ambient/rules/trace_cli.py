"""``ambient trace [RULE] [--json]``: the last traces of each rule, read from the store, so a
user can ask "why did (or didn't) my rule fire?" after the fact."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from ambient.rules.tracing import TRACE_NAMESPACE
from ambient.store import Store, StoreKey

MAX_TRACES = 10_000


def run_trace(
    store_path: Path | None,
    rule: str | None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    key: StoreKey | None = None,
    zone: tzinfo | None = None,
) -> int:
    """Print traces oldest first to ``out``, times in ``zone`` (the config's, as the timeline
    shows them; None: this machine's); 0 on success, 1 when there is nothing to show (said
    on ``err``: ``out`` holds traces only, so ``--json`` is always JSON)."""
    if store_path is None or not store_path.exists():
        err.write("ambient trace: no store: traces are kept only while ambient runs\n")
        return 1
    store = Store(store_path, key)
    try:
        records = store.recent(TRACE_NAMESPACE, rule, limit=MAX_TRACES)
    finally:
        store.close()
    if not records:
        err.write(f"ambient trace: no traces{f' of rule {rule}' if rule else ''} yet\n")
        return 1
    for record in records:
        out.write((json.dumps(record) if as_json else format_record(record, zone)) + "\n")
    return 0


def format_record(record: dict[str, Any], zone: tzinfo | None = None) -> str:
    """``2026-11-26 10:02:13  calm_living_room  fired  stress_score 74.2 above 70 for 2min``
    then one line per condition and action."""
    when = datetime.fromtimestamp(float(record["t"]), zone).strftime("%Y-%m-%d %H:%M:%S")
    who = f" ({record['person']})" if record.get("person") else ""
    lines = [f"{when}  {record['rule']}{who}  {record['event']}  {record['reason']}"]
    signals = record.get("signals") or {}
    if signals:
        shown = ", ".join(f"{name}={value}" for name, value in signals.items())
        lines.append(f"    signals: {shown}")
    for name, held in record.get("conditions", []):
        lines.append(f"    condition {name}: {'true' if held else 'false'}")
    for action in record.get("actions", []):
        mark = "ok" if action.get("ok") else "FAILED"
        lines.append(f"    -> {action.get('action')} {mark} {action.get('detail', '')}".rstrip())
    return "\n".join(lines)
