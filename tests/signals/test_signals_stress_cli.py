"""`ambient simulate` (a real subprocess): one reading does not make a minute of stress."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.ambient_process import run_ambient

RULE = """\
people: [{id: alex}]
sensors:
  - {type: recording, id: watch, path: watch.csv, person: alex}
rules:
  - id: stressed
    person: alex
    triggers: [{trigger: signal, signal: stress_score, above: 70, for: 1min}]
    actions: [{action: log, message: "{person} is stressed"}]
store: {path: null}
"""


def fired(
    tmp_path: Path, rows: list[tuple[float, float]], extra: str = "", held: str = "1min"
) -> list[float]:
    """The times the rule (``for: held``) fired over a heart-rate-only recording of (t, bpm)
    rows, its sensor given ``extra``."""
    (tmp_path / "watch.csv").write_text(
        "t,metric,value,person\n" + "".join(f"{t},hr,{bpm},alex\n" for t, bpm in rows)
    )
    config = tmp_path / "ambient.yaml"
    rule = RULE.replace("person: alex}", "person: alex" + extra + "}", 1)
    config.write_text(rule.replace("for: 1min", f"for: {held}"))
    result = run_ambient("simulate", "--json", str(config))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [float(event["t"]) for event in events if event["event"] == "fired"]


def test_one_high_first_reading_then_rest_does_not_fire_a_minute_rule(tmp_path: Path) -> None:
    """A watch's first reading after it is put on is often wrong: 120 bpm (6 SD above the
    prior's rest of 70 ± 8), then 70 every second for 3 minutes. The score's average starts
    from rest, so one second of 120 is one second of evidence, not a minute's."""
    rows = [(0.0, 120.0)] + [(3.0 + s, 70.0) for s in range(180)]
    assert fired(tmp_path, rows) == []


def test_a_sustained_high_rate_from_the_start_still_fires(tmp_path: Path) -> None:
    """The average rising from rest still reaches a steady 100 bpm (z 3.75) within a minute:
    the rule fires under two minutes after the first reading."""
    rows = [(float(s), 100.0) for s in range(240)]
    times = fired(tmp_path, rows)
    assert len(times) == 1 and times[0] <= 120.0, times


def test_a_watch_sampling_every_5_minutes_still_scores(tmp_path: Path) -> None:
    """One reading every 5 minutes with `stale_after: 6min`: each sample stands for the
    5 minutes before it, so the second high sample on sets the score, and a rule on two
    samples in a row (`for: 6min`) fires."""
    rows = [(300.0 * i, 110.0) for i in range(6)]
    times = fired(tmp_path, rows, ", stale_after: 6min", held="6min")
    assert times == [660.0]  # 6 minutes after the second sample: the first was near rest
