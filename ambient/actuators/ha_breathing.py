"""Paced breathing: the phase plan from a session script (a preset or custom phases, or the
pacing a checked assistant answer chose), and the session that speaks the script's words and
cues and paces the lights on the clock (absolute times, so slow calls never add drift)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from ambient.actuators.ha_entities import UnavailableEntity, unavailable
from ambient.actuators.ha_light_state import brightness_when_on, left_off, notes
from ambient.actuators.ha_outcome import NothingDone
from ambient.clock import Clock
from ambient.config.actions import BreathingActionConfig
from ambient.config.breathing import phases_of
from ambient.interventions.script import (
    DEFAULT_CLOSING,
    DEFAULT_OPENING,
    ScriptContext,
    SessionScript,
    from_template,
)
from ambient.messages import ActionContext

_LOGGER = logging.getLogger(__name__)

CUES = {"inhale": "Breathe in", "hold": "Hold", "exhale": "Breathe out", "hold_out": "Hold"}
#: Time the opening words get before the first inhale, at least: a longer opening (a template
#: with the moment in it, an assistant's words) gets the time it takes to say, since a TTS call
#: replaces what the speaker is saying and the first cue would cut it off.
OPENING_S = 6.0
#: A TTS voice's pace, on the slow side (150 words a minute), and the pause after the opening.
SPEECH_WORDS_PER_S = 2.5
AFTER_OPENING_S = 1.0
#: ``SessionScript.source`` of a breathing action without ``script:`` (its fixed words).
FIXED_TEXT = "fixed text"

#: HA's lowest brightness (1 of 255) in percent: a pacing level below it would switch a light
#: off.
LOWEST_PCT = 0.4

#: MediaPlayerEntityFeature.MEDIA_ANNOUNCE. HA speaks with ``announce: true`` (``tts.speak``
#: and the legacy ``tts.*_say`` both do); a player that supports it lowers or pauses what it
#: plays for the words and resumes it. Any other player replaces it, and does not resume it.
MEDIA_ANNOUNCE = 1 << 20
#: A player in these states is in use (music, a call, an announcement).
IN_USE_STATES = frozenset({"playing", "buffering"})

CallService = Callable[[str, str, dict[str, Any], dict[str, Any] | None], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do at ``offset_s`` after the session starts."""

    offset_s: float
    kind: str  # opening, inhale, hold, exhale, hold_out, closing
    seconds: float = 0.0  # how long the phase lasts (the lights' transition)


def pattern_of(action: BreathingActionConfig) -> str:
    return "custom" if action.phases else str(action.preset)


def moment_of(
    action: BreathingActionConfig, context: ActionContext, name: str, zone: tzinfo | None
) -> ScriptContext:
    """The coarse facts a script may use: who, the local hour, how long the stress has lasted
    (whole minutes) and the configured pattern. Never a heart figure."""
    since = context.since if context.since is not None else context.time
    return ScriptContext(
        name=name,
        hour=datetime.fromtimestamp(context.time, zone).hour,
        stress_minutes=max(0, round((context.time - since) / 60.0)),
        pattern=pattern_of(action),
        phases=phases_of(action),
    )


def addressee(names: Mapping[str, str], person: str | None) -> str:
    """Whom a script speaks to: the person's display name; for a session nobody's rule
    started (the breathing button) the one person of a one-person home, else "there"."""
    if person is None:
        return next(iter(names.values())) if len(names) == 1 else "there"
    return names.get(person, person)


def template_script(action: BreathingActionConfig, moment: ScriptContext) -> SessionScript:
    """The configured script: the templates of ``script:`` (built-in ones where omitted), or
    without ``script:`` the fixed opening and closing, as before scripts existed."""
    if action.script is None:
        return SessionScript(
            action.opening, action.closing, phases_of(action), action.cycles, FIXED_TEXT
        )
    return from_template(
        moment,
        action.cycles,
        action.script.opening or DEFAULT_OPENING,
        action.script.closing or DEFAULT_CLOSING,
    )


def speaking_s(text: str) -> float:
    """How long a voice takes to say ``text``, and the pause after it."""
    return len(text.split()) / SPEECH_WORDS_PER_S + AFTER_OPENING_S


def opening_s(opening: str) -> float:
    """How long the opening words get before the first cue."""
    return max(OPENING_S, speaking_s(opening))


def plan(script: SessionScript) -> list[Step]:
    """The whole session as timed steps: opening, N cycles of phases, closing."""
    steps = [Step(0.0, "opening")]
    offset_s = opening_s(script.opening)
    for _ in range(script.cycles):
        for kind, seconds in script.phases:
            steps.append(Step(offset_s, kind, seconds))
            offset_s += seconds
    steps.append(Step(offset_s, "closing"))
    return steps


