"""The `insights:` section as `ambient check` reads it: minute bins are the raw material of the
daily summaries, so keeping them longer than the summaries keeps heart data nothing shows."""

from __future__ import annotations

from pathlib import Path

from ambient.config import config_warnings, load_config


def warnings(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(issue) for issue in config_warnings(path, load_config(path))]


def test_minute_bins_kept_longer_than_the_summaries_are_a_warning(tmp_path: Path) -> None:
    (warning,) = warnings(tmp_path, "insights:\n  keep_days: 100\n  keep_minutes_days: 200\n")
    assert ":3:3: insights.keep_minutes_days: " in warning
    assert (
        "minute bins are kept 200 days, longer than the 100 days of daily summaries they make "
        "(`keep_days`): the per-minute heart data of the days between is kept but never shown; "
        "set it at most 100"
    ) in warning


def test_minute_bins_kept_no_longer_than_the_summaries_give_no_warning(tmp_path: Path) -> None:
    assert warnings(tmp_path, "insights: {keep_days: 100, keep_minutes_days: 100}\n") == []
    assert warnings(tmp_path, "insights: {}\n") == []


def test_a_report_notify_naming_no_person_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """One service per person: a misspelt id leaves that person without their link."""
    (warning,) = warnings(
        tmp_path,
        "people: [{id: alex}, {id: sam}]\n"
        "insights:\n"
        "  report:\n"
        "    folder: /tmp/www\n"
        "    notify:\n"
        "      alex: notify.mobile_app_alex\n"
        "      sma: notify.mobile_app_sam\n"
        "homeassistant: {url: 'http://ha.local:8123', token: t}\n",
    )
    assert ":7:7: insights.report.notify.sma: " in warning
    assert "`sma` is no person of the config (alex, sam)" in warning


def test_one_report_service_for_several_people_is_a_warning(tmp_path: Path) -> None:
    """Sam's weekly health page linked on the phone of whoever `notify` names."""
    (warning,) = warnings(
        tmp_path,
        "people: [{id: alex}, {id: sam}]\n"
        "insights:\n"
        "  report: {folder: /tmp/www, notify: notify.mobile_app_alex_phone}\n"
        "homeassistant: {url: 'http://ha.local:8123', token: t}\n",
    )
    assert ":3:30: insights.report.notify: " in warning
    assert (
        "every person's report link (alex, sam) goes to notify.mobile_app_alex_phone: "
        "name each person's own service"
    ) in warning
    one_person = (
        "people: [{id: alex}]\ninsights: {report: {folder: /tmp/www, notify: notify.x}}\n"
        "homeassistant: {url: 'http://ha.local:8123', token: t}\n"
    )
    assert warnings(tmp_path, one_person) == []
