"""Rule conditions, chosen by ``condition:``; ``and`` / ``or`` / ``not`` nest, as in HA."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.triggers import (
    Threshold,
    Weekday,
    _one_or_many,
    _states_as_text,
    ha_kind_advice,
    refuse_thresholds_out_of_order,
)
from ambient.config.types import EntityId, Identifier, TimeOfDay


class TimeConditionConfig(ConfigModel):
    """Local time between ``after`` and ``before``; ``after`` later than ``before`` crosses
    midnight (22:00 → 06:00)."""

    condition: Literal["time"]
    after: TimeOfDay | None = None
    before: TimeOfDay | None = None
    weekday: Annotated[list[Weekday], BeforeValidator(_one_or_many)] | None = None

    @model_validator(mode="after")
    def _something(self) -> TimeConditionConfig:
        if self.after is None and self.before is None and self.weekday is None:
            raise ValueError("give `after`, `before` or `weekday`")
        return self


class StateConditionConfig(ConfigModel):
    """An HA entity is in one of the given states (optionally for some time)."""

    condition: Literal["state"]
    entity_id: Annotated[list[EntityId], BeforeValidator(_one_or_many)] = Field(min_length=1)
    state: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(min_length=1)
    attribute: str | None = None
    for_: Duration = Field(default=0.0, alias="for")

    _states = field_validator("state", mode="before")(_states_as_text)


class SignalConditionConfig(ConfigModel):
    """A signal of the person the rule runs for, or of the one ``person:`` names ("while Sam
    is stressed too"): numeric (above / below, strict as in HA) or text (``state``:
    activity_state is rest). Unknown and stale values never hold."""

    condition: Literal["signal"]
    signal: str
    person: Identifier | None = None
    above: Threshold | None = None
    below: Threshold | None = None
    state: Annotated[list[str], BeforeValidator(_one_or_many)] | None = None

    _states = field_validator("state", mode="before")(_states_as_text)

    @model_validator(mode="after")
    def _one_test(self) -> SignalConditionConfig:
        numeric = self.above is not None or self.below is not None
        if numeric == (self.state is not None):
            raise ValueError("give `above` / `below`, or `state`")
        refuse_thresholds_out_of_order(self.above, self.below)
        return self


class TriggerConditionConfig(ConfigModel):
    """The rule was fired by the trigger with this id (one of these ids)."""

    condition: Literal["trigger"]
    id: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(min_length=1)

    _ids = field_validator("id", mode="before")(_states_as_text)  # `on`, as the trigger's


class AndConditionConfig(ConfigModel):
    condition: Literal["and"]
    conditions: list[ConditionConfig] = Field(min_length=1)


class OrConditionConfig(ConfigModel):
    condition: Literal["or"]
    conditions: list[ConditionConfig] = Field(min_length=1)


class NotConditionConfig(ConfigModel):
    """None of the listed conditions holds (HA's ``not``)."""

    condition: Literal["not"]
    conditions: list[ConditionConfig] = Field(min_length=1)


#: What to write instead of a Home Assistant condition kind that ambient has no counterpart of.
_HA_CONDITION_ADVICE = {
    "numeric_state": (
        "Home Assistant's `numeric_state` is `condition: signal` here, on a person's signals "
        "(`above` / `below`); an HA entity is tested with `condition: state`"
    ),
    "template": (
        "ambient's rules have no templates: test a signal with `condition: signal`, an HA "
        "entity with `condition: state`"
    ),
}
_HA_ONLY_CONDITIONS = frozenset({"device", "sun", "zone"})
_CONDITION_KINDS = "time, state, signal, trigger, and, or, not"


def _ha_condition_advice(data: Any) -> Any:
    """HA's condition kinds ambient lacks, and its template shorthand (a condition written
    as ``"{{ … }}"``), are refused with what to write instead."""
    if isinstance(data, str) and "{{" in data:
        refused = f"a template condition: {_HA_CONDITION_ADVICE['template']}"
    elif isinstance(data, dict):
        kind = data.get("condition")
        refused = ha_kind_advice(kind, "condition", _HA_CONDITION_ADVICE, _HA_ONLY_CONDITIONS)
    else:
        refused = ""
    if refused:
        raise ValueError(f"{refused}; allowed: {_CONDITION_KINDS}")
    return data


def _condition_tag(data: Any) -> str | None:
    if isinstance(data, ConfigModel):
        return str(getattr(data, "condition", None))
    if isinstance(data, dict):
        kind = data.get("condition")
        return kind if isinstance(kind, str) else None
    return None


ConditionConfig = Annotated[
    Annotated[TimeConditionConfig, Tag("time")]
    | Annotated[StateConditionConfig, Tag("state")]
    | Annotated[SignalConditionConfig, Tag("signal")]
    | Annotated[TriggerConditionConfig, Tag("trigger")]
    | Annotated[AndConditionConfig, Tag("and")]
    | Annotated[OrConditionConfig, Tag("or")]
    | Annotated[NotConditionConfig, Tag("not")],
    Discriminator(_condition_tag),
    BeforeValidator(_ha_condition_advice),
]

# No model_rebuild() for the models that refer to ConditionConfig: the base model defers building
# (config/base.py), so the reference is resolved when a validator is first built.
