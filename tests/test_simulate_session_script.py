"""`ambient simulate` shows what a breathing session would say: its template script, for the
person and the moment of the replay. The assistant is never asked when nothing is performed
(its HA is unreachable here, and the output is the template's all the same)."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.ambient_process import run_ambient

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo.yaml"
BREATHING = """\
      - action: breathing
        preset: box
        lights: [light.bedroom]
        script:
          opening: "{{ greeting }} {{ name }}, {{ stress_minutes }} minutes: {{ pattern_words }}."
          assistant:
            entity_id: ai_task.openai
"""


def test_simulate_reports_the_template_script_without_asking_the_assistant(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.yaml"
    text = DEMO.read_text().replace("../ambient/data/demo.csv", str(ROOT / "ambient/data/demo.csv"))
    text = text.replace("    actions:\n", "    actions:\n" + BREATHING, 1)
    config.write_text(
        text
        + "timezone: UTC\nhomeassistant:\n  url: http://127.0.0.1:9\n  token: not-a-real-token\n"
    )
    result = run_ambient("simulate", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    (fired,) = [row for row in rows if row["event"] == "fired"]
    breathing = next(a for a in fired["actions"] if a.startswith("breathing "))
    # The recording's morning, in UTC; stressed since the score first crossed 70, two minutes
    # (`for: 2min`) before the firing.
    assert breathing.endswith(
        "; script: template: Good morning Alex, 2 minutes: "
        "in for 4, hold for 4, out for 4, hold for 4."
    )