def breaths_per_minute(phases: Sequence[tuple[str, float]]) -> float:
    return 60.0 / sum(seconds for _, seconds in phases)


@dataclass
class PacedLights:
    """The lights a session paces, each in its own range (inhale %, exhale %), from their state
    when it starts. As in calm_lights, a session never wakes a room: a light's brightness is a
    ceiling (a light dimmer than ``inhale_brightness_pct`` is paced in the same proportion below
    its own brightness), and one that is off stays off unless ``turn_on_lights``."""

    levels: dict[str, tuple[float, float]] = field(default_factory=dict)
    left_off: list[str] = field(default_factory=list)  # off (or unknown): untouched
    away: list[str] = field(default_factory=list)  # unavailable: HA would skip them

    @classmethod
    def of(
        cls, action: BreathingActionConfig, states: Mapping[str, Mapping[str, Any]]
    ) -> PacedLights:
        paced = cls()
        away = unavailable({e: states[e] for e in action.lights})
        inhale, exhale = action.inhale_brightness_pct, action.exhale_brightness_pct
        for entity_id in action.lights:
            state = states[entity_id]
            if entity_id in away:
                paced.away.append(entity_id)
            elif left_off(state, action.turn_on_lights):
                paced.left_off.append(entity_id)
            elif (brightness := brightness_when_on(state)) is not None:
                scale = min(1.0, brightness * 100 / 255 / max(inhale, exhale))
                paced.levels[entity_id] = (_level(inhale * scale), _level(exhale * scale))
            else:  # off and switched on, or an on/off light: the full range
                paced.levels[entity_id] = (float(inhale), float(exhale))
        return paced

    def notes(self) -> str:
        """The timeline's note on the lights left as they are."""
        return notes((("left off", self.left_off), ("unavailable", self.away)))


def _level(pct: float) -> float:
    return max(LOWEST_PCT, round(pct, 1))


def has_voice(action: BreathingActionConfig) -> bool:
    """Whether the action names a voice (a TTS entity or a legacy ``tts.*_say`` service)."""
    return bool(action.tts_entity or action.tts_service)


