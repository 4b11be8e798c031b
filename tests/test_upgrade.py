"""Upgrading keeps what an older ambient stored: stores written by earlier versions (kept as SQL
text in tests/data/upgrade/, made by those versions replaying the demo recording) are read by
today's parts as they were, and the daemon's first start stamps them without losing a row."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date
from pathlib import Path

from fixtures.ambient_process import run_ambient

from ambient.actuators.ha_episode import EpisodeRecords
from ambient.config.signals import BaselineConfig
from ambient.insights.storage import InsightStore
from ambient.rules.tracing import TRACE_NAMESPACE
from ambient.signals.baseline import Baseline
from ambient.signals.engine import BASELINE_NAMESPACE
from ambient.store import STORE_FORMAT, Store

OLD_STORES = Path(__file__).parent / "data" / "upgrade"
#: The day the demo replays were stored on (local day number 20792 is 2026-12-05).
DEC_5 = date(2026, 12, 5)


def old_store(tmp_path: Path, name: str) -> Path:
    """The store file an older version left, rebuilt from its SQL text."""
    path = tmp_path / "state" / "ambient.db"
    path.parent.mkdir(mode=0o700, parents=True)
    with sqlite3.connect(path) as db:
        db.executescript((OLD_STORES / name).read_text())
    db.close()
    path.chmod(0o600)
    return path


def rows(path: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT namespace, key, value FROM kv ORDER BY 1, 2").fetchall()
        found += db.execute("SELECT namespace, key, value FROM log ORDER BY id").fetchall()
    db.close()
    return found


def test_a_november_store_keeps_its_baseline_undo_record_and_traces(tmp_path: Path) -> None:
    path = old_store(tmp_path, "store-2026-11.sql")
    store = Store(path, migrate=True)

    baseline = Baseline(BaselineConfig())
    assert baseline.load_json(store.get(BASELINE_NAMESPACE, "alex"))  # version 1
    [resting_minutes, *_] = baseline.to_json()["days"]["20792"]
    assert resting_minutes == 203.0
    episodes, unreadable = EpisodeRecords(store).load()
    assert unreadable == []
    [episode] = episodes
    assert sorted(episode.lights) == ["light.bed_light", "light.ceiling_lights"]
    assert episode.lights["light.bed_light"].transition_s == 0.0  # not stored then
    assert [t["event"] for t in store.recent(TRACE_NAMESPACE, "calm_alex")] == [
        "action_failed",
        "fired",
    ]
    store.close()


def test_a_december_store_keeps_its_insights_days(tmp_path: Path) -> None:
    path = old_store(tmp_path, "store-2026-12.sql")
    store = Store(path, migrate=True)
    insights = InsightStore(store)

    summary = insights.summary("alex", DEC_5)
    assert summary is not None and summary.measured_minutes == 428.5
    opened = insights.open_day("alex", DEC_5, UTC)
    assert opened is not None and opened.bins  # its minutes, stored in one record then
    assert insights.open_since("alex") == date(2026, 12, 6)
    baseline = Baseline(BaselineConfig())
    assert baseline.load_json(store.get(BASELINE_NAMESPACE, "alex"))  # version 2
    store.close()


def test_the_first_start_stamps_an_old_store_and_keeps_every_row(tmp_path: Path) -> None:
    for name in ("store-2026-11.sql", "store-2026-12.sql"):
        path = old_store(tmp_path / name, name)
        before = rows(path)
        Store(path, migrate=True).close()
        assert rows(path) == before
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == STORE_FORMAT
        db.close()


def test_the_commands_read_an_old_store(tmp_path: Path) -> None:
    path = old_store(tmp_path, "store-2026-11.sql")
    config = tmp_path / "ambient.yaml"
    config.write_text(json.dumps({"people": [{"id": "alex"}], "store": {"path": str(path)}}))

    trace = run_ambient("trace", "--config", str(config))
    assert trace.returncode == 0, trace.stderr
    assert "calm_alex (alex)  fired  stress_score" in trace.stdout
    export = run_ambient("export", "--config", str(config), "--person", "alex")
    assert export.returncode == 0, export.stderr
    data = json.loads(export.stdout)["data"]
    assert [row["key"] for row in data["ha_undo"]["rows"]] == ["calm_alex:alex:1796497353.941"]
    assert data["baselines"]["rows"][0]["value"]["version"] == 1
