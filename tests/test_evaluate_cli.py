"""`ambient evaluate` as users call it, on small hand-made recordings whose right answers are
known: a heart-rate-only recording with one labelled episode and one calm-time burst, scored
from a labels file, from a labels.jsonl beside it, or from its own label rows; HA conditions met
with --state; a picture per recording; and every bad input as one line with exit code 1."""

from __future__ import annotations

import gzip
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.ambient_process import run_ambient

CONFIG = """\
people:
  - id: alex
rules:
  - id: fast_heart
    person: alex
    triggers:
      - trigger: signal
        signal: hr
        above: 100
        for: 60s
    actions:
      - action: log
        message: "{person}: heart rate {hr}"
store:
  path: null
"""
AT_HOME = """\
    conditions:
      - condition: state
        entity_id: person.alex
        state: home
"""
EPISODE_S = (600, 900)
CALM_BURST_S = (1500, 1620)  # in calm time: more than 5 min after the episode
END_S = 1800
LABELS = {"subject": "alex", "tasks": [list(EPISODE_S)], "baseline": [0, 600], "end": END_S}


def hr_at(t: int) -> int:
    fast = EPISODE_S[0] <= t < EPISODE_S[1] or CALM_BURST_S[0] <= t < CALM_BURST_S[1]
    return 120 if fast else 70


def write_recording(path: Path, label_rows: bool = False) -> Path:
    rows = [f"{t},hr,{hr_at(t)},alex" for t in range(1, END_S + 1)]
    if label_rows:
        rows += ["0,label_baseline,1,alex", "600,label_baseline,0,alex"]
        rows += ["600,label_episode,1,alex", "900,label_episode,0,alex"]
    path.write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    return path


#: Needed by a state condition; nothing listens there, and evaluate never connects.
HOMEASSISTANT = "homeassistant:\n  url: http://127.0.0.1:9\n  token: not-a-real-token\n"


def write_config(folder: Path, conditions: str = "") -> Path:
    path = folder / "ambient.yaml"
    text = CONFIG.replace("    actions:\n", conditions + "    actions:\n")
    path.write_text(text + (HOMEASSISTANT if conditions else ""))
    return path


