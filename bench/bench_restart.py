"""kill -9 before deadlines: N interrupted runs against one uninterrupted run.

Real `ambient run` processes and a real Mosquitto (tests/fixtures). Each interrupted run is
killed twice — once its `for` window is on disk (deadline ~2 s ahead) and once its firing is
(escalation due 3 s later) — and restarted after ``--restart-delay`` seconds (0: at once; the
shipped unit's RestartSec is 5). A run matches when its trace events and its actions' messages
equal the uninterrupted run's. Prints "matches N of N" and how late the overdue decisions came.

Then N times: button presses while ambient is down (killed with kill -9), queued by the broker
for its session — one without a time, one from 4 h ago, one from just before the restart — and
a live press after it. Only the recent queued press and the live one may act (see
tests/rules/backlog_scenario.py). Prints "queued presses: as expected N of N".

Then N times: kill -9 while a run is inside a `wait_for` (timeout 3 s), HR back to 60 while
ambient is down, restart after its timeout: the run must say "calmer now" as the uninterrupted
one does, not "still stressed" (tests/rules/wait_for_scenario.py). Prints "wait_for: as the
uninterrupted run N of N".

    python bench/bench_restart.py [--runs 5] [--restart-delay 1]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.mosquitto import MosquittoBroker, mosquitto_available
from rules import wait_for_scenario
from rules.backlog_scenario import EXPECTED, queued_presses
from rules.restart_scenario import interrupted, uninterrupted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--restart-delay", type=float, default=1.0, metavar="SECONDS")
    args = parser.parse_args()
    if not mosquitto_available():
        print("mosquitto is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "mosquitto")
        broker.start()
        try:
            expected = uninterrupted(Path(tmp) / "uninterrupted", broker.host, broker.port)
            print(f"uninterrupted: {expected.events} {expected.actions}")
            matched = 0
            late_s: list[float] = []
            for run in range(args.runs):
                outcome = interrupted(
                    Path(tmp) / f"run{run}",
                    broker.host,
                    broker.port,
                    on_kill=lambda: time.sleep(args.restart_delay),  # the restart's delay
                )
                same = (outcome.events, outcome.actions) == (expected.events, expected.actions)
                matched += same
                late_s += [
                    float(m) for m in re.findall(r"due ([0-9.]+) s earlier", "".join(outcome.notes))
                ]
                verdict = "match" if same else "DIFFERS"
                print(f"run {run + 1}: {verdict} {outcome.events} {outcome.actions}")
            as_expected = 0
            for run in range(args.runs):
                pressed = queued_presses(
                    Path(tmp) / f"presses{run}",
                    broker.host,
                    broker.port,
                    on_kill=lambda: time.sleep(args.restart_delay),
                )
                same = (pressed.events, pressed.actions) == (EXPECTED.events, EXPECTED.actions)
                as_expected += same
                verdict = "as expected" if same else "DIFFERS"
                print(f"presses {run + 1}: {verdict} {pressed.events} {pressed.actions}")
            waits_matched = _waits(args.runs, args.restart_delay, Path(tmp), broker)
        finally:
            broker.kill()
    print(
        f"kill -9 before deadlines, restart after {args.restart_delay:g} s: "
        f"matches {matched} of {args.runs}"
    )
    if late_s:
        print(
            f"overdue decisions: {len(late_s)}, late by {min(late_s):.1f}-{max(late_s):.1f} s "
            "(the restart's gap until the first reading)"
        )
    print(
        f"queued presses (stale ones skipped, the recent one fired): "
        f"as expected {as_expected} of {args.runs}"
    )
    print(
        f"wait_for due during the restart: as the uninterrupted run {waits_matched} of {args.runs}"
    )
    return 0 if matched == as_expected == waits_matched == args.runs else 1


def _waits(runs: int, restart_delay_s: float, tmp: Path, broker: MosquittoBroker) -> int:
    """How many of ``runs`` interrupted `wait_for` runs said what the uninterrupted one said."""
    expected = wait_for_scenario.uninterrupted(tmp / "wait", broker.host, broker.port)
    print(f"wait_for uninterrupted: {expected!r}")
    matched = 0
    late_s: list[float] = []
    for run in range(runs):
        said = wait_for_scenario.interrupted(
            tmp / f"wait{run}",
            broker.host,
            broker.port,
            on_kill=lambda: time.sleep(restart_delay_s),  # the restart's delay
        )
        matched += said.text == expected
        late_s += [] if said.late_s is None else [said.late_s]
        verdict = "match" if said.text == expected else "DIFFERS"
        print(f"wait_for {run + 1}: {verdict} {said.text!r}")
    if late_s:
        print(f"wait_for decided {min(late_s):.1f}-{max(late_s):.1f} s after its timeout")
    return matched


if __name__ == "__main__":
    raise SystemExit(main())
