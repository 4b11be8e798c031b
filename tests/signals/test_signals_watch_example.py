"""The watch example config end to end through `ambient simulate`, on a watch-like stream built
from the real resting hour: sparse intervals (runs with beats left out), the watch's own HR,
and still movement. Rest sets off nothing; a moderate episode is found; a walk with the same
heart rate is exercise, never stress."""

from __future__ import annotations

import asyncio
from pathlib import Path

from signals.signals_helpers import load_nn

from ambient.config import load_config
from ambient.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent.parent
WATCH = ROOT / "config" / "ambient.watch.example.yaml"
ONSET_S, END_S = 1800.0, 2400.0


def watch_recording(path: Path, episode: bool, walking: bool) -> None:
    """Every fourth beat of eight is not reported (as a wrist sensor does); HR once a second
    from the beats; movement once a second, 0.25 g while walking, else 0.01 g."""
    rows: list[str] = []
    t, next_second, recent = 0.0, 1.0, [1000.0]
    for i, rr in enumerate(load_nn("60min")):
        mean = sum(recent[-30:]) / len(recent[-30:])
        if episode and ONSET_S <= t < END_S:
            rr = 0.85 * (mean + 0.5 * (rr - mean))  # 15 % shorter, half the variability
        recent.append(rr)
        t += rr / 1000
        if i % 8 < 6:
            rows.append(f"{t:.3f},rr,{rr:.0f},alex")
        while next_second <= t:
            hr = 60000 / (sum(recent[-5:]) / len(recent[-5:]))
            moving = walking and ONSET_S <= next_second < END_S
            rows.append(f"{next_second:.3f},hr,{hr:.1f},alex")
            rows.append(f"{next_second:.3f},movement,{0.25 if moving else 0.01},alex")
            next_second += 1.0
    path.write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")


def firings(recording: Path) -> list[float]:
    config = load_config(WATCH)
    result = asyncio.run(simulate(config, recording, states={"person.alex": "home"}))
    return [t.time - result.start for t in result.traces if t.event == "fired"]


def test_a_watch_at_rest_sets_off_nothing(tmp_path: Path) -> None:
    recording = tmp_path / "rest.csv"
    watch_recording(recording, episode=False, walking=False)
    assert firings(recording) == []


def test_a_moderate_episode_on_a_watch_is_found_within_3_minutes(tmp_path: Path) -> None:
    recording = tmp_path / "episode.csv"
    watch_recording(recording, episode=True, walking=False)
    fired = firings(recording)
    assert fired and ONSET_S < fired[0] <= ONSET_S + 180


def test_the_same_heart_rate_while_walking_is_never_stress(tmp_path: Path) -> None:
    recording = tmp_path / "walk.csv"
    watch_recording(recording, episode=True, walking=True)
    assert firings(recording) == []
