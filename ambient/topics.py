"""MQTT topic rules shared by the connection, the sensors and the rule triggers: one copy each,
so a filter means the same thing wherever it is matched."""

from __future__ import annotations

import re
from typing import Final

#: Ids of people as they appear in topics, entity ids and traces (as the config's ``Identifier``).
PERSON_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")


def is_person_id(text: str) -> bool:
    """The whole of ``text`` (``$`` would let a trailing newline through, into logs)."""
    return PERSON_ID_PATTERN.fullmatch(text) is not None


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching: ``+`` one level, ``#`` the rest (and the parent level).

    As the MQTT specification says, a wildcard in the first level does not match a topic that
    starts with ``$`` (``#`` and ``+/x`` do not match ``$SYS/x``)."""
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    if topic.startswith("$") and filter_levels[0] in ("#", "+"):
        return False
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
