"""Action steps, chosen by ``action:`` (HA's older ``service:`` is accepted) or, for flow steps,
by their key (``delay``, ``wait_for``, ``choose``, ``if``), as in HA scripts.

Built-in kinds have their own model; any other ``domain.service`` is passed through to HA.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from ambient.config.base import ConfigModel
from ambient.config.conditions import ConditionConfig
from ambient.config.durations import Duration
from ambient.config.triggers import (
    Threshold,
    _one_or_many,
    _states_as_text,
    refuse_thresholds_out_of_order,
)
from ambient.config.types import EntityId, Identifier, NotifyServiceName, ServiceName
from ambient.config.yaml_source import KeyPath

#: HA's target keys that name no entity: ambient snapshots and restores each light itself.
_NON_ENTITY_TARGETS = ("area_id", "device_id", "floor_id", "label_id")


def _entity_ids(value: Any) -> Any:
    """Entity ids as HA takes them: one, a list, ids separated by commas, or HA's
    ``{entity_id: …}``. An area, device, floor or label is refused: ambient must know each light
    to snapshot, watch and restore it."""
    if isinstance(value, dict):
        other = [key for key in value if key != "entity_id"]
        if other:
            known = other[0] in _NON_ENTITY_TARGETS
            raise ValueError(
                f"`{other[0]}` is not supported: name the lights (entity ids), "
                "ambient snapshots and restores each one"
                if known
                else f"unknown key `{other[0]}`: give `entity_id`"
            )
        value = value.get("entity_id", [])
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return _one_or_many(value)


def _of_domain(domain: str, what: str) -> AfterValidator:
    """HA's ``light.turn_on`` on a ``switch.*`` (or ``media_player.play_media`` on a light)
    does nothing without a word: refuse it where it is written."""

    def check(entity_id: str) -> str:
        if not entity_id.startswith(f"{domain}."):
            raise ValueError(f"{entity_id} is no {what} (expected {domain}.*)")
        return entity_id

    return AfterValidator(check)


LightId = Annotated[EntityId, _of_domain("light", "light")]
MediaPlayerId = Annotated[EntityId, _of_domain("media_player", "media player")]
TtsEntityId = Annotated[EntityId, _of_domain("tts", "TTS entity")]
Lights = Annotated[list[LightId], BeforeValidator(_entity_ids)]

#: Time an attempt keeps after the assistant's timeout to start the session from the template.
ASSISTANT_MARGIN_S = 5.0
ASSISTANT_TIMEOUT_S = 8.0


class ActionBase(ConfigModel):
    alias: str | None = Field(default=None, title="Shown in traces")
    timeout: Duration = Field(default=10.0, gt=0, title="Give up on one attempt after this")
    ttl: Duration = Field(default=120.0, gt=0, title="Drop, never perform late, after this")
    quiet_hours: Literal["hold", "ignore"] = Field(
        default="hold", title="`ignore`: performed in quiet hours too (pause still holds it)"
    )

    @model_validator(mode="before")
    @classmethod
    def _service_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "service" in data and "action" not in data:
            data = dict(data)
            data["action"] = data.pop("service")
        return data


class LogActionConfig(ActionBase):
    """Prints what it would do: the default when no HA is configured."""

    action: Literal["log"]
    message: str = "{rule} {event}"


class CalmLightsActionConfig(ActionBase):
    """Warm, dim lights; the lights' previous state is snapshotted and restored on recovery.
    ``brightness_pct`` is a ceiling: a light already as dim keeps its brightness (it is only
    warmed), and one that is off stays off unless ``turn_on_lights``. A light someone changes
    during the episode is left alone (and not restored)."""

    action: Literal["calm_lights"]
    # One light, a list, ids separated by commas or {entity_id: …}, as HA takes them.
    target: Lights = Field(min_length=1, title="Lights to calm")
    color_temp_kelvin: int = Field(default=2400, ge=1500, le=6500)
    brightness_pct: int = Field(default=35, ge=1, le=100)
    transition: Duration = Field(default=20.0, ge=0, le=300, title="Fade time")
    restore: bool = Field(default=True, title="Restore the snapshot on recovery")
    turn_on_lights: bool = Field(default=False, title="Switch on lights that are off")


class PlayCalmingActionConfig(ActionBase):
    """Calming media with a gentle volume ramp; never cuts into something already playing
    unless ``interrupt: true``."""

    action: Literal["play_calming"]
    target: MediaPlayerId = Field(title="Media player")
    media_content_id: str = Field(min_length=1, title="Playlist, URI or media-source id")
    media_content_type: str = "playlist"
    volume: float = Field(default=0.25, gt=0, le=1, title="Volume ceiling of the ramp")
    start_volume: float = Field(default=0.05, ge=0, le=1, title="Volume the ramp starts at")
    ramp: Duration = Field(default=30.0, ge=0, le=600, title="Time to ramp up to the ceiling")
    interrupt: bool = Field(default=False, title="Interrupt something already playing")
    stop_on_recovery: bool = Field(default=True, title="Stop and restore the volume on recovery")


class BreathingPhase(ConfigModel):
    phase: Literal["inhale", "hold", "exhale", "hold_out"]
    seconds: float = Field(gt=0, le=30)


#: What a session-script template may use (``ambient.interventions.script.ScriptContext``).
SCRIPT_VARIABLES = frozenset(
    {"name", "time_of_day", "greeting", "stress_minutes", "pattern", "pattern_words"}
)
_DURATION: TypeAdapter[float] = TypeAdapter(Duration)


def _check_template(text: str | None) -> str | None:
    """A template that cannot parse, or names a variable it will not get, is a config problem
    (``ambient check`` shows it), not a surprise at 3 a.m. Only the syntax is checked here
    (rendering happens sandboxed at run time); jinja2 is imported only by a config that has
    a template."""
    if text is None:
        return None
    from jinja2 import Environment, TemplateSyntaxError, meta

    try:
        parsed = Environment(autoescape=False).parse(text)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template line {exc.lineno}: {exc.message}") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - SCRIPT_VARIABLES)
    if unknown:
        raise ValueError(
            f"unknown template variable(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(SCRIPT_VARIABLES))}"
        )
    return text


class AssistantConfig(ConfigModel):
    """The LLM the user already has in HA writes the script (``ai_task.generate_data``)."""

    entity_id: EntityId = Field(title="The ai_task entity, e.g. ai_task.openai")
    timeout: Duration = Field(
        default=ASSISTANT_TIMEOUT_S, gt=0, le=60, title="Use the template after this"
    )
    task_name: str = Field(default="ambient breathing session", min_length=1)

    @field_validator("entity_id")
    @classmethod
    def _ai_task(cls, value: str) -> str:
        if not value.startswith("ai_task."):
            raise ValueError("`entity_id` must be an ai_task entity, e.g. ai_task.openai")
        return value


class SessionScriptConfig(ConfigModel):
    """Words made for the person and moment: Jinja2 templates (built-in ones when omitted),
    optionally written by the user's LLM in HA and checked, the templates being the fallback."""

    opening: str | None = Field(default=None, min_length=1, title="Opening (a Jinja2 template)")
    closing: str | None = Field(default=None, min_length=1, title="Closing (a Jinja2 template)")
    assistant: AssistantConfig | None = None

    _templates = field_validator("opening", "closing")(_check_template)


