"""Breathing and calming media against a real HA: cues and volume steps arrive in order, on time
(stepped on a virtual clock, so "on time" is exact), and stop on recovery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

import pytest
from fixtures.homeassistant import (
    HaProbe,
    HomeAssistantInstance,
    SeenEvent,
    StepClock,
    actuator_on_a_step_clock,
)

from ambient.actuators.dispatch import ActionDispatcher
from ambient.actuators.ha_breathing import CUES, OPENING_S
from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.config.actions import BreathingActionConfig, PlayCalmingActionConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.messages import ActionContext, ActionResult

pytestmark = pytest.mark.ha

BED = "light.bed_light"


def context(episode: str, clock: StepClock) -> ActionContext:
    return ActionContext(rule="breathe", person="alex", episode=episode, time=clock.now())


def is_cue(event: SeenEvent) -> bool:
    data = event.data
    return event.event_type == "call_service" and (
        (data["domain"], data["service"]) in {("tts", "speak"), ("tts", "demo_say")}
    )


def pacing(event: SeenEvent) -> bool:
    data = event.data
    return (
        event.event_type == "call_service"
        and (data["domain"], data["service"]) == ("light", "turn_on")
        and "brightness_pct" in data["service_data"]
        and "color_temp_kelvin" not in data["service_data"]
    )


async def run_session(
    clock: StepClock, probe: HaProbe, steps: int, cues_per_step: int = 1
) -> list[tuple[float, str]]:
    """The opening (spoken as the action started the session, at 0), then: step the session's
    clock; after each step wait for its cue to reach HA."""
    start = clock.now()
    timeline: list[tuple[float, str]] = []
    for index in range(steps):
        at = await clock.fire_next() if index else start
        cue = (await probe.wait_count(is_cue, index + 1))[index]
        timeline.append((round(at - start, 3), cue.data["service_data"]["message"]))
    return timeline


async def quiet(probe: HaProbe, player: str) -> None:
    """HA's demo players start out playing and cannot announce: a session would not speak over
    them. Pause one, as a speaker nobody is listening to."""
    await probe.call_service("media_player", "media_pause", {"entity_id": player})


async def set_volume(probe: HaProbe, player: str, volume_level: float) -> None:
    """Someone's volume on ``player``: the one a calming episode must leave it at."""
    await probe.call_service(
        "media_player", "volume_set", {"entity_id": player, "volume_level": volume_level}
    )


async def nobody_listening(probe: HaProbe, player: str, at: float) -> None:
    """``player`` paused at someone's volume ``at``: the one a calming episode must leave it
    at."""
    await set_volume(probe, player, at)
    await quiet(probe, player)


async def volume_left(probe: HaProbe, player: str) -> float:
    """The volume ``player`` was left at (off players hide it: this switches it on to see)."""
    await probe.call_service("media_player", "turn_on", {"entity_id": player})
    back_on = await probe.state(player)
    assert back_on is not None
    volume: float = back_on["attributes"]["volume_level"]
    return volume


def ramp_up(player: str, media_content_id: str) -> PlayCalmingActionConfig:
    """Calming music on ``player`` from volume 0.05 up to 0.25 over 10 s (five 2-s steps)."""
    return PlayCalmingActionConfig(
        action="play_calming",
        target=player,
        media_content_id=media_content_id,
        volume=0.25,
        start_volume=0.05,
        ramp=10,
    )


def calm_at_once(player: str, volume: float, **fields: Any) -> PlayCalmingActionConfig:
    """Calming music ("calm") on ``player`` at ``volume`` from its start (no ramp)."""
    return PlayCalmingActionConfig(
        action="play_calming",
        target=player,
        media_content_id="calm",
        volume=volume,
        ramp=0,
        **fields,
    )