def evaluate(config: Path, *args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{prelude}import sys; from ambient.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "evaluate", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    """A folder with the recording `alex.csv` and a labels.jsonl for it."""
    write_recording(tmp_path / "alex.csv")
    (tmp_path / "labels.jsonl").write_text(json.dumps(LABELS) + "\n")
    return tmp_path


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def test_the_episode_is_found_a_minute_in_and_the_calm_burst_is_a_false_alarm(
    labelled: Path,
) -> None:
    config = write_config(labelled)
    document = report(evaluate(config, "--recordings", str(labelled), "--json"))
    (rule,) = document["rules"]
    assert rule["id"] == "fast_heart"
    assert rule["triggers"] == ["hr above 100 for 1min"]
    (row,) = rule["recordings"]
    assert row["recording"] == "alex"
    assert (row["found"], row["episodes_total"]) == (1, 1)
    assert 59 <= row["episodes"][0]["latency_s"] <= 62
    assert row["false_alarms"] == 1
    calm_h = (600 + (END_S - 1200)) / 3600  # baseline + from 5 min after the episode
    assert row["calm_hours"] == pytest.approx(calm_h, abs=1e-3)
    assert row["false_alarms_per_calm_hour"] == pytest.approx(1 / calm_h, abs=0.01)
    assert len(row["firings_s"]) == 2
    assert rule["overall"]["found_share"] == 1.0


def test_json_shape(labelled: Path) -> None:
    document = report(evaluate(write_config(labelled), "-r", str(labelled), "--json"))
    assert set(document) >= {"rules", "recordings", "unknown_overall", "signals_read"}
    assert "skipped" not in document  # only when a recording of the folder was skipped
    (recording,) = document["recordings"]
    assert set(recording) >= {"recording", "path", "labels", "duration_s", "unknown"}
    assert recording["labels"].endswith("labels.jsonl")
    assert recording["duration_s"] == END_S
    hr = recording["unknown"]["hr"]
    assert hr["share"] < 0.01  # known from the first second on
    stress = recording["unknown"]["stress_score"]
    assert stress["share"] > 0.5  # HR alone never gives HRV
    assert sum(stress["reasons"].values()) == pytest.approx(stress["share"], abs=0.01)
    assert document["signals_read"] == ["hr"]
    episode = document["rules"][0]["recordings"][0]["episodes"][0]
    assert set(episode) == {"start", "end", "name", "found", "latency_s"}


def test_text_table_per_recording_and_unknown_shares(labelled: Path) -> None:
    result = evaluate(write_config(labelled), "--recordings", str(labelled / "alex.csv"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Rule fast_heart: hr above 100 for 1min"
    row = next(line for line in lines if line.startswith("alex "))
    assert row.split()[:5] == ["alex", "1/1", "60", "s", "1"]
    assert "Unknown share" in result.stdout


def test_the_text_of_unlabelled_recordings_totals_their_firings_and_keeps_columns_aligned(
    tmp_path: Path,
) -> None:
    """The `all` row said 0 firings under two recordings of 2 each, and a long recording name
    pushed its unknown share out of the column."""
    long_name = "2026-11-26-evening-session"
    write_recording(tmp_path / f"{long_name}.csv")
    write_recording(tmp_path / "b.csv")
    result = evaluate(write_config(tmp_path), "-r", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert next(line for line in lines if line.startswith("all ")).endswith(
        "no labels (4 firing(s))"
    )
    shares = [line for line in lines if line.endswith("0%")]
    assert [line.split()[0] for line in shares] == [long_name, "b", "all"]
    assert len({len(line) for line in shares}) == 1, shares


def test_an_ha_condition_is_false_offline_unless_given_with_state(labelled: Path) -> None:
    config = write_config(labelled, AT_HOME)
    without = evaluate(config, "--recordings", str(labelled), "--json")
    assert report(without)["rules"][0]["overall"]["found"] == 0
    assert report(without)["entities_missing"] == ["person.alex"]
    given = evaluate(config, "-r", str(labelled), "--json", "--state", "person.alex=home")
    assert report(given)["rules"][0]["overall"]["found"] == 1
    assert report(given)["entities_missing"] == []
    away = evaluate(config, "-r", str(labelled), "--json", "--state", "person.alex=away")
    assert report(away)["rules"][0]["overall"]["found"] == 0


def test_a_recording_can_carry_its_own_labels(tmp_path: Path) -> None:
    recording = write_recording(tmp_path / "session.csv", label_rows=True)
    document = report(evaluate(write_config(tmp_path), "-r", str(recording), "--json"))
    row = document["rules"][0]["recordings"][0]
    assert (row["found"], row["false_alarms"]) == (1, 1)
    assert document["recordings"][0]["labels"] == "rows"
    # The label rows are labels, not signals.
    assert "label_episode" not in document["recordings"][0]["unknown"]


def test_a_labels_file_given_wins_and_unlabelled_recordings_still_count_firings(
    tmp_path: Path,
) -> None:
    write_recording(tmp_path / "alex.csv")
    write_recording(tmp_path / "other.csv")
    labels = tmp_path / "elsewhere.jsonl"
    labels.write_text(json.dumps(LABELS) + "\n")
    result = evaluate(write_config(tmp_path), "-r", str(tmp_path), "--labels", str(labels))
    assert result.returncode == 0, result.stderr
    assert "other" in result.stdout and "no labels (2 firing(s))" in result.stdout


def test_a_recording_the_labels_file_has_no_line_for_is_named_with_the_subjects_it_has(
    tmp_path: Path,
) -> None:
    """A subject written as the file name (or misspelt) would leave the recording unscored
    without a word: one warning names the file, the recording and the subjects there."""
    write_recording(tmp_path / "alex.csv")
    (tmp_path / "labels.jsonl").write_text(json.dumps(LABELS | {"subject": "alex.csv"}) + "\n")
    result = evaluate(write_config(tmp_path), "-r", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no labels" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].endswith(
        f"{tmp_path / 'labels.jsonl'} has no line with subject `alex` "
        "(its subjects: alex.csv): alex.csv is not scored"
    )


def test_a_labels_file_matching_no_recording_of_the_folder_is_one_warning(
    tmp_path: Path,
) -> None:
    """Labels written with the files' endings (or another set's) left every recording
    unscored with a warning each, and each subject with another: one line says it now."""
    write_recording(tmp_path / "alex.csv")
    write_recording(tmp_path / "sam.csv")
    lines = [json.dumps(LABELS | {"subject": name}) for name in ("alex.csv", "sam.csv")]
    (tmp_path / "labels.jsonl").write_text("\n".join(lines) + "\n")
    result = evaluate(write_config(tmp_path), "-r", str(tmp_path))
    assert result.returncode == 0, result.stderr
    unlabelled = [line.split()[0] for line in result.stdout.splitlines() if "no labels" in line]
    assert unlabelled[:2] == ["alex", "sam"]
    [warning] = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert warning.endswith(
        f"{tmp_path / 'labels.jsonl'} labels none of the recordings in {tmp_path} (its "
        "subjects: alex.csv, sam.csv; the recordings: alex, sam): a subject is a recording's "
        "file name without its ending"
    )


def test_labels_ending_past_the_recording_are_scored_to_its_last_reading(
    labelled: Path,
) -> None:
    """Calm hours where the recording has no readings would dilute the false alarm rate."""
    (labelled / "labels.jsonl").write_text(json.dumps(LABELS | {"end": 3 * END_S}) + "\n")
    result = evaluate(write_config(labelled), "-r", str(labelled), "--json")
    row = report(result)["rules"][0]["recordings"][0]
    assert row["calm_hours"] == pytest.approx((600 + END_S - 1200) / 3600, abs=1e-3)
    assert report(result)["recordings"][0]["duration_s"] == END_S
    assert result.stderr.rstrip().endswith(
        f"{labelled / 'labels.jsonl'}:1: `end` 5400 s is past the end of alex.csv "
        f"(its last reading, {END_S} s): scored to {END_S} s"
    )


def test_labels_ending_a_little_past_the_last_reading_are_scored_to_it_without_a_word(
    labelled: Path,
) -> None:
    """A session's end in whole seconds, its last beat a moment before: no warning each run."""
    (labelled / "labels.jsonl").write_text(json.dumps(LABELS | {"end": END_S + 30}) + "\n")
    result = evaluate(write_config(labelled), "-r", str(labelled), "--json")
    assert report(result)["recordings"][0]["duration_s"] == END_S
    assert "WARNING" not in result.stderr, result.stderr


def test_an_episode_starting_after_the_recording_ends_is_named_and_not_scored(
    labelled: Path,
) -> None:
    """The detector had no data there: not a miss."""
    tasks = [list(EPISODE_S), [2400, 2700]]
    (labelled / "labels.jsonl").write_text(json.dumps(LABELS | {"tasks": tasks, "end": None}))
    result = evaluate(write_config(labelled), "-r", str(labelled), "--json")
    row = report(result)["rules"][0]["recordings"][0]
    assert (row["found"], row["episodes_total"]) == (1, 1)
    assert result.stderr.rstrip().endswith(
        f"{labelled / 'labels.jsonl'}:1: the episode at 2400-2700 s starts after alex.csv "
        f"ends ({END_S} s): not scored"
    )


def test_a_subject_of_the_labels_file_without_a_recording_in_the_folder_is_named(
    labelled: Path,
) -> None:
    """A recording missing from the folder would leave the totals short without a word."""
    with (labelled / "labels.jsonl").open("a") as labels:
        labels.write(json.dumps(LABELS | {"subject": "sam"}) + "\n")
    result = evaluate(write_config(labelled), "-r", str(labelled))
    assert result.returncode == 0, result.stderr
    assert result.stderr.rstrip().endswith(
        f"{labelled / 'labels.jsonl'}:2: no recording `sam` (sam.csv, .jsonl or .ndjson) in "
        f"{labelled}: not scored"
    )
    # Asked for one recording, the file's other subjects are not missing.
    alone = evaluate(write_config(labelled), "-r", str(labelled / "alex.csv"))
    assert "WARNING" not in alone.stderr, alone.stderr


@pytest.mark.parametrize("plot", [False, True])
def test_in_a_recording_of_two_people_the_unknown_shares_are_of_the_rule_s_person(
    tmp_path: Path, plot: bool
) -> None:
    """Alex's heart from the start, Sam's from 5 minutes in: Sam's rule is scored, and its
    unknown shares (and picture) were Alex's."""
    rows = [f"{t},hr,70,alex" for t in range(1, END_S + 1)]
    rows += [f"{t}.5,hr,{hr_at(t)},sam" for t in range(300, END_S + 1)]
    rows.sort(key=lambda row: float(row.split(",")[0]))
    (tmp_path / "two.csv").write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    (tmp_path / "labels.jsonl").write_text(json.dumps(LABELS | {"subject": "two"}) + "\n")
    config = sams_config(tmp_path)
    if plot:
        pytest.importorskip("matplotlib", reason="the optional `plot` extra is not installed")
    drawn = ["--plot", str(tmp_path / "plots")] if plot else []
    document = report(evaluate(config, "-r", str(tmp_path), "--json", *drawn))
    assert document["rules"][0]["recordings"][0]["found"] == 1
    assert document["recordings"][0]["unknown"]["hr"]["reasons"]["no data"] == pytest.approx(
        300.5 / END_S, abs=0.002
    )


@pytest.mark.parametrize("plot", [False, True])
def test_the_unknown_shares_of_every_person_of_a_recording_are_in_unknown_by_person(
    tmp_path: Path, plot: bool
) -> None:
    """`unknown` is the rule's person's alone; `unknown_by_person` has each person's, so
    Alex's heart, there from the start, is not hidden behind Sam's, from 5 minutes in."""
    rows = [f"{t},hr,70,alex" for t in range(1, END_S + 1)]
    rows += [f"{t}.5,hr,{hr_at(t)},sam" for t in range(300, END_S + 1)]
    rows.sort(key=lambda row: float(row.split(",")[0]))
    (tmp_path / "two.csv").write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    (tmp_path / "labels.jsonl").write_text(json.dumps(LABELS | {"subject": "two"}) + "\n")
    if plot:
        pytest.importorskip("matplotlib", reason="the optional `plot` extra is not installed")
    drawn = ["--plot", str(tmp_path / "plots")] if plot else []
    document = report(evaluate(sams_config(tmp_path), "-r", str(tmp_path), "--json", *drawn))
    (recording,) = document["recordings"]
    by_person = recording["unknown_by_person"]
    assert list(by_person) == ["alex", "sam"]
    assert by_person["sam"]["hr"] == recording["unknown"]["hr"]
    assert by_person["alex"]["hr"]["reasons"]["no data"] == pytest.approx(1 / END_S, abs=0.001)
    assert set(by_person["alex"]) == set(by_person["sam"]) >= {"hr", "stress_score"}


def test_a_recording_of_one_person_has_them_alone_in_unknown_by_person(labelled: Path) -> None:
    document = report(evaluate(write_config(labelled), "-r", str(labelled), "--json"))
    (recording,) = document["recordings"]
    assert recording["unknown_by_person"] == {"alex": recording["unknown"]}


def test_a_folder_s_recordings_are_found_whatever_the_case_of_their_ending(
    tmp_path: Path,
) -> None:
    """`ALEX.CSV` from a Windows export was not a recording: the folder had none."""
    write_recording(tmp_path / "ALEX.CSV")
    (tmp_path / "LABELS.JSONL").write_text(json.dumps(LABELS | {"subject": "ALEX"}) + "\n")
    labels = str(tmp_path / "LABELS.JSONL")
    document = report(evaluate(write_config(tmp_path), "-r", str(tmp_path), "--json"))
    assert [row["recording"] for row in document["recordings"]] == ["ALEX"]  # not LABELS
    document = report(
        evaluate(write_config(tmp_path), "-r", str(tmp_path), "--labels", labels, "--json")
    )
    assert [row["recording"] for row in document["recordings"]] == ["ALEX"]
    assert document["rules"][0]["recordings"][0]["found"] == 1


def sams_config(folder: Path) -> Path:
    """Alex and Sam, the rule Sam's."""
    config = folder / "ambient.yaml"
    config.write_text(
        CONFIG.replace("  - id: alex\n", "  - id: alex\n  - id: sam\n").replace(
            "person: alex", "person: sam"
        )
    )
    return config


def test_rows_without_a_person_are_the_evaluated_rule_s_person(tmp_path: Path) -> None:
    """Sam's watch export has no person column: Sam's rule is scored on it (the rows were the
    config's first person's, Alex's, and Sam's rule found nothing)."""
    rows = [f"{t},hr,{hr_at(t)}" for t in range(1, END_S + 1)]
    (tmp_path / "sam.csv").write_text("t,metric,value\n" + "\n".join(rows) + "\n")
    (tmp_path / "labels.jsonl").write_text(json.dumps(LABELS | {"subject": "sam"}) + "\n")
    document = report(evaluate(sams_config(tmp_path), "-r", str(tmp_path), "--json"))
    assert document["rules"][0]["recordings"][0]["found"] == 1


def test_recordings_without_a_person_column_say_whose_rows_they_are_taken_as(
    tmp_path: Path,
) -> None:
    """With two people in the config, a file without a person column was scored as one of them
    without a word; one line on stderr now says whose (the JSON on stdout is unchanged)."""
    rows = "\n".join(f"{t},hr,{hr_at(t)}" for t in range(1, END_S + 1)) + "\n"
    (tmp_path / "watch.csv").write_text("t,metric,value\n" + rows)
    (tmp_path / "watch2.jsonl").write_text('{"t": 1, "metric": "hr", "value": 70}\n')
    write_recording(tmp_path / "alex.csv")  # names its person: not listed
    result = evaluate(sams_config(tmp_path), "-r", str(tmp_path), "--json")
    assert report(result)["rules"][0]["id"] == "fast_heart"
    assert [line for line in result.stderr.splitlines() if "person column" in line] == [
        "ambient evaluate: watch.csv, watch2.jsonl have no person column: their rows are taken "
        "as sam's (the evaluated rule's person)"
    ]
    one_person = evaluate(write_config(tmp_path), "-r", str(tmp_path / "watch.csv"))
    assert one_person.returncode == 0, one_person.stderr
    assert "person column" not in one_person.stderr


def test_a_recording_from_a_pipe_is_evaluated_reading_it_once(tmp_path: Path) -> None:
    """`-r <(zcat watch.csv.gz)`: a pipe was "no such recording or folder", and whose its rows
    are was read from it before the replay, which a pipe gives once; the evaluation now says
    whose from its own read."""
    rows = "\n".join(f"{t},hr,{hr_at(t)}" for t in range(1, END_S + 1)) + "\n"
    result = run_ambient(
        "evaluate",
        str(sams_config(tmp_path)),
        "-r",
        "/dev/stdin",
        "--json",
        stdin="t,metric,value\n" + rows,
    )
    document = report(result)
    assert document["rules"][0]["recordings"][0]["firings_s"] == [660.0, 1560.0]
    assert [line for line in result.stderr.splitlines() if "person column" in line] == [
        "ambient evaluate: stdin has no person column: its rows are taken as sam's (the "
        "evaluated rule's person)"
    ]


def test_a_recording_without_rows_of_the_rule_s_person_is_named(labelled: Path) -> None:
    """Alex's recording, Sam's rule: nothing can be found, and a warning says why."""
    result = evaluate(sams_config(labelled), "-r", str(labelled))
    assert result.returncode == 0, result.stderr
    assert result.stderr.rstrip().endswith(
        "alex.csv has no readings of sam, the person of the rules evaluated (its rows name "
        "another): nothing of sam's is scored"
    )


def two_people_config(folder: Path) -> Path:
    """Alex and Sam, Alex's rule and the same for Sam (`sams_heart`)."""
    config = folder / "ambient.yaml"
    sams_rule = CONFIG.split("rules:\n")[1].split("store:")[0]
    sams_rule = sams_rule.replace("fast_heart", "sams_heart").replace("person: alex", "person: sam")
    config.write_text(
        CONFIG.replace("  - id: alex\n", "  - id: alex\n  - id: sam\n").replace(
            "store:", sams_rule + "store:"
        )
    )
    return config


def test_a_rule_is_scored_only_on_recordings_of_its_person(labelled: Path) -> None:
    """Sam's own recording, labelled with three episodes, is nothing of Alex's rule: it is not
    scored for it (it counted 0/3, and the total 1/4), and the table says why."""
    sams = [f"{t},hr,70,sam" for t in range(1, END_S + 1)]
    (labelled / "sam.csv").write_text("t,metric,value,person\n" + "\n".join(sams) + "\n")
    sams_labels = {"subject": "sam", "tasks": [[100, 200], [300, 400], [500, 600]]}
    with (labelled / "labels.jsonl").open("a") as labels:
        labels.write(json.dumps(sams_labels) + "\n")
    config = two_people_config(labelled)

    document = report(evaluate(config, "-r", str(labelled), "--json"))

    alexs, sams_rule = document["rules"]
    assert [row["recording"] for row in alexs["recordings"]] == ["alex", "sam"]
    assert alexs["recordings"][1] == {
        "recording": "sam",
        "labelled": False,
        "not_scored": "no readings of alex",
        "firings_s": [],
    }
    assert (alexs["overall"]["found"], alexs["overall"]["episodes_total"]) == (1, 1)
    assert sams_rule["recordings"][0]["not_scored"] == "no readings of sam"
    assert (sams_rule["overall"]["found"], sams_rule["overall"]["episodes_total"]) == (0, 3)
    text = evaluate(config, "-r", str(labelled))
    assert "sam        not scored: no readings of alex (0 firing(s))" in text.stdout
    assert "all              1/1" in text.stdout


def test_label_rows_of_two_people_in_one_recording_are_each_one_s(tmp_path: Path) -> None:
    """One recording of both, its label rows naming whose episode each is: Alex's rule is
    scored on Alex's episode alone, Sam's on Sam's."""
    rows = [f"{t},hr,{hr_at(t)},alex" for t in range(1, END_S + 1)]
    rows += [f"{t}.5,hr,70,sam" for t in range(1, END_S + 1)]
    rows += ["600,label_episode,1,alex", "900,label_episode,0,alex"]
    rows += ["1200,label_episode,1,sam", "1400,label_episode,0,sam"]
    rows.sort(key=lambda row: float(row.split(",")[0]))
    (tmp_path / "both.csv").write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")

    document = report(evaluate(two_people_config(tmp_path), "-r", str(tmp_path), "--json"))

    alexs, sams = (rule["recordings"][0] for rule in document["rules"])
    assert [(e["start"], e["end"], e["found"]) for e in alexs["episodes"]] == [(600, 900, True)]
    assert [(e["start"], e["end"], e["found"]) for e in sams["episodes"]] == [(1200, 1400, False)]


SAM_FAST_S = (1200, 1400)


def write_both(folder: Path, label_rows_of: tuple[str, ...] = ("alex", "sam")) -> Path:
    """Alex (an episode at 600-900 s and a burst in calm time) and Sam (racing at 1200-1400 s)
    in one recording, with the label rows of ``label_rows_of``; the config lists both, its
    rule for anyone."""
    rows = [f"{t},hr,{hr_at(t)},alex" for t in range(1, END_S + 1)]
    rows += [
        f"{t}.5,hr,{120 if SAM_FAST_S[0] <= t < SAM_FAST_S[1] else 70},sam"
        for t in range(1, END_S + 1)
    ]
    if "alex" in label_rows_of:
        rows += ["600,label_episode,1,alex", "900,label_episode,0,alex"]
    if "sam" in label_rows_of:
        rows += ["1200,label_episode,1,sam", "1400,label_episode,0,sam"]
    rows.sort(key=lambda row: float(row.split(",")[0]))
    (folder / "both.csv").write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    config = folder / "ambient.yaml"
    config.write_text(
        CONFIG.replace("  - id: alex\n", "  - id: alex\n  - id: sam\n").replace(
            "    person: alex\n", ""
        )
    )
    return config


def test_a_rule_for_anyone_is_scored_on_each_persons_label_rows_by_their_own_firings(
    tmp_path: Path,
) -> None:
    """One recording of both, a rule without `person:`: it was scored on the first person's
    label rows alone, against everyone's firings (Sam's episode unseen, Sam's firing a false
    alarm in Alex's calm). Each person's firings now meet their own labels, pooled."""
    config = write_both(tmp_path)

    document = report(evaluate(config, "-r", str(tmp_path), "--json"))

    (scored,) = document["rules"][0]["recordings"]
    assert [(e["person"], e["start"], e["found"]) for e in scored["episodes"]] == [
        ("alex", 600, True),
        ("sam", 1200, True),
    ]
    assert scored["false_alarms"] == 1  # Alex's burst in his calm time; Sam's firing is not
    assert scored["firings"] == 3


def test_label_rows_of_one_of_two_people_score_that_persons_firings_alone(
    tmp_path: Path,
) -> None:
    """Only Alex's label rows in a recording of both: Sam's firing counted as a false alarm in
    Alex's calm time, and a rule of Sam's was scored by Alex's episodes."""
    config = write_both(tmp_path, label_rows_of=("alex",))
    sams_rule = CONFIG.split("rules:\n")[1].split("store:")[0]
    sams_rule = sams_rule.replace("fast_heart", "sams_heart").replace("person: alex", "person: sam")
    config.write_text(config.read_text().replace("store:", sams_rule + "store:"))

    document = report(evaluate(config, "-r", str(tmp_path), "--json"))

    anyones, sams = (rule["recordings"][0] for rule in document["rules"])
    assert [(e["start"], e["found"]) for e in anyones["episodes"]] == [(600, True)]
    assert (anyones["false_alarms"], anyones["firings"]) == (1, 2)  # Alex's burst alone
    assert sams["not_scored"] == "no label rows of sam"


def test_rules_of_two_people_evaluated_together_say_whose_unknown_shares_are_shown(
    labelled: Path,
) -> None:
    config = labelled / "ambient.yaml"
    sams_rule = CONFIG.split("rules:\n")[1].split("store:")[0]
    sams_rule = sams_rule.replace("fast_heart", "sams_heart").replace("person: alex", "person: sam")
    config.write_text(
        CONFIG.replace("  - id: alex\n", "  - id: alex\n  - id: sam\n").replace(
            "store:", sams_rule + "store:"
        )
    )
    result = evaluate(config, "-r", str(labelled))
    assert result.returncode == 0, result.stderr
    assert (
        "Unknown share of each signal the rules read (of the recording's time), of alex, the "
        "first rule's person (for sam's: --rule sams_heart):"
    ) in result.stdout


def test_only_the_rule_asked_for(labelled: Path) -> None:
    config = write_config(labelled)
    document = report(evaluate(config, "-r", str(labelled), "--rule", "fast_heart", "--json"))
    assert [rule["id"] for rule in document["rules"]] == ["fast_heart"]
    unknown = evaluate(config, "-r", str(labelled), "--rule", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "ambient evaluate: no rule `nope` in the config (rules: fast_heart)"
    )


def test_plot_writes_a_png_per_recording(labelled: Path) -> None:
    pytest.importorskip("matplotlib", reason="the optional `plot` extra is not installed")
    plots = labelled / "plots"
    result = evaluate(write_config(labelled), "-r", str(labelled), "--plot", str(plots))
    assert result.returncode == 0, result.stderr
    png = plots / "alex.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a drawn figure, not an empty canvas
    # Heart data: the folder made for the pictures is owner-only too, as the pictures are.
    assert (stat.S_IMODE(plots.stat().st_mode), stat.S_IMODE(png.stat().st_mode)) == (0o700, 0o600)


def test_plot_without_matplotlib_is_one_line_and_exit_3(labelled: Path) -> None:
    # A stand-in for an installation without the extra: matplotlib made unimportable.
    result = evaluate(
        write_config(labelled),
        "-r",
        str(labelled),
        "--plot",
        str(labelled / "plots"),
        prelude="import sys; sys.modules['matplotlib'] = None; ",
    )
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "ambient evaluate: matplotlib is not installed; "
        "install the plot extra: pip install 'ambient[plot]'"
    ]
    assert result.stdout == ""
    assert not (labelled / "plots").exists()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "nope: no such recording or folder"),
        ("empty", "no recordings (*.csv, *.jsonl, *.ndjson) in this folder"),
        ("bad_labels", "labels.jsonl:2: bad JSON"),
        ("bad_rows", "`label_episode` starting at 600 s never ends"),
    ],
)
def test_bad_inputs_are_one_line_and_exit_1(tmp_path: Path, setup: str, expected: str) -> None:
    config = write_config(tmp_path)
    folder = tmp_path / "recordings"
    folder.mkdir()
    target = folder
    if setup == "missing":
        target = tmp_path / "nope"
    elif setup == "bad_labels":
        write_recording(folder / "alex.csv")
        (folder / "labels.jsonl").write_text(json.dumps(LABELS) + "\n{oops\n")
    elif setup == "bad_rows":  # given on its own: a folder's is skipped (below)
        recording = target = folder / "alex.csv"
        write_recording(recording)
        with recording.open("a") as out:
            out.write("600,label_episode,1,alex\n")
    result = evaluate(config, "--recordings", str(target))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("ambient evaluate: ")
    assert expected in line
    assert "Traceback" not in result.stderr


