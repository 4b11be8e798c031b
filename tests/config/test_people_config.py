"""A person's known heart rates: a resting rate at or above the maximum is refused at its line
(the HR reserve between them would be empty or negative, and activity never seen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config


def _load(tmp_path: Path, person: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(f"people:\n  - {person}\nstore: {{path: null}}\n", encoding="utf-8")
    load_config(path)


@pytest.mark.parametrize("resting_hr", [110, 100])
def test_a_resting_heart_rate_not_below_the_maximum_is_refused(
    tmp_path: Path, resting_hr: int
) -> None:
    with pytest.raises(ConfigError, match=r"people\[0\]: `resting_hr` .* must be below `max_hr`"):
        _load(tmp_path, f"{{id: alex, resting_hr: {resting_hr}, max_hr: 100}}")


def test_a_resting_heart_rate_below_the_maximum_is_taken(tmp_path: Path) -> None:
    _load(tmp_path, "{id: alex, resting_hr: 58, max_hr: 185}")
