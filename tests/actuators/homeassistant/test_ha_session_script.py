"""A breathing session's words made for the moment, against a real HA: from the template by
default; from the user's LLM through ``ai_task.generate_data`` when configured — told only
coarse context, its answer checked (pacing clamped) and replaced by the template when it is
malformed, rejected by HA or late.

The LLM is a stand-in (none can run here): ``ai_task.ambient_test`` in the test component
(tests/fixtures/ha_config/custom_components/ambient_test/assistant.py) answers what each test
sets. The test HA is 2025.4, older than HA's ``ai_task`` (2025.8), so the stand-in registers
``ai_task.generate_data`` itself, with the real service's fields and answer shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import pytest
from fixtures.homeassistant import HaProbe, SeenEvent, StepClock

from ambient.actuators.ha_breathing import CUES, OPENING_S, opening_s
from ambient.actuators.homeassistant import HomeAssistantActuator
from ambient.config.actions import BreathingActionConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.messages import ActionContext

pytestmark = pytest.mark.ha

ASSISTANT = "ai_task.ambient_test"
#: What the rule saw when it fired: heart figures that must never reach the LLM.
HEART_SIGNALS: dict[str, Any] = {"hr": 97.3, "rmssd": 18.6, "stress_score": 83.0}
GOOD_ANSWER: dict[str, Any] = {
    "opening": "Hello Alex, let's slow down together.",
    "closing": "That was good. Carry this calm with you.",
    "inhale_seconds": 4,
    "exhale_seconds": 6,
    "cycles": 5,
}


@pytest.fixture
async def assistant(probe: HaProbe) -> AsyncIterator[HaProbe]:
    """The stand-in LLM; whatever a test left waiting is released (answered with an error)."""
    yield probe
    await set_answer(probe, None)


@pytest.fixture(autouse=True)
async def quiet_bedroom(probe: HaProbe) -> None:
    """HA's demo players start out playing and cannot announce: a session would not speak over
    them. The bedroom speaker is paused, as one nobody is listening to."""
    await probe.call_service("media_player", "media_pause", {"entity_id": "media_player.bedroom"})


async def set_answer(probe: HaProbe, data: Any, *, hold: bool = False) -> None:
    await probe.call_service("ambient_test", "set_assistant_answer", {"data": data, "hold": hold})


def breathing(**script: Any) -> BreathingActionConfig:
    return BreathingActionConfig.model_validate(
        {
            "action": "breathing",
            "preset": "resonance",
            "cycles": 6,
            "media_player": "media_player.bedroom",
            "tts_service": "tts.demo_say",
            "script": script,
        }
    )


def context(episode: str, clock: StepClock, stressed_min: float = 14) -> ActionContext:
    return ActionContext(
        rule="breathe",
        person="alex",
        episode=episode,
        time=clock.now(),
        signals=HEART_SIGNALS,
        since=clock.now() - stressed_min * 60,
    )


def actuator(client: HomeAssistantClient, clock: StepClock) -> HomeAssistantActuator:
    # The StepClock starts at 13:46 UTC: "afternoon".
    return HomeAssistantActuator(client, clock, names={"alex": "Alex"}, zone=UTC)


def is_cue(event: SeenEvent) -> bool:
    return event.event_type == "call_service" and event.data["service"] == "demo_say"


def is_request(event: SeenEvent) -> bool:
    return event.event_type == "call_service" and (
        event.data["domain"],
        event.data["service"],
    ) == ("ai_task", "generate_data")


async def spoken(clock: StepClock, probe: HaProbe, steps: int) -> list[tuple[float, str]]:
    """The opening (spoken as the action started the session, at 0), then: step the session's
    clock; after each step wait for its cue to reach HA."""
    start = clock.now()
    timeline: list[tuple[float, str]] = []
    for index in range(steps):
        at = await clock.fire_next() if index else start
        cue = (await probe.wait_count(is_cue, index + 1))[index]
        timeline.append((round(at - start, 3), cue.data["service_data"]["message"]))
    return timeline


async def stop(ha_actuator: HomeAssistantActuator, episode: str, clock: StepClock) -> None:
    recovered = ActionContext(
        rule="breathe", person="alex", episode=episode, time=clock.now(), recovery=True
    )
    await ha_actuator.end_episode(recovered)


async def test_without_an_assistant_the_template_speaks_to_the_person_and_the_moment(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    result = await ha_actuator.perform(breathing(), context("s1", clock))
    assert result.ok, result.detail
    assert result.detail.endswith("script: template")
    timeline = await spoken(clock, probe, steps=2)
    opening = (
        "Hello, Alex. It has been a tense 14 minutes. Let's breathe together for a minute: "
        "in for 5.5, out for 5.5. Follow my voice."
    )
    # Heard out before the first cue (about 10 s of speech).
    assert timeline == [(0.0, opening), (opening_s(opening), CUES["inhale"])]
    assert opening_s(opening) > OPENING_S
    assert not [e for e in probe.events if is_request(e)]
    await stop(ha_actuator, "s1", clock)


async def test_the_assistants_checked_script_is_spoken_and_its_pacing_clamped(
    ha_client: HomeAssistantClient, assistant: HaProbe
) -> None:
    # Too quick a breath in, far too long a breath out, too few breaths: all clamped.
    await set_answer(
        assistant, {**GOOD_ANSWER, "inhale_seconds": 1, "exhale_seconds": 30, "cycles": 1}
    )
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    action = breathing(assistant={"entity_id": ASSISTANT, "timeout": "8s"})

    result = await ha_actuator.perform(action, context("s2", clock))

    assert result.ok, result.detail
    assert "3 cycles at 4.6/min" in result.detail  # 3 s in + 10 s out
    assert result.detail.endswith("script: assistant (checked)")
    assert ha_client.counters.get(f"ha:{ASSISTANT}", "assistant_fallback") == 0
    timeline = await spoken(clock, probe=assistant, steps=7)
    first = opening_s(GOOD_ANSWER["opening"])
    assert timeline == [
        (0.0, GOOD_ANSWER["opening"]),
        (first, CUES["inhale"]),
        (first + 3, CUES["exhale"]),
        (first + 13, CUES["inhale"]),
        (first + 16, CUES["exhale"]),
        (first + 26, CUES["inhale"]),
        (first + 29, CUES["exhale"]),
    ]
    assert await spoken_next(clock, assistant) == GOOD_ANSWER["closing"]


async def spoken_next(clock: StepClock, probe: HaProbe) -> str:
    count = len([e for e in probe.events if is_cue(e)])
    await clock.fire_next()
    cue = (await probe.wait_count(is_cue, count + 1))[count]
    message: str = cue.data["service_data"]["message"]
    return message


async def test_the_assistant_is_told_the_moment_and_never_a_heart_figure(
    ha_client: HomeAssistantClient, assistant: HaProbe
) -> None:
    await set_answer(assistant, GOOD_ANSWER)
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    action = breathing(assistant={"entity_id": ASSISTANT})
    assert (await ha_actuator.perform(action, context("s3", clock))).ok

    request = (await assistant.wait_for(is_request)).data["service_data"]
    assert request["entity_id"] == ASSISTANT
    assert set(request) == {"task_name", "entity_id", "instructions", "structure"}
    assert set(request["structure"]) == {
        "opening",
        "closing",
        "inhale_seconds",
        "exhale_seconds",
        "cycles",
    }
    instructions = request["instructions"]
    assert "Alex" in instructions and "afternoon" in instructions
    assert "14 minutes" in instructions
    # What HA received, every key and value: none of the heart figures the rule saw.
    sent = json.dumps(request).lower()
    for key, value in HEART_SIGNALS.items():
        assert not re.search(rf"\b{key}\b", sent)
        assert f"{value:g}" not in sent
    for word in ("heart", "bpm", "hrv", "pulse"):
        assert word not in sent
    await stop(ha_actuator, "s3", clock)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("Sure! Breathe in slowly, then out.", "the answer is not an object"),
        ({**GOOD_ANSWER, "closing": "Read more at https://calm.example.org"}, "holds a link"),
        ({**GOOD_ANSWER, "opening": "This will cure your panic attack."}, "medical claim"),
        ({**GOOD_ANSWER, "cycles": "many"}, "`cycles` is not a number"),
    ],
)
async def test_a_malformed_answer_gives_the_template(
    ha_client: HomeAssistantClient, assistant: HaProbe, answer: Any, why: str
) -> None:
    await set_answer(assistant, answer)
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    action = breathing(assistant={"entity_id": ASSISTANT}, opening="Hi {{ name }}, in we go.")

    result = await ha_actuator.perform(action, context("s4", clock))

    assert result.ok, result.detail
    assert "script: template (assistant's answer rejected" in result.detail
    assert why in result.detail
    assert "6 cycles at 5.5/min" in result.detail  # the configured pacing
    assert (await spoken(clock, assistant, steps=1))[0] == (0.0, "Hi Alex, in we go.")
    await stop(ha_actuator, "s4", clock)


async def test_no_answer_within_the_timeout_gives_the_template(
    ha_client: HomeAssistantClient, assistant: HaProbe
) -> None:
    await set_answer(assistant, GOOD_ANSWER, hold=True)  # the LLM never answers
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    action = breathing(assistant={"entity_id": ASSISTANT, "timeout": "8s"})
    start = clock.now()

    performing = asyncio.create_task(ha_actuator.perform(action, context("s5", clock)))
    await assistant.wait_for(is_request)  # HA has the request, and holds it
    assert await clock.fire_next() == start + 8.0  # the assistant's timeout, on the clock
    result = await performing

    assert result.ok, result.detail
    assert result.detail.endswith("script: template (assistant timed out)")
    assert ha_client.counters.get(f"ha:{ASSISTANT}", "assistant_fallback") == 1
    opening = (await spoken(clock, assistant, steps=1))[0]
    assert opening[1].startswith("Hello, Alex.")
    await stop(ha_actuator, "s5", clock)


async def test_an_assistant_ha_does_not_know_gives_the_template(
    ha_client: HomeAssistantClient, assistant: HaProbe
) -> None:
    await set_answer(assistant, GOOD_ANSWER)
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    action = breathing(assistant={"entity_id": "ai_task.nobody"})

    result = await ha_actuator.perform(action, context("s6", clock))

    assert result.ok, result.detail
    assert "script: template (assistant failed:" in result.detail
    assert "ai_task.nobody" in result.detail
    await stop(ha_actuator, "s6", clock)


async def test_a_lost_answer_never_outlives_the_attempt(
    ha_client: HomeAssistantClient, assistant: HaProbe
) -> None:
    """The dispatcher's attempt covers the assistant's wait: cancelled (a recovery during the
    wait), nothing is spoken afterwards."""
    await set_answer(assistant, GOOD_ANSWER, hold=True)
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    action = breathing(assistant={"entity_id": ASSISTANT})
    performing = asyncio.create_task(ha_actuator.perform(action, context("s7", clock)))
    await assistant.wait_for(is_request)
    performing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await performing
    await set_answer(assistant, GOOD_ANSWER)
    assert clock.next_due() is None
    assert not [e for e in assistant.events if is_cue(e)]


async def test_the_breathing_button_speaks_to_the_one_person_at_home(
    ha_client: HomeAssistantClient, probe: HaProbe
) -> None:
    clock = StepClock()
    ha_actuator = actuator(ha_client, clock)
    pressed = ActionContext(rule="breathing_button", person=None, episode="s8", time=clock.now())
    result = await ha_actuator.perform(breathing(opening="Hi {{ name }}."), pressed)
    assert result.ok, result.detail
    assert (await spoken(clock, probe, steps=1))[0] == (0.0, "Hi Alex.")
    await stop(ha_actuator, "s8", clock)