def damage(folder: Path) -> None:
    """Beside the good `alex.csv`: a recording with no header, one with label rows that
    never end, and one that is not text (a gzip file named .csv)."""
    (folder / "broken.csv").write_text("x\n")
    write_recording(folder / "endless.csv")
    with (folder / "endless.csv").open("a") as out:
        out.write("600,label_episode,1,alex\n")
    (folder / "packed.csv").write_bytes(gzip.compress(b"t,metric,value\n1,hr,70\n"))


def test_a_damaged_recording_of_a_folder_is_skipped_named_and_the_rest_evaluated(
    labelled: Path,
) -> None:
    """One damaged file in a month of recordings stopped the whole evaluation (exit 1)."""
    damage(labelled)
    result = evaluate(write_config(labelled), "-r", str(labelled), "--json")
    assert result.returncode == 4, result.stderr
    lines = [line for line in result.stderr.splitlines() if "skipped " in line]
    assert len(lines) == 3
    assert "skipped broken.csv: " in lines[0] and "broken.csv:1: header must be" in lines[0]
    assert "skipped endless.csv: " in lines[1] and "never ends" in lines[1]
    assert "skipped packed.csv: " in lines[2] and "not a text recording" in lines[2]
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    assert [r["recording"] for r in document["recordings"]] == ["alex"]
    assert document["rules"][0]["overall"]["found"] == 1
    skipped = document["skipped"]
    assert [s["recording"] for s in skipped] == ["broken", "endless", "packed"]
    assert skipped[0]["path"] == str(labelled / "broken.csv")
    assert "header must be" in skipped[0]["why"]


