"""``ambient scan`` reads the people of the config ``run`` would read, so its entries name the
one person there is (the lines are ready to paste) or say to choose."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ambient.cli import build_parser
from ambient.commands.live import people_for_scan

ONE_PERSON = "people:\n  - id: alex\n"


def scan_args(argv: list[str]) -> argparse.Namespace:
    """The arguments as ``ambient scan`` gets them, its config resolved as ``run``'s is."""
    from ambient.cli import _resolve_config

    parser = build_parser()
    args = parser.parse_args(["scan", *argv])
    _resolve_config(args, parser)
    return args


def test_scan_reads_the_people_of_the_config_given(tmp_path: Path) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text(ONE_PERSON)

    assert people_for_scan(scan_args(["--config", str(config)])) == ["alex"]


def test_scan_reads_the_config_named_by_ambient_config_as_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text("people:\n  - id: alex\n  - id: sam\n")
    monkeypatch.setenv("AMBIENT_CONFIG", str(config))

    assert people_for_scan(scan_args([])) == ["alex", "sam"]


def test_a_config_that_cannot_be_read_is_said_in_one_line_and_the_scan_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text("people:\n  - id: Alex Smith\n")

    assert people_for_scan(scan_args(["--config", str(config)])) is None

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"ambient scan: not reading the people of {config} (")
    assert line.endswith("`person:` is left for you to fill in")


def test_a_default_config_that_cannot_even_be_looked_at_does_not_stop_the_scan(
    tmp_path: Path,
) -> None:
    """The service's config in a folder this user may not enter: asking whether it is there
    fails, and the scan still goes on. A name too long for the file system stands in for the
    folder (tests run as root, whom modes do not stop); it fails the same way on Python 3.11."""
    args = scan_args([])
    args.config = tmp_path / ("x" * 300) / "ambient.yaml"
    args.config_given = False

    assert people_for_scan(args) is None