async def test_box_breathing_speaks_through_a_tts_entity_and_paces_the_light(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await probe.call_service("light", "turn_on", {"entity_id": BED, "brightness": 200})
    await quiet(probe, "media_player.living_room")
    clock, actuator = actuator_on_a_step_clock(ha_client)
    action = BreathingActionConfig(
        action="breathing",
        preset="box",
        cycles=1,
        media_player="media_player.living_room",
        tts_entity="tts.ambient_test",
        lights=[BED],
    )

    result = await actuator.perform(action, context("b1", clock))
    assert result.ok, result.detail
    timeline = await run_session(clock, probe, steps=6)

    assert timeline == [
        (0.0, action.opening),
        (OPENING_S, CUES["inhale"]),
        (OPENING_S + 4, CUES["hold"]),
        (OPENING_S + 8, CUES["exhale"]),
        (OPENING_S + 12, CUES["hold_out"]),
        (OPENING_S + 16, action.closing),
    ]
    speak = next(e for e in probe.events if is_cue(e)).data
    assert speak["service_data"]["entity_id"] == ["tts.ambient_test"]
    assert speak["service_data"]["media_player_entity_id"] == "media_player.living_room"
    # The TTS entity really spoke: HA played its audio on the media player.
    played = await probe.wait_for(
        lambda e: (
            e.event_type == "call_service"
            and e.data["service"] == "play_media"
            and "tts" in str(e.data["service_data"].get("media_content_id", ""))
        )
    )
    assert played.data["service_data"]["entity_id"] == ["media_player.living_room"]
    # Lights: dim for the opening, up on the inhale, down on the exhale, fading over the phase.
    levels = [
        (e.data["service_data"]["brightness_pct"], e.data["service_data"]["transition"])
        for e in probe.events
        if pacing(e)
    ]
    assert levels == [(15, 1.0), (60, 4.0), (15, 4.0)]
    await actuator.end_episode(context("b1", clock))
    restored = await probe.state(BED)
    assert restored is not None and restored["attributes"]["brightness"] == 200


async def test_legacy_tts_say_resonance_at_five_and_a_half_breaths(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await quiet(probe, "media_player.bedroom")
    clock, actuator = actuator_on_a_step_clock(ha_client)
    action = BreathingActionConfig(
        action="breathing",
        preset="resonance",
        cycles=2,
        media_player="media_player.bedroom",
        tts_service="tts.demo_say",
    )
    result = await actuator.perform(action, context("b2", clock))
    assert result.ok
    assert "5.5/min" in result.detail
    timeline = await run_session(clock, probe, steps=6)
    assert [t for t, _ in timeline] == [0.0, 6.0, 11.5, 17.0, 22.5, 28.0]
    cues = [e.data for e in probe.events if is_cue(e)]
    assert {c["service"] for c in cues} == {"demo_say"}
    assert {c["service_data"]["entity_id"] for c in cues} == {"media_player.bedroom"}


async def test_breathing_stops_early_on_recovery(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    await quiet(probe, "media_player.bedroom")
    clock, actuator = actuator_on_a_step_clock(ha_client)
    action = BreathingActionConfig(
        action="breathing",
        preset="4-7-8",
        cycles=4,
        media_player="media_player.bedroom",
        tts_service="tts.demo_say",
    )
    assert (await actuator.perform(action, context("b3", clock))).ok
    await run_session(clock, probe, steps=2)  # opening, first inhale
    await clock.next_timer()
    await actuator.end_episode(replace(context("b3", clock), recovery=True))
    assert clock.next_due() is None  # nothing left scheduled
    clock.advance_to(clock.now() + 600)
    spoken = [e.data["service_data"]["message"] for e in probe.events if is_cue(e)]
    assert spoken == [action.opening, CUES["inhale"]]


async def test_calming_media_ramps_the_volume_and_restores_it_on_recovery(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    player = "media_player.bedroom"
    await nobody_listening(probe, player, at=0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)
    action = ramp_up(player, "https://example.invalid/calm.m3u")
    result = await actuator.perform(action, context("m1", clock))
    assert result.ok, result.detail
    start = clock.now()
    steps: list[tuple[float, float]] = []
    for _ in range(5):
        at = await clock.fire_next()
        # Two volume_set calls came first (the test's 0.6, the quiet start); each step adds one.
        event = (await probe.wait_count(volume_set, len(steps) + 3))[-1]
        steps.append((round(at - start, 3), event.data["service_data"]["volume_level"]))
    assert steps == [(2.0, 0.09), (4.0, 0.13), (6.0, 0.17), (8.0, 0.21), (10.0, 0.25)]
    # (call_service events come as a call starts: wait for the state it leads to.)
    playing = await probe.wait_for_state(
        player, lambda s: s["attributes"].get("volume_level") == 0.25
    )
    # (HA's demo player takes the media but stays paused; real players start playing.)
    assert playing["attributes"]["media_content_id"] == action.media_content_id
    order = [
        e.data["service"]
        for e in probe.service_calls("media_player")
        if player in str(e.data["service_data"].get("entity_id"))
    ]
    assert order[2:4] == ["volume_set", "play_media"]  # quiet first, then play

    await actuator.end_episode(context("m1", clock))
    after = await probe.state(player)
    assert after is not None
    assert after["state"] == "off"
    assert await volume_left(probe, player) == 0.6


async def test_a_volume_someone_sets_during_the_ramp_stands_and_the_player_stays_theirs(
    ha_client: HomeAssistantClient, probe: HaProbe, someone_else: HaProbe
) -> None:
    # The calming music is too loud for Alex, who turns it down in the HA app while the ramp
    # is still raising it: ambient must not turn it up again, nor stop it and reset it later.
    player = "media_player.bedroom"
    await nobody_listening(probe, player, at=0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)
    action = ramp_up(player, "calm")
    assert (await actuator.perform(action, context("m4", clock))).ok
    await clock.fire_next()  # the first step up, then Alex acts
    await probe.wait_for_state(player, lambda s: s["attributes"].get("volume_level") == 0.09)
    someone_else_id = (await someone_else.call("auth/current_user"))["id"]
    heard = asyncio.Event()
    ha_client.watch_entities(
        [player],
        lambda e, new, old: (
            heard.set()
            if new and (new.get("context") or {}).get("user_id") == someone_else_id
            else None
        ),
    )
    await someone_else.call_service(
        "media_player", "volume_set", {"entity_id": player, "volume_level": 0.15}
    )
    await asyncio.wait_for(heard.wait(), 10)
    # `ambient status` names it as taken over by hand, not as something recovery puts back.
    held = {player: {"overridden_by": someone_else_id, "put_back": False}}
    assert actuator.diagnostics()["m4"]["media"] == held

    async def step_forever() -> None:
        while True:
            await clock.fire_next()

    stepper = asyncio.create_task(step_forever())
    try:
        await actuator.end_episode(context("m4", clock))  # waits for the ramp to be over
    finally:
        stepper.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await stepper

    after = await probe.state(player)
    assert after is not None
    assert after["state"] != "off"  # not stopped
    assert after["attributes"]["volume_level"] == 0.15


async def test_two_episodes_on_one_player_end_with_the_volume_from_before_both(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    # Two rules (or two people's episodes) play calming music on the same speaker.
    player = "media_player.bedroom"
    await set_volume(probe, player, 0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)
    await actuator.perform(calm_at_once(player, 0.3, interrupt=True), context("m5", clock))
    await probe.wait_for_state(player, lambda s: s["attributes"].get("volume_level") == 0.3)
    await actuator.perform(calm_at_once(player, 0.4, interrupt=True), context("m6", clock))

    await actuator.end_episode(context("m5", clock))
    still = await probe.state(player)
    assert still is not None
    assert still["state"] != "off"  # the other episode's music plays on
    assert still["attributes"]["volume_level"] == 0.4

    await actuator.end_episode(context("m6", clock))
    assert await volume_left(probe, player) == 0.6


async def test_the_volumes_remembered_for_a_player_are_only_its_current_episodes(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """ambient remembers the volumes it set so that HA reporting one back is not taken for a
    person's hand. Kept from every episode, that memory grew for the life of the daemon, and an
    old volume a person later chose by hand passed for ambient's: a new hold starts it afresh."""
    player = "media_player.bedroom"
    await set_volume(probe, player, 0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)
    fields: dict[str, Any] = {
        "interrupt": True,
        "stop_on_recovery": False,  # the player plays on for the next test
    }
    await actuator.perform(calm_at_once(player, 0.3, **fields), context("m7", clock))
    await actuator.end_episode(context("m7", clock))
    await actuator.perform(calm_at_once(player, 0.4, **fields), context("m8", clock))
    assert actuator.media.volumes_set(player) == [0.4]
    await actuator.end_episode(context("m8", clock))


def volume_set(event: SeenEvent) -> bool:
    """A volume_set on the bedroom player (calls from earlier tests may still arrive)."""
    return (
        event.event_type == "call_service"
        and event.data["service"] == "volume_set"
        and "media_player.bedroom" in str(event.data["service_data"].get("entity_id"))
    )


async def test_calming_media_does_not_interrupt_unless_asked(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    player = "media_player.living_room"
    await probe.call_service("media_player", "media_play", {"entity_id": player})
    clock, actuator = actuator_on_a_step_clock(ha_client)
    polite = await actuator.perform(calm_at_once(player, 0.25), context("m2", clock))
    assert polite.ok
    assert "already playing" in polite.detail
    assert not polite.performed  # a choose_calming option that did nothing is not credited
    assert not [e for e in probe.service_calls("media_player") if e.data["service"] == "play_media"]

    forced = await actuator.perform(
        calm_at_once(player, 0.25, interrupt=True), context("m3", clock)
    )
    assert forced.ok
    play = [e for e in probe.service_calls("media_player") if e.data["service"] == "play_media"]
    assert [e.data["service_data"]["media_content_id"] for e in play] == ["calm"]


async def test_calming_media_a_player_fails_to_play_is_left_at_its_own_volume(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """The volume is lowered before the music starts (it must start quietly); a player whose
    integration then fails to play the media (HA's demo group player: ``play_media`` raises)
    is put back at the volume it had, not left at the quiet start for good."""
    player = "media_player.group"
    await nobody_listening(probe, player, at=0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)

    result = await actuator.perform(ramp_up(player, "spotify:playlist:gone"), context("m9", clock))

    assert not result.ok and result.detail.startswith("HA rejected play_calming")
    assert await volume_left(probe, player) == 0.6
    assert actuator.diagnostics()["m9"]["media"] == {}  # recovery has nothing to stop


SLOW_SPEAKER = "media_player.slow_speaker"


def to_slow_speaker(event: SeenEvent) -> bool:
    """The slow speaker's play_media reaching the service that holds it until released."""
    return event.event_type == "call_service" and event.data["service"] == "slow_phone"


async def calm_on_the_slow_speaker(
    client: HomeAssistantClient, probe: HaProbe, episode: str, action: PlayCalmingActionConfig
) -> tuple[StepClock, HomeAssistantActuator, asyncio.Task[ActionResult]]:
    """The slow speaker paused at someone's volume 0.6, and ``action`` on it under way through
    the dispatcher (timeouts and retries on the step clock): the clock, the actuator and the
    action's task."""
    await nobody_listening(probe, SLOW_SPEAKER, at=0.6)
    clock, actuator = actuator_on_a_step_clock(client)
    dispatcher = ActionDispatcher(clock, [actuator])
    return clock, actuator, asyncio.create_task(dispatcher.perform(action, context(episode, clock)))


async def test_calming_media_home_assistant_does_not_start_in_time_gets_its_volume_back(
    ha: HomeAssistantInstance, ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """The volume is lowered, then play_media does not answer within the attempt's timeout
    (a speaker slow to fetch the stream) and the action's time-to-live is over: HA may start
    the music yet, so the episode holds the player, and its end puts the volume back."""
    clock, actuator, sending = await calm_on_the_slow_speaker(
        ha_client, probe, "m10", ramp_up(SLOW_SPEAKER, "calm").model_copy(update={"ttl": 5})
    )
    try:
        await probe.wait_for(to_slow_speaker)  # quiet, and the music not started yet
        result = await clock.fire_until_done(sending)
    finally:
        await ha.fire_event("ambient_test_release", {})
    assert not result.ok and "no answer within 10 s" in result.detail
    await actuator.end_episode(context("m10", clock))

    assert await volume_left(probe, SLOW_SPEAKER) == 0.6


async def test_a_retry_of_calming_media_that_did_not_start_in_time_keeps_the_volume_from_before(
    ha: HomeAssistantInstance, ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """The retry after an unanswered play_media finds the player at ambient's quiet start: the
    volume the episode's end puts back is still the one from before the first attempt."""
    clock, actuator, sending = await calm_on_the_slow_speaker(
        ha_client, probe, "m11", calm_at_once(SLOW_SPEAKER, 0.25)
    )
    try:
        await probe.wait_for(to_slow_speaker)
        await clock.fire_next()  # the attempt's timeout
        await ha.fire_event("ambient_test_release", {})  # HA answers, too late
        await clock.fire_next()  # the retry
        await probe.wait_count(to_slow_speaker, 2)
    finally:
        await ha.fire_event("ambient_test_release", {})
    result = await sending
    assert result.ok, result.detail
    await actuator.end_episode(context("m11", clock))

    assert await volume_left(probe, SLOW_SPEAKER) == 0.6


async def test_calming_media_that_starts_after_its_episode_ended_is_stopped_all_the_same(
    ha: HomeAssistantInstance, ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """The person recovers while HA is still starting the calming music (a slow speaker): the
    episode's end puts the volume back at once, and the music HA then starts is stopped and its
    ramp never runs, rather than playing on, louder and louder, in an episode that is over."""
    await nobody_listening(probe, SLOW_SPEAKER, at=0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)
    playing = asyncio.create_task(
        actuator.perform(ramp_up(SLOW_SPEAKER, "calm"), context("m13", clock))
    )
    try:
        await probe.wait_for(to_slow_speaker)  # quiet, the music not started yet
        await actuator.end_episode(replace(context("m13", clock), recovery=True))
    finally:
        await ha.fire_event("ambient_test_release", {})  # … and now it starts
    await playing
    assert clock.next_due() is None  # no ramp left to raise it

    assert await volume_left(probe, SLOW_SPEAKER) == 0.6
    calls = [
        e.data["service"]
        for e in probe.service_calls("media_player")
        if SLOW_SPEAKER in str(e.data["service_data"].get("entity_id"))
    ]
    assert calls[calls.index("play_media") :] == [
        "play_media",
        *["media_stop", "volume_set"],  # the end, as HA was still starting it
        *["media_stop", "volume_set"],  # once it started: stopped again
        "turn_on",  # (volume_left's)
    ]


async def test_a_volume_someone_sets_after_the_end_stands_when_late_calming_media_is_undone(
    ha: HomeAssistantInstance,
    ha_client: HomeAssistantClient,
    probe: HaProbe,
    someone_else: HaProbe,
) -> None:
    """The person recovers while HA is still starting the calming music; the end puts the
    volume back, then someone turns the speaker to 0.3 in the HA app before HA answers the
    play. Undoing the late action leaves their volume as they set it: the speaker is theirs."""
    await nobody_listening(probe, SLOW_SPEAKER, at=0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)
    playing = asyncio.create_task(
        actuator.perform(calm_at_once(SLOW_SPEAKER, 0.25), context("m14", clock))
    )
    heard = asyncio.Event()
    ha_client.watch_entities(  # (the speaker reports it as its own: no user, not ambient's)
        [SLOW_SPEAKER],
        lambda e, new, old: (
            heard.set() if new and new["attributes"].get("volume_level") == 0.3 else None
        ),
    )
    try:
        await probe.wait_for(to_slow_speaker)  # quiet, the music not started yet
        await actuator.end_episode(replace(context("m14", clock), recovery=True))
        await someone_else.call_service("media_player", "turn_on", {"entity_id": SLOW_SPEAKER})
        await someone_else.call_service(
            "media_player", "volume_set", {"entity_id": SLOW_SPEAKER, "volume_level": 0.3}
        )
        await asyncio.wait_for(heard.wait(), 10)
    finally:
        await ha.fire_event("ambient_test_release", {})  # … and now HA answers the play
    await playing

    assert await volume_left(probe, SLOW_SPEAKER) == 0.3


async def test_a_volume_step_home_assistant_refuses_stops_the_ramp_and_the_end_puts_it_back(
    ha: HomeAssistantInstance,
    ha_client: HomeAssistantClient,
    probe: HaProbe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The speaker stops taking volume mid-ramp (HA refuses the step: its integration lost
    it): the ramp stops there, said once and counted, and the episode's end still stops the
    music and puts the volume from before back."""
    out_of_reach = {"entity_id": "input_boolean.bulb_out_of_reach"}
    await nobody_listening(probe, SLOW_SPEAKER, at=0.6)
    clock, actuator = actuator_on_a_step_clock(ha_client)
    playing = asyncio.create_task(
        actuator.perform(ramp_up(SLOW_SPEAKER, "calm"), context("m12", clock))
    )
    try:
        await probe.wait_for(to_slow_speaker)
    finally:
        await ha.fire_event("ambient_test_release", {})
    assert (await playing).ok
    await probe.call_service("input_boolean", "turn_on", out_of_reach)
    with caplog.at_level(logging.WARNING, logger="ambient.actuators"):
        try:
            await clock.fire_next()  # the first step up …
            await probe.wait_for(
                lambda e: e.event_type == "call_service" and e.data["service"] == "bulb_command"
            )  # … refused
        finally:
            await probe.call_service("input_boolean", "turn_off", out_of_reach)
        # The ramp's course is over there: its end does not wait for another step.
        await actuator.end_episode(context("m12", clock))

    assert clock.next_due() is None

    assert await volume_left(probe, SLOW_SPEAKER) == 0.6
    said = [r.getMessage() for r in caplog.records if "ramp" in r.getMessage()]
    assert said == [
        "Volume ramp on media_player.slow_speaker stopped: Home Assistant said "
        "home_assistant_error: Flaky bulb did not answer"  # (the test HA's refusal)
    ]
    assert ha_client.counters.get("ha:media_player.slow_speaker", "service_error") == 1


async def test_an_error_home_assistant_gives_no_reason_for_says_where_to_look(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    """HA's demo group player fails play_media with an error without a message (as an
    integration raising a bare error does): the line says so instead of ending in ': '."""
    player = "media_player.group"
    await quiet(probe, player)
    clock, actuator = actuator_on_a_step_clock(ha_client)

    result = await actuator.perform(ramp_up(player, "spotify:playlist:gone"), context("m8", clock))

    assert result.detail == (
        "HA rejected play_calming for media_player.group: unknown_error: Home Assistant gave "
        "no reason (its own log may say more)"
    )