def test_the_text_names_the_skipped_recordings_after_the_scores(labelled: Path) -> None:
    damage(labelled)
    result = evaluate(write_config(labelled), "-r", str(labelled))
    assert result.returncode == 4
    tail = result.stdout[result.stdout.index("Skipped (could not be read") :].splitlines()
    assert [line.split(":")[0] for line in tail[1:]] == ["  broken", "  endless", "  packed"]
    assert "alex " in result.stdout  # scored


def test_a_folder_none_of_whose_recordings_can_be_read_fails_with_exit_1(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    damage(folder)
    result = evaluate(write_config(tmp_path), "-r", str(folder))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"ambient evaluate: {folder}: none of its 3 recording(s) could be read"
    )
    assert result.stdout == ""


def test_a_bad_state_option_is_a_usage_error(labelled: Path) -> None:
    result = evaluate(write_config(labelled), "-r", str(labelled), "--state", "home")
    assert result.returncode == 2
    assert "expected ENTITY=VALUE" in result.stderr


def test_a_recording_whose_heart_rate_is_never_unknown_is_scored(tmp_path: Path) -> None:
    """A recording with a reading from its first second on (t = 0, or unix times, which start
    at the first reading) leaves the heart rate known all along: it was taken for one without
    a reading of the person ("has no readings of alex") and not scored."""
    rows = [f"{t},hr,{hr_at(t)},alex" for t in range(0, END_S + 1)]
    (tmp_path / "alex.csv").write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    (tmp_path / "labels.jsonl").write_text(json.dumps(LABELS) + "\n")
    result = evaluate(write_config(tmp_path), "-r", str(tmp_path), "--json")
    assert "has no readings of" not in result.stderr
    assert report(result)["rules"][0]["recordings"][0]["found"] == 1


