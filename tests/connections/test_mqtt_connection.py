"""The shared MQTT connection against a real Mosquitto: auth flavours, availability, outages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from typing import Any

import aiomqtt
import pytest
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import (
    WAIT_S,
    Collector,
    device_client,
    make_connection,
    retained,
    running,
)
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ambient.clock import VirtualClock
from ambient.config.mqtt import MqttConfig
from ambient.connections import mqtt as mqtt_module
from ambient.connections.errors import NotConnected
from ambient.connections.mqtt import (
    Declined,
    MqttConnection,
    MqttMessage,
    _is_refusal,
    backoff_delay,
    subscription_id,
)
from ambient.connections.mqtt_client import (
    CLOSED_BEFORE_ANSWER,
    IncomingQueue,
    ReceivedMessage,
    _note_subscription_ids,
    _stamp_reads,
)
from ambient.connections.mqtt_client import acknowledge as acknowledged
from ambient.counters import Counters


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 1.0, 60.0, rng) for attempt in range(12)]
    assert 0.5 <= delays[0] <= 1.0
    assert 4.0 <= delays[3] <= 8.0
    assert all(30.0 <= d <= 60.0 for d in delays[7:])
    assert len(set(delays[7:])) == len(delays[7:])  # jitter: no lock-step


async def test_anonymous_subscribe_receive_and_publish(mosquitto: MosquittoBroker) -> None:
    connection = make_connection(mosquitto)
    collector = Collector()
    connection.subscribe("sensors/+/hr", collector)
    async with running(connection), device_client(mosquitto) as device:
        await device.publish("sensors/alex/hr", b"72", qos=1)
        message = await collector.next()
        assert (message.topic, message.payload) == ("sensors/alex/hr", b"72")

        await device.subscribe("out/topic", qos=1)
        await connection.publish("out/topic", "hello", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for received in device.messages:
                assert received.payload == b"hello"
                break


async def test_status_is_online_retained_while_connected_and_offline_after(
    mosquitto: MosquittoBroker,
) -> None:
    connection = make_connection(mosquitto, instance="den")
    async with running(connection):
        assert connection.connected
        found = await retained(mosquitto, "ambient/den/status", 1)
        assert found == {"ambient/den/status": b"online"}
    assert not connection.connected
    found = await retained(mosquitto, "ambient/den/status", 1)
    assert found == {"ambient/den/status": b"offline"}


async def test_a_stop_that_came_with_a_call_s_answer_still_stops_the_session(
    mosquitto: MosquittoBroker,
) -> None:
    """Python 3.11's ``wait_for`` (inside aiomqtt's calls) returns the answer when a cancel
    arrives in the same loop turn, and the cancel is lost: a stop during a (re)connect left the
    session waiting for messages for good, and the daemon's stop hung. Stand-in: the moment is
    forced by cancelling right after the unsubscribe step of the connect and swallowing the
    cancel as ``wait_for`` does; the broker and the session are real."""
    connection = make_connection(mosquitto)
    unsubscribe_removed = connection._unsubscribe_removed

    async def answered_in_the_turn_of_the_stop(*args: Any) -> None:
        await unsubscribe_removed(*args)
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # as 3.11's wait_for, answer there
            await asyncio.sleep(0)

    connection._unsubscribe_removed = answered_in_the_turn_of_the_stop  # type: ignore[method-assign,assignment]
    session = asyncio.get_running_loop().create_task(connection.run())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(session, WAIT_S)
    assert not connection.connected


async def test_publish_when_not_connected_is_unavailable(mosquitto: MosquittoBroker) -> None:
    connection = make_connection(mosquitto)
    with pytest.raises(NotConnected, match="not connected"):
        await connection.publish("x", "y")


async def test_password_broker_accepts_the_right_user(
    mosquitto_password: MosquittoBroker,
) -> None:
    connection = make_connection(mosquitto_password)
    collector = Collector()
    connection.subscribe("t", collector)
    async with running(connection), device_client(mosquitto_password) as device:
        await device.publish("t", b"1", qos=1)
        assert (await collector.next()).payload == b"1"


async def test_password_broker_refuses_a_wrong_password_and_keeps_retrying(
    mosquitto_password: MosquittoBroker,
) -> None:
    counters = Counters()
    connection = make_connection(mosquitto_password, counters=counters, password="wrong")
    async with running(connection, wait=False):
        for _ in range(2):
            await asyncio.wait_for(connection.wait_attempt_ended(), WAIT_S)
    assert counters.get("mqtt", "connect_failed") >= 2
    assert not connection.connected
    assert connection.last_error is not None
    assert "wrong" not in connection.last_error


async def test_a_password_changed_on_the_broker_is_said_at_once_then_not_at_every_attempt(
    mosquitto_password: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker restarted with ambient's password changed: the line that said the broker
    was lost held back every other for a minute, so for that minute the log said only
    "disconnected: Unspecified error", not that the broker now refuses ambient's password. A
    new reason is said at once; the same reason again is held back as before."""
    broker = mosquitto_password
    connection = make_connection(broker)
    with caplog.at_level(logging.WARNING, logger="ambient.connections.mqtt"):
        async with running(connection):
            lost = asyncio.ensure_future(connection.wait_attempt_ended())
            broker.users["ambient"] = "changed-on-the-broker"
            broker._write_passwords()
            broker.restart()
            await asyncio.wait_for(lost, WAIT_S)
            for _ in range(3):  # refused, again and again
                await asyncio.wait_for(connection.wait_attempt_ended(), WAIT_S)
    lines = [r.getMessage() for r in caplog.records if r.name == "ambient.connections.mqtt"]
    assert len(lines) == 2, lines
    assert "disconnected" in lines[0]
    assert "Not authorized" in lines[1] or "Bad user name or password" in lines[1]
    assert not any("s3cret" in line or "changed-on" in line for line in lines)