class SessionWhileConfig(ConfigModel):
    """The HA entity states a breathing session runs in (``person.alex`` at ``home``): once
    the entity is in another, the session ends and its lights are put back."""

    entity_id: EntityId
    state: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(min_length=1)

    _states = field_validator("state", mode="before")(_states_as_text)


class BreathingActionConfig(ActionBase):
    """A paced breathing session: spoken cues (``tts.speak`` with ``tts_entity``, or a legacy
    ``tts.*_say`` ``tts_service``) and/or lights that brighten on each inhale and dim on each
    exhale, never above the brightness they had (one that is off is paced only with
    ``turn_on_lights``). Presets: box 4-4-4-4, 4-7-8, resonance (5.5 s in, 5.5 s out: ~5.5
    breaths/min)."""

    action: Literal["breathing"]
    preset: Literal["box", "4-7-8", "resonance"] | None = "resonance"
    phases: list[BreathingPhase] | None = Field(
        default=None, min_length=1, title="Custom phases (override the preset)"
    )
    cycles: int = Field(default=6, ge=1, le=60)
    media_player: MediaPlayerId | None = Field(default=None, title="Where cues are spoken")
    tts_entity: TtsEntityId | None = Field(default=None, title="TTS entity for tts.speak")
    tts_service: ServiceName | None = Field(default=None, title="Legacy tts.*_say service")
    interrupt: bool = Field(
        default=False, title="Speak over music on a player that cannot announce over it"
    )
    language: str | None = Field(default=None, title="TTS language (engine default if omitted)")
    opening: str = Field(default="Let's breathe together for a minute. Follow my voice.")
    closing: str = Field(default="Well done. Let your breath find its own pace again.")
    script: SessionScriptConfig | None = Field(
        default=None, title="Words made for the moment (replaces fixed opening/closing)"
    )
    lights: Lights = Field(default_factory=list, title="Lights that pace the breath")
    inhale_brightness_pct: int = Field(default=60, ge=1, le=100)
    exhale_brightness_pct: int = Field(default=15, ge=1, le=100)
    turn_on_lights: bool = Field(default=False, title="Switch on and pace lights that are off")
    while_: SessionWhileConfig | None = Field(
        default=None, alias="while", title="Run only while this HA entity is in these states"
    )
    ttl: Duration = Field(default=60.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _attempt_covers_the_assistant(cls, data: Any) -> Any:
        """Without its own ``timeout``, one attempt lasts the assistant's wait plus a margin
        to start the session from the template."""
        if not isinstance(data, dict) or "timeout" in data:
            return data
        script = data.get("script")
        assistant = script.get("assistant") if isinstance(script, dict) else None
        if not isinstance(assistant, dict):
            return data
        try:
            wait_s = float(_DURATION.validate_python(assistant.get("timeout", ASSISTANT_TIMEOUT_S)))
        except ValueError:
            return data  # the field's own validation names the problem
        return {**data, "timeout": wait_s + ASSISTANT_MARGIN_S}

    @model_validator(mode="after")
    def _voice_or_lights(self) -> BreathingActionConfig:
        if self.tts_entity and self.tts_service:
            raise ValueError("give `tts_entity` (tts.speak) or `tts_service` (legacy), not both")
        if (self.tts_entity or self.tts_service) and not self.media_player:
            raise ValueError("spoken cues need a `media_player` to speak on")
        if self.tts_service and not self.tts_service.startswith("tts."):
            raise ValueError("`tts_service` must be a tts.*_say service, e.g. tts.google_say")
        if not (self.tts_entity or self.tts_service) and not self.lights:
            raise ValueError("give a voice (`tts_entity` or `tts_service`) or `lights` to pace")
        if self.phases is None and self.preset is None:
            raise ValueError("give a `preset` or custom `phases`")
        if self.script is not None:
            fixed = sorted({"opening", "closing"} & self.model_fields_set)
            if fixed:
                raise ValueError(
                    f"with `script:` give the words as templates in `script.{fixed[0]}`, "
                    f"not as fixed `{fixed[0]}`"
                )
            assistant = self.script.assistant
            wait_s = float(assistant.timeout) if assistant is not None else 0.0
            if assistant is not None and wait_s + ASSISTANT_MARGIN_S > float(self.timeout):
                raise ValueError(
                    f"`script.assistant.timeout` ({wait_s:g} s) must end at least "
                    f"{ASSISTANT_MARGIN_S:g} s before the action's `timeout` "
                    f"({float(self.timeout):g} s), so the template can still be used"
                )
        return self


class NotifyActionConfig(ActionBase):
    """A message through an HA notify service (e.g. a trusted person's phone). Opt-in: only
    sent when a rule names it. The same message about the same person goes to a service at most
    once per ``min_interval``; another message (the all-clear) or person is not held back."""

    action: Literal["notify"]
    service: NotifyServiceName = Field(title="e.g. notify.mobile_app_sam_phone")
    message: str
    title: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, title="Extra notify data")
    min_interval: Duration = Field(default=3600.0, title="The same message at most this often")

    @model_validator(mode="after")
    def _notify_domain(self) -> NotifyActionConfig:
        if not self.service.startswith("notify."):
            raise ValueError("`service` must be a notify.* service, e.g. notify.mobile_app_phone")
        return self