WATCH_CONFIG = """\
people: [{id: alex}]
mqtt: {host: localhost}
sensors:
  - {type: mqtt, id: alex_watch, topic: watch/alex/hr, metric: hr, person: alex,
     stale_after: 6min}
rules:
  - id: racing
    person: alex
    triggers: [{trigger: signal, signal: hr, above: 90, for: 6min}]
    actions: [{action: log, message: racing}]
store:
  path: null
"""


def test_a_watch_s_samples_are_scored_with_its_sensor_s_stale_after(tmp_path: Path) -> None:
    """One sample every 5 minutes, 100 bpm through the labelled episode: each counts for the
    watch sensor's 6 minutes, as in run, so the rule's 6 minutes above 90 elapse and the
    episode is found (with the signals' 15 s, it never was)."""
    rows = [f"{minute * 60},hr,{100 if 20 <= minute <= 35 else 70}" for minute in range(0, 60, 5)]
    (tmp_path / "alex.csv").write_text("t,metric,value\n" + "\n".join(rows) + "\n")
    labels = {"subject": "alex", "tasks": [[1200, 2400]], "baseline": [0, 1200], "end": 3300}
    (tmp_path / "labels.jsonl").write_text(json.dumps(labels) + "\n")
    config = tmp_path / "watch.yaml"
    config.write_text(WATCH_CONFIG)
    document = report(evaluate(config, "--recordings", str(tmp_path), "--json"))
    (row,) = document["rules"][0]["recordings"]
    assert (row["found"], row["episodes_total"], row["false_alarms"]) == (1, 1, 0)
    assert row["episodes"][0]["latency_s"] == 360.0


def test_labels_that_cannot_match_a_pipe_s_recording_say_to_save_it_to_a_file(
    labelled: Path,
) -> None:
    """`-r <(zcat alex.csv.gz)` is `/dev/fd/63` to ambient, its subject `63`: the labels
    matched nothing, and the line said only that they have no subject `63`."""
    result = evaluate(
        write_config(labelled),
        "-r",
        "/dev/stdin",
        "--labels",
        str(labelled / "labels.jsonl"),
        prelude=f"import os; os.dup2(os.open({str(labelled / 'alex.csv')!r}, os.O_RDONLY), 0); ",
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "no line with subject" in line]
    assert line.endswith(
        "has no line with subject `stdin` (its subjects: alex): stdin is not scored; a pipe or "
        "/dev/stdin has no file name to match a subject: save the recording as the subject's "
        "file first (alex.csv)"
    )
