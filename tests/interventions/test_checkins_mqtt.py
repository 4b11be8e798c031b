"""Check-ins over the real Mosquitto: the question goes out on `<root>/checkin/<person>/question`,
an answer on `<root>/checkin/<person>` reaches the episode, a mood on `<root>/mood/<person>` is
kept; the person's calming sensor (discovery) shows the likeliest option and the rows.

The interventions run on a virtual clock (the episode is measured 20 minutes on); the broker
connection on the real one, as in the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import Collector, device_client, make_connection, running

from ambient.actuators.mqtt_discovery import DiscoveryPublisher
from ambient.clock import RealClock, VirtualClock
from ambient.config.actions import ChooseCalmingStepConfig
from ambient.config.root import AmbientConfig
from ambient.connections.mqtt import MqttConnection
from ambient.counters import Counters
from ambient.hub import Hub
from ambient.interventions.checkin_book import CheckInBook
from ambient.interventions.checkin_links import parse_answer
from ambient.interventions.checkin_wiring import add_check_ins, add_entity
from ambient.interventions.checkins import CheckIns
from ambient.interventions.chooser import CalmingChooser
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.recorder import EpisodeRecorder
from ambient.store import Store

T0 = 1_800_000_000.0  # 08:00 UTC
WAIT_S = 10.0


def config_for(broker: MosquittoBroker, choose: bool = True) -> AmbientConfig:
    calming = {
        "choose_calming": {
            "options": [
                {"id": "breathe", "actions": [{"action": "log", "message": "breathe"}]},
                {"id": "music", "actions": [{"action": "log", "message": "music"}]},
            ]
        }
    }
    rule = {
        "id": "calm",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70}],
        "actions": [calming if choose else {"action": "log", "message": "calm"}],
    }
    return AmbientConfig.model_validate(
        {
            "instance": "test",
            "timezone": "UTC",
            "people": [{"id": "alex", "name": "Alex"}],
            "mqtt": {"host": broker.host, "port": broker.port, "publish_interval": 0.1},
            "store": {"path": None},
            "rules": [rule],
            "check_ins": {"per_day": 2},
        }
    )


class Links:
    """The daemon's shared connections, as far as check-ins use them (MQTT only here)."""

    def __init__(self, mqtt: MqttConnection) -> None:
        self._mqtt = mqtt

    def mqtt(self) -> MqttConnection:
        return self._mqtt


def test_the_calming_sensor_is_announced_only_when_a_rule_lets_ambient_choose(
    mosquitto: MosquittoBroker,
) -> None:
    connection = make_connection(mosquitto)
    chooses = DiscoveryPublisher(config_for(mosquitto), connection, Hub(), VirtualClock(T0))
    component = chooses.payloads.person("alex", "Alex")["cmps"]["calming_choice"]
    assert component["p"] == "sensor"
    assert component["state_topic"] == "ambient/test/alex/calming_choice"
    assert component["json_attributes_topic"] == "ambient/test/alex/calming_choice/attributes"
    assert component["unique_id"] == "ambient_test_alex_calming_choice"
    plain = DiscoveryPublisher(config_for(mosquitto, False), connection, Hub(), VirtualClock(T0))
    assert "calming_choice" not in plain.payloads.person("alex", "Alex")["cmps"]


