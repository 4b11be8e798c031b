"""Where ``--plot`` pictures go: the format by the name's ending, owner-only like all heart
data, whole or not at all, and a place that cannot take them said before any replay."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from ambient.evaluate.changes import Change
from ambient.plot import (
    check_writable_file,
    check_writable_folder,
    picture_format,
    time_axis,
    unknown_spans,
)


@pytest.mark.parametrize(
    ("name", "picture"),
    [("day.png", "png"), ("day", "png"), ("day.SVG", "svg"), ("day.pdf", "pdf")],
)
def test_the_name_s_ending_chooses_the_format(name: str, picture: str) -> None:
    assert picture_format(Path(name)) == picture


def test_an_ending_no_picture_has_is_refused_with_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match=r"cannot draw a \.txt file: name it \.png, \.svg or"):
        picture_format(Path("day.txt"))


def test_a_folder_that_is_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("")
    with pytest.raises(NotADirectoryError) as raised:
        check_writable_folder(tmp_path / "notes" / "plots")
    assert raised.value.filename == str(tmp_path / "notes" / "plots")


def test_a_missing_folder_is_fine_when_it_can_be_made(tmp_path: Path) -> None:
    check_writable_folder(tmp_path / "plots" / "week")
    check_writable_file(tmp_path / "plots" / "day.png")
    assert not (tmp_path / "plots").exists()  # nothing is made until there is a picture


def test_a_picture_named_like_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as raised:
        check_writable_file(tmp_path)
    assert raised.value.errno == errno.EISDIR
    assert raised.value.filename == str(tmp_path)


def test_the_stretch_before_a_signal_s_first_value_is_shaded_as_no_data() -> None:
    """As the evaluation table counts it: a person whose beats begin 5 minutes in shows the
    5 minutes as unknown, not as blank."""
    changes: list[Change] = [(300.0, None, "stale"), (315.0, 40.0, None), (500.0, None, None)]
    assert unknown_spans(changes, 600.0) == [
        (0.0, 300.0, "no data"),
        (300.0, 315.0, "stale"),
        (500.0, 600.0, "unknown"),
    ]
    assert unknown_spans([], 60.0) == [(0.0, 60.0, "no data")]
    assert unknown_spans([(0.0, 40.0, None)], 60.0) == []


@pytest.mark.parametrize(
    ("duration_s", "axis"),
    [
        (30.0, (60.0, "minutes")),
        (3 * 3600.0, (60.0, "minutes")),
        (24 * 3600.0, (3600.0, "hours")),
        (7 * 86400.0, (86400.0, "days")),
    ],
)
def test_the_time_axis_reads_in_minutes_hours_or_days_by_the_recording_s_length(
    duration_s: float, axis: tuple[float, str]
) -> None:
    assert time_axis(duration_s) == axis
