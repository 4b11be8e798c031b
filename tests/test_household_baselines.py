"""Per-person baselines in a household, through real processes: `ambient run --speed` replays an
hour of Alex's strap (every beat) and Sam's watch (heart rate every 5 s) into one store, and
`ambient baseline show --json` gives each a baseline of their own heart: nothing of one reaches
the other's resting rate or HRV, in the store as in the signals."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from fixtures.ambient_process import clean_env, run_ambient

HOUR_S = 3600


def rows_of(person: str) -> list[tuple[float, str]]:
    """Alex: beats around 850 ms (about 70 bpm, RMSSD about 57 ms); Sam: 62 bpm, no beats."""
    draw = random.Random(person)
    rows: list[tuple[float, str]] = []
    if person == "alex":
        t = 0.0
        while t < HOUR_S:
            rr = draw.gauss(850.0, 40.0)
            t += rr / 1000.0
            rows.append((t, f"{t:.3f},rr,{rr:.0f},alex"))
    else:
        rows = [(float(s), f"{s},hr,{draw.gauss(62.0, 2.0):.0f},sam") for s in range(5, HOUR_S, 5)]
    return rows


def baselines_after(tmp_path: Path, name: str, people: list[str]) -> dict[str, Any]:
    """Each listed person's saved baseline after replaying their rows together in one run."""
    folder = tmp_path / name
    (folder / "run").mkdir(parents=True, mode=0o700)
    rows = sorted(row for person in people for row in rows_of(person))
    recording = folder / "household.csv"
    recording.write_text("t,metric,value,person\n" + "\n".join(r for _, r in rows) + "\n")
    config = folder / "ambient.yaml"
    config.write_text(
        "people:\n  - {id: alex}\n  - {id: sam}\n"
        f"sensors:\n  - {{type: recording, path: {recording}}}\n"
        f"store: {{path: {folder / 'state' / 'ambient.db'}}}\n"
        "rules: []\n"
    )
    env = clean_env(XDG_RUNTIME_DIR=str(folder / "run"))
    ran = run_ambient("run", "--config", str(config), "--speed", "2000", env=env)
    assert ran.returncode == 0, ran.stderr
    shown = {}
    for person in people:
        result = run_ambient(
            "baseline", "--config", str(config), "--person", person, "show", "--json", env=env
        )
        assert result.returncode == 0, result.stderr
        shown[person] = json.loads(result.stdout)
    return shown


def test_each_persons_saved_baseline_is_learnt_from_their_own_heart_alone(tmp_path: Path) -> None:
    """Compared with what each heart is (not with a run of each alone: `run --speed` counts
    resting minutes on a scaled wall clock, so two runs differ by a few minutes). Mixed, Sam's
    resting rate would sit between 62 and 71 and Sam would have beats for an HRV."""
    together = baselines_after(tmp_path, "both", ["alex", "sam"])

    alex, sam = together["alex"], together["sam"]
    assert abs(alex["resting_hr"]["mean"] - 70.6) < 1.0  # 60000 / 850 ms
    assert abs(sam["resting_hr"]["mean"] - 62.0) < 1.0
    assert alex["resting_hr"]["samples"] >= 30 and sam["resting_hr"]["samples"] >= 30
    # Alex's HRV measured from his beats (RMSSD about 40 * sqrt(2) ms), Sam's still the prior.
    assert alex["ln_rmssd"]["on_prior"] is False
    assert abs(alex["ln_rmssd"]["mean"] - math.log(40.0 * math.sqrt(2.0))) < 0.25
    assert sam["ln_rmssd"]["on_prior"] is True and sam["ln_rmssd"]["samples"] == 0
