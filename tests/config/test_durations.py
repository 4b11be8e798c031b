"""Durations as people write them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient
from hypothesis import given
from hypothesis import strategies as st

from ambient.config.durations import duration_text, parse_duration, written_duration_text
from ambient.config.loader import load_config
from ambient.config.triggers import SignalTriggerConfig


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5min", 300.0),
        ("1h30m", 5400.0),
        ("1h 30min", 5400.0),
        ("00:05:00", 300.0),
        ("01:30", 5400.0),
        ("2.5s", 2.5),
        ("250ms", 0.25),
        ("45", 45.0),
        (45, 45.0),
        (0.5, 0.5),
        ("1d", 86400.0),
    ],
)
def test_accepted_forms(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 fortnights", "m5", "1h30", "-5", "5min!", True, None])
def test_rejected_forms_say_what_is_accepted(text: object) -> None:
    with pytest.raises(ValueError, match=r"90s, 5min, 1h30m, 00:05:00|negative"):
        parse_duration(text)


@pytest.mark.parametrize("written", [float("inf"), 1e20, "40000d", {"days": 1e9}])
def test_a_duration_too_long_to_end_on_a_date_is_refused(written: object) -> None:
    """`cooldown: .inf` loaded, and every later firing's timer then failed to say when the
    cooldown ends (a date past year 9999): nothing fired and nothing was traced."""
    with pytest.raises(ValueError, match="at most 100 years"):
        parse_duration(written)


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_clock_form_equals_unit_form(h: int, m: int, s: int) -> None:
    assert parse_duration(f"{h:02d}:{m:02d}:{s:02d}") == parse_duration(f"{h}h{m}m{s}s")


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ({"minutes": 5}, 300.0),
        ({"hours": 0, "minutes": 5, "seconds": 0}, 300.0),  # what HA's editor writes
        ({"days": 1, "hours": 2}, 93600.0),
        ({"seconds": 1.5, "milliseconds": 500}, 2.0),
    ],
)
def test_home_assistants_dictionary_form(written: dict[str, float], seconds: float) -> None:
    assert parse_duration(written) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ({}, "give days, hours, minutes, seconds or milliseconds"),
        ({"mins": 5}, "unknown key `mins`"),
        ({"minutes": "five"}, "`minutes` must be a number"),
        ({"minutes": True}, "`minutes` must be a number"),
        ({"minutes": -5}, "negative"),
    ],
)
def test_dictionary_form_mistakes_are_named(written: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_duration(written)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0s"), (1.0, "1s"), (45.0, "45s"), (90.0, "1min30s"), (5400.0, "1h30min")],
)
def test_whole_seconds_are_said_as_the_config_writes_them(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(0.5, "0.5s"), (0.25, "0.25s"), (0.001, "0.001s")])
def test_a_written_duration_under_a_second_is_not_said_as_none(seconds: float, text: str) -> None:
    """`delay: 0.5s` was said "0s", as if there were none."""
    assert written_duration_text(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(0.197, "0s"), (0.6, "1s"), (59.6, "1min")])
def test_a_measured_duration_is_said_to_the_second(seconds: float, text: str) -> None:
    """What was measured (a run stopped after 0.197 s) is said to the second, as the daemon's
    stop line and the other measured durations promise, not to the millisecond."""
    assert duration_text(seconds) == text


def test_a_delay_and_a_for_are_traced_as_written(tmp_path: Path) -> None:
    """`delay: 0.5s` was traced "after delay 0s", as if there were none, and `delay: 1.5s`
    "after delay 2s" where `for: 1.5s` reads "for 1.5s": the part of a second the config wrote
    is said, as a trigger's `for` says it; whole seconds read as before."""
    config = tmp_path / "ambient.yaml"
    demo = Path(__file__).resolve().parents[2] / "ambient" / "data" / "demo.csv"
    config.write_text(
        "people: [{id: alex}]\n"
        f"sensors: [{{type: recording, path: '{demo}', person: alex}}]\n"
        "store: {path: null}\n"
        "rules:\n"
        "  - id: calm\n"
        "    triggers: [{trigger: signal, signal: stress_score, above: 70, for: 1.5s}]\n"
        "    actions: [{action: log}, {delay: 0.5s}, {action: log}, {delay: 1.5s},\n"
        "              {action: log}, {delay: 3s}, {action: log}]\n"
    )
    result = run_ambient("simulate", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "above 70 for 1.5s" in result.stdout
    assert "after delay 0.5s (step 2 of 7)" in result.stdout
    assert "after delay 1.5s (step 4 of 7)" in result.stdout
    assert "after delay 3s (step 6 of 7)" in result.stdout


def _check(tmp_path: Path, duration: str) -> tuple[str, float]:
    """`ambient check` of a rule whose `for:` is ``duration`` as written: its output, and the
    seconds the config holds."""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "store: {path: null}\n"
        "rules:\n"
        "  - id: calm\n"
        "    triggers:\n"
        "      - trigger: signal\n"
        "        signal: stress_score\n"
        "        above: 70\n"
        f"        for: {duration}\n"
        "    actions: [{action: log}]\n"
    )
    result = run_ambient("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    trigger = load_config(config).rules[0].triggers[0]
    assert isinstance(trigger, SignalTriggerConfig)
    return result.stdout + result.stderr, trigger.for_


def test_an_unquoted_clock_duration_is_read_as_home_assistant_reads_it_and_check_says_so(
    tmp_path: Path,
) -> None:
    """YAML reads an unquoted 10:00 as the base-60 number 600: 10 minutes, in Home Assistant as
    here, while "10:00" in quotes is 10 hours in both. The same text meaning either is a trap,
    so check says which it read, where, and how to write each."""
    said, seconds = _check(tmp_path, "10:00")
    assert seconds == 600.0
    assert (
        f"Warning: {tmp_path / 'ambient.yaml'}:8:9: rules[0].triggers[0].for: YAML reads an "
        'unquoted 10:00 as 10min (minutes:seconds), as Home Assistant does, while "10:00" in '
        'quotes is 10h (hours:minutes): write 10min, or "10:00" for 10h'
    ) in said


@pytest.mark.parametrize(
    ("written", "seconds"),
    [('"10:00"', 36000.0), ("01:30", 5400.0), ("1:30:00", 5400.0), ("10min", 600.0)],
)
def test_a_duration_that_reads_one_way_only_is_not_warned_of(
    tmp_path: Path, written: str, seconds: float
) -> None:
    """Quoted, or with a leading zero (YAML leaves 01:30 as text), it is hours and minutes;
    three parts read the same as base 60 and as h:m:s."""
    said, read = _check(tmp_path, written)
    assert read == seconds
    assert "YAML reads" not in said
