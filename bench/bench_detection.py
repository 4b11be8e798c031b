"""Stress detection, side by side: the example config's stress rule and two heart-rate rules
anyone can write in Home Assistant, on real labelled wrist data and on synthetic chest-strap
scenarios. Prints episodes found, median latency and false alarms per calm hour (the
definitions of `ambient evaluate`, see docs/recordings.md), per recording and overall.

    python bench/bench_detection.py [--plot DIR] [--keep DIR]

- Stress-Predict: bench/data/stress-predict, 10 people wearing an Empatica E4 watch, seated:
  rest, Stroop test, interview, hyperventilation (3 labelled stress tasks each).
- Synthetic: the real NSRDB resting hour (ambient/data/resting-hour.csv) from a chest strap,
  with a moderate episode at minute 30 (RR 15 % shorter, beat-to-beat variability halved); the
  same with 2 % artifacts; an episode just before a 5-minute data gap; the resting hour alone;
  an exercise bout with an accelerometer (`movement`, g). Generated afresh, deterministically;
  each carries its labels as label rows.

Rules: `example` = config/ambient.example.yaml's calm_living_room (its HA condition met with
person.alex=home); `hr>100` = hr above 100 for 60 s; `hr>rest+10` = hr above the median of the
labelled baseline + 10 for 60 s. Cooldowns are off, as in `ambient evaluate`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ambient.config import AmbientConfig, load_config
from ambient.config.rules import RuleConfig
from ambient.evaluate.run import RecordingResult, detection_config, evaluate_recording
from ambient.evaluate.scoring import HOUR_S, DetectionScore, total
from ambient.labels import (
    BASELINE_ROW,
    EPISODE_ROW,
    Labels,
    load_labels_file,
    split_label_rows,
)
from ambient.recordings import load_recording

ROOT = Path(__file__).resolve().parent.parent
STRESS_PREDICT = ROOT / "bench" / "data" / "stress-predict"
RESTING_HOUR = ROOT / "ambient" / "data" / "resting-hour.csv"
EXAMPLE = ROOT / "config" / "ambient.example.yaml"
PERSON = "alex"
REST_THRESHOLD_ENTITY = "input_number.rest_hr_plus_10"
#: The rules compared, by the name the tables use, with their rule ids.
RULES = {"example": "calm_living_room", "hr>100": "hr_above_100", "hr>rest+10": "hr_above_rest"}

EPISODE_S = (1800.0, 2400.0)
GAP_EPISODE_S = (1800.0, 2000.0)
GAP_S = 300.0


def heart_rate_rules() -> list[RuleConfig]:
    def rule(rule_id: str, above: float | str) -> RuleConfig:
        return RuleConfig.model_validate(
            {
                "id": rule_id,
                "person": PERSON,
                "triggers": [{"trigger": "signal", "signal": "hr", "above": above, "for": 60}],
                "actions": [{"action": "log", "message": "{person}: hr {hr}"}],
            }
        )

    return [rule("hr_above_100", 100.0), rule("hr_above_rest", REST_THRESHOLD_ENTITY)]


def bench_config() -> AmbientConfig:
    """The example config with its stress rule and the two heart-rate rules, as detectors."""
    example = load_config(EXAMPLE)
    stress_rule = next(r for r in example.rules if r.id == RULES["example"])
    return detection_config(example, [stress_rule, *heart_rate_rules()])


def rest_median_hr(path: Path, labels: Labels) -> float:
    """Median heart rate in the labelled baseline: the sensor's `hr` rows when it has them,
    else from the median beat interval."""
    assert labels.baseline is not None, f"{path.name}: no labelled baseline"
    start, end = labels.baseline
    recording = load_recording(path, PERSON)
    origin = 0.0 if recording.relative else recording.readings[0].time
    inside = [r for r in recording.readings if start <= r.time - origin <= end]
    hr = [r.value for r in inside if r.metric == "hr"]
    if hr:
        return statistics.median(hr)
    return 60000.0 / statistics.median(r.value for r in inside if r.metric == "rr")


def run(
    config: AmbientConfig, paths: Iterable[Path], labels_for: Callable[[Path], tuple[Labels, str]]
) -> list[RecordingResult]:
    results = []
    for path in paths:
        labels, source = labels_for(path)
        rest_threshold = rest_median_hr(path, labels) + 10
        states = {"person.alex": "home", REST_THRESHOLD_ENTITY: f"{rest_threshold:.1f}"}
        by_subject = {path.stem: labels} if source != "rows" else {}
        results.append(evaluate_recording(config, path, by_subject, None, states))
    return results


# -- synthetic chest-strap scenarios --------------------------------------------------------


def resting_beats() -> list[float]:
    return [
        float(line.split(",")[2])
        for line in RESTING_HOUR.read_text().splitlines()
        if ",rr," in line
    ]


def stressed(
    beats: Sequence[float], shorter: float = 0.15, variability: float = 0.5
) -> list[float]:
    """The beats around their local mean (31 beats): variability scaled, then all shorter."""
    out = []
    for i, rr in enumerate(beats):
        around = beats[max(0, i - 15) : i + 16]
        mean = sum(around) / len(around)
        out.append((1 - shorter) * (mean + variability * (rr - mean)))
    return out


def with_artifacts(beats: list[float], share: float, rng: random.Random) -> list[float]:
    """``share`` of beats made artifacts, half missed (merged with the next), half extra
    (split in two); the time they cover is unchanged."""
    out: list[float] = []
    i = 0
    while i < len(beats):
        if rng.random() < share and i + 1 < len(beats):
            if rng.random() < 0.5:
                out.append(beats[i] + beats[i + 1])
                i += 2
                continue
            cut = rng.uniform(0.4, 0.6)  # both parts stay plausible beats (over 200 ms)
            out += [beats[i] * cut, beats[i] * (1 - cut)]
        else:
            out.append(beats[i])
        i += 1
    return out


def beat_rows(beats: Iterable[float], start_s: float = 0.0) -> list[tuple[float, str, float]]:
    rows: list[tuple[float, str, float]] = []
    t = start_s
    for rr in beats:
        t += rr / 1000
        rows.append((t, "rr", float(round(rr))))
    return rows


def episode_hour(
    episode: tuple[float, float], artifact_share: float = 0.0, gap_s: float = 0.0
) -> list[tuple[float, str, float]]:
    """The resting hour with a moderate episode; with ``gap_s``, no data for that long right
    after the episode, then the rest of the hour."""
    beats = resting_beats()
    times = [row[0] for row in beat_rows(beats)]
    first = next(i for i, t in enumerate(times) if t >= episode[0])
    before = beats[:first]
    during: list[float] = []
    source = stressed(beats)
    t, j = times[first - 1], first
    while t < episode[1] and j < len(source):
        during.append(source[j])
        t += source[j] / 1000
        j += 1
    after = beats[j:]
    if artifact_share:
        rng = random.Random(2)
        before, during, after = (
            with_artifacts(b, artifact_share, rng) for b in (before, during, after)
        )
    rows = beat_rows(before)
    rows += beat_rows(during, rows[-1][0])
    rows += beat_rows(after, rows[-1][0] + gap_s)
    return rows


def exercise_rows() -> list[tuple[float, str, float]]:
    """10 min of the real resting hour, a 15-min run (HR ~140, movement ~0.3 g), 10 min of
    seated recovery while HR comes down; movement (g) at 1 Hz throughout."""
    rng = random.Random(7)
    rows = [row for row in beat_rows(resting_beats()) if row[0] < 600]
    t = rows[-1][0]
    for phase_end, start_rr, end_rr in ((1500.0, 430.0, 430.0), (2100.0, 430.0, 800.0)):
        phase_start = t
        while t < phase_end:
            share = (t - phase_start) / (phase_end - phase_start)
            rr = start_rr + (end_rr - start_rr) * share + rng.gauss(0, 6)
            t += rr / 1000
            rows.append((t, "rr", float(round(rr))))
    for second in range(1, int(t)):
        running = 600 <= second < 1500
        level = rng.gauss(0.3, 0.05) if running else abs(rng.gauss(0.01, 0.005))
        rows.append((float(second), "movement", round(max(level, 0.0), 3)))
    return rows


@dataclass(frozen=True)
class Scenario:
    name: str
    rows: list[tuple[float, str, float]]
    episodes: tuple[tuple[float, float], ...]
    baseline: tuple[float, float]


def scenarios() -> list[Scenario]:
    hour_end = beat_rows(resting_beats())[-1][0]
    return [
        Scenario("moderate", episode_hour(EPISODE_S), (EPISODE_S,), (0.0, EPISODE_S[0])),
        Scenario(
            "moderate+2%artifacts",
            episode_hour(EPISODE_S, artifact_share=0.02),
            (EPISODE_S,),
            (0.0, EPISODE_S[0]),
        ),
        Scenario(
            "episode-then-gap",
            episode_hour(GAP_EPISODE_S, gap_s=GAP_S),
            (GAP_EPISODE_S,),
            (0.0, GAP_EPISODE_S[0]),
        ),
        Scenario("resting-hour", beat_rows(resting_beats()), (), (0.0, hour_end)),
        Scenario("exercise+movement", exercise_rows(), (), (0.0, 600.0)),
    ]


def write_scenario(scenario: Scenario, folder: Path) -> Path:
    """A CSV recording carrying its own labels as label rows."""
    labels = [(scenario.baseline[0], BASELINE_ROW, 1.0), (scenario.baseline[1], BASELINE_ROW, 0.0)]
    for start, end in scenario.episodes:
        labels += [(start, EPISODE_ROW, 1.0), (end, EPISODE_ROW, 0.0)]
    path = folder / f"{scenario.name}.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("# Synthetic, from the real NSRDB resting hour; see bench/bench_detection.py\n")
        out.write("t,metric,value,person\n")
        for t, metric, value in sorted(scenario.rows + labels):
            out.write(f"{t:.3f},{metric},{value:g},{PERSON}\n")
    return path


def labels_from_rows(path: Path) -> tuple[Labels, str]:
    _, labels = split_label_rows(load_recording(path, PERSON), str(path))
    assert labels is not None
    return labels, "rows"


# -- tables -----------------------------------------------------------------------------------


def cells(found: DetectionScore | None, firings: bool) -> str:
    if found is None:
        return f"{'—':>22}"
    share = found.found_share
    found_text = "—" if share is None else f"{found.found}/{len(found.episodes)}"
    latency = found.median_latency_s
    per_hour = found.false_alarms_per_calm_hour
    text = (
        f"{found_text:>5} {'—' if latency is None else f'{latency:.0f}s':>6}"
        f" {'—' if per_hour is None else f'{per_hour:.2f}':>5}"
    )
    return text + (f" {found.firings:>3}" if firings else "")


def table(title: str, results: list[RecordingResult], firings: bool = False) -> str:
    width = max(9, *(len(r.name) for r in results))
    column = 22 if firings else 18
    head = f"{'':<{width}}" + "".join(f"  {name:<{column}}" for name in RULES)
    sub = f"{'recording':<{width}}" + "".join(
        f"  {'found':>5} {'lat.':>6} {'FA/h':>5}" + (f" {'n':>3}" if firings else "") for _ in RULES
    )
    lines = [title, "", head, sub]
    for result in results:
        lines.append(
            f"{result.name:<{width}}"
            + "".join(f"  {cells(result.scores[rule_id], firings)}" for rule_id in RULES.values())
        )
    overall = []
    for rule_id in RULES.values():
        scores = [s for r in results if (s := r.scores[rule_id]) is not None]
        overall.append(total(scores))
    lines.append(f"{'all':<{width}}" + "".join(f"  {cells(s, firings)}" for s in overall))
    summary = []
    for name, score in zip(RULES, overall, strict=True):
        share = score.found_share
        per_hour = score.false_alarms_per_calm_hour
        summary.append(
            f"{name}: {'—' if share is None else f'{share:.0%}'} found, "
            f"{'—' if per_hour is None else f'{per_hour:.2f}'} false alarms per calm hour "
            f"({score.calm_s / HOUR_S:.2f} calm h)"
        )
    lines += ["", "overall: " + "; ".join(summary)]
    return "\n".join(lines)


def unknown_line(results: list[RecordingResult], signal: str = "stress_score") -> str:
    pooled: dict[str, float] = {}
    for result in results:
        for reason, seconds in result.unknown_s(signal).items():
            pooled[reason] = pooled.get(reason, 0.0) + seconds
    duration = sum(r.duration_s for r in results)
    parts = ", ".join(
        f"{reason} {seconds / duration:.0%}"
        for reason, seconds in sorted(pooled.items(), key=lambda item: -item[1])
        if seconds / duration >= 0.01
    )
    share = sum(pooled.values()) / duration if duration else 0.0
    return f"{signal} unknown {share:.0%} of the time" + (f" ({parts})" if parts else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", type=Path, help="draw each recording's timeline to DIR")
    parser.add_argument("--keep", type=Path, help="keep the synthetic recordings in DIR")
    args = parser.parse_args(argv)
    config = bench_config()

    by_subject = load_labels_file(STRESS_PREDICT / "labels.jsonl")
    wrist = run(
        config,
        sorted(STRESS_PREDICT.glob("S*.csv")),
        lambda path: (by_subject[path.stem], "labels.jsonl"),
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [write_scenario(s, folder) for s in scenarios()]
        strap = run(config, paths, labels_from_rows)

    print("rule columns: found = episodes found, lat. = median latency from episode start,")
    print("FA/h = false alarms per calm hour, n = firings in all (synthetic)")
    print()
    print(table("Stress-Predict (10 people, Empatica E4 wrist, 3 stress tasks each)", wrist))
    print("  " + unknown_line(wrist))
    print()
    print(table("Synthetic chest strap (real NSRDB resting hour)", strap, firings=True))
    print("  " + unknown_line(strap))
    if args.plot:
        from ambient.plot import draw_timeline

        args.plot.mkdir(parents=True, exist_ok=True)
        for result in (*wrist, *strap):
            draw_timeline(result.timeline, args.plot / f"{result.name}.png")
        print(f"\nplots in {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
