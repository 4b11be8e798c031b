"""Check-ins: ambient asks, rarely, whether a calming episode helped ("calmer / same /
worse"), and may take a daily mood. Opt-in: without a ``check_ins:`` section nothing is asked.
The answers feed the learner with a small weight (docs/interventions.md)."""

from __future__ import annotations

from pydantic import Field, field_validator

from ambient.config.base import ConfigModel
from ambient.config.durations import Duration
from ambient.config.rules import QuietHoursConfig
from ambient.config.types import EntityId, Identifier, NotifyServiceName


class CheckInPersonConfig(ConfigModel):
    """Where to ask one person, and where their daily mood is kept."""

    notify: NotifyServiceName | None = Field(
        default=None,
        title="HA companion-app notify service, e.g. notify.mobile_app_alex_phone",
    )
    mood_entity: EntityId | None = Field(
        default=None, title="HA input_select the person sets once a day (their mood)"
    )


class CheckInsConfig(ConfigModel):
    per_day: int = Field(default=2, ge=1, le=12, title="At most this many questions a person a day")
    timeout: Duration = Field(
        default=1800.0, ge=60.0, le=6 * 3600.0, title="An unanswered question closes after this"
    )
    quiet_hours: QuietHoursConfig | None = Field(
        default=None, title="Never ask in these local hours (besides the global quiet_hours)"
    )
    title: str = Field(default="ambient", title="Notification title")
    message: str = Field(
        default="How do you feel after the {option}?",
        title="Notification text; {option} and {name} are filled in",
    )
    mqtt: bool = Field(
        default=True,
        title="Also take answers on <base_topic>/<instance>/checkin/<person> (and /mood/)",
    )
    people: dict[Identifier, CheckInPersonConfig] = Field(
        default_factory=dict, title="Per person: the notify service and the mood entity"
    )

    @field_validator("message")
    @classmethod
    def _fills_known_names(cls, message: str) -> str:
        try:
            message.format(option="breathing", name="Alex")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                "the message may name only {option} and {name} (write {{ }} for a brace)"
            ) from exc
        return message
