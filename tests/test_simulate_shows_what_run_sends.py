"""`ambient simulate` shows a `log` action's message as `ambient run` logs it: the same
placeholders filled, and `{{` and `}}` read as the braces themselves, as a message's escapes."""

from __future__ import annotations

from pathlib import Path

from fixtures.ambient_process import run_ambient

MESSAGE = "hr {hr}, written {{hr}}"

CONFIG = """\
people:
  - id: alex
sensors:
  - type: recording
    path: {recording}
    person: alex
    loop: false
rules:
  - id: beat
    triggers:
      - trigger: signal
        signal: hr
        above: 1
    actions:
      - action: log
        message: "{message}"
store:
  path: {store}
"""


def test_simulate_shows_the_message_run_logs(tmp_path: Path) -> None:
    recording = tmp_path / "short.csv"
    beats = "".join(f"{0.8 * n:.1f},rr,800,alex\n" for n in range(1, 21))  # 16 s at 75 bpm
    recording.write_text("t,metric,value,person\n" + beats, encoding="utf-8")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        CONFIG.format(recording=recording, store=tmp_path / "ambient.db", message=MESSAGE)
    )

    ran = run_ambient("run", "--config", str(config), "--speed", "10")
    simulated = run_ambient("simulate", "--config", str(config))

    assert ran.returncode == 0, ran.stderr
    assert simulated.returncode == 0, simulated.stderr
    logged = [line for line in (ran.stdout + ran.stderr).splitlines() if "written" in line]
    assert len(logged) == 1, ran.stdout + ran.stderr
    sent = logged[0][logged[0].index("hr ") :]
    assert sent.endswith(", written {hr}")
    shown = [line for line in simulated.stdout.splitlines() if "written" in line]
    assert shown == [f"{'':8}  -> log message={sent}"], simulated.stdout
