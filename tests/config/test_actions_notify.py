"""A notify action's config: the placeholders in its `data` (a companion app's `tag`, an
actionable notification's titles) are checked like its message, since they are filled in."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ambient.config import ConfigError, load_config

RULE = """\
homeassistant:
  url: http://127.0.0.1:8123
  token: not-a-real-token
rules:
  - id: calm
    triggers:
      - trigger: signal
        signal: stress_score
        above: 70
    actions:
      - action: notify
        service: notify.mobile_app_sam_phone
        message: "{{person}} seems stressed"
        data:
          tag: "ambient-{{person}}"
          actions:
            - action: CALL
              title: "{title}"
"""


def load(tmp_path: Path, title: str) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(textwrap.dedent(RULE.format(title=title)), encoding="utf-8")
    load_config(path)


def test_placeholders_in_notify_data_are_accepted(tmp_path: Path) -> None:
    load(tmp_path, "Call {person} ({stress_score})")


def test_an_unknown_placeholder_in_notify_data_is_refused_where_it_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "Call {persn}")
    (issue,) = caught.value.issues
    assert "rules[0].actions[0].data.actions[0].title" in str(issue)
    assert "unknown placeholder `{persn}` (did you mean `{person}`?)" in str(issue)
