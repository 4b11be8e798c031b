"""An action that raises while a rule runs (a session script whose template fails at run
time, say) is one line in the log, naming the rule, the person, the action and the error; the
rest of the run goes on and the trace says the action failed. A real `ambient simulate`."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.ambient_process import run_ambient

CONFIG = """\
people: [{id: alex, name: Alex}]
homeassistant: {url: "http://127.0.0.1:9", token: t}
rules:
  - id: evening_breath
    person: alex
    triggers: [{trigger: signal, signal: hr, above: 100}]
    actions:
      - action: breathing
        preset: resonance
        media_player: media_player.bedroom
        tts_entity: tts.piper
        script:
          opening: "Hello {{ name }}, {{ stress_minutes / 0 }}"
      - {action: log, message: after}
store: {path: null}
"""


def test_a_template_failing_at_run_time_is_one_line_and_the_run_goes_on(tmp_path: Path) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    recording = tmp_path / "r.csv"
    recording.write_text("t,metric,value,person\n0,hr,120,alex\n", encoding="utf-8")
    result = run_ambient("simulate", str(config), "--recording", str(recording), "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and errors[0].endswith(
        "Rule evening_breath (alex): action breathing failed: ZeroDivisionError: division by zero"
    )
    failed, fired = [json.loads(line) for line in result.stdout.splitlines()]
    assert failed["event"] == "action_failed"
    assert failed["reason"] == "breathing failed: error: division by zero"
    assert fired["event"] == "fired"
    assert fired["actions"] == ["error: division by zero", "log message=after"]
