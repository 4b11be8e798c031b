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

    said = [watch.session_ended(0.2, broker_reason=None) for _ in range(4)]

    assert said == [False, False, True, True]
    assert watch.takeovers == 2


def test_a_session_that_lasted_starts_the_count_afresh() -> None:
    watch = TakeoverWatch()
    for _ in range(3):
        watch.session_ended(0.2, broker_reason=None)

    assert not watch.session_ended(SHORT_SESSION_S, broker_reason=None)
    assert watch.takeovers == 0
    assert not watch.session_ended(0.2, broker_reason=None)


def test_a_broker_saying_session_taken_over_counts_at_once_however_long_it_lasted() -> None:
    watch = TakeoverWatch()

    assert watch.session_ended(3600.0, broker_reason=0x8E)
    assert watch.takeovers == 1


def test_sessions_a_broker_ended_for_another_reason_are_not_taken_over() -> None:
    """A broker that says why (0x87 not authorized) is not a second client: the reason is in
    the usual "retrying" line."""
    watch = TakeoverWatch()

    said = [watch.session_ended(0.2, broker_reason=0x87) for _ in range(4)]

    assert said == [False] * 4


async def test_the_incoming_queue_keeps_the_brokers_reason_and_none_for_a_lost_link() -> None:
    """Mosquitto 2.0 closes the connection without a reason (paho says 0x80), so a DISCONNECT
    with a reason from a broker that sends one is made here as aiomqtt reports it."""
    loop = asyncio.get_running_loop()
    for code, kept in ((0x8E, 0x8E), (0x87, 0x87), (0x80, None)):
        session: asyncio.Future[None] = loop.create_future()
        reason = ReasonCode(PacketTypes.DISCONNECT, identifier=code)
        session.set_exception(aiomqtt.MqttCodeError(reason, "Unexpected disconnection"))
        incoming = IncomingQueue(10, lambda: None)

        incoming.end(session)

        assert incoming.broker_reason == kept