async def test_tls_broker_with_the_test_ca(mosquitto_tls: MosquittoBroker) -> None:
    connection = make_connection(mosquitto_tls)
    collector = Collector()
    connection.subscribe("secure/#", collector)
    async with running(connection), device_client(mosquitto_tls) as device:
        await device.publish("secure/x", b"7", qos=1)
        assert (await collector.next()).payload == b"7"


async def test_tls_broker_is_refused_without_its_ca(mosquitto_tls: MosquittoBroker) -> None:
    counters = Counters()
    connection = make_connection(mosquitto_tls, counters=counters, tls={})  # system CAs only
    async with running(connection, wait=False):
        await asyncio.wait_for(connection.wait_attempt_ended(), WAIT_S)
    assert counters.get("mqtt", "connect_failed") == 1
    assert not connection.connected
    assert "CERTIFICATE_VERIFY_FAILED" in (connection.last_error or "").upper().replace(" ", "_")


async def test_plain_mqtt_to_a_tls_port_fails_at_once_saying_why_in_one_line(
    mosquitto_tls: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker closes a connection that does not start with TLS: each attempt ends there,
    not after aiomqtt's 10 s timeout with "Operation timed out"; paho's own line about the
    reset socket comes once, not once per attempt."""
    counters = Counters()
    connection = make_connection(mosquitto_tls, counters=counters, tls=None)
    with caplog.at_level(logging.WARNING, logger="ambient.connections.mqtt"):
        async with running(connection, wait=False):
            for _ in range(3):
                await asyncio.wait_for(connection.wait_attempt_ended(), WAIT_S)
                assert connection.last_error == CLOSED_BEFORE_ANSWER

    assert counters.get("mqtt", "connect_failed") >= 3
    paho_lines = [r for r in caplog.records if r.name == "ambient.connections.mqtt.client"]
    assert len(paho_lines) <= 1
    ours = [r.getMessage() for r in caplog.records if r.name == "ambient.connections.mqtt"]
    assert len(ours) == 1 and "check mqtt.port and mqtt.tls" in ours[0]


async def test_a_broker_away_for_a_while_is_one_line_lost_and_one_back(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker restarting (an update of Mosquitto or of the HA add-on): the connection is
    lost, then refused until the broker listens again. One warning says it is lost, one line
    that it is back: the refusals that follow the loss are the same outage, not a new reason."""
    connection = make_connection(mosquitto)
    with caplog.at_level(logging.INFO, logger="ambient.connections.mqtt"):
        async with running(connection):
            lost = asyncio.ensure_future(connection.wait_attempt_ended())
            mosquitto.stop()
            await asyncio.wait_for(lost, WAIT_S)
            for _ in range(3):  # refused, again and again
                await asyncio.wait_for(connection.wait_attempt_ended(), WAIT_S)
            assert "refused" in (connection.last_error or "")
            mosquitto.start()
            await asyncio.wait_for(connection.wait_connected(), WAIT_S)
    lines = [
        (r.levelno, r.getMessage()) for r in caplog.records if r.name == "ambient.connections.mqtt"
    ]
    assert [level for level, _ in lines] == [logging.INFO, logging.WARNING, logging.INFO], lines
    assert "disconnected" in lines[1][1] and "Connected" in lines[2][1]


async def test_broker_killed_and_restarted_reconnects_resubscribes_and_reruns_hooks(
    mosquitto: MosquittoBroker,
) -> None:
    connection = make_connection(mosquitto)
    collector = Collector()
    connection.subscribe("beats/#", collector)
    hook_calls: asyncio.Queue[int] = asyncio.Queue()

    async def hook() -> None:
        hook_calls.put_nowait(connection.connects)

    connection.on_connect(hook)
    async with running(connection):
        assert await asyncio.wait_for(hook_calls.get(), WAIT_S) == 1
        mosquitto.kill()  # no persistence: the broker forgets the session
        mosquitto.start()
        assert await asyncio.wait_for(hook_calls.get(), WAIT_S) == 2
        assert connection.reconnects == 1
        async with device_client(mosquitto) as device:
            await device.publish("beats/alex", b"800", qos=1)
        assert (await collector.next()).payload == b"800"


async def back_after_publishes(
    mosquitto: MosquittoBroker, collector: Collector, payloads: tuple[bytes, ...]
) -> MqttConnection:
    """A connection (not yet running) of the session that subscribed to ``z2m/watch`` and went
    away while a device published ``payloads`` there at QoS 1."""
    first = make_connection(mosquitto, instance="home")
    first.subscribe("z2m/watch", collector)
    async with running(first):
        pass
    async with device_client(mosquitto) as device:
        for payload in payloads:
            await device.publish("z2m/watch", payload, qos=1)
    second = make_connection(mosquitto, instance="home")  # same client id: same session
    second.subscribe("z2m/watch", collector)
    return second


async def test_qos1_messages_sent_while_ambient_was_away_arrive_after_reconnect(
    mosquitto: MosquittoBroker,
) -> None:
    collector = Collector()
    second = await back_after_publishes(mosquitto, collector, (b"61", b"62", b"63"))
    async with running(second):
        payloads = [(await collector.next()).payload for _ in range(3)]
    assert payloads == [b"61", b"62", b"63"]


async def test_qos1_messages_published_while_ambient_reconnects_after_a_broker_crash(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    """The broker crashes; while ambient waits out its backoff (a virtual clock holds it
    there), the broker is back and a phone publishes: the persisted session queues them."""
    broker = mosquitto_persistent
    clock = VirtualClock(1000.0)
    connection = make_connection(broker, instance="home", clock=clock)
    collector = Collector()
    connection.subscribe("phone/hr", collector)
    async with running(connection):
        async with device_client(broker, identifier="phone") as phone:
            await phone.publish("phone/hr", b"70", qos=1)
        assert (await collector.next()).payload == b"70"
        ended = asyncio.ensure_future(connection.wait_attempt_ended())
        broker.kill()
        await asyncio.wait_for(ended, WAIT_S)
        assert not connection.connected
        broker.start()
        async with device_client(broker, identifier="phone") as phone:
            for value in (b"71", b"72"):
                await phone.publish("phone/hr", value, qos=1)
        assert collector.queue.empty()  # ambient is still away, held by its backoff
        await clock.run_until(clock.now() + 60.0)
        await asyncio.wait_for(connection.wait_connected(), WAIT_S)
        payloads = [(await collector.next()).payload for _ in range(2)]
        assert payloads == [b"71", b"72"]
        assert connection.reconnects == 1


async def test_a_retained_message_already_handled_is_not_handled_again_after_a_reconnect(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    """Subscribing again after a reconnect makes the broker send each retained message again:
    one whose payload is the last handled on its topic (retained, or live and kept) is the
    same message, skipped and counted; its readings (an RR list: beats) would come twice."""
    broker = mosquitto_persistent
    counters = Counters()
    connection = make_connection(broker, instance="home", counters=counters)
    collector = Collector()
    connection.subscribe("watch/+/rr", collector)
    async with device_client(broker, identifier="watch") as watch:
        await watch.publish("watch/alex/rr", b"[800, 810]", qos=1, retain=True)
    async with running(connection):
        first = await collector.next()
        assert (first.payload, first.retain) == (b"[800, 810]", True)
        async with device_client(broker, identifier="watch") as watch:
            await watch.publish("watch/sam/rr", b"[900]", qos=1, retain=True)
            live = await collector.next()  # handled live (not flagged retained), and kept
            assert (live.payload, live.retain) == (b"[900]", False)
        # acknowledged: the broker has taken the acknowledgement sent before this publish
        await connection.publish("home/probe", b"", qos=1)
        ended = asyncio.ensure_future(connection.wait_attempt_ended())
        broker.stop()  # it saves its retained messages and our session
        await asyncio.wait_for(ended, WAIT_S)
        broker.start()
        await asyncio.wait_for(connection.wait_connected(), WAIT_S)
        async with device_client(broker, identifier="watch") as watch:
            await watch.publish("watch/alex/rr", b"[820]", qos=1)
        after = await collector.next()  # the broker sent the retained ones first
        assert after.payload == b"[820]"
    assert counters.get("mqtt", "retained_repeat") == 2


async def test_a_failing_handler_is_counted_and_others_still_run(
    mosquitto: MosquittoBroker,
) -> None:
    counters = Counters()
    connection = make_connection(mosquitto, counters=counters)
    collector = Collector()

    def broken(_message: object) -> None:
        raise ValueError("boom")

    connection.subscribe("t/#", broken)
    connection.subscribe("t/#", collector)
    async with running(connection), device_client(mosquitto) as device:
        await device.publish("t/1", b"x", qos=1)
        await collector.next()
    assert counters.get("mqtt:t/#", "handler_error") == 1


def test_reconnect_backoff_starts_small_and_stays_under_two_seconds_by_default() -> None:
    """A broker back after a restart is reconnected to within 2 s, however long it was away."""
    config = MqttConfig()
    rng = random.Random(2)
    delays = [backoff_delay(n, config.backoff_min, config.backoff_max, rng) for n in range(40)]
    assert delays[0] <= 0.1
    assert max(delays) <= 2.0


def shut_the_link(connection: MqttConnection) -> None:
    """The connection's socket shut under it, as a flapping link drops: the broker keeps
    what was not acknowledged and the connection reconnects."""
    assert connection._client is not None
    link = connection._client._client.socket()
    assert isinstance(link, socket.socket)
    link.shutdown(socket.SHUT_RDWR)


async def test_a_declined_message_is_left_unacknowledged_and_delivered_again(
    mosquitto: MosquittoBroker,
) -> None:
    """A handler shutting down declines; the broker gets no acknowledgement and delivers the
    message in the next session instead of it being lost."""
    offered = Collector()

    def declining(message: MqttMessage) -> None:
        offered(message)
        raise Declined("shutting down")

    first = make_connection(mosquitto, instance="home")
    first.subscribe("z2m/watch", declining)
    async with running(first), device_client(mosquitto) as device:
        await device.publish("z2m/watch", b"61", qos=1)
        assert (await offered.next()).payload == b"61"
    collector = Collector()
    second = make_connection(mosquitto, instance="home")  # same client id: same session
    second.subscribe("z2m/watch", collector)
    async with running(second):
        again = await collector.next()
    assert (again.payload, again.backlog) == (b"61", True)


async def test_a_message_declined_and_sent_again_at_the_reconnect_is_handled_then(
    mosquitto: MosquittoBroker,
) -> None:
    """The broker sends a message it got no acknowledgement for again at the reconnect,
    flagged DUP. Only a copy of one handled already is skipped (counted `redelivered`): one a
    handler declined (a sensor shutting down) is handled when it comes again."""
    counters = Counters()
    connection = make_connection(mosquitto, instance="home", counters=counters)
    offered = Collector()

    def declining_once(message: MqttMessage) -> None:
        offered(message)
        if offered.queue.qsize() == 1:
            shut_the_link(connection)  # the reconnect has the broker send it again
            raise Declined("shutting down")

    connection.subscribe("z2m/watch", declining_once)
    async with running(connection), device_client(mosquitto) as device:
        dropped = asyncio.ensure_future(connection.wait_attempt_ended())
        await device.publish("z2m/watch", b"61", qos=1)
        await asyncio.wait_for(dropped, WAIT_S)
        first, again = await offered.next(), await offered.next()
    assert (first.payload, again.payload, again.backlog) == (b"61", b"61", True)
    assert counters.get("mqtt", "redelivered") == 0


async def test_a_copy_whose_acknowledgement_is_lost_again_is_still_known_at_the_next_reconnect(
    mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flapping link: the acknowledgement of a handled message is lost with the connection,
    the broker sends it again (DUP) at the reconnect and it is skipped, and the link drops
    again before that copy's acknowledgement reaches the broker. The next reconnect brings it
    a third time: it was handled, as a reading taken twice. The drop before the copy's
    acknowledgement is timed by wrapping ambient's acknowledge (the broker and link are real)."""
    counters = Counters()
    connection = make_connection(mosquitto, instance="home", counters=counters)
    offered = Collector()

    def dropping_after_handling(message: MqttMessage) -> None:
        offered(message)
        if not message.backlog:
            shut_the_link(connection)  # handled; its acknowledgement goes with the link

    copies_acknowledged = 0

    def acknowledge(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        nonlocal copies_acknowledged
        copy = isinstance(message, ReceivedMessage) and message.dup
        if copy and message.topic.matches("z2m/watch"):  # (not the backlog marker's copy)
            copies_acknowledged += 1
            if copies_acknowledged == 1:
                shut_the_link(connection)  # the skipped copy's acknowledgement is lost too
                return
        acknowledged(client, message)

    monkeypatch.setattr(mqtt_module, "acknowledge", acknowledge)
    connection.subscribe("z2m/watch", dropping_after_handling)
    connection.subscribe("test/probe", offered)
    async with running(connection), device_client(mosquitto) as device:
        dropped = asyncio.ensure_future(connection.wait_attempt_ended())
        await device.publish("z2m/watch", b"61", qos=1)
        await asyncio.wait_for(dropped, WAIT_S)  # after handling it
        dropped = asyncio.ensure_future(connection.wait_attempt_ended())
        await asyncio.wait_for(dropped, WAIT_S)  # after skipping its copy
        await asyncio.wait_for(connection.wait_connected(), WAIT_S)
        # sent after the copy the broker sends again at the reconnect: it is handled after it
        await device.publish("test/probe", b"", qos=1)
        taken = [await offered.next(), await offered.next()]
    assert [message.topic for message in taken] == ["z2m/watch", "test/probe"]
    assert (copies_acknowledged, counters.get("mqtt", "redelivered")) == (2, 2)


async def test_a_packet_id_the_broker_numbers_anew_is_not_taken_for_a_handled_copy(
    mosquitto: MosquittoBroker,
) -> None:
    """A broker gives a packet id again once the message that had it is acknowledged; one
    restarted without its sessions numbers from 1 anew. A message there with the id, topic and
    text of one handled before the restart (a watch's `61` again), declined and sent again at
    the reconnect (DUP), was skipped as a copy of the handled one: the reading was lost. A copy
    is only ever of a message of the connection before, whose id the broker gave no other."""
    counters = Counters()
    connection = make_connection(mosquitto, instance="home", counters=counters)
    offered = Collector()
    declining = False

    def declining_once(message: MqttMessage) -> None:
        nonlocal declining
        offered(message)
        if declining:
            declining = False
            shut_the_link(connection)  # the reconnect has the broker send it again
            raise Declined("shutting down")

    connection.subscribe("z2m/watch", declining_once)
    async with running(connection):
        async with device_client(mosquitto) as device:
            await device.publish("z2m/watch", b"61", qos=1)
            assert (await offered.next()).payload == b"61"
        lost = asyncio.ensure_future(connection.wait_attempt_ended())
        mosquitto.restart()  # no persistence: a new session, its packet ids from 1 again
        await asyncio.wait_for(lost, WAIT_S)
        await asyncio.wait_for(connection.wait_connected(), WAIT_S)
        declining = True
        dropped = asyncio.ensure_future(connection.wait_attempt_ended())
        async with device_client(mosquitto) as device:
            await device.publish("z2m/watch", b"61", qos=1)
        await asyncio.wait_for(dropped, WAIT_S)
        declined, again = await offered.next(), await offered.next()
    assert (declined.payload, again.payload, again.backlog) == (b"61", b"61", True)
    assert counters.get("mqtt", "redelivered") == 0


async def test_messages_queued_while_away_are_marked_backlog_and_live_ones_are_not(
    mosquitto: MosquittoBroker,
) -> None:
    collector = Collector()
    second = await back_after_publishes(mosquitto, collector, (b"61", b"62"))
    async with running(second), device_client(mosquitto) as device:
        queued = [await collector.next() for _ in range(2)]
        await device.publish("z2m/watch", b"63", qos=1)
        live = await collector.next()
    assert [(m.payload, m.backlog) for m in queued] == [(b"61", True), (b"62", True)]
    assert (live.payload, live.backlog) == (b"63", False)


async def test_a_refused_subscribe_is_counted_shown_and_retried_while_others_work(
    mosquitto: MosquittoBroker,
) -> None:
    """paho refuses a malformed filter before it reaches the broker; the connection keeps
    running, counts each attempt and lists the filter in its diagnostics."""
    clock = VirtualClock(1000.0)
    counters = Counters()
    connection = make_connection(mosquitto, clock=clock, counters=counters)
    collector = Collector()
    connection.subscribe("test/#/heart", collector)
    connection.subscribe("test/ok", collector)
    async with running(connection), device_client(mosquitto) as device:
        await connection.wait_subscribed("test/ok")
        assert counters.get("mqtt", "subscribe_failed") == 1
        assert "test/#/heart" in connection.diagnostics()["subscribe_failures"]
        await clock.run_until(clock.now() + 120.0)
        assert counters.get("mqtt", "subscribe_failed") >= 2
        await device.publish("test/ok", b"1", qos=1)
        assert (await collector.next()).payload == b"1"
        assert connection.connected


async def test_filters_registered_one_after_another_while_connected_are_all_subscribed(
    mosquitto: MosquittoBroker,
) -> None:
    """A sensor registering two filters in one turn of the loop (the satellite sensor's
    batches and its satellites' status), once connected: the second's subscribing took the
    first's place, which was not subscribed until the next reconnect."""
    connection = make_connection(mosquitto)
    first, second = Collector(), Collector()
    async with running(connection), device_client(mosquitto) as device:
        connection.subscribe("test/first", first)
        connection.subscribe("test/second", second)
        await asyncio.wait_for(connection.wait_subscribed("test/first"), WAIT_S)
        await asyncio.wait_for(connection.wait_subscribed("test/second"), WAIT_S)
        await device.publish("test/first", b"1", qos=1)
        await device.publish("test/second", b"2", qos=1)
        assert ((await first.next()).payload, (await second.next()).payload) == (b"1", b"2")


@pytest.mark.parametrize(
    ("code", "refused"),
    [(ReasonCode(PacketTypes.SUBACK, identifier=0x87), True), (1, False), (0x80, True)],
)
def test_suback_refusals_are_recognised(code: object, refused: bool) -> None:
    """Mosquitto 2.0 grants every well-formed filter, so these SUBACK entries (MQTT 5
    ``Not authorized``, a 3.1.1 failure byte) are built by hand."""
    assert _is_refusal(code) is refused


def test_the_incoming_queue_bounds_qos0_but_never_refuses_qos1() -> None:
    dropped: list[None] = []
    queue = IncomingQueue(2, lambda: dropped.append(None))
    for qos in (0, 0, 0, 1, 1):
        queue.put_nowait(aiomqtt.Message("t", b"", qos=qos, retain=False, mid=1, properties=None))
    assert (queue.qsize(), len(dropped)) == (4, 1)


async def test_an_acknowledgement_just_before_the_connection_drops_logs_no_traceback(
    mosquitto: MosquittoBroker,
) -> None:
    """An acknowledgement makes paho ask for a writability watch. Added a loop turn later (as
    aiomqtt does), a socket closed in between left a stale descriptor that asyncio reported
    with a traceback ("Bad file descriptor"): a broker going away is expected, never that."""
    loop = asyncio.get_running_loop()
    problems: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: problems.append(context))
    try:
        connection = make_connection(mosquitto)
        async with running(connection):
            assert connection._client is not None
            paho = connection._client._client
            paho.ack(1, 1)  # a PUBACK queued: paho asks for the watch ...
            paho._sock_close()  # ... and the connection drops in the same loop turn
            for _ in range(3):
                await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert problems == []


def test_a_message_finding_its_reader_waiting_is_handled_at_once_in_order() -> None:
    """Set while the reader waits on the queue empty: QoS 0/1 go straight to it; QoS 2 (paho
    holds a lock while handing it over), and anything behind a queued message, queue."""
    handled: list[str] = []
    queue = IncomingQueue(10, lambda: None)

    def message(topic: str, qos: int) -> aiomqtt.Message:
        return aiomqtt.Message(topic, b"", qos=qos, retain=False, mid=1, properties=None)

    def handle_now(received: aiomqtt.Message) -> None:
        handled.append(received.topic.value)
        queue.put_nowait(message("arrived while handling", 1))

    queue.handle_now = handle_now
    queue.put_nowait(message("now", 1))
    assert handled == ["now"]
    queued = queue.get_nowait()
    assert queued is not None and queued.topic.value == "arrived while handling"
    assert queue.qsize() == 0
    queue.put_nowait(message("exactly once", 2))
    queue.put_nowait(message("behind it", 0))
    assert handled == ["now"]
    assert queue.qsize() == 2


async def test_a_live_message_is_handled_in_the_turn_that_received_it(
    mosquitto: MosquittoBroker,
) -> None:
    """Not a loop turn later in the connection's task: paho's read hands it straight over."""
    connection = make_connection(mosquitto)
    tasks: list[asyncio.Task[object] | None] = []
    collector = Collector()

    def handler(message: MqttMessage) -> None:
        tasks.append(asyncio.current_task())
        collector(message)

    connection.subscribe("sensors/+/hr", handler)
    async with running(connection), device_client(mosquitto) as device:
        await device.publish("sensors/alex/hr", b"72", qos=1)
        await collector.next()
    assert tasks == [None]


async def test_with_stage_times_each_socket_read_is_stamped() -> None:
    """The fast-path bench's ``read`` stamp: paho's read of the socket, before it decodes."""
    stamps: list[str] = []
    client = aiomqtt.Client("127.0.0.1", 1)  # never connected
    _stamp_reads(client, stamps.append)
    client._client.loop_read()  # no socket: paho says so, after the stamp
    assert stamps == ["read"]


async def test_a_second_client_with_our_client_id_is_said_once_and_reconnects_back_off(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Two daemons given one ``instance`` take the broker's session from each other at every
    reconnect (MQTT 5 reason 0x8E, or, from a broker that does not say it, the session closed
    right after connecting). After the third in a row, the connection says once what is going
    on and what to do, and waits ever longer before taking the session back, instead of a
    "Connected" line at each of ~6 reconnects a second."""
    clock = VirtualClock(1000.0)
    counters = Counters()
    connection = make_connection(mosquitto, instance="home", clock=clock, counters=counters)
    waits_s, errors = [], []
    with caplog.at_level(logging.INFO, logger="ambient.connections.mqtt"):
        async with running(connection):
            for _ in range(5):
                ended = asyncio.ensure_future(connection.wait_attempt_ended())
                async with device_client(mosquitto, identifier="ambient-home"):
                    await asyncio.wait_for(ended, WAIT_S)  # the session went to the other
                due = clock.next_due()
                assert due is not None and not connection.connected
                waits_s.append(due - clock.now())
                errors.append(connection.last_error or "")  # what `ambient status` shows
                await clock.run_until(due)  # the other went away: ours comes back
                await asyncio.wait_for(connection.wait_connected(), WAIT_S)

    assert counters.get("mqtt", "session_taken_over") == 3
    assert max(waits_s[:2]) < 1.0  # a lost connection or two: retried at once, as before
    assert 5.0 <= waits_s[2] < waits_s[4]
    ours = [r for r in caplog.records if r.name == "ambient.connections.mqtt"]
    said = [r.getMessage() for r in ours if r.levelno >= logging.WARNING]
    taken = [line for line in said if "ambient-home" in line]
    assert len(taken) == 1 and "instance" in taken[0], said
    assert len(said) <= 2  # and at most the first "retrying" line
    connected = [r for r in ours if r.getMessage().startswith("Connected to MQTT broker")]
    assert len(connected) <= 2
    assert "ambient-home" not in errors[1] and "ambient-home" in errors[2]


async def test_a_payload_far_larger_than_ambient_reads_is_kept_from_it_by_the_broker(
    mosquitto: MosquittoBroker,
) -> None:
    """A 20 MiB payload on a subscribed topic (from any client the broker lets publish there)
    was read whole into the daemon's memory, past the Docker service's 128 MiB limit, before
    the 16 KiB check dropped it. The CONNECT now says MQTT 5's Maximum Packet Size (1 MiB)."""
    connection = make_connection(mosquitto)
    collector = Collector()
    connection.subscribe("sensors/+/hr", collector)
    async with running(connection), device_client(mosquitto) as device:
        await device.publish("sensors/alex/hr", b"7" * (20 * 1024 * 1024), qos=1)
        await device.publish("sensors/alex/hr", b"72", qos=1)
        message = await collector.next()
        assert message.payload == b"72"


async def test_two_filters_matching_one_topic_each_get_its_message_once(
    mosquitto: MosquittoBroker,
) -> None:
    """Mosquitto sends a message once per subscription it matches: a sensor on
    ``home/+/hr`` beside a rule's trigger on ``home/alex/#`` got each message twice, each
    copy handed to both (a heart rate taken twice, a button press firing twice). Each copy
    now goes to the filter it was sent for; a retained one reaches a filter subscribed later."""
    connection = make_connection(mosquitto)
    by_level, by_person = Collector(), Collector()
    connection.subscribe("home/+/hr", by_level)
    async with device_client(mosquitto) as device:
        await device.publish("home/alex/hr", b'{"hr": 61, "ts": 1}', qos=1, retain=True)
    async with running(connection), device_client(mosquitto) as device:
        await connection.wait_subscribed("home/+/hr")
        assert (await by_level.next()).payload == b'{"hr": 61, "ts": 1}'
        connection.subscribe("home/alex/#", by_person)
        await connection.wait_subscribed("home/alex/#")
        retained_copy = await by_person.next()
        assert (retained_copy.payload, retained_copy.retain) == (b'{"hr": 61, "ts": 1}', True)
        await device.publish("home/alex/hr", b"72", qos=1)
        await device.publish("home/alex/end", b"", qos=1)  # matches home/alex/# alone
        await device.publish("home/sam/hr", b"", qos=1)  # matches home/+/hr alone
        level_got = [await by_level.next(), await by_level.next()]
        person_got = [await by_person.next(), await by_person.next()]
    assert [m.payload for m in level_got] == [b"72", b""]
    assert [(m.topic, m.payload) for m in person_got] == [
        ("home/alex/hr", b"72"),
        ("home/alex/end", b""),
    ]


async def test_a_filter_taken_out_of_the_config_doubles_no_message_of_one_kept(
    mosquitto_persistent: MosquittoBroker,
) -> None:
    """The broker keeps a persistent session's subscriptions: a sensor's topic changed from
    `home/#` to `home/+/hr` left `home/#` subscribed, and each heart rate came twice (one copy
    per subscription, both to the new filter's handler). A live copy sent only for a filter
    ambient no longer has is not handed on; what the broker queued for it while ambient was
    away still is (at least once: the new filter was not subscribed then)."""
    broker = mosquitto_persistent
    before = make_connection(broker, instance="home")
    before.subscribe("home/#", Collector())
    async with running(before):
        await before.wait_subscribed("home/#")
    async with device_client(broker) as device:  # while ambient is away
        await device.publish("home/alex/hr", b"70", qos=1)
    counters = Counters()
    after = make_connection(broker, instance="home", counters=counters)
    collector = Collector()
    after.subscribe("home/+/hr", collector)
    async with running(after), device_client(broker) as device:
        queued = await collector.next()
        assert (queued.payload, queued.backlog) == (b"70", True)
        await after.wait_subscribed("home/+/hr")
        await device.publish("home/alex/hr", b"72", qos=1)
        await device.publish("home/sam/hr", b"", qos=1)
        got = [await collector.next(), await collector.next()]
    assert [(m.topic, m.payload) for m in got] == [("home/alex/hr", b"72"), ("home/sam/hr", b"")]
    assert counters.get("mqtt", "old_subscription") >= 1  # (the last one's may still come)


async def test_a_broker_without_subscription_identifiers_is_sent_none() -> None:
    """A broker's CONNACK may say it has no subscription identifiers (Mosquitto has them; a
    stand-in CONNACK, as no broker at hand lacks them): one in a SUBSCRIBE would end the
    session, so the session notes it and subscribes without them."""
    incoming = IncomingQueue(10, lambda: None)
    client = aiomqtt.Client("localhost", 1883, protocol=aiomqtt.ProtocolVersion.V5)
    _note_subscription_ids(client, incoming)
    connack = Properties(PacketTypes.CONNACK)  # type: ignore[no-untyped-call]
    connack.SubscriptionIdentifierAvailable = 0
    accepted = ReasonCode(PacketTypes.CONNACK, "Success")
    on_connect: Any = client._client.on_connect  # as paho calls it (VERSION2 callbacks)
    on_connect(client._client, None, None, accepted, connack)
    assert incoming.subscription_ids_available is False
    assert client._connected.done()  # aiomqtt heard the CONNACK too
    connack.SubscriptionIdentifierAvailable = 1
    on_connect(client._client, None, None, accepted, connack)
    assert incoming.subscription_ids_available is True


async def test_a_retained_copy_for_two_filters_is_a_repeat_whatever_order_it_names_them() -> None:
    """A broker may send one copy of a message for every subscription it matches, naming
    their identifiers in any order (MQTT 5 says the order means nothing; Mosquitto sends a
    copy per subscription, so a stand-in message): a retained RR list sent again with its
    identifiers in another order is the message handled already, and no beat is taken twice."""
    counters = Counters()
    connection = MqttConnection(MqttConfig(), "test", VirtualClock(1_700_000_000.0), counters)
    by_level, by_person = Collector(), Collector()
    connection.subscribe("home/+/rr", by_level)
    connection.subscribe("home/alex/#", by_person)
    ids = [subscription_id("home/+/rr"), subscription_id("home/alex/#")]

    def copy(identifiers: list[int]) -> aiomqtt.Message:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.SubscriptionIdentifier = identifiers
        return aiomqtt.Message("home/alex/rr", b"[800, 810]", 0, True, 0, properties)

    unused_client: Any = None  # (a QoS 0 message is not acknowledged)
    connection._dispatch(unused_client, copy(ids))
    connection._dispatch(unused_client, copy(ids[::-1]))
    assert (by_level.queue.qsize(), by_person.queue.qsize()) == (1, 1)
    assert counters.get("mqtt", "retained_repeat") == 1
