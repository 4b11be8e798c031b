"""`ambient simulate`: the demo's stress episode fires the rule and it recovers after; the real
resting hour fires nothing; the output is identical run after run; nothing is performed."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient

from ambient.config import AmbientConfig, load_config
from ambient.config.sensors import SatelliteSensorConfig
from ambient.simulate import replay_sensor
from ambient.simulate import simulate as run_simulation

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo.yaml"
EPISODE_START_S = 1800.0
EPISODE_END_S = 2400.0


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return run_ambient("simulate", "--config", str(DEMO), *args)


def events(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_demo_episode_fires_within_three_minutes_and_recovers_after() -> None:
    result = simulate("--json")
    assert result.returncode == 0, result.stderr
    rows = events(result.stdout)
    assert all(set(row) == {"t", "rule", "event", "reason", "actions", "person"} for row in rows)
    fired = [row for row in rows if row["event"] == "fired"]
    recovered = [row for row in rows if row["event"] == "recovered"]
    assert len(fired) == 1, rows
    t_fired = float(str(fired[0]["t"]))
    assert EPISODE_START_S < t_fired <= EPISODE_START_S + 180
    assert fired[0]["rule"] == "calm_alex"
    assert any("is stressed" in str(action) for action in fired[0]["actions"])  # type: ignore[attr-defined]
    assert len(recovered) == 1
    assert float(str(recovered[0]["t"])) > EPISODE_END_S


def test_same_output_twice() -> None:
    first, second = simulate("--json"), simulate("--json")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert first.stdout  # not vacuously equal


def test_real_resting_hour_fires_nothing() -> None:
    result = simulate("--json", "--recording", str(ROOT / "ambient/data/resting-hour.csv"))
    assert result.returncode == 0, result.stderr
    assert [row for row in events(result.stdout) if row["event"] == "fired"] == []


def test_an_empty_timeline_says_why_on_stderr_and_json_stays_silent(tmp_path: Path) -> None:
    """Nothing printed at all would read as a replay that did nothing; --json stays a stream of
    events only."""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}]\nrules:\n  - id: racing\n"
        "    triggers: [{trigger: signal, signal: hr, above: 200}]\n"
        "    actions: [{action: log, message: fast}]\n"
    )
    resting = str(ROOT / "ambient/data/resting-hour.csv")
    text = run_ambient("simulate", str(config), "--recording", resting)
    assert text.returncode == 0, text.stderr
    assert text.stdout == ""
    assert text.stderr.splitlines()[-1] == (
        "ambient simulate: no rule fired, was suppressed or recovered in 00:59:59 of recording "
        "(rules: racing)"
    )
    as_json = run_ambient("simulate", str(config), "--recording", resting, "--json")
    assert (as_json.returncode, as_json.stdout) == (0, "")
    assert "ambient simulate:" not in as_json.stderr
    config.write_text("people: [{id: alex}]\n")
    bare = run_ambient("simulate", str(config), "--recording", resting)
    assert bare.stderr.splitlines()[-1] == (
        "ambient simulate: the config has no rules, so there is nothing to decide"
    )


def test_a_recording_without_a_person_column_says_whose_it_is_taken_as(tmp_path: Path) -> None:
    """With two people in the config, a file without a person column replayed as the first
    of them without a word; one line on stderr now says so (--json's stdout stays events)."""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}, {id: sam}]\nrules:\n  - id: racing\n"
        "    triggers: [{trigger: signal, signal: hr, above: 200}]\n"
        "    actions: [{action: log, message: fast}]\n"
    )
    watch = tmp_path / "watch.csv"
    watch.write_text("t,metric,value\n" + "".join(f"{t},hr,70\n" for t in range(1, 60)))
    as_json = run_ambient("simulate", str(config), "--recording", str(watch), "--json")
    assert (as_json.returncode, as_json.stdout) == (0, "")
    assert [line for line in as_json.stderr.splitlines() if "person column" in line] == [
        "ambient simulate: watch.csv has no person column: its rows are taken as alex's (the "
        "first under `people:`)"
    ]
    named = tmp_path / "named.csv"
    named.write_text("t,metric,value,person\n1,hr,70,sam\n")
    named_run = run_ambient("simulate", str(config), "--recording", str(named), "--json")
    assert named_run.returncode == 0, named_run.stderr
    assert "person column" not in named_run.stderr
    config.write_text("people: [{id: alex}]\n")
    alone = run_ambient("simulate", str(config), "--recording", str(watch))
    assert alone.returncode == 0, alone.stderr
    assert "person column" not in alone.stderr


