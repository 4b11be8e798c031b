"""MQTT topic rules: one matcher for the connection and the rule triggers, one person-id rule."""

from __future__ import annotations

import pytest

from ambient.rules.engine import topic_matches as rule_topic_matches
from ambient.topics import is_person_id, topic_matches


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("+/b", "x/b", True),
        ("#", "$SYS/x", False),
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_filters_match_as_mqtt_specifies(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(("topic_filter", "topic"), [("#", "$SYS/x"), ("+/x", "$SYS/x")])
def test_rule_triggers_match_like_the_connection(topic_filter: str, topic: str) -> None:
    """A rule's MQTT trigger and the connection must agree on which messages a filter means."""
    assert rule_topic_matches(topic_filter, topic) is topic_matches(topic_filter, topic)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("alex", True), ("sam_2", True), ("Alex", False), ("_x", False), ("alex\n", False)],
)
def test_person_ids_are_whole_ids_a_trailing_newline_is_not_one(text: str, expected: bool) -> None:
    assert is_person_id(text) is expected
