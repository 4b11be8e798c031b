"""`ambient baseline show|reset` with ln RMSSD kept per kind of beats, as users call it: show
lists each kind's, `reset --beats chest|pulse` forgets one kind's and keeps the rest."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient
from signals.test_signals_baseline_cli import baseline, save

from ambient.config.sensors import BeatsKind
from ambient.config.signals import BaselineConfig
from ambient.signals.baseline import Baseline

STRAP = "{type: ble, id: alex_strap, address: 'AA:BB:CC:DD:EE:FF', person: alex}"
ARMBAND = "{type: ble, id: alex_armband, name: Polar Sense, person: alex, beats: pulse}"


def config_with(tmp_path: Path, *sensors: str) -> tuple[Path, Path]:
    store = tmp_path / "state" / "ambient.db"
    config = tmp_path / "ambient.yaml"
    listed = "sensors:\n" + "".join(f"  - {sensor}\n" for sensor in sensors) if sensors else ""
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store}\n{listed}")
    return config, store


def quiet_minutes(learned: Baseline, count: int, rmssd_ms: float, beats: BeatsKind | None) -> None:
    """``count`` resting minutes at 60 bpm within the last hours of today (the system's zone,
    as the configs here use), of ``beats``' kind."""
    now = time.time()
    local = time.localtime(now)
    since_midnight_s = local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec
    end = now if since_midnight_s > 3600 else now - since_midnight_s - 1
    for k in range(count):
        learned.add(
            end - 60 * (count - k) - 1800 * (beats == "pulse"), math.log(rmssd_ms), 60.0, beats
        )


def strap_and_armband_worn(tmp_path: Path) -> Path:
    """A config of alex's strap and armband, its store holding 20 quiet minutes of the
    strap's beats (RMSSD 30 ms) and 10 of the armband's (50 ms)."""
    config, store = config_with(tmp_path, STRAP, ARMBAND)
    learned = Baseline(BaselineConfig())
    quiet_minutes(learned, 20, 30.0, "chest")
    quiet_minutes(learned, 10, 50.0, "pulse")
    save(store, learned)
    return config


def test_show_lists_each_kind_of_beats_beside_every_kinds_together(tmp_path: Path) -> None:
    config = strap_and_armband_worn(tmp_path)
    result = baseline(config, "show", "--person", "alex", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["ln_rmssd"]["samples"] == 30  # every kind's: for beats of no known kind
    by_beats = shown["ln_rmssd_by_beats"]
    assert list(by_beats) == ["chest", "pulse"]
    assert (by_beats["chest"]["rmssd_ms"], by_beats["chest"]["samples"]) == (30.0, 20)
    assert (by_beats["pulse"]["rmssd_ms"], by_beats["pulse"]["samples"]) == (50.0, 10)
    assert shown["resting_hr"]["samples"] == 30  # one resting HR
    text = baseline(config, "show", "--person", "alex").stdout
    assert (
        "    chest      3.40 ± 0.30  (RMSSD ≈ 30 ms; 20 minutes of a chest strap's beats)\n" in text
    )
    assert (
        "    pulse      3.91 ± 0.30  (RMSSD ≈ 50 ms; 10 minutes of a pulse sensor's beats)\n"
        in text
    )


def test_show_says_a_configured_kind_without_minutes_is_on_the_prior(tmp_path: Path) -> None:
    """A baseline saved before kinds were kept, for someone who wears a strap and an armband:
    which kind it holds is not known, so both kinds start from the prior."""
    config, store = config_with(tmp_path, STRAP, ARMBAND)
    learned = Baseline(BaselineConfig())
    quiet_minutes(learned, 8, 40.0, None)
    save(store, learned)
    shown = json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)
    assert shown["ln_rmssd"]["samples"] == 8
    assert {k: (v["samples"], v["on_prior"]) for k, v in shown["ln_rmssd_by_beats"].items()} == {
        "chest": (0, True),
        "pulse": (0, True),
    }
    text = baseline(config, "show", "--person", "alex").stdout
    assert (
        "(RMSSD ≈ 40 ms; the population's: 0 minutes of a pulse sensor's beats, 5 needed)" in text
    )


def test_show_of_a_baseline_saved_before_kinds_gives_it_to_the_one_configured_kind(
    tmp_path: Path,
) -> None:
    config, store = config_with(tmp_path, STRAP)
    learned = Baseline(BaselineConfig())
    quiet_minutes(learned, 8, 40.0, None)
    save(store, learned)
    shown = json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)
    assert list(shown["ln_rmssd_by_beats"]) == ["chest"]
    assert shown["ln_rmssd_by_beats"]["chest"]["samples"] == 8


