"""Stage times: off unless the environment names a file; then every stamp is written at exit,
in order, on the system's monotonic clock, with the task it ran in, readable by its user only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

STAMPING = """
import asyncio
from ambient.stage_times import STAGE

async def in_a_task():
    STAGE("in a task")

asyncio.run(in_a_task())
loop = asyncio.new_event_loop()
loop.call_soon(STAGE, "in a callback")
loop.call_soon(loop.stop)
loop.run_forever()
"""


def run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )


def test_off_without_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AMBIENT_STAGE_TIMES"}
    done = run("from ambient.stage_times import STAGE; print(STAGE is None)", env)
    assert done.stdout.strip() == "True"


def test_stamps_are_written_at_exit_with_their_task(tmp_path: Path) -> None:
    path = tmp_path / "stages.tsv"
    before = time.monotonic()
    run(STAMPING, {**os.environ, "AMBIENT_STAGE_TIMES": str(path)})
    after = time.monotonic()
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    assert [stage for stage, _ns, _task in rows] == ["in a task", "in a callback"]
    times = [int(ns) / 1e9 for _stage, ns, _task in rows]
    assert before <= times[0] <= times[1] <= after  # the bench's clock
    assert int(rows[0][2]) != 0  # a task
    assert int(rows[1][2]) == 0  # a plain callback
    assert path.stat().st_mode & 0o777 == 0o600