async def test_a_question_on_mqtt_is_answered_on_mqtt_and_the_sensor_shows_it(
    mosquitto: MosquittoBroker,
) -> None:
    config = config_for(mosquitto)
    clock, hub, store = VirtualClock(T0), Hub(), Store(None)
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book)
    connection = make_connection(mosquitto)
    entity = add_entity(config, clock, book, recorder, hub)
    checkins = add_check_ins(config, clock, store, book, recorder, hub, Links(connection), entity)
    assert checkins is not None
    assert checkins.instance == "test"  # named in its notifications' buttons and tags
    answered = asyncio.Event()
    checkins.answered_listeners.append(lambda _person: answered.set())
    chooser = CalmingChooser(clock, book, recorder, ZoneInfo("UTC"))
    (step,) = [a for a in config.rules[0].actions if isinstance(a, ChooseCalmingStepConfig)]
    # The sensor's states are published on the real clock, as the daemon's outside links are.
    publisher = DiscoveryPublisher(config, connection, hub, RealClock())

    questions, question_topic = Collector(), Collector()
    async with running(connection), device_client(mosquitto, "phone") as phone:
        await connection.wait_subscribed("ambient/test/checkin/+")
        await connection.wait_subscribed("ambient/test/mood/+")
        publishing = asyncio.ensure_future(publisher.run())
        await phone.subscribe("ambient/test/checkin/alex/question", qos=1)
        await phone.subscribe("ambient/test/alex/calming_choice/#", qos=1)
        reader = asyncio.ensure_future(_forward(phone, questions, question_topic))
        try:
            decision = chooser.decide(step.choose_calming, "calm", "alex")
            episode = chooser.started(step.choose_calming, "calm", "alex", decision, {})
            await clock.run_until(T0 + 1200)  # measured: the question goes out

            asked = await questions.until(lambda m: m.topic.endswith("/question"))
            question = json.loads(asked.payload)
            assert question["episode"] == episode
            assert question["answers"] == ["calmer", "same", "worse"]
            assert question["answer_topic"] == "ambient/test/checkin/alex"
            assert question["question"] == f"How do you feel after the {decision.option}?"
            assert question["state"] == "open"

            # In order from one client: once the answer is in, the mood before it is too.
            await phone.publish("ambient/test/mood/alex", b"good", qos=1)
            await phone.publish("ambient/test/checkin/alex", b"calmer", qos=1)
            await asyncio.wait_for(answered.wait(), WAIT_S)
            (row,) = book.episodes("alex")
            assert row.check_in == "calmer"
            states = await asyncio.wait_for(_calming_sensor(questions), WAIT_S)
            # An HA card or an app showing the question takes it down: it was answered.
            closed = await question_topic.until(lambda m: b'"closed"' in m.payload)
        finally:
            reader.cancel()
            publishing.cancel()
            await asyncio.gather(reader, publishing, return_exceptions=True)

    assert closed.topic == "ambient/test/checkin/alex/question"
    assert not closed.retain
    assert json.loads(closed.payload) == question | {"state": "closed", "closed": "answered"}
    assert states["ambient/test/alex/calming_choice"].decode() in ("breathe", "music")
    attributes = json.loads(states["ambient/test/alex/calming_choice/attributes"])
    assert attributes["rule"] == "calm"
    by_option = {row["option"]: row for row in attributes["options"]}
    assert set(by_option) == {"breathe", "music"}
    assert by_option[str(decision.option)]["check_ins"] == 1
    assert sum(row["probability"] for row in by_option.values()) == pytest.approx(1.0, abs=0.01)
    moods = CheckInBook(store).rows("alex", "mood")
    assert [(m.answer, m.source) for m in moods] == [("good", "mqtt")]


async def test_an_answer_naming_no_possible_episode_is_not_a_handler_error(
    mosquitto: MosquittoBroker,
) -> None:
    """Any client may publish on the answer topic: an episode int() refuses ('²', thousands
    of digits) or JSON nested thousands deep raised in the handler (counted as its error,
    logged); each is an answer that matches no question, as any other stray text."""
    config = config_for(mosquitto)
    clock, hub, store = VirtualClock(T0), Hub(), Store(None)
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book)
    counters = Counters()
    connection = make_connection(mosquitto, counters=counters)
    entity = add_entity(config, clock, book, recorder, hub)
    checkins = add_check_ins(config, clock, store, book, recorder, hub, Links(connection), entity)
    assert checkins is not None
    stray = [
        json.dumps({"answer": "calmer", "episode": "²"}),
        json.dumps({"answer": "calmer", "episode": "9" * 5000}),
        '{"answer": "calmer", "episode": ' + "[" * 5000 + "]" * 5000 + "}",
        "[" * 5000 + "]" * 5000,
    ]
    seen = Collector()  # after the check-ins' own handler: it has taken what this one sees
    connection.subscribe("ambient/test/checkin/+", seen)
    async with running(connection), device_client(mosquitto, "phone") as phone:
        await connection.wait_subscribed("ambient/test/checkin")
        await connection.wait_subscribed("ambient/test/checkin/+")
        for payload in stray:
            await phone.publish("ambient/test/checkin", payload, qos=1)
            await phone.publish("ambient/test/checkin/alex", payload, qos=1)
        await phone.publish("ambient/test/checkin/alex", b"same", qos=1)  # in order: the last
        await seen.until(lambda message: message.payload == b"same")
    assert counters.get("mqtt:ambient/test/checkin", "handler_error") == 0
    assert counters.get("mqtt:ambient/test/checkin/+", "handler_error") == 0
    assert checkins.counts["answered"] == 0


@pytest.mark.parametrize(
    ("payload", "read"),
    [
        (b" calmer\n", ("calmer", None)),
        (b'{"answer": "worse", "episode": 12}', ("worse", 12)),
        (b'{"answer": "worse", "episode": "12"}', ("worse", 12)),
        (b'{"answer": "worse", "episode": true}', ("worse", None)),
        (b'{"answer": "worse", "episode": 1.0}', ("worse", None)),
        (b'{"answer": "worse", "episode": [12]}', ("worse", None)),
    ],
)
def test_an_answer_names_an_episode_only_by_its_number(
    payload: bytes, read: tuple[str, int | None]
) -> None:
    assert parse_answer(payload) == read


async def _forward(client: Any, collector: Collector, questions: Collector | None = None) -> None:
    """Every message to ``collector``; those on a question topic to ``questions`` too."""
    from ambient.connections.mqtt import MqttMessage

    async for message in client.messages:
        got = MqttMessage(message.topic.value, bytes(message.payload), bool(message.retain))
        collector(got)
        if questions is not None and got.topic.endswith("/question"):
            questions(got)


