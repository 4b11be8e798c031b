"""The weekly report: time to write every report of 8 weeks x 3 people from the store, and
the daemon's drawing process for one page.

Synthetic summaries (ambient.insights.synthetic) for 3 people over 8 weeks go into a store
file; then the 3 people's latest-week reports (the `ambient report` case) and all 24 weekly
reports are rendered, including reading the store and matplotlib's SVG. Target: <= 2 s.
Then the daemon's child (`python -m ambient.insights.draw_page`) draws the latest week's page
of one person ``--child-runs`` times: wall and CPU time and peak RSS of each (what a Raspberry
Pi pays once a week a person; most of it is importing matplotlib).

Run: python bench/bench_report.py [--child-runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from ambient.config.root import AmbientConfig
from ambient.insights import page_process
from ambient.insights.report_cli import render
from ambient.insights.storage import InsightStore
from ambient.insights.synthetic import summaries
from ambient.store import Store

PEOPLE = ("alex", "sam", "kim")
FIRST_MONDAY = date(2026, 10, 12)
WEEKS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child-runs", type=int, default=5, help="pages the child draws")
    args = parser.parse_args()
    config = AmbientConfig.model_validate({"people": [{"id": p} for p in PEOPLE]})
    # The drawing process first, while this process is small: a child's peak RSS counts this
    # process's pages until it has exec'd its own Python.
    mondays = [FIRST_MONDAY + timedelta(weeks=k) for k in range(WEEKS)]
    kept = {s.day: s for s in summaries(PEOPLE[0], FIRST_MONDAY, WEEKS * 7, 0)}
    berlin = config.model_copy(update={"timezone": "Europe/Berlin"})
    request = page_process.page_request(berlin, kept, PEOPLE[0], mondays[-1])
    for run in range(args.child_runs):
        wall_s, cpu_s, peak_mib, size = drawn_in_child(json.dumps(request).encode())
        print(f"drawing process, page {run + 1}: {wall_s:.2f} s wall, CPU {cpu_s:.2f} s, ", end="")
        print(f"peak RSS {peak_mib:.0f} MiB ({size / 1024:.0f} KiB page)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ambient.db"
        store = Store(path)
        for seed, person in enumerate(PEOPLE):
            for summary in summaries(person, FIRST_MONDAY, WEEKS * 7, seed):
                store.put("insights.days", f"{person}/{summary.day}", summary.to_json())
        store.close()
        started = time.perf_counter()
        render(config, {}, PEOPLE[0], mondays[0])  # imports matplotlib once, as the CLI does
        imported = time.perf_counter() - started
        for label, weeks in (
            ("latest week x 3 people", mondays[-1:]),
            ("8 weeks x 3 people", mondays),
        ):
            started, cpu_started = time.perf_counter(), time.process_time()
            size = 0
            for person in PEOPLE:
                store = Store(path)
                kept = InsightStore(store).summaries(person)
                store.close()
                for monday in weeks:
                    size += len(render(config, kept, person, monday))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            count = len(weeks) * len(PEOPLE)
            each_ms, each_kib = elapsed / count * 1000, size / count / 1024
            print(f"{label}: {count} reports in {elapsed:.2f} s (CPU {cpu:.2f} s) ", end="")
            print(f"({each_ms:.0f} ms each, {each_kib:.0f} KiB each)")
        print(f"first import of matplotlib + one empty report: {imported:.2f} s")


def drawn_in_child(request: bytes) -> tuple[float, float, float, int]:
    """Wall and CPU seconds, peak RSS (MiB) and page size of one run of the daemon's child."""
    started = time.perf_counter()
    child = subprocess.Popen(page_process.COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(request)  # the child reads it all before it writes the page
    child.stdin.close()
    page = child.stdout.read()
    child.stdout.close()
    _, status, usage = os.wait4(child.pid, 0)  # reaped here, with its resource usage
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit("the drawing process failed")
    wall_s = time.perf_counter() - started
    return wall_s, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, len(page)


if __name__ == "__main__":
    main()
