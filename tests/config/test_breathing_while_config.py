"""A breathing session's `while`: the HA entity state it runs in (the person at home); it ends
once the entity leaves those states."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ambient.config.actions import BreathingActionConfig


def breathing(**fields: object) -> BreathingActionConfig:
    return BreathingActionConfig.model_validate(
        {"action": "breathing", "lights": ["light.bedroom"], **fields}
    )


def test_while_names_an_entity_and_the_states_the_session_runs_in() -> None:
    action = breathing(**{"while": {"entity_id": "person.alex", "state": ["home", "garden"]}})
    assert action.while_ is not None
    assert (action.while_.entity_id, action.while_.state) == ("person.alex", ["home", "garden"])


def test_an_unquoted_on_is_the_state_on() -> None:
    # YAML reads `state: on` as true: it means HA's "on", as in a state condition.
    action = breathing(**{"while": {"entity_id": "input_boolean.presence", "state": True}})
    assert action.while_ is not None and action.while_.state == ["on"]


def test_without_while_a_session_runs_its_course() -> None:
    assert breathing().while_ is None


@pytest.mark.parametrize(
    "value",
    [{"entity_id": "person.alex"}, {"state": "home"}, {"entity_id": "alex", "state": "home"}],
)
def test_while_needs_an_entity_id_and_a_state(value: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        breathing(**{"while": value})
