"""Rule triggers, chosen by ``trigger:`` (HA's older ``platform:`` is accepted).

Thresholds (``above`` / ``below``) are a number or an HA entity id such as
``input_number.stress_threshold``, read live, so changing the helper re-evaluates the rule.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.types import EntityId, JsonPath, MqttTopicFilter, TimeOfDay

#: A number, or the id of an HA entity whose state is that number.
Threshold = float | EntityId

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def refuse_thresholds_out_of_order(above: Threshold | None, below: Threshold | None) -> None:
    """With both, the value must be above one and below the other: ``above`` not below
    ``below`` can never be met (a trigger never fires, a condition never holds, a ``wait_for``
    only times out). An entity's value is known only at run time, so it is not compared.
    ``.inf`` and ``.nan`` are refused too: no value is above either (nor below ``.nan``), so a
    test of one is never met."""
    for key, limit in (("above", above), ("below", below)):
        if isinstance(limit, float) and not math.isfinite(limit):
            raise ValueError(f"`{key}` must be a finite number (got {limit})")
    if isinstance(above, float) and isinstance(below, float) and above >= below:
        raise ValueError(f"`above` ({above:g}) must be less than `below` ({below:g})")


def _one_or_many(value: Any) -> Any:
    """HA accepts a single value or a list for ``entity_id``, ``at``, ``to`` …"""
    return [value] if isinstance(value, str | int | float | bool) else value


def _states_as_text(value: Any) -> Any:
    """One state or a list of them, each as HA's text."""
    values = _one_or_many(value)
    return [_state_text(v) for v in values] if isinstance(values, list) else values


def _id_text(value: Any) -> Any:
    """HA names triggers `on` and `off`, which YAML reads as booleans: text again, as in HA."""
    return _state_text(value)


class TriggerBase(ConfigModel):
    id: str | None = Field(default=None, title="Trigger id, for `condition: trigger`")

    _id = field_validator("id", mode="before")(_id_text)


class SignalTriggerConfig(TriggerBase):
    """Like HA's numeric_state, on ambient's signals, with hysteresis that keeps `above` exact."""

    trigger: Literal["signal"]
    signal: str
    above: Threshold | None = None
    below: Threshold | None = None
    for_: Duration = Field(default=0.0, alias="for", title="Must hold this long")
    hysteresis: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, title="Clears only this far past the threshold"
    )

    @model_validator(mode="after")
    def _needs_threshold(self) -> SignalTriggerConfig:
        if self.above is None and self.below is None:
            raise ValueError("give `above`, `below` or both")
        refuse_thresholds_out_of_order(self.above, self.below)
        return self


class StateTriggerConfig(TriggerBase):
    """An HA entity's state (or a text signal such as ``activity_state``) changing."""

    trigger: Literal["state"]
    entity_id: Annotated[list[EntityId], BeforeValidator(_one_or_many)] | None = None
    signal: str | None = Field(default=None, title="A text signal, per person (activity_state)")
    attribute: str | None = None
    from_: Annotated[list[str], BeforeValidator(_one_or_many)] | None = Field(
        default=None, alias="from"
    )
    to: Annotated[list[str], BeforeValidator(_one_or_many)] | None = None
    for_: Duration = Field(default=0.0, alias="for", title="The new state must hold this long")

    _states = field_validator("from_", "to", mode="before")(_states_as_text)

    @model_validator(mode="after")
    def _one_source(self) -> StateTriggerConfig:
        if (self.entity_id is None) == (self.signal is None):
            raise ValueError("give exactly one of `entity_id` or `signal`")
        if self.signal is not None and self.attribute is not None:
            raise ValueError("`attribute` only applies to `entity_id`")
        return self


#: How late a fire time missed while ambient was not running may still fire (seconds): a
#: restart, an upgrade or a reboot of a Raspberry Pi is back within it; an outage is not.
DEFAULT_CATCH_UP_S = 300.0


class ScheduledTriggerBase(TriggerBase):
    """What time and cron triggers share: the catch-up of fire times missed in a restart."""

    catch_up: Duration = Field(
        default=DEFAULT_CATCH_UP_S, title="Missed while not running: fires late if this recent"
    )


class TimeTriggerConfig(ScheduledTriggerBase):
    """At a local time of day, every day (or on the given weekdays)."""

    trigger: Literal["time"]
    at: Annotated[list[TimeOfDay], BeforeValidator(_one_or_many)] = Field(min_length=1)
    weekday: Annotated[list[Weekday], BeforeValidator(_one_or_many)] | None = None


class CronTriggerConfig(ScheduledTriggerBase):
    """A five-field cron expression (minute hour day month weekday), run through APScheduler."""

    trigger: Literal["cron"]
    cron: str = Field(title="e.g. `*/15 8-22 * * mon-fri`")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        from ambient.config.cron import apscheduler_crontab

        try:
            CronTrigger.from_crontab(apscheduler_crontab(value), timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"invalid cron expression `{value}`: {exc}") from None
        return value