class LogbookActionConfig(ActionBase):
    """An entry in HA's logbook saying what ambient did and why."""

    action: Literal["logbook"]
    message: str = "{rule}: {event}"
    name: str = Field(default="ambient", title="Who the entry is from")
    entity_id: EntityId | None = Field(default=None, title="Entity the entry is about")


class MqttPublishActionConfig(ActionBase):
    action: Literal["mqtt.publish"]
    topic: str
    payload: str = ""
    qos: Literal[0, 1, 2] = 1
    retain: bool = False


class ServiceCallActionConfig(ActionBase):
    """Any HA ``domain.service``, passed through with ``target`` and ``data``."""

    action: ServiceName
    target: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)


class DelayStepConfig(ConfigModel):
    delay: Duration
    alias: str | None = None


class WaitForStepConfig(ConfigModel):
    """Wait until a signal recovers (below / above), or the timeout passes."""

    class WaitFor(ConfigModel):
        signal: str
        above: Threshold | None = None
        below: Threshold | None = None

        @model_validator(mode="after")
        def _needs_threshold(self) -> WaitForStepConfig.WaitFor:
            if self.above is None and self.below is None:
                raise ValueError("give `above`, `below` or both")
            refuse_thresholds_out_of_order(self.above, self.below)  # else it only times out
            return self

    wait_for: WaitFor
    timeout: Duration | None = None
    continue_on_timeout: bool = True
    alias: str | None = None


