"""The ln RMSSD a baseline keeps per kind of beats (a strap's, a watch's) is the person's data
like the rest of it: `ambient export` gives it and `ambient forget` erases it."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.ambient_process import run_ambient
from signals.test_signals_baseline_beats import STRAP_SWING, WATCH_SWING, Wearer, alternating

from ambient.signals.engine import BASELINE_NAMESPACE
from ambient.store import Store


def learned_from_a_strap_and_a_watch(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "state" / "ambient.db"
    wearer = Wearer(Store(db))
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    wearer.beats("watch", alternating(600.4, 600, WATCH_SWING))
    wearer.engine.close()
    wearer.store.close()
    config = tmp_path / "ambient.yaml"
    config.write_text(json.dumps({"people": [{"id": "alex"}], "store": {"path": str(db)}}))
    return config, db


def test_export_gives_each_kinds_ln_rmssd_and_forget_erases_it(tmp_path: Path) -> None:
    config, db = learned_from_a_strap_and_a_watch(tmp_path)
    out = tmp_path / "alex.json"
    exported = run_ambient("export", "--config", str(config), "--person", "alex", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    [row] = json.loads(out.read_text())["data"]["baselines"]["rows"]
    by_beats = row["value"]["ln_rmssd_by_beats"]
    assert set(by_beats) == {"chest", "pulse"}
    assert all(n > 0 for rows in by_beats.values() for n, _, _ in rows.values())

    forgotten = run_ambient("forget", "--config", str(config), "--person", "alex", "--yes")
    assert forgotten.returncode == 0, forgotten.stderr
    store = Store(db)
    assert store.get(BASELINE_NAMESPACE, "alex") is None
    store.close()
    assert b"ln_rmssd_by_beats" not in db.read_bytes()
