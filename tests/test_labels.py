"""Labels from a labels.jsonl file (one line per recording) or from label rows inside a
recording; anything unusable is one error naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.labels import (
    Labels,
    LabelsError,
    labels_of_stream,
    load_for_replay,
    load_labels_file,
    open_for_replay,
    split_label_rows,
)
from ambient.readings import Reading
from ambient.recordings import Recording

LINE = (
    '{"subject": "S01", "tasks": [[79.0, 374.0], [646, 1031]], "baseline": [0, 79], '
    '"end": 2072.0, "task_names": ["stroop", "interview"]}'
)


def test_a_labels_file_gives_labels_by_subject(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(f"# comment\n{LINE}\n\n")
    assert load_labels_file(path) == {
        "S01": Labels(
            episodes=((79.0, 374.0), (646.0, 1031.0)),
            baseline=(0.0, 79.0),
            end=2072.0,
            episode_names=("stroop", "interview"),
        )
    }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "bad JSON"),
        ('{"tasks": []}', "`subject`"),
        (
            '{"subject": 7, "tasks": []}',
            '`subject` must be text, the file name without its ending: "7"',
        ),
        ('{"subject": "S1", "tasks": [[5, 1]]}', "tasks[0]: expected [start, end]"),
        ('{"subject": "S1", "tasks": [], "baseline": [0]}', "baseline: expected"),
        ('{"subject": "S1"}', "`tasks` must be a list"),
        ('{"subject": "S1", "tasks": [], "end": "late"}', "`end` must be a number"),
        ('{"subject": "S1", "tasks": [], "n": 1' + "0" * 5000 + "}", "bad JSON (a number too"),
        ("[" * 100_000 + "]" * 100_000, "bad JSON (a number too long, or nesting too deep)"),
        ('{"subject": "S01", "tasks": [[1, 2]]}', "`S01` is labelled twice (first at line 1)"),
        (
            '{"subject": "S1", "tasks": [[1795723800, 1795724400]]}',
            "tasks[0]: 1795723800 looks like unix time: write seconds from the recording's "
            "first reading",
        ),
        ('{"subject": "S1", "tasks": [], "end": 1795724400}', "`end`: 1795724400 looks like"),
        ('{"subject": "S1", "tasks": [[1, 2]], "task_names": "a"}', "one name per task"),
        ('{"subject": "S1", "tasks": [[1, 2]], "task_names": ["a", "b"]}', "one name per task"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(f"{LINE}\n{line}\n")
    with pytest.raises(LabelsError) as error:
        load_labels_file(path)
    assert str(error.value).startswith(f"{path}:2: ")
    assert problem in str(error.value)


def test_tasks_written_out_of_order_keep_their_names(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text('{"subject": "S1", "tasks": [[600, 900], [1, 2]], "task_names": ["b", "a"]}')
    labels = load_labels_file(path)["S1"]
    assert labels.episodes == ((1.0, 2.0), (600.0, 900.0))
    assert labels.episode_names == ("a", "b")


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    """A labels file saved by a Windows editor starts with one."""
    path = tmp_path / "labels.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + LINE.encode())
    assert list(load_labels_file(path)) == ["S01"]


def test_a_labels_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    """A spreadsheet's UTF-16 export, say."""
    path = tmp_path / "labels.jsonl"
    path.write_bytes(LINE.encode("utf-16"))
    with pytest.raises(LabelsError) as error:
        load_labels_file(path)
    assert str(error.value) == f"{path}:1: not text (byte 0 is not UTF-8)"


def test_a_recording_given_as_labels_fails_at_its_first_line_unread_beyond(
    tmp_path: Path,
) -> None:
    """`--labels S01.csv` by mistake: a large file was read whole before its first line was
    refused; the error comes from its first line, and a byte past it that is not UTF-8 is
    never met."""
    path = tmp_path / "S01.csv"
    path.write_bytes(b"t,metric,value\n" + b"1,rr,800\n" * 100_000 + b"\xff\n")
    with pytest.raises(LabelsError) as error:
        load_labels_file(path)
    assert str(error.value) == f"{path}:1: bad JSON (Expecting value)"


def test_a_missing_labels_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match=r"nope\.jsonl: cannot read"):
        load_labels_file(tmp_path / "nope.jsonl")


def rows(*items: tuple[float, str, float]) -> list[Reading]:
    return [Reading(t, "alex", metric, value, "test") for t, metric, value in items]


