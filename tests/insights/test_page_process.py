"""The weekly report's page drawn in a child process (the daemon never holds matplotlib): the
same page as drawn in-process, and a child that fails or is killed is one line saying why.
Real child processes (about a second each: Python and matplotlib start)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fixtures.homeassistant import StepClock

from ambient.clock import RealClock
from ambient.config.insights import TrendConfig
from ambient.config.root import AmbientConfig
from ambient.insights import page_process
from ambient.insights.draw_page import TrendNumbers
from ambient.insights.page_process import PageProcessError, render_in_child
from ambient.insights.report_cli import render
from ambient.insights.synthetic import summaries

WEEK = date(2026, 11, 30)  # 2026-W49


async def test_the_page_drawn_in_a_child_is_byte_identical_to_the_page_drawn_in_process() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    config = AmbientConfig.model_validate(
        {
            "timezone": "Europe/Berlin",
            "people": [{"id": "alex", "name": "Alex"}],
            "insights": {"trend": {"band_sd": 0.8}},
        }
    )
    kept = {s.day: s for s in summaries("alex", date(2026, 10, 12), 56, seed=3)}
    ten = datetime.combine(WEEK + timedelta(days=1), time(10), berlin).timestamp()
    calm = {"rule": "calm", "start": ten, "end": ten + 900, "actions": ["choose_calming"]}
    lights = {"rule": "evening_lights", "start": ten + 7200, "end": ten + 8000}
    lights |= {"actions": ["dim"], "stress_before": 70.5, "stress_after": 48.25}
    tuesday = WEEK + timedelta(days=1)
    kept[tuesday] = replace(kept[tuesday], episodes=(calm, lights))
    learned = [
        {"start": ten + 5, "rule": "calm", "option": "breathing", "response_sd": 0.6}
        | {"usable": True, "reason": "", "check_in": "calmer"}
    ]
    in_process = render(config, kept, "alex", WEEK, learned)
    assert "<svg" in in_process and "Alex's week" in in_process and "+0.6 SD" in in_process
    drawn = await render_in_child(config, kept, "alex", WEEK, learned, clock=RealClock())
    assert drawn == in_process


async def test_a_child_that_fails_is_one_line_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = [sys.executable, "-c", "import sys; sys.exit('ModuleNotFoundError: matplotlib')"]
    monkeypatch.setattr(page_process, "COMMAND", failing)
    with pytest.raises(PageProcessError) as failed:
        await render_in_child(AmbientConfig(), {}, "alex", WEEK, clock=RealClock())
    assert str(failed.value) == "the drawing process failed: ModuleNotFoundError: matplotlib"


async def test_a_child_that_is_killed_is_one_line_saying_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel's OOM killer on a small Pi, or someone's ``kill``."""
    killed = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    monkeypatch.setattr(page_process, "COMMAND", killed)
    with pytest.raises(PageProcessError) as failed:
        await render_in_child(AmbientConfig(), {}, "alex", WEEK, clock=RealClock())
    assert str(failed.value) == "the drawing process was killed by signal 9"


def test_a_request_the_child_cannot_draw_is_one_line_on_stderr_and_exit_1() -> None:
    done = subprocess.run(
        page_process.COMMAND, input=b'{"name": "Alex"}', capture_output=True, check=False
    )
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr.decode().splitlines() == ["KeyError: 'summaries'"]


async def test_a_delivery_cancelled_while_drawing_kills_its_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon stopping (SIGTERM) while a page is drawn: it does not wait for the page, and
    leaves no child behind. The stand-in child says its pid through a FIFO, then waits."""
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    drawing = "import os, signal, sys; open(sys.argv[1], 'w').write(str(os.getpid())); "
    drawing += "signal.pause()"
    monkeypatch.setattr(page_process, "COMMAND", [sys.executable, "-c", drawing, str(fifo)])
    drawing_task = render_in_child(AmbientConfig(), {}, "alex", WEEK, clock=RealClock())
    task = asyncio.create_task(drawing_task)
    pid = int(await asyncio.to_thread(fifo.read_text))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)


async def test_a_child_that_does_not_answer_is_killed_after_the_timeout_on_the_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drawing that hangs (a wedged font cache, a swapping Pi Zero) does not hold the week's
    delivery forever: at TIMEOUT_S on the daemon's clock the child is killed and reaped."""
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    drawing = "import os, signal, sys; open(sys.argv[1], 'w').write(str(os.getpid())); "
    drawing += "signal.pause()"
    monkeypatch.setattr(page_process, "COMMAND", [sys.executable, "-c", drawing, str(fifo)])
    clock = StepClock()
    started = clock.now()
    task = asyncio.create_task(render_in_child(AmbientConfig(), {}, "alex", WEEK, clock=clock))
    pid = int(await asyncio.to_thread(fifo.read_text))
    assert await clock.fire_next() == started + page_process.TIMEOUT_S  # the only timer
    with pytest.raises(PageProcessError) as failed:
        await task
    assert str(failed.value) == f"drawing the page took over {page_process.TIMEOUT_S:.0f} s"
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)


def test_the_drawing_process_loads_only_what_drawing_needs() -> None:
    """On a Raspberry Pi Zero the imports are most of a page's time: the child loads
    matplotlib and the report, not the daemon's asyncio, clock and store, nor the config
    models (pydantic)."""
    config = AmbientConfig.model_validate({"timezone": "Europe/Berlin"})
    kept = {s.day: s for s in summaries("alex", date(2026, 10, 12), 56, seed=3)}
    request = page_process.page_request(config, kept, "alex", WEEK)
    daemon_only = ("asyncio", "ambient.clock", "ambient.store", "ambient.config", "pydantic")
    probe = (
        "import json, sys\n"
        f"from {page_process.COMMAND[-1]} import render_request\n"
        "page = render_request(json.load(sys.stdin))\n"
        f"print('<svg' in page, [m for m in {daemon_only!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "True []"


def test_the_drawing_process_has_matplotlib_skip_its_artists_help_text() -> None:
    """A third of importing matplotlib is writing each artist class's ``set`` docstring: the
    drawing process never shows them (the page is the same: the first test above)."""
    probe = (
        "from ambient.insights.draw_page import without_artist_docstrings\n"
        "without_artist_docstrings()\n"
        "import matplotlib.lines\n"
        "print('antialiased' in matplotlib.lines.Line2D.set.__doc__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_the_trend_settings_the_child_reads_are_the_config_s() -> None:
    """The daemon sends ``insights.trend`` validated and dumped; the child reads it without
    pydantic into the same fields."""
    trend = TrendConfig(band_sd=0.8, cusum_h=2.3)
    assert TrendNumbers(**trend.model_dump(mode="json")) == TrendNumbers(
        **{name: getattr(trend, name) for name in TrendConfig.model_fields}
    )
