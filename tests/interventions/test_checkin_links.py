"""The check-in's notification as the companion app receives it (what HA passes on unchanged;
tests/interventions/test_checkins_homeassistant.py sends it through the real HA)."""

from __future__ import annotations

from ambient.interventions.checkin_links import notification, tag
from ambient.interventions.checkins import Question


def test_the_notification_leaves_an_android_phone_when_the_question_closes() -> None:
    """An Android phone removes it by itself (`timeout`, in seconds) when the question is
    closed, also when ambient is off then and cannot withdraw it; iOS ignores the key."""
    question = Question(12, "alex", "box", "calm", "How do you feel after the box?")
    sent = notification(question, "ambient", timeout_s=1800.0)
    assert sent["title"] == "ambient"
    assert sent["message"] == "How do you feel after the box?"
    assert sent["data"]["tag"] == tag(12) == "ambient_checkin_12"
    assert sent["data"]["timeout"] == 1800
    assert [a["action"] for a in sent["data"]["actions"]] == [
        "AMBIENT_CHECKIN_12_CALMER",
        "AMBIENT_CHECKIN_12_SAME",
        "AMBIENT_CHECKIN_12_WORSE",
    ]


def test_an_instance_other_than_the_default_names_itself_in_the_tag_and_buttons() -> None:
    """Two ambients on one HA: their episode numbers overlap, their notifications must not."""
    question = Question(12, "alex", "box", "calm", "How do you feel after the box?")
    sent = notification(question, "ambient", timeout_s=1800.0, instance="upstairs")
    assert sent["data"]["tag"] == tag(12, "upstairs") == "ambient_checkin_upstairs_12"
    assert [a["action"] for a in sent["data"]["actions"]] == [
        "AMBIENT_CHECKIN_upstairs_12_CALMER",
        "AMBIENT_CHECKIN_upstairs_12_SAME",
        "AMBIENT_CHECKIN_upstairs_12_WORSE",
    ]
    assert tag(12, "ambient") == "ambient_checkin_12"
