"""Where ``--plot`` pictures go: the format by the name's ending, owner-only like all heart
data, whole or not at all, and a place that cannot take them said before any replay."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from ambient.plot import check_writable_file, check_writable_folder, picture_format


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