async def _calming_sensor(messages: Collector) -> dict[str, bytes]:
    """The calming sensor's state and attributes once both show what was learnt."""
    seen: dict[str, bytes] = {}
    while not (
        seen.get("ambient/test/alex/calming_choice", b"None") != b"None"
        and "ambient/test/alex/calming_choice/attributes" in seen
        and b'"check_ins": 1' in seen["ambient/test/alex/calming_choice/attributes"]
    ):
        message = await messages.next()
        seen[message.topic] = message.payload
    return seen


@dataclass
class Refusing:
    """Alex asked over MQTT about a calming episode, and then the store refusing every write."""

    checkins: CheckIns
    counters: Counters
    phone: aiomqtt.Client
    questions: Collector
    episode: int | None


@contextlib.asynccontextmanager
async def asked_then_refusing(mosquitto: MosquittoBroker, path: Path) -> AsyncIterator[Refusing]:
    """A full SD card, or one the kernel remounted read-only, after the question went out.
    SQLite's query_only stands in for the refusing card (a real one cannot be made full or
    read-only here); the store names it as it names a full disk."""
    config = config_for(mosquitto)
    clock, hub, store = VirtualClock(T0), Hub(), Store(path)
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book)
    counters = Counters()
    connection = make_connection(mosquitto, counters=counters)
    entity = add_entity(config, clock, book, recorder, hub)
    checkins = add_check_ins(config, clock, store, book, recorder, hub, Links(connection), entity)
    assert checkins is not None
    chooser = CalmingChooser(clock, book, recorder, ZoneInfo("UTC"))
    (step,) = [a for a in config.rules[0].actions if isinstance(a, ChooseCalmingStepConfig)]
    questions = Collector()
    async with running(connection), device_client(mosquitto, "phone") as phone:
        await connection.wait_subscribed("ambient/test/checkin/+")
        await connection.wait_subscribed("ambient/test/mood/+")
        await phone.subscribe("ambient/test/checkin/alex/question", qos=1)
        reader = asyncio.ensure_future(_forward(phone, questions))
        try:
            decision = chooser.decide(step.choose_calming, "calm", "alex")
            episode = chooser.started(step.choose_calming, "calm", "alex", decision, {})
            await clock.run_until(T0 + 1200)
            await questions.until(lambda m: b'"open"' in m.payload)
            store.query("PRAGMA query_only = ON")  # the card refuses every write from now on
            yield Refusing(checkins, counters, phone, questions, episode)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def test_an_answer_the_store_cannot_keep_is_one_line_and_counted_not_a_handler_error(
    mosquitto: MosquittoBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The store refused the answer's write: the handler raised, the connection logged a bare
    "Handling an MQTT message … failed" and the answer was gone. Now one line says whose
    answer about which episode was not recorded and why, it is counted (`not_recorded`), and
    the question is still taken down: the person did answer."""
    caplog.set_level(logging.INFO)
    async with asked_then_refusing(mosquitto, tmp_path / "ambient.db") as alex:
        await alex.phone.publish("ambient/test/checkin/alex", b"calmer", qos=1)
        closed = await alex.questions.until(lambda m: b'"closed"' in m.payload)

    assert json.loads(closed.payload)["closed"] == "answered"
    assert alex.counters.get("mqtt:ambient/test/checkin/+", "handler_error") == 0
    assert alex.checkins.counts["not_recorded"] == 1
    assert alex.checkins.counts["answered"] == 0
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert lines == [
        f"Check-in answer of alex about episode {alex.episode} not recorded: store "
        f"{tmp_path / 'ambient.db'} cannot be used (attempt to write a readonly database)"
    ]
    assert "calmer" not in caplog.text.replace("ambient/test/checkin", "")


async def test_a_mood_the_store_cannot_keep_is_one_line_naming_whose_and_counted(
    mosquitto: MosquittoBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A mood the store refused: the handler raised, the connection logged a bare "Handling
    an MQTT message … failed", and nothing said whose mood was lost. Now it is one line
    naming the person (not the mood: health data), counted as `not_recorded`. The mood is
    followed by an answer from the same phone, which the broker hands over after it: once
    the question is taken down, the mood has been handled."""
    caplog.set_level(logging.INFO)
    async with asked_then_refusing(mosquitto, tmp_path / "ambient.db") as alex:
        await alex.phone.publish("ambient/test/mood/alex", b"bad", qos=1)
        await alex.phone.publish("ambient/test/checkin/alex", b"calmer", qos=1)
        await alex.questions.until(lambda m: b'"closed"' in m.payload)

    assert alex.counters.get("mqtt:ambient/test/mood/+", "handler_error") == 0
    assert alex.checkins.counts["not_recorded"] == 2
    assert alex.checkins.status()["people"]["alex"]["not_recorded"] == 2
    db = tmp_path / "ambient.db"
    unkept = f"store {db} cannot be used (attempt to write a readonly database)"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    # The answer refused next, the card still full, is at DEBUG: one line for the refusals.
    assert lines == [f"Daily mood of alex not recorded: {unkept}"]
    assert "bad" not in caplog.text.replace("readonly database", "")
