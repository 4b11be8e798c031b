"""`ambient trace [RULE] [--json]` reads the last N traces per rule from the store."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rules.rule_doubles import Harness, make_config, stress_rule

from ambient.rules.trace_cli import run_trace
from ambient.store import Store


async def test_traces_are_kept_per_rule_and_printed(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    config = make_config([stress_rule(cooldown=0)], store={"path": str(path), "traces_per_rule": 3})
    h = await Harness(config, store=Store(path)).start()
    for cycle in range(4):
        await h.push(cycle * 1000, stress_score=80)
        await h.push(cycle * 1000 + 500, stress_score=10)
    await h.engine.stop()
    h.store.close()

    out = io.StringIO()
    assert run_trace(path, "calm", True, out, io.StringIO()) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["event"] for row in rows] == ["recovered", "fired", "recovered"]
    assert rows[1]["reason"] == "stress_score 80 above 70 for 2min"
    assert rows[1]["signals"] == {"stress_score": 80}
    assert rows[1]["actions"][0]["ok"] is True

    text = io.StringIO()
    assert run_trace(path, None, False, text, io.StringIO()) == 0
    assert "calm (alex)  fired  stress_score 80 above 70 for 2min" in text.getvalue()
    assert "    -> log ok calm" in text.getvalue()


def test_no_store_or_no_traces_is_said_on_err_and_nothing_is_printed(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_trace(None, None, False, out, err) == 1
    assert "no store" in err.getvalue()
    Store(tmp_path / "empty.db").close()
    out, err = io.StringIO(), io.StringIO()
    assert run_trace(tmp_path / "empty.db", "calm", True, out, err) == 1
    assert err.getvalue() == "ambient trace: no traces of rule calm yet\n"
    assert out.getvalue() == ""
