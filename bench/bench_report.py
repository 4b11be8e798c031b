"""The weekly report: time to write every report of 8 weeks x 3 people from the store.

Synthetic summaries (ambient.insights.synthetic) for 3 people over 8 weeks go into a store
file; then the 3 people's latest-week reports (the `ambient report` case) and all 24 weekly
reports are rendered, including reading the store and matplotlib's SVG. Target: <= 2 s.

Run: python bench/bench_report.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from ambient.config.root import AmbientConfig
from ambient.insights.report_cli import render
from ambient.insights.storage import InsightStore
from ambient.insights.synthetic import summaries
from ambient.store import Store

PEOPLE = ("alex", "sam", "kim")
FIRST_MONDAY = date(2026, 10, 12)
WEEKS = 8


def main() -> None:
    config = AmbientConfig.model_validate({"people": [{"id": p} for p in PEOPLE]})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ambient.db"
        store = Store(path)
        for seed, person in enumerate(PEOPLE):
            for summary in summaries(person, FIRST_MONDAY, WEEKS * 7, seed):
                store.put("insights.days", f"{person}/{summary.day}", summary.to_json())
        store.close()
        mondays = [FIRST_MONDAY + timedelta(weeks=k) for k in range(WEEKS)]
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


if __name__ == "__main__":
    main()