class ChooseOption(ConfigModel):
    conditions: list[ConditionConfig] = Field(default_factory=list)
    sequence: list[ActionConfig]


class ChooseStepConfig(ConfigModel):
    choose: list[ChooseOption]
    default: list[ActionConfig] = Field(default_factory=list)
    alias: str | None = None


class IfStepConfig(ConfigModel):
    if_: list[ConditionConfig] = Field(alias="if")
    then: list[ActionConfig]
    else_: list[ActionConfig] = Field(default_factory=list, alias="else")
    alias: str | None = None


class CalmingOption(ConfigModel):
    """One way to calm down that ambient may choose: an id and the actions it performs."""

    id: Identifier
    actions: list[ActionConfig] = Field(min_length=1)


#: How long until what an episode taught the learner counts half as much as what one today
#: teaches, unless a `choose_calming` step says otherwise. Chosen on bench/bench_learning.py: a
#: change of what works is followed within weeks, at little cost when nothing changes
#: (docs/interventions.md, "When what works changes").
CALMING_HALF_LIFE_S = 60 * 86_400.0


class ChooseCalming(ConfigModel):
    options: list[CalmingOption] = Field(min_length=1, title="The options ambient chooses among")
    per_day: int = Field(default=4, ge=1, le=48, title="At most this many episodes a person a day")
    floor: float = Field(default=0.1, ge=0.0, le=0.5, title="Every option at least this likely")
    half_life: Annotated[Duration, Field(ge=86_400.0)] | None = Field(
        default=CALMING_HALF_LIFE_S,
        title="What an episode taught counts half as much after this long (null: never less)",
    )
    pin: Identifier | None = Field(default=None, title="Always choose this option")
    ban: list[Identifier] = Field(default_factory=list, title="Never choose these options")

    @model_validator(mode="after")
    def _known_ids(self) -> ChooseCalming:
        ids = [option.id for option in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        unknown = [i for i in [*([self.pin] if self.pin else []), *self.ban] if i not in ids]
        if unknown:
            raise ValueError(
                f"`pin`/`ban` name no option: {', '.join(unknown)} (options: {', '.join(ids)})"
            )
        if self.pin is not None and self.pin in self.ban:
            raise ValueError(f"`{self.pin}` is both pinned and banned")
        if set(ids) <= set(self.ban):
            raise ValueError(
                "every option is banned: nothing would be chosen (remove a `ban`, or the step)"
            )
        return self


class ChooseCalmingStepConfig(ConfigModel):
    """Let ambient learn which calming option works for each person (Thompson sampling on the
    measured response; docs/interventions.md)."""

    choose_calming: ChooseCalming
    alias: str | None = None


BUILTIN_ACTIONS = (
    "log",
    "calm_lights",
    "play_calming",
    "breathing",
    "notify",
    "logbook",
    "mqtt.publish",
)
FLOW_STEPS = ("delay", "wait_for", "choose_calming", "choose", "if")


def _action_tag(data: Any) -> str | None:
    if isinstance(data, ConfigModel):
        data = data.model_dump(by_alias=True)
    if not isinstance(data, dict):
        return None
    for step in FLOW_STEPS:
        if step in data:
            return step
    kind = data.get("action", data.get("service"))
    if not isinstance(kind, str):
        return None
    if kind in BUILTIN_ACTIONS:
        return kind
    if "." in kind:
        return "service_call"
    return kind


#: What an actuator performs: an action, not a step that sequences actions (delay, wait_for,
#: choose, choose_calming, if). This is the type that travels across the action ports.
LeafActionConfig = (
    LogActionConfig
    | CalmLightsActionConfig
    | PlayCalmingActionConfig
    | BreathingActionConfig
    | NotifyActionConfig
    | LogbookActionConfig
    | MqttPublishActionConfig
    | ServiceCallActionConfig
)


def walk_action_steps(steps: Sequence[Any], path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    """Each of ``steps`` and the steps nested in its `if`, `choose` and `choose_calming`
    options, depth first, with their key paths under ``path``."""
    for index, step in enumerate(steps):
        yield (*path, index), step
        if isinstance(step, IfStepConfig):
            yield from walk_action_steps(step.then, (*path, index, "then"))
            yield from walk_action_steps(step.else_, (*path, index, "else"))
        elif isinstance(step, ChooseStepConfig):
            for o_index, option in enumerate(step.choose):
                option_path = (*path, index, "choose", o_index, "sequence")
                yield from walk_action_steps(option.sequence, option_path)
            yield from walk_action_steps(step.default, (*path, index, "default"))
        elif isinstance(step, ChooseCalmingStepConfig):
            for o_index, calming in enumerate(step.choose_calming.options):
                option_path = (*path, index, "choose_calming", "options", o_index, "actions")
                yield from walk_action_steps(calming.actions, option_path)


#: Home Assistant's script steps ambient has no counterpart of, and what to write instead: such
#: a step has no `action:`, and "missing action" would send its writer looking for a typo.
HA_ONLY_STEPS = {
    "repeat": "write its steps out, or use the rule's `escalate` to act again while stress lasts",
    "parallel": "steps run one after another here; write them in order",
    "sequence": "write its steps in the list itself (a `choose` option or `then` holds steps)",
    "stop": "end the steps with `if:` and `then:` instead",
    "variables": "a message names the rule, person and signals itself ({rule}, {person}, …)",
    "wait_template": "use `wait_for:` with a signal and `above:` or `below:`",
    "wait_for_trigger": "use `wait_for:` with a signal and `above:` or `below:`",
    "scene": "use `action: scene.turn_on` with `target: {entity_id: scene.…}`",
    "device_id": "write the device action as a Home Assistant action "
    "(`action: light.turn_on` with `target: {device_id: …}`)",
    "condition": "use `if:` with `then:` (or the rule's `conditions:`)",
    "event": "use `mqtt.publish` or a Home Assistant action (domain.service)",
}


def _no_home_assistant_step(data: Any) -> Any:
    """A Home Assistant script step ambient lacks (``repeat:``) is named, with what to write."""
    if isinstance(data, dict) and not any(
        key in data for key in ("action", "service", *FLOW_STEPS)
    ):
        for key, instead in HA_ONLY_STEPS.items():
            if key in data:
                raise ValueError(
                    f"`{key}:` is a Home Assistant script step ambient lacks: {instead}"
                )
    return data


ActionConfig = Annotated[
    Annotated[LogActionConfig, Tag("log")]
    | Annotated[CalmLightsActionConfig, Tag("calm_lights")]
    | Annotated[PlayCalmingActionConfig, Tag("play_calming")]
    | Annotated[BreathingActionConfig, Tag("breathing")]
    | Annotated[NotifyActionConfig, Tag("notify")]
    | Annotated[LogbookActionConfig, Tag("logbook")]
    | Annotated[MqttPublishActionConfig, Tag("mqtt.publish")]
    | Annotated[ServiceCallActionConfig, Tag("service_call")]
    | Annotated[DelayStepConfig, Tag("delay")]
    | Annotated[WaitForStepConfig, Tag("wait_for")]
    | Annotated[ChooseStepConfig, Tag("choose")]
    | Annotated[ChooseCalmingStepConfig, Tag("choose_calming")]
    | Annotated[IfStepConfig, Tag("if")],
    Discriminator(_action_tag),
    BeforeValidator(_no_home_assistant_step),
]

# No model_rebuild() for the models that refer to ActionConfig: the base model defers building
# (config/base.py), so the reference is resolved when a validator is first built.