def test_text_timeline_names_rule_event_and_actions() -> None:
    result = simulate()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    fired = next(line for line in lines if " fired " in line)
    assert fired.startswith("00:3")  # minute 30-something of the recording
    assert "calm_alex" in fired
    assert any(line.strip().startswith("-> log") for line in lines)


def test_simulate_performs_nothing_and_writes_no_state(tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    config = tmp_path / "c.yaml"
    config.write_text(
        DEMO.read_text()
        .replace("path: null", f"path: {store}")
        .replace("../ambient/data/demo.csv", str(ROOT / "ambient/data/demo.csv"))
        + "homeassistant:\n  url: http://127.0.0.1:9\n  token: not-a-real-token\n"
    )
    result = run_ambient("simulate", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    assert any(row["event"] == "fired" for row in events(result.stdout))
    assert not store.exists()


def test_missing_recording_is_a_clear_error(tmp_path: Path) -> None:
    result = simulate("--recording", str(tmp_path / "nope.csv"))
    assert result.returncode == 1
    assert "nope.csv: cannot read" in result.stderr


EXAMPLE = ROOT / "config" / "ambient.example.yaml"


def simulate_example(*args: str) -> subprocess.CompletedProcess[str]:
    return run_ambient("simulate", "--config", str(EXAMPLE), *args)


def test_state_option_meets_an_ha_condition_offline_and_placeholders_are_filled() -> None:
    demo = str(ROOT / "ambient/data/demo.csv")
    offline = events(simulate_example("--recording", demo, "--json").stdout)
    assert [row["event"] for row in offline if row["rule"] == "calm_living_room"] == ["suppressed"]
    assert "person.alex is home false" in str(offline[0]["reason"])

    result = simulate_example("--recording", demo, "--json", "--state", "person.alex=home")
    assert result.returncode == 0, result.stderr
    rows = [row for row in events(result.stdout) if row["rule"] == "calm_living_room"]
    assert all(set(row) == {"t", "rule", "event", "reason", "actions", "person"} for row in rows)
    assert [row["event"] for row in rows] == ["fired", "escalated", "recovered"]
    assert EPISODE_START_S < float(str(rows[0]["t"])) <= EPISODE_START_S + 180
    # The example's `message: "{person} has calmed down; lights restored"`, filled in.
    assert rows[-1]["actions"] == ["logbook message=alex has calmed down; lights restored"]


def test_state_option_needs_entity_and_value() -> None:
    result = simulate_example("--state", "person.alex")
    assert result.returncode == 2
    assert "expected ENTITY=VALUE" in result.stderr


def test_plot_writes_the_timeline_as_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the optional `plot` extra is not installed")
    picture = tmp_path / "demo.png"
    result = simulate("--plot", str(picture))
    assert result.returncode == 0, result.stderr
    assert " fired " in result.stdout  # the timeline is still printed
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert picture.stat().st_size > 20_000


def test_a_recording_carrying_label_rows_replays_without_them(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    source = (ROOT / "ambient/data/demo.csv").read_text()
    labelled.write_text(source + "1800,label_episode,1,alex\n2400,label_episode,0,alex\n")
    plain = simulate("--json", "--recording", str(ROOT / "ambient/data/demo.csv"))
    with_labels = simulate("--json", "--recording", str(labelled))
    assert with_labels.returncode == 0, with_labels.stderr
    assert with_labels.stdout == plain.stdout
    assert "label_episode" not in with_labels.stderr


def test_plot_without_matplotlib_is_one_line_and_exit_3(tmp_path: Path) -> None:
    # A stand-in for an installation without the `plot` extra: matplotlib made unimportable.
    code = (
        "import sys; sys.modules['matplotlib'] = None; from ambient.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    picture = tmp_path / "demo.png"
    result = subprocess.run(
        [sys.executable, "-c", code, "simulate", str(DEMO), "--plot", str(picture)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "ambient simulate: matplotlib is not installed; "
        "install the plot extra: pip install 'ambient[plot]'"
    ]
    assert result.stdout == ""  # checked before the replay, not after
    assert not picture.exists()


def test_a_simulation_leaves_the_garbage_collector_as_it_found_it() -> None:
    """The replay keeps what it loaded out of the cyclic collector's sight (frozen) and puts
    it back when the replay ends."""
    before = gc.get_freeze_count()
    result = asyncio.run(run_simulation(load_config(DEMO), None))
    assert result.traces and gc.get_freeze_count() == before


def test_a_simulation_leaves_what_its_caller_froze_frozen() -> None:
    """``gc.unfreeze`` thaws every frozen object: a replay whose caller has frozen some (a
    long-lived process after its start-up) leaves them to it."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        result = asyncio.run(run_simulation(load_config(DEMO), None))
        assert result.traces and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def demo_rows() -> tuple[str, list[str]]:
    """The demo recording's comment and header lines, and its rows (in time order)."""
    lines = (ROOT / "ambient/data/demo.csv").read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("t,"))
    return "".join(lines[: start + 1]), lines[start + 1 :]


def test_rows_out_of_time_order_late_in_a_recording_replay_as_the_rows_in_order(
    tmp_path: Path,
) -> None:
    """The replay reads a recording as it goes; one found out of order near its end is
    replayed again read whole and sorted, and says so."""
    head, rows = demo_rows()
    rows[-20], rows[-21] = rows[-21], rows[-20]
    late = tmp_path / "late.csv"
    late.write_text(head + "".join(rows))
    in_order = simulate("--json")
    result = simulate("--json", "--recording", str(late))
    assert result.returncode == 0, result.stderr
    assert result.stdout == in_order.stdout
    line = len(head.splitlines()) + len(rows) - 19
    assert f"late.csv:{line}: a row earlier than the one before it: replaying again" in (
        result.stderr
    )


def test_a_recording_whose_time_changes_kind_late_is_one_error_naming_both_lines(
    tmp_path: Path,
) -> None:
    head, rows = demo_rows()
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(head + "".join(rows) + "1795723200,hr,61,alex\n")
    result = simulate("--json", "--recording", str(mixed))
    assert result.returncode == 1
    assert result.stdout == ""
    first_row, absolute_row = len(head.splitlines()) + 1, len(head.splitlines()) + len(rows) + 1
    assert result.stderr.splitlines()[-1] == (
        f"ambient simulate: {mixed}: mixes relative and absolute times "
        f"(line {first_row} is relative, line {absolute_row} absolute)"
    )
    assert "Traceback" not in result.stderr


def test_two_recordings_read_as_they_replay_merge_as_when_read_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A relative recording beside an absolute one (another person's): read as they replay,
    their readings meet in time order exactly as when the replay starts again with both read
    whole (one of them found out of order late)."""
    head, rows = demo_rows()
    absolute_s = 1_795_723_200
    sam_rows = [
        f"{float(t) + absolute_s!r},{metric},{value},sam\n"
        for t, metric, value, _ in (row.rstrip("\n").split(",") for row in rows)
    ]
    (tmp_path / "alex.csv").write_text(head + "".join(rows))
    (tmp_path / "sam.csv").write_text("t,metric,value,person\n" + "".join(sam_rows))
    sam_rows[-20], sam_rows[-21] = sam_rows[-21], sam_rows[-20]
    (tmp_path / "sam-late.csv").write_text("t,metric,value,person\n" + "".join(sam_rows))
    demo = DEMO.read_text().replace("../ambient/data/demo.csv", "alex.csv")
    demo = demo.replace("people:\n", "people:\n  - id: sam\n")
    caplog.set_level(logging.INFO, logger="ambient.simulate")
    replays = []
    for sam in ("sam.csv", "sam-late.csv"):
        config_path = tmp_path / f"{sam}.yaml"
        config_path.write_text(
            demo.replace("sensors:\n", f"sensors:\n  - {{type: recording, path: {sam}}}\n")
        )
        config = load_config(config_path)
        replays.append(asyncio.run(run_simulation(config, None, keep_signals=True)))
    streamed, whole = replays
    assert ["sam-late.csv:" in m for m in caplog.messages if "replaying again" in m] == [True]
    assert {update.person for update in streamed.signals} == {"alex", "sam"}
    assert streamed.start == whole.start == absolute_s + float(rows[0].split(",")[0])
    assert streamed.traces == whole.traces and streamed.traces
    assert streamed.signals == whole.signals


def test_two_recordings_of_one_person_reach_the_signals_in_time_order(tmp_path: Path) -> None:
    """A strap's recording (HR each second) and a watch's (HR each 5 s), both Alex's: the
    replay hands their readings over in time order across both, as a live daemon receives
    them, so none is older than the last of its metric and dropped as late."""
    strap = "".join(f"{k},hr,{60 + k % 7}\n" for k in range(1, 1201))
    watch = "".join(f"{5 * k + 0.5},hr,{70 + k % 5}\n" for k in range(240))
    (tmp_path / "strap.csv").write_text("t,metric,value\n" + strap)
    (tmp_path / "watch.csv").write_text("t,metric,value\n" + watch)
    config_path = tmp_path / "ambient.yaml"
    config_path.write_text(
        "people:\n  - id: alex\n"
        "sensors:\n"
        "  - {type: recording, id: strap, path: strap.csv, person: alex}\n"
        "  - {type: recording, id: watch, path: watch.csv, person: alex}\n"
        "store:\n  path: null\n"
    )
    result = asyncio.run(run_simulation(load_config(config_path), None))

    assert result.counters.get("signals:alex", {}) == {}  # nothing late
    assert result.end == result.start + 1200.0


QUEUED_DELAY_RULE = """\
people:
  - id: alex
sensors:
  - type: recording
    path: racing.csv
    person: alex
rules:
  - id: racing
    person: alex
    mode: queued
    triggers:
      - trigger: signal
        signal: hr
        above: 100
    actions:
      - action: log
        message: "first {hr} ({event})"
      - delay: 30s
      - action: log
        message: "start {hr} ({event})"
store:
  path: null
"""


def test_a_step_after_a_delay_shows_the_values_run_sends_those_of_the_firing(
    tmp_path: Path,
) -> None:
    """`run` fills a later step's placeholders with the values its rule fired on (the run
    keeps them), and {event} is `fired`; simulate filled them from its `continued` trace:
    the heart rate 30 s later, and `continued`."""
    rows = [f"{t}.0,hr,{120 if t < 5 else 70},alex" for t in range(90)]
    (tmp_path / "racing.csv").write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    (tmp_path / "ambient.yaml").write_text(QUEUED_DELAY_RULE)

    result = run_ambient("simulate", "--json", str(tmp_path / "ambient.yaml"))

    assert result.returncode == 0, result.stderr
    actions = {row["event"]: row["actions"] for row in events(result.stdout)}
    assert actions["fired"] == ["log message=first 120.0 (fired)"]
    assert actions["continued"] == ["log message=start 120.0 (fired)"]


WATCH_CONFIG = """\
people: [{id: alex}]
mqtt: {host: localhost}
sensors:
  - {type: ble, id: alex_strap, name: Polar H10 1A2B3C4D, person: alex}
  - {type: mqtt, id: alex_watch, topic: watch/alex/hr, metric: hr, person: alex,
     stale_after: 6min}
rules:
  - id: racing
    person: alex
    triggers: [{trigger: signal, signal: hr, above: 90, for: 6min}]
    actions: [{action: log, message: racing}]
"""


def watch_samples(path: Path) -> Path:
    """An hour of a watch's heart rate, one sample every 5 minutes: 70, then 100 from the
    20th minute to the 35th, then 70 again."""
    rows = [f"{minute * 60},hr,{100 if 20 <= minute <= 35 else 70}" for minute in range(0, 60, 5)]
    path.write_text("t,metric,value\n" + "\n".join(rows) + "\n")
    return path


def test_a_recording_given_replays_with_the_stale_after_of_the_person_s_heart_sensors(
    tmp_path: Path,
) -> None:
    """A watch's samples 5 minutes apart count for its sensor's 6 minutes, as in run, not for
    the signals' 15 s: the rule's 6 minutes above 90 elapse (a strap without a stale_after of
    its own beside it: the longer span holds)."""
    config = tmp_path / "watch.yaml"
    config.write_text(WATCH_CONFIG)
    samples = str(watch_samples(tmp_path / "watch.csv"))
    result = run_ambient("simulate", str(config), "--recording", samples, "--json")
    assert result.returncode == 0, result.stderr
    fired = [e for e in events(result.stdout) if e["event"] == "fired"]
    assert [(e["rule"], e["t"]) for e in fired] == [("racing", 1560.0)]


def test_a_recording_given_takes_the_longest_stale_after_and_the_one_beats_of_its_person() -> None:
    """Of the person's heart sensors (not another's, not a sensor of steps): the longest span
    when one has its own, and the kind of beats they all have."""
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}, {"id": "bob"}],
            "mqtt": {"host": "localhost"},
            "sensors": [
                {"type": "ble", "id": "strap", "name": "Polar H10", "person": "alex"},
                {
                    "type": "mqtt",
                    "topic": "a/hr",
                    "metric": "hr",
                    "person": "alex",
                    "stale_after": "6min",
                },
                {
                    "type": "mqtt",
                    "topic": "b/hr",
                    "metric": "hr",
                    "person": "bob",
                    "stale_after": "20min",
                },
                {"type": "mqtt", "topic": "a/steps", "metric": "steps", "person": "alex"},
            ],
        }
    )
    alex = replay_sensor(config, Path("r.csv"), "alex")
    assert (alex.id, alex.person, alex.stale_after, alex.beats) == (
        "recording",
        "alex",
        360,
        "chest",
    )
    bob = replay_sensor(config, Path("r.csv"), "bob")
    assert (bob.stale_after, bob.beats) == (1200, None)
    alone = AmbientConfig.model_validate({"people": [{"id": "alex"}]})
    assert replay_sensor(alone, Path("r.csv"), "alex").stale_after is None


def test_a_recording_given_is_replayed_as_the_sensors_run_gives_the_persons_readings() -> None:
    """A strap without `person:` gives `default`'s beats, not alex's: alex's are the watch's
    pulse beats, and the file replays them as pulse beats. A satellite may forward alex's
    readings, held the signals' `stale_after`: the file's readings are held as long."""
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "mqtt": {"host": "localhost"},
            "signals": {"stale_after": "30s"},
            "sensors": [
                {"type": "ble", "name": "Polar H10"},
                {
                    "type": "mqtt",
                    "topic": "a/ibi",
                    "metric": "rr",
                    "person": "alex",
                    "beats": "pulse",
                    "stale_after": "15s",
                },
            ],
        }
    )
    assert replay_sensor(config, Path("r.csv"), "alex").beats == "pulse"
    assert replay_sensor(config, Path("r.csv"), "alex").stale_after == 15
    forwarded = config.model_copy(
        update={"sensors": [*config.sensors[1:], SatelliteSensorConfig(type="satellite")]}
    )
    assert replay_sensor(forwarded, Path("r.csv"), "alex").stale_after == 30


def test_a_recording_from_a_pipe_is_read_once(tmp_path: Path) -> None:
    """`-r <(zcat day.csv.gz)` or `-r /dev/stdin`: a pipe gives its rows once. With two people,
    whether its rows name a person was read from the pipe before the replay, which then found
    it empty ("empty recording"); it is now known from the replay's own read."""
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}, {id: sam}]\nrules:\n  - id: racing\n"
        "    triggers: [{trigger: signal, signal: hr, above: 100, for: 10s}]\n"
        "    actions: [{action: log, message: fast}]\n"
    )
    rows = "t,metric,value\n" + "".join(f"{t},hr,{120 if t > 30 else 70}\n" for t in range(120))
    result = run_ambient("simulate", str(config), "-r", "/dev/stdin", "--json", stdin=rows)
    assert result.returncode == 0, result.stderr
    assert [(row["t"], row["event"]) for row in events(result.stdout)] == [(41.0, "fired")]
    assert "stdin has no person column: its rows are taken as alex's" in result.stderr
    unsorted = "t,metric,value\n2,hr,70\n1,hr,71\n"
    again = run_ambient("simulate", str(config), "-r", "/dev/stdin", "--json", stdin=unsorted)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr.splitlines()[-1] == (
        "ambient simulate: /dev/stdin:3: earlier than the row before it: it must be read again "
        "to be sorted, which a pipe cannot be; save it to a file first"
    )


def test_a_pipe_whose_time_changes_kind_names_both_lines_without_reading_it_again(
    tmp_path: Path,
) -> None:
    """The lines of the first row of each kind of time were found by reading the file again:
    a pipe, read once, gave nothing more, and the error said the file 'changed while read'.
    They are kept as the rows are read."""
    config = tmp_path / "ambient.yaml"
    config.write_text("people: [{id: alex}]\n")
    rows = "t,metric,value\n1,hr,70\n2,hr,71\n1795723200,hr,72\n"
    result = run_ambient("simulate", str(config), "-r", "/dev/stdin", "--json", stdin=rows)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1] == (
        "ambient simulate: /dev/stdin: mixes relative and absolute times (line 2 is relative, "
        "line 4 absolute)"
    )
