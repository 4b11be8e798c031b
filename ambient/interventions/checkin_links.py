"""Where check-ins are asked and answered: Home Assistant and MQTT.

Home Assistant: an actionable notification on the companion app (``notify.mobile_app_*`` with
``data.actions``; each button's action is ``AMBIENT_CHECKIN_<episode>_<ANSWER>``, with
``<instance>_`` before the episode unless the instance is the default one), whose answers
arrive as ``mobile_app_notification_action`` events on HA's bus; a question left unanswered is
withdrawn (``clear_notification`` by its ``tag``); an Android phone also removes it by itself
when the question closes (``timeout``), should ambient be off then. A person's mood
``input_select`` is watched.

MQTT, under ``<base_topic>/<instance>``: questions go out on ``checkin/<person>/question``
(JSON, ``"state": "open"``; the same message with ``"state": "closed"`` withdraws it); answers
come in on ``checkin/<person>`` (``calmer``, ``same``, ``worse``, or JSON ``{"answer": "calmer",
"episode": 12}``), on ``checkin`` (that JSON: what the shipped HA blueprint sends) and moods on
``mood/<person>``. Retained messages are ignored: an answer is a moment, not a state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from ambient.config.check_ins import CheckInsConfig
from ambient.connections.homeassistant import HomeAssistantClient
from ambient.connections.mqtt import MqttConnection, MqttMessage
from ambient.interventions.checkins import (
    ANSWERS,
    DEFAULT_INSTANCE,
    CheckIns,
    Question,
    action_id,
    episode_number,
    instance_part,
)
from ambient.interventions.mood import Moods

_LOGGER = logging.getLogger(__name__)

NOTIFICATION_ACTION_EVENT = "mobile_app_notification_action"


def notification(
    question: Question, title: str, timeout_s: float, instance: str = DEFAULT_INSTANCE
) -> dict[str, Any]:
    """The notify service data of a check-in: three buttons, one tag per episode, gone from an
    Android phone after ``timeout_s`` (the companion app's ``timeout``; iOS has none)."""
    episode = question.episode_id
    return {
        "title": title,
        "message": question.text,
        "data": {
            "tag": tag(episode, instance),
            "timeout": round(timeout_s),
            "actions": [
                {"action": action_id(episode, answer, instance), "title": answer.capitalize()}
                for answer in ANSWERS
            ],
        },
    }


def tag(episode_id: int, instance: str = DEFAULT_INSTANCE) -> str:
    return f"ambient_checkin_{instance_part(instance)}{episode_id}"


def link_homeassistant(
    checkins: CheckIns,
    moods: Moods,
    config: CheckInsConfig,
    client: HomeAssistantClient,
) -> None:
    """Ask through each person's notify service; hear the buttons and the mood entities."""
    for person, where in config.people.items():
        if where.notify is not None:
            domain, _, service = where.notify.partition(".")
            checkins.askers.setdefault(person, []).append(
                _notifier(
                    client, domain, service, config.title, float(config.timeout), checkins.instance
                )
            )
            checkins.withdrawers.setdefault(person, []).append(
                _withdrawer(client, domain, service, checkins.instance)
            )
        if where.mood_entity is not None:
            client.watch_entities([where.mood_entity], _mood_watcher(moods, person))
    if any(where.notify is not None for where in config.people.values()):
        client.watch_events(NOTIFICATION_ACTION_EVENT, checkins.on_notification_action)


def _notifier(
    client: HomeAssistantClient,
    domain: str,
    service: str,
    title: str,
    timeout_s: float,
    instance: str,
) -> Any:
    async def ask(question: Question) -> None:
        data = notification(question, title, timeout_s, instance)
        await client.call_service(domain, service, data)

    return ask


def _withdrawer(client: HomeAssistantClient, domain: str, service: str, instance: str) -> Any:
    async def withdraw(question: Question) -> None:
        data = {
            "message": "clear_notification",
            "data": {"tag": tag(question.episode_id, instance)},
        }
        await client.call_service(domain, service, data)

    return withdraw


def _mood_watcher(
    moods: Moods, person: str
) -> Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]:
    def changed(_entity: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> None:
        if old is None or new is None or new.get("state") == old.get("state"):
            return  # the first state seen is yesterday's choice, not a new mood
        moods.give(person, str(new.get("state")), "homeassistant")

    return changed


class MqttCheckIns:
    """The check-in topics of one daemon on its broker connection."""

    def __init__(
        self,
        checkins: CheckIns,
        moods: Moods,
        connection: MqttConnection,
        root: str,
        people: list[str],
    ) -> None:
        self._checkins = checkins
        self._moods = moods
        self._connection = connection
        self._root = root
        self._people = set(people)
        connection.subscribe(f"{root}/checkin", self._on_any_answer)
        connection.subscribe(f"{root}/checkin/+", self._on_answer)
        connection.subscribe(f"{root}/mood/+", self._on_mood)
        for person in people:
            checkins.askers.setdefault(person, []).append(self._ask)
            checkins.withdrawers.setdefault(person, []).append(self._withdraw)

    def answer_topic(self, person: str) -> str:
        return f"{self._root}/checkin/{person}"

    def question_topic(self, person: str) -> str:
        return f"{self._root}/checkin/{person}/question"

    async def _ask(self, question: Question) -> None:
        await self._publish(question, {"state": "open"})

    async def _withdraw(self, question: Question) -> None:
        """The question closed: whoever shows it (an HA card, an app) takes it down. Not
        retained either: a client that connects later has nothing to take down."""
        await self._publish(question, {"state": "closed", "closed": question.closed})

    async def _publish(self, question: Question, state: dict[str, Any]) -> None:
        payload = {
            "episode": question.episode_id,
            "person": question.person,
            "rule": question.rule,
            "option": question.option,
            "question": question.text,
            "answers": list(ANSWERS),
            "answer_topic": self.answer_topic(question.person),
            **state,
        }
        await self._connection.publish(
            self.question_topic(question.person), json.dumps(payload), qos=1
        )

    def _person(self, message: MqttMessage) -> str | None:
        person = message.topic.rsplit("/", 1)[-1]
        if message.retain or person not in self._people:
            return None
        return person

    def _on_answer(self, message: MqttMessage) -> None:
        person = self._person(message)
        if person is None:
            return
        answer, episode = parse_answer(message.payload)
        if not self._checkins.answer(person, answer, episode, "mqtt"):
            _LOGGER.info(
                "Check-in answer on %s matched no open question (expected one of %s)",
                message.topic,
                ", ".join(ANSWERS),
            )

    def _on_any_answer(self, message: MqttMessage) -> None:
        """``<root>/checkin``: JSON naming the episode (what the shipped blueprint sends)."""
        if message.retain:
            return
        answer, episode = parse_answer(message.payload)
        if episode is None:
            _LOGGER.warning(
                "Check-in answer on %s names no episode: send "
                '{"episode": <id>, "answer": "calmer"}, or answer on %s/<person>',
                message.topic,
                message.topic,
            )
            return
        self._checkins.answer(None, answer, episode, "mqtt")

    def _on_mood(self, message: MqttMessage) -> None:
        person = self._person(message)
        if person is not None:
            self._moods.give(person, message.payload.decode("utf-8", "replace"), "mqtt")


def parse_answer(payload: bytes) -> tuple[str, int | None]:
    """``calmer`` -> ("calmer", None); ``{"answer": "calmer", "episode": 12}`` -> ("calmer", 12).
    What is neither gives an empty answer, which matches no question."""
    text = payload.decode("utf-8", "replace").strip()
    if not text.startswith("{"):
        return text, None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested thousands deep
        return "", None
    if not isinstance(document, dict):
        return "", None
    episode = document.get("episode")
    if isinstance(episode, str):
        episode = episode_number(episode)
    # JSON's true is an int to Python: it must not answer episode 1.
    known = isinstance(episode, int) and not isinstance(episode, bool)
    return str(document.get("answer", "")), episode if known else None