def test_label_rows_become_labels_and_leave_the_readings() -> None:
    recording = Recording(
        rows(
            (0.0, "label_baseline", 1),
            (1.0, "hr", 70),
            (300.0, "label_baseline", 0),
            (300.0, "label_episode", 1),
            (301.0, "hr", 110),
            (600.0, "label_episode", 0),
        ),
        relative=True,
    )
    rest, labels = split_label_rows(recording, "r.csv")
    assert labels == Labels(episodes=((300.0, 600.0),), baseline=(0.0, 300.0))
    assert [r.metric for r in rest.readings] == ["hr", "hr"]


def test_label_rows_of_an_absolute_recording_count_from_its_first_reading() -> None:
    start = 1_795_723_200.0
    recording = Recording(
        rows((start, "hr", 70), (start + 60, "label_episode", 1), (start + 90, "label_episode", 0)),
        relative=False,
    )
    assert split_label_rows(recording, "r.csv")[1] == Labels(episodes=((60.0, 90.0),))


def test_a_recording_without_label_rows_has_no_labels() -> None:
    recording = Recording(rows((1.0, "hr", 70)), relative=True)
    assert split_label_rows(recording, "r.csv") == (recording, None)


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        (((5.0, "label_episode", 1),), "never ends"),
        (((5.0, "label_episode", 0),), "without a start"),
        (((1.0, "label_episode", 1), (2.0, "label_episode", 1)), "starts twice"),
        (
            (
                (0.0, "label_baseline", 1),
                (1.0, "label_baseline", 0),
                (2.0, "label_baseline", 1),
                (3.0, "label_baseline", 0),
            ),
            "more than one",
        ),
    ],
)
def test_unpaired_label_rows_are_an_error(
    items: tuple[tuple[float, str, float], ...], problem: str
) -> None:
    with pytest.raises(LabelsError, match=problem):
        split_label_rows(Recording(rows(*items), relative=True), "r.csv")


def test_a_recording_read_for_a_replay_gives_the_labels_of_its_rows_as_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "t,metric,value\n0.1,hr,70\n60.123,label_episode,1\n90.7,label_episode,0\n91,hr,71\n"
    )
    origin_s = 1_767_603_600.0  # 60.123 + origin - origin is not 60.123
    recording, labels = load_for_replay(path, "alex", None, "replay", origin_s)
    assert labels == Labels(episodes=((60.123, 90.7),))
    assert [(r.time, r.metric) for r in recording.readings] == [(0.1, "hr"), (91.0, "hr")]
    assert (recording.origin_s, recording.source) == (0.0, "replay")  # the replay moves it

    path.write_text("t,metric,value\n0.1,hr,70\n91,hr,71\n")
    recording, labels = load_for_replay(path, "alex", None, "replay", origin_s)
    assert labels is None
    assert [r.time for r in recording.readings] == [0.1 + origin_s, 91.0 + origin_s]


@pytest.mark.parametrize(
    "times", [("0.1", "91"), ("1795723200.1", "1795723291")], ids=["relative", "absolute"]
)
def test_a_recording_read_as_it_replays_gives_the_labels_a_whole_read_gives(
    tmp_path: Path, times: tuple[str, str]
) -> None:
    """Label rows may sit anywhere (here after the readings, at earlier times): they are set
    aside as read, so the readings still stream, and give the same labels at the end."""
    first, last = times
    base = float(first) - 0.1
    path = tmp_path / "r.csv"
    path.write_text(
        f"t,metric,value\n{first},hr,70\n{last},hr,71\n"
        f"{base + 90.7!r},label_episode,0\n{base + 60.123!r},label_episode,1\n"
    )
    origin_s = 1_767_603_600.0
    whole, labels = load_for_replay(path, "alex", None, "replay", origin_s)
    with open_for_replay(path, "alex", None, "replay", origin_s) as stream:
        readings = [r for batch in stream.batches() for r in batch]
    assert labels_of_stream(stream, str(path)) == labels
    assert labels is not None and len(labels.episodes) == 1
    moved_by = origin_s if stream.relative else 0.0
    assert [(r.time, r.metric) for r in readings] == [
        (r.time + moved_by, r.metric) for r in whole.readings
    ]


def test_unpaired_label_rows_read_as_the_recording_replays_are_the_same_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,metric,value\n1,hr,70\n5,label_episode,1\n9,hr,71\n")
    with open_for_replay(path, "alex", None, "replay", 0.0) as stream:
        list(stream.batches())
    with pytest.raises(LabelsError, match="starting at 5 s never ends") as streamed:
        labels_of_stream(stream, str(path))
    with pytest.raises(LabelsError) as whole:
        load_for_replay(path, "alex", None, "replay", 0.0)
    assert str(streamed.value) == str(whole.value)
