"""The `retention:` section: limits written as durations, the minute bins following insights,
and `ambient check`'s word when a limit cuts what insights keep."""

from __future__ import annotations

from pathlib import Path

from ambient.config import config_warnings, load_config


def warnings(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_day_minutes_shorter_than_insights_keep_minutes_days_is_a_warning(tmp_path: Path) -> None:
    (warning,) = warnings(
        tmp_path, "insights: {keep_minutes_days: 100}\nretention:\n  day_minutes: 70d\n"
    )
    assert ":3:3: retention.day_minutes: " in warning
    assert (
        "the minute bins go after 70 days, before the 100 days `insights.keep_minutes_days` "
        "keeps them to recompute a summary; leave `day_minutes` out to follow it"
    ) in warning


def test_day_minutes_left_out_or_as_long_as_insights_gives_no_warning(tmp_path: Path) -> None:
    assert warnings(tmp_path, "insights: {keep_minutes_days: 100}\n") == []
    assert (
        warnings(tmp_path, "insights: {keep_minutes_days: 100}\nretention: {day_minutes: 100d}\n")
        == []
    )
    assert warnings(tmp_path, "retention: {day_minutes: null}\n") == []
