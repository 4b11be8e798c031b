"""The `logging:` section: level, format, and whether the live timeline shows heart values."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config


def test_timeline_values_defaults_to_auto_and_takes_show_or_hide(tmp_path: Path) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text("logging:\n  level: INFO\n")
    assert load_config(path).logging.timeline_values == "auto"
    path.write_text("logging:\n  timeline_values: hide\n")
    assert load_config(path).logging.timeline_values == "hide"


def test_check_names_a_timeline_values_it_does_not_know_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text("logging:\n  timeline_values: never\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    text = str(raised.value)
    assert ":2:" in text and "logging.timeline_values" in text
    assert "'auto', 'show' or 'hide'" in text or "auto" in text