def test_show_of_a_baseline_of_no_known_kind_is_as_it_was(tmp_path: Path) -> None:
    config, store = config_with(tmp_path)
    learned = Baseline(BaselineConfig())
    quiet_minutes(learned, 8, 40.0, None)
    save(store, learned)
    shown = json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)
    assert shown["ln_rmssd_by_beats"] == {}
    text = baseline(config, "show", "--person", "alex").stdout
    assert "  ln RMSSD     3.69 ± 0.30  (RMSSD ≈ 40 ms; 8 minutes with enough beat pairs)\n" in text
    assert "beats" not in text


def test_reset_of_one_kind_forgets_its_minutes_and_keeps_the_rest(tmp_path: Path) -> None:
    config = strap_and_armband_worn(tmp_path)
    result = baseline(config, "reset", "--person", "alex", "--beats", "chest")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "ln RMSSD of alex's chest beats reset: the population prior stands in for them until "
        "their first quiet minutes; resting HR and the other beats are kept\n"
    )
    shown = json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)
    assert shown["ln_rmssd_by_beats"]["chest"]["on_prior"] is True
    assert shown["ln_rmssd_by_beats"]["pulse"]["samples"] == 10
    assert shown["ln_rmssd"]["samples"] == 10  # the strap's minutes left every kind's too
    assert shown["resting_hr"]["samples"] == 30
    again = baseline(config, "reset", "--person", "alex", "--beats", "chest")
    assert (again.returncode, again.stdout) == (
        0,
        "alex has no ln RMSSD of a chest strap's beats saved: nothing to reset\n",
    )


def test_reset_of_one_kind_is_refused_as_a_whole_reset_is(tmp_path: Path) -> None:
    config, _ = config_with(tmp_path, STRAP)
    nothing = baseline(config, "reset", "--person", "alex", "--beats", "pulse")
    assert (nothing.returncode, nothing.stdout) == (
        0,
        "alex has no saved baseline: nothing to reset\n",
    )
    unknown = baseline(config, "reset", "--person", "bob", "--beats", "pulse")
    assert unknown.returncode == 1
    assert unknown.stderr == (
        "ambient baseline: no person `bob` in the config or the store (people: alex)\n"
    )
    assert baseline(config, "reset", "--person", "alex", "--beats", "ring").returncode == 2


def test_show_with_beats_is_a_usage_error_before_the_config_is_read(tmp_path: Path) -> None:
    """As every usage error: the command's usage and one line, exit 2, whatever the config
    (it was said after loading one, and a config that could not be read answered first)."""
    shown = baseline(tmp_path / "missing.yaml", "show", "--person", "alex", "--beats", "chest")
    assert shown.returncode == 2
    assert shown.stderr.startswith("usage: ambient baseline ")
    assert shown.stderr.endswith(
        "\nambient baseline: error: --beats goes with reset (show lists each kind)\n"
    )
    assert "missing.yaml" not in shown.stderr


def recorded_beats(path: Path, start: float, seconds: float, swing_ms: float) -> None:
    """A recording of beats at 75 bpm alternating ± ``swing_ms`` (RMSSD 2 × swing)."""
    lines, t, i = ["t,metric,value"], start, 0
    while t < start + seconds:
        rr = 800 + (swing_ms if i % 2 else -swing_ms)
        t, i = t + rr / 1000, i + 1
        lines.append(f"{t:.3f},rr,{rr:g}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("strap", "watch", "fired"), [("chest", "pulse", False), (None, None, True)]
)
def test_the_daemon_compares_a_watch_with_its_own_rest_once_its_sensor_says_pulse(
    tmp_path: Path, strap: str | None, watch: str | None, fired: bool
) -> None:
    """Ten minutes of a strap (RMSSD 30 ms), then a watch that reads higher (50 ms), through
    `ambient simulate`: a rule on `ln_rmssd_z above 1` fires when the watch is compared with
    the strap's rest (recordings say no kind), not once the sensors say their kinds (the
    watch is on the prior: z 0.4)."""
    recorded_beats(tmp_path / "strap.csv", 0, 600, 15)
    recorded_beats(tmp_path / "watch.csv", 600, 300, 25)
    kinds = [f", beats: {kind}" if kind else "" for kind in (strap, watch)]
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}]\n"
        "sensors:\n"
        f"  - {{type: recording, id: alex_strap, path: strap.csv, person: alex{kinds[0]}}}\n"
        f"  - {{type: recording, id: alex_watch, path: watch.csv, person: alex{kinds[1]}}}\n"
        "rules:\n"
        "  - id: hrv_high\n"
        "    person: alex\n"
        "    triggers: [{trigger: signal, signal: ln_rmssd_z, above: 1.0}]\n"
        "    actions: [{action: log, message: high}]\n"
    )
    result = run_ambient("simulate", "--json", str(config))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line)["event"] for line in result.stdout.splitlines()]
    assert ("fired" in events) is fired