class MqttTriggerConfig(TriggerBase):
    """A message on an MQTT topic (wildcards + and # allowed), optionally with a given payload.

    A message the broker queued while ambient was not running (or one it retained) fires only if
    it says when it was sent (``timestamp``) and that is at most ``max_age`` ago; otherwise it is
    skipped."""

    trigger: Literal["mqtt"]
    topic: MqttTopicFilter
    payload: str | None = None
    value: JsonPath | None = Field(
        default=None, title="Dotted JSON path of the text `payload` is compared with"
    )
    timestamp: JsonPath | None = Field(
        default=None, title="Dotted JSON path of when the message was sent"
    )
    max_age: Duration = Field(
        default=60.0, title="A message queued while ambient was not running fires if this recent"
    )

    @field_validator("payload", mode="before")
    @classmethod
    def _payload_text(cls, value: Any) -> Any:
        """``payload: 1`` is the text ``1`` (as in HA); an unquoted ``ON`` reaches here as
        true, whose case no one can tell, so it is refused with a hint to quote it."""
        if isinstance(value, bool):
            raise ValueError(
                "YAML reads an unquoted on, off, yes, no, true or false (in any case) as true or "
                'false: quote the payload as the device sends it (`payload: "ON"`)'
            )
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _json_payload_needs_value(self) -> MqttTriggerConfig:
        if self.timestamp is not None and self.payload is not None and self.value is None:
            raise ValueError(
                "with `timestamp` the payload is JSON: give `value`, the field `payload` is "
                "compared with"
            )
        return self


def _state_text(value: Any) -> Any:
    """YAML reads `on`/`off` as booleans; HA states are text."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    return value


#: What to write instead of a Home Assistant trigger kind that ambient has no counterpart of.
_HA_TRIGGER_ADVICE = {
    "numeric_state": (
        "Home Assistant's `numeric_state` is `trigger: signal` here, on a person's signals "
        "(`signal: stress_score`, `above` / `below`, `for`); an HA entity is watched with "
        "`trigger: state`"
    ),
    "template": (
        "ambient's rules have no templates: test a signal with `trigger: signal` (`above` / "
        "`below`), a text signal or an HA entity with `trigger: state` (`to`)"
    ),
    "time_pattern": (
        'Home Assistant\'s `time_pattern` is `trigger: cron` here: `minutes: "/15"` is '
        '`cron: "*/15 * * * *"`'
    ),
}
#: Home Assistant's other trigger kinds: named as such, not "did you mean" a look-alike.
_HA_ONLY_TRIGGERS = frozenset(
    {
        "calendar",
        "conversation",
        "device",
        "event",
        "geo_location",
        "homeassistant",
        "persistent_notification",
        "sun",
        "tag",
        "webhook",
        "zone",
    }
)
TRIGGER_KINDS = "signal, state, time, cron, mqtt"


def ha_kind_advice(kind: object, what: str, advice: dict[str, str], others: frozenset[str]) -> str:
    """Why the Home Assistant ``kind`` of ``what`` (trigger, condition) is refused, and what to
    write instead; empty when ``kind`` is none of HA's that ambient lacks."""
    if not isinstance(kind, str):
        return ""
    if kind in advice:
        return f"unknown {what} `{kind}`: {advice[kind]}"
    if kind in others:
        return f"unknown {what} `{kind}`: a Home Assistant {what} that ambient does not have"
    return ""


def _platform_alias(data: Any) -> Any:
    if isinstance(data, dict) and "platform" in data and "trigger" not in data:
        data = dict(data)
        data["trigger"] = data.pop("platform")
    if isinstance(data, dict):
        kind = data.get("trigger")
        refused = ha_kind_advice(kind, "trigger", _HA_TRIGGER_ADVICE, _HA_ONLY_TRIGGERS)
        if refused:
            raise ValueError(f"{refused}; allowed: {TRIGGER_KINDS}")
    return data


def _trigger_tag(data: Any) -> str | None:
    if isinstance(data, ConfigModel):
        return str(getattr(data, "trigger", None))
    if isinstance(data, dict):
        kind = data.get("trigger", data.get("platform"))
        return kind if isinstance(kind, str) else None
    return None


TriggerConfig = Annotated[
    Annotated[SignalTriggerConfig, Tag("signal")]
    | Annotated[StateTriggerConfig, Tag("state")]
    | Annotated[TimeTriggerConfig, Tag("time")]
    | Annotated[CronTriggerConfig, Tag("cron")]
    | Annotated[MqttTriggerConfig, Tag("mqtt")],
    Discriminator(_trigger_tag),
    BeforeValidator(_platform_alias),
]
