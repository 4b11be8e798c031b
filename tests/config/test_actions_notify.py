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


SEND_MESSAGE_REFUSED = "`notify.send_message` sends to a notify entity"


def test_notify_send_message_is_refused_where_it_cannot_work(tmp_path: Path) -> None:
    """HA's notify-entity service needs a target entity and takes no `data`: HA refuses every
    call a notify action makes to it (`must contain at least one of entity_id, …`), so it
    failed at the first episode; the device's own service, or a service call, works."""
    path = tmp_path / "ambient.yaml"
    path.write_text(RULE.format(title="Call").replace("mobile_app_sam_phone", "send_message"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (issue,) = caught.value.issues
    assert "rules[0].actions[0].service" in str(issue)
    assert SEND_MESSAGE_REFUSED in str(issue)
    assert "target: {entity_id: notify." in str(issue)


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ("check_ins: {people: {alex: {notify: notify.send_message}}}", "check_ins.people.alex"),
        (
            "insights: {report: {folder: /tmp/www, notify: notify.send_message}}",
            "insights.report.notify",
        ),
        (
            "insights: {report: {folder: /tmp/www, notify: {alex: notify.send_message}}}",
            "insights.report.notify",
        ),
    ],
    ids=["check-ins", "weekly report", "weekly report per person"],
)
def test_check_ins_and_the_report_refuse_notify_send_message(
    tmp_path: Path, section: str, where: str
) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(f"people: [{{id: alex}}]\n{section}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(where in str(i) and SEND_MESSAGE_REFUSED in str(i) for i in caught.value.issues)