def why_silent(
    action: BreathingActionConfig, states: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """Why the session must not speak (``None``: it speaks): its player is unavailable (HA
    would skip the cues without a word), or in use and cannot announce over it — the cues
    would cut off the person's music and never resume it. With ``interrupt: true`` it speaks
    over the music all the same."""
    player = action.media_player
    if player is None or not has_voice(action):
        return None
    state = states.get(player, {})
    if unavailable({player: state}):
        return f"{player} is unavailable"
    if action.interrupt:
        return None
    if supported_features(state) & MEDIA_ANNOUNCE:
        return None
    if state.get("state") in IN_USE_STATES:
        return f"{player} is playing and cannot announce over it"
    return None


def while_broken(
    action: BreathingActionConfig, entity_state: Callable[[str], Mapping[str, Any] | None]
) -> str | None:
    """Why the session must end now: its ``while`` entity is in none of its states. A state
    HA does not know yet (``unknown``, ``unavailable``, none seen) is no news: it goes on."""
    condition = action.while_
    if condition is None:
        return None
    state = (entity_state(condition.entity_id) or {}).get("state")
    if state in (None, "unknown", "unavailable") or state in condition.state:
        return None
    return f"{condition.entity_id} is {state} (while: {', '.join(condition.state)})"


def supported_features(state: Mapping[str, Any]) -> int:
    """A media player's ``supported_features`` bits (none when it reports none)."""
    features = (state.get("attributes") or {}).get("supported_features")
    return features if isinstance(features, int) else 0


def saying_tts(state: Mapping[str, Any]) -> bool:
    """Whether a player plays a TTS message (HA's ``media-source://tts/…`` id, or the
    ``/api/tts_proxy/`` URL a Cast device reports), not music."""
    content = str((state.get("attributes") or {}).get("media_content_id") or "")
    return content.startswith("media-source://tts") or "/api/tts_proxy/" in content


def nothing_to_do(
    action: BreathingActionConfig,
    lights: PacedLights,
    silent: str | None,
    states: Mapping[str, Mapping[str, Any]],
) -> None:
    """Raise when the session would neither speak nor pace a light: :class:`UnavailableEntity`
    for a voice whose player is unavailable (the action fails), else :class:`NothingDone`."""
    if (has_voice(action) and silent is None) or lights.levels:
        return
    player = action.media_player
    if has_voice(action) and player is not None and unavailable({player: states[player]}):
        raise UnavailableEntity([player])
    if silent is not None:
        raise NothingDone(f"left alone: {silent}" + lights.notes())
    raise NothingDone("nothing to pace" + lights.notes())


class ScriptPreview:
    """What a breathing action would say, for report-only runs (``ambient simulate``): always
    its template script — the assistant is never asked when nothing is performed."""

    def __init__(self, names: Mapping[str, str], zone: tzinfo | None) -> None:
        self.names = names
        self.zone = zone

    def __call__(self, action: object, context: ActionContext) -> str | None:
        if not isinstance(action, BreathingActionConfig) or action.script is None:
            return None
        name = addressee(self.names, context.person)
        script = template_script(action, moment_of(action, context, name, self.zone))
        return f"script: {script.source}: {script.opening}"


class BreathingSession:
    """Runs one :func:`plan` against HA. Cancel the task to stop early (recovery, pause)."""

    def __init__(
        self,
        action: BreathingActionConfig,
        script: SessionScript,
        clock: Clock,
        call_service: CallService,
        lights: PacedLights,
        paced_lights: Callable[[], list[str]],
        *,
        speak: bool = True,
        entity_state: Callable[[str], Mapping[str, Any] | None] = lambda _: None,
        episode_id: str = "-",
        said: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.action = action  # where to speak and which lights: the script says what and when
        self.script = script
        self.clock = clock
        self.call_service = call_service
        self.lights = lights
        self.speak = speak and has_voice(action)
        self.paced_lights = paced_lights  # asked at each phase: the user may take one over
        #: An entity's current state (HA's, as followed): the player's and the ``while``
        #: entity's are asked before each step, since someone may start music on the player,
        #: or leave, during the session.
        self.entity_state = entity_state
        self.episode_id = episode_id
        #: Hears what the session does after its action returned (for the rule's trace).
        self.said = said
        self.steps = plan(script)
        self.started_at: float | None = None
        #: Why the session ended before its course (its ``while`` stopped holding), if it did.
        self.stopped: str | None = None

    async def open(self) -> None:
        """Speak the opening and dim the lights for it, now. The action awaits this before it
        says the session started: a voice HA refuses (a ``tts_service`` it does not have, an
        engine that fails) fails the action at once rather than the session at its first cue."""
        self.started_at = self.clock.now()
        await asyncio.gather(*self._calls(self.steps[0]))

    async def run(self) -> None:
        """The rest of the session after :meth:`open`, each step at its time from the opening."""
        assert self.started_at is not None, "open() comes first"
        for step in self.steps[1:]:
            await self.clock.sleep_until(self.started_at + step.offset_s)
            self.stopped = while_broken(self.action, self.entity_state)
            if self.stopped is not None:
                return
            if self.speak:
                self._quiet_if_silenced()
            if not self.speak and not self.lights.levels:
                return  # nothing left to do: no voice, no light
            await asyncio.gather(*self._calls(step))

    def _quiet_if_silenced(self) -> None:
        """Stop speaking for the rest of the session once the player must not be spoken on
        (someone started music it cannot announce over, it went unavailable); said once."""
        player = self.action.media_player
        state = self.entity_state(player) if player else None
        if state is not None and saying_tts(state):
            return  # still saying the last cue (a slow speaker): its own voice, not music
        why = why_silent(self.action, {player: state} if player and state else {})
        if why is None:
            return
        self.speak = False
        what = f"goes quiet: {why} (" + (
            "its lights pace on)" if self.lights.levels else "the session ends)"
        )
        _LOGGER.info("Breathing session of episode %s %s", self.episode_id, what)
        self.said(what)

    def _calls(self, step: Step) -> list[Awaitable[Any]]:
        calls: list[Awaitable[Any]] = []
        text = {"opening": self.script.opening, "closing": self.script.closing}.get(
            step.kind, CUES.get(step.kind, "")
        )
        if text and self.speak:
            calls.append(self._speak(text))
        if step.kind in ("opening", "inhale", "exhale"):
            at_level: dict[float, list[str]] = {}
            for entity_id in self.paced_lights():
                inhale_pct, exhale_pct = self.lights.levels[entity_id]
                level = inhale_pct if step.kind == "inhale" else exhale_pct
                at_level.setdefault(level, []).append(entity_id)
            calls.extend(
                self.call_service(
                    "light",
                    "turn_on",
                    {"brightness_pct": level, "transition": step.seconds or 1.0},
                    {"entity_id": lights},
                )
                for level, lights in at_level.items()
            )
        return calls

    def _speak(self, message: str) -> Awaitable[Any]:
        action = self.action
        data: dict[str, Any] = {"message": message, "cache": True}
        if action.language:
            data["language"] = action.language
        if action.tts_entity:
            data["media_player_entity_id"] = action.media_player
            return self.call_service("tts", "speak", data, {"entity_id": action.tts_entity})
        assert action.tts_service is not None
        domain, service = action.tts_service.split(".", 1)
        data["entity_id"] = action.media_player
        return self.call_service(domain, service, data, None)
