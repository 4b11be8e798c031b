"""Telling a client id taken over by another client from an ordinary lost connection."""

from __future__ import annotations

import asyncio

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from ambient.connections.mqtt_client import IncomingQueue
from ambient.connections.mqtt_takeover import SHORT_SESSION_S, TakeoverWatch


def test_sessions_cut_short_three_times_in_a_row_are_taken_over() -> None:
    watch = TakeoverWatch()

    said = [watch.session_ended(0.2, broker_said_taken_over=False) for _ in range(4)]

    assert said == [False, False, True, True]
    assert watch.takeovers == 2


def test_a_session_that_lasted_starts_the_count_afresh() -> None:
    watch = TakeoverWatch()
    for _ in range(3):
        watch.session_ended(0.2, broker_said_taken_over=False)

    assert not watch.session_ended(SHORT_SESSION_S, broker_said_taken_over=False)
    assert watch.takeovers == 0
    assert not watch.session_ended(0.2, broker_said_taken_over=False)


def test_a_broker_saying_session_taken_over_counts_at_once_however_long_it_lasted() -> None:
    watch = TakeoverWatch()

    assert watch.session_ended(3600.0, broker_said_taken_over=True)
    assert watch.takeovers == 1


async def test_the_incoming_queue_hears_reason_0x8e_as_taken_over() -> None:
    """Mosquitto 2.0 closes the connection without a reason, so a DISCONNECT with 0x8E from a
    broker that sends one is made here as aiomqtt reports it."""
    loop = asyncio.get_running_loop()
    for code, taken_over in ((0x8E, True), (0x80, False)):
        session: asyncio.Future[None] = loop.create_future()
        reason = ReasonCode(PacketTypes.DISCONNECT, identifier=code)
        session.set_exception(aiomqtt.MqttCodeError(reason, "Unexpected disconnection"))
        incoming = IncomingQueue(10, lambda: None)

        incoming.end(session)

        assert incoming.taken_over is taken_over
